package dev.skyport.client;

import dev.skyport.client.internal.PemFiles;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The client's side of the daemon's mutual TLS: the user's certificate and key, and the CA certificates the daemon's
 * certificate must chain to. Immutable and thread-safe; read once, shared by every connection of a client.
 *
 * <p>{@link #fromSwmDirectory(Path)} reads the files where {@code skyport certs} installs them and where the upstream
 * clients look: {@code <home>/.swm/cert.pem} and {@code key.pem}, and the cluster's CA bundle
 * {@code secure/cluster/ca-chain-cert.pem} of the spool.
 */
public final class ClientTls {
    /** Where the upstream clients always look for the spool holding the CA bundle. */
    static final Path UPSTREAM_SPOOL = Path.of("/opt/swm/spool");
    private static final Path CA_BUNDLE = Path.of("secure", "cluster", "ca-chain-cert.pem");

    private final X509Certificate certificate;
    private final PrivateKey key;
    private final List<X509Certificate> trusted;

    private ClientTls(X509Certificate certificate, PrivateKey key, List<X509Certificate> trusted) {
        this.certificate = certificate;
        this.key = key;
        this.trusted = List.copyOf(trusted);
        if (this.trusted.isEmpty()) {
            throw new IllegalArgumentException("the CA bundle holds no certificate");
        }
    }

    /**
     * Reads PEM files: the client certificate (its first certificate is the client's, any further ones are sent as its
     * chain), its private key (unencrypted PKCS#8 {@code PRIVATE KEY}, or a traditional {@code RSA PRIVATE KEY} or
     * {@code EC PRIVATE KEY}) and the CA certificates that the daemon's certificate chains to.
     *
     * @param certificate PEM file of the client certificate and its chain
     * @param key PEM file of the certificate's private key
     * @param caBundle PEM file of the CA certificates that sign the daemon's certificate
     * @return the identity and trust read from the three files
     * @throws IllegalArgumentException when a file cannot be read or holds no usable certificate or key; the message
     *                                  names the file
     */
    public static ClientTls fromPem(Path certificate, Path key, Path caBundle) {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(caBundle, "caBundle");
        X509Certificate cert = PemFiles.readCertificates(certificate).get(0);
        return new ClientTls(cert, PemFiles.readPrivateKey(key), PemFiles.readCertificates(caBundle));
    }

    /**
     * {@return the certificate, key and trusted CA certificates given as objects (e.g. from a key store)}
     *
     * @param certificate the client certificate
     * @param key its private key
     * @param trusted the CA certificates the daemon's certificate must chain to
     */
    public static ClientTls of(X509Certificate certificate, PrivateKey key, List<X509Certificate> trusted) {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(key, "key");
        return new ClientTls(certificate, key, new ArrayList<>(Objects.requireNonNull(trusted, "trusted")));
    }

    /**
     * {@return the identity {@code skyport certs} installs for a user: {@code <home>/.swm/cert.pem} and
     * {@code key.pem}, with the CA bundle of the first spool that has one among {@code $SKYPORT_SPOOL},
     * {@code <home>/.swm/spool} (the {@code skyport certs} default) and {@code /opt/swm/spool} (where the upstream
     * clients look)}
     *
     * @param home the user's home directory, which holds {@code .swm/}
     * @throws IllegalArgumentException when a file is missing or unusable; the message names the files looked for
     */
    public static ClientTls fromSwmDirectory(Path home) {
        return fromSwmDirectory(home, System.getenv());
    }

    static ClientTls fromSwmDirectory(Path home, Map<String, String> env) {
        Objects.requireNonNull(home, "home");
        Path swm = home.toAbsolutePath().normalize().resolve(".swm");
        List<Path> bundles = caBundleCandidates(home, env);
        Optional<Path> bundle = bundles.stream().filter(Files::isRegularFile).findFirst();
        if (bundle.isEmpty()) {
            throw new IllegalArgumentException("no CA bundle found; looked for " + bundles
                    + " (set SKYPORT_SPOOL to the daemon's spool, or copy its secure/cluster/ca-chain-cert.pem)");
        }
        return fromPem(swm.resolve("cert.pem"), swm.resolve("key.pem"), bundle.get());
    }

    static List<Path> caBundleCandidates(Path home, Map<String, String> env) {
        List<Path> candidates = new ArrayList<>();
        String spool = env.get("SKYPORT_SPOOL");
        if (spool != null && !spool.isBlank()) {
            candidates.add(Path.of(spool).resolve(CA_BUNDLE));
        }
        candidates.add(home.toAbsolutePath().normalize().resolve(".swm").resolve("spool").resolve(CA_BUNDLE));
        candidates.add(UPSTREAM_SPOOL.resolve(CA_BUNDLE));
        return candidates;
    }

    /** {@return the client's certificate} */
    public X509Certificate certificate() {
        return certificate;
    }

    /** {@return the CA certificates the daemon's certificate must chain to} */
    public List<X509Certificate> trusted() {
        return trusted;
    }

    /** The certificates OkHttp presents and checks. */
    HandshakeCertificates handshakeCertificates() {
        HandshakeCertificates.Builder builder = new HandshakeCertificates.Builder()
                .heldCertificate(new HeldCertificate(new KeyPair(certificate.getPublicKey(), key), certificate));
        trusted.forEach(builder::addTrustedCertificate);
        return builder.build();
    }

    /** Names the certificate's subject only: a key is never printed. */
    @Override
    public String toString() {
        return "ClientTls[" + certificate.getSubjectX500Principal().getName() + "]";
    }
}
