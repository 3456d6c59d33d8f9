package dev.skyport.samples.daemon.pki;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * The cluster's certificate authority in an upstream-compatible spool (compatibility spec A.2 to A.4, F.7): a grid
 * (root) CA, the cluster CA it signs, and the server and user certificates the cluster CA signs. {@link #init}
 * creates it, {@link #open} loads it to issue more certificates. Keys are EC P-256, written unencrypted as PKCS#8 PEM
 * with mode 0600 in 0700 directories; every file is replaced atomically.
 *
 * <p>Every failure is a {@link PkiException} with a one-line message. An instance is safe to share between threads,
 * but two processes issuing into the same spool at once are not coordinated. The daemon needs no instance to serve
 * TLS, and should not load the CA key for it: see {@link ServerCredentials}.
 */
public final class ClusterPki {
    static final String GRID_NAME = "Sky Port grid CA";
    static final String CLUSTER_NAME = "Sky Port cluster CA";

    private final SpoolLayout layout;
    private final CertificateAuthority cluster;
    private final SecureRandom random;

    private ClusterPki(SpoolLayout layout, CertificateAuthority cluster, SecureRandom random) {
        this.layout = layout;
        this.cluster = cluster;
        this.random = random;
    }

    /**
     * Creates the grid CA, the cluster CA, the clients' CA bundle and a server certificate for {@code serverNames}
     * in {@code spool}. Refuses, before writing anything, when a CA already exists there or a name is invalid.
     */
    public static ClusterPki init(Path spool, List<String> serverNames) {
        return init(spool, serverNames, Clock.systemUTC(), new SecureRandom());
    }

    static ClusterPki init(Path spool, List<String> serverNames, Clock clock, SecureRandom random) {
        SpoolLayout layout = layoutOf(spool);
        List<String> names = SubjectNames.serverNames(serverNames);
        refuseExistingCa(spool);
        CertificateAuthority grid = CertificateAuthority.selfSigned(GRID_NAME, CertificateAuthority.GRID_VALIDITY,
                CertificateAuthority.newKeyPair(random), clock, random);
        CertificateAuthority cluster = grid.issueSubordinate(CLUSTER_NAME, CertificateAuthority.CLUSTER_VALIDITY,
                CertificateAuthority.newKeyPair(random));
        // Keys before their certificates: a certificate on disk always has its key next to it.
        writeKeyAndCertificate(layout.gridKey(), layout.gridCert(), grid);
        writeKeyAndCertificate(layout.clusterKey(), layout.clusterCert(), cluster);
        SpoolFiles.writePublic(layout.caChain(),
                Pem.encodeCertificates(List.of(cluster.certificate(), grid.certificate())));
        ClusterPki pki = new ClusterPki(layout, cluster, random);
        pki.issueServer(names);
        return pki;
    }

    /** Throws when {@code spool} holds any part of a grid or cluster CA, which {@link #init} would replace. */
    static void refuseExistingCa(Path spool) {
        SpoolLayout layout = layoutOf(spool);
        for (Path existing : List.of(layout.gridCert(), layout.gridKey(), layout.clusterCert(), layout.clusterKey())) {
            if (Files.exists(existing)) {
                throw new PkiException("a CA already exists in " + layout.secure() + " (found " + existing
                        + "); init never replaces one: move " + layout.secure() + " away to start over");
            }
        }
    }

    /** Loads the cluster CA of {@code spool}, to issue certificates with it. */
    public static ClusterPki open(Path spool) {
        return open(spool, Clock.systemUTC(), new SecureRandom());
    }

    static ClusterPki open(Path spool, Clock clock, SecureRandom random) {
        SpoolLayout layout = layoutOf(spool);
        if (!Files.exists(layout.clusterCert()) || !Files.exists(layout.clusterKey())) {
            throw new PkiException("no cluster CA in " + layout.clusterCert().getParent()
                    + " (run `skyport certs init` first)");
        }
        X509Certificate certificate = Pem.readCertificates(layout.clusterCert()).get(0);
        CertificateAuthority cluster = new CertificateAuthority(certificate, Pem.readPrivateKey(layout.clusterKey()),
                clock, random);
        return new ClusterPki(layout, cluster, random);
    }

    /** Where this PKI's files are. */
    public SpoolLayout layout() {
        return layout;
    }

    /** The cluster CA certificate: the trust anchor for client certificates and the issuer of everything else. */
    public X509Certificate clusterCertificate() {
        return cluster.certificate();
    }

    /**
     * Issues the server certificate for {@code names} (DNS names or IP literals; the first becomes the CN) with a
     * new key, replacing any previous one. {@code secure/node/cert.pem} gets the leaf followed by the cluster CA.
     */
    public synchronized void issueServer(List<String> names) {
        List<String> valid = SubjectNames.serverNames(names);
        KeyPair keys = CertificateAuthority.newKeyPair(random);
        X509Certificate leaf = cluster.issueServer(valid, keys.getPublic());
        SpoolFiles.createPrivateDirectory(layout.serverKey().getParent());
        SpoolFiles.writeSecret(layout.serverKey(), Pem.encodePrivateKey(keys.getPrivate()));
        SpoolFiles.writePublic(layout.serverCert(), Pem.encodeCertificates(List.of(leaf, cluster.certificate())));
    }

    /**
     * Issues a certificate and key for user {@code name} under {@code secure/users/<name>/}. A new user gets a fresh
     * random UUID. An existing user is refused unless {@code replace}; a replaced user gets a new key but keeps the
     * UUID of the old certificate when it has one, so the daemon still knows them as the same user.
     */
    public synchronized IssuedUser issueUser(String name, boolean replace) {
        SubjectNames.userName(name);
        Path cert = layout.userCert(name);
        Path key = layout.userKey(name);
        Optional<UUID> previous = Optional.empty();
        if (Files.exists(cert) || Files.exists(key)) {
            if (!replace) {
                throw new PkiException("user " + name + " already has a certificate in " + cert.getParent()
                        + " (re-issue it with --replace)");
            }
            previous = previousUuid(cert);
        }
        UUID uuid = previous.orElseGet(UUID::randomUUID);
        KeyPair keys = CertificateAuthority.newKeyPair(random);
        X509Certificate certificate = cluster.issueUser(name, uuid, keys.getPublic());
        SpoolFiles.createPrivateDirectory(cert.getParent());
        SpoolFiles.writeSecret(key, Pem.encodePrivateKey(keys.getPrivate()));
        SpoolFiles.writePublic(cert, Pem.encodeCertificates(List.of(certificate)));
        return new IssuedUser(name, uuid, cert, key);
    }

    /**
     * Copies {@code user}'s certificate and key to {@code <home>/.swm/cert.pem} and {@code key.pem}, where the
     * upstream clients read them (spec A.2). The directory becomes 0700 and the key 0600. Existing files are
     * refused unless {@code replace}. When {@code home} belongs to someone else (root installing for a user), the
     * directory and files are given to the owner of {@code home}, who could not read the key otherwise.
     */
    public static void installClientFiles(IssuedUser user, Path home, boolean replace) {
        ClientFiles target = ClientFiles.in(home);
        List<Path> existing = target.existing();
        if (!replace && !existing.isEmpty()) {
            throw new PkiException(existing.get(0) + " already exists (refusing to overwrite a client identity)");
        }
        byte[] cert = read(user.cert());
        byte[] key = read(user.key());
        SpoolFiles.createPrivateDirectory(target.dir());
        SpoolFiles.writeSecret(target.key(), key);
        SpoolFiles.writePublic(target.cert(), cert);
        giveToOwnerOf(home, List.of(target.dir(), target.key(), target.cert()));
    }

    /**
     * The names clients use for this host: its canonical FQDN, its short host name, {@code localhost},
     * {@code 127.0.0.1} and {@code ::1}, without duplicates. A host name that does not resolve is left out.
     */
    public static List<String> defaultServerNames() {
        List<String> names = new ArrayList<>();
        try {
            InetAddress local = InetAddress.getLocalHost();
            names.add(local.getCanonicalHostName());
            String host = local.getHostName();
            int dot = host.indexOf('.');
            names.add(dot > 0 && !SubjectNames.isIpLiteral(host) ? host.substring(0, dot) : host);
        } catch (UnknownHostException e) {
            // No resolvable host name: the loopback names below still let local clients connect.
        }
        names.add("localhost");
        names.add("127.0.0.1");
        names.add("::1");
        // A failed reverse lookup yields the address itself; clients use names, so leave those addresses out.
        List<String> usable = names.stream()
                .filter(SubjectNames::isServerName)
                .filter(name -> !SubjectNames.isIpLiteral(name) || name.equals("127.0.0.1") || name.equals("::1"))
                .toList();
        return SubjectNames.serverNames(usable);
    }

    private static SpoolLayout layoutOf(Path spool) {
        Objects.requireNonNull(spool, "spool");
        return new SpoolLayout(spool.toAbsolutePath().normalize());
    }

    private static void writeKeyAndCertificate(Path keyFile, Path certFile, CertificateAuthority authority) {
        SpoolFiles.createPrivateDirectory(keyFile.getParent());
        SpoolFiles.writeSecret(keyFile, Pem.encodePrivateKey(authority.key()));
        SpoolFiles.writePublic(certFile, Pem.encodeCertificates(List.of(authority.certificate())));
    }

    private static Optional<UUID> previousUuid(Path cert) {
        if (!Files.exists(cert)) {
            return Optional.empty();
        }
        try {
            return UserIdentity.of(Pem.readCertificates(cert).get(0)).map(UserIdentity::uuid);
        } catch (PkiException unreadable) {
            return Optional.empty(); // nothing to keep: the user gets a fresh UUID
        }
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw PkiException.io("read", file, e);
        }
    }

    private static void giveToOwnerOf(Path home, List<Path> paths) {
        try {
            UserPrincipal owner = Files.getOwner(home);
            for (Path path : paths) {
                if (!Files.getOwner(path).equals(owner)) {
                    Files.setOwner(path, owner);
                }
            }
        } catch (UnsupportedOperationException e) {
            // No owners on this file system: nothing to hand over.
        } catch (IOException e) {
            throw PkiException.io("give the client files to the owner of", home, e);
        }
    }

    /** The client identity files under one home directory: {@code <home>/.swm/cert.pem} and {@code key.pem}. */
    record ClientFiles(Path dir) {
        static ClientFiles in(Path home) {
            return new ClientFiles(home.toAbsolutePath().normalize().resolve(".swm"));
        }

        Path cert() {
            return dir.resolve("cert.pem");
        }

        Path key() {
            return dir.resolve("key.pem");
        }

        /** Which of the two files exist already. */
        List<Path> existing() {
            return List.of(cert(), key()).stream().filter(Files::exists).toList();
        }
    }
}
