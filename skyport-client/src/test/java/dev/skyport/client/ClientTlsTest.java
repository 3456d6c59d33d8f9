package dev.skyport.client;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Reading the identity files as OpenSSL writes them: each key form is made by the real {@code openssl}, and a key read
 * must sign what the certificate's public key verifies.
 */
class ClientTlsTest {
    @TempDir
    Path dir;

    private void openssl(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("openssl %s: %s", String.join(" ", args), out).isZero();
    }

    /** A self-signed certificate for the key in {@code key}, written to {@code cert}. */
    private void selfSigned(String key, String cert) throws Exception {
        openssl("req", "-new", "-x509", "-key", key, "-out", cert, "-days", "2", "-subj", "/CN=tester");
    }

    private static void assertPair(ClientTls tls, Path keyFile) throws Exception {
        PrivateKey key = dev.skyport.client.internal.PemFiles.readPrivateKey(keyFile);
        X509Certificate cert = tls.certificate();
        String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        Signature signer = Signature.getInstance(algorithm);
        signer.initSign(key);
        signer.update(new byte[] {1, 2, 3});
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance(algorithm);
        verifier.initVerify(cert.getPublicKey());
        verifier.update(new byte[] {1, 2, 3});
        assertThat(verifier.verify(signature)).isTrue();
    }

    @Test
    void readsTraditionalAndPkcs8KeysOfBothAlgorithms() throws Exception {
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec-sec1.pem");
        openssl("pkcs8", "-topk8", "-nocrypt", "-in", "ec-sec1.pem", "-out", "ec-pkcs8.pem");
        openssl("genrsa", "-traditional", "-out", "rsa-pkcs1.pem", "2048");
        openssl("pkcs8", "-topk8", "-nocrypt", "-in", "rsa-pkcs1.pem", "-out", "rsa-pkcs8.pem");
        assertThat(Files.readString(dir.resolve("ec-sec1.pem"))).contains("BEGIN EC PRIVATE KEY");
        assertThat(Files.readString(dir.resolve("rsa-pkcs1.pem"))).contains("BEGIN RSA PRIVATE KEY");
        selfSigned("ec-sec1.pem", "ec.pem");
        selfSigned("rsa-pkcs1.pem", "rsa.pem");
        for (String[] pair : new String[][] {{"ec.pem", "ec-sec1.pem"}, {"ec.pem", "ec-pkcs8.pem"},
                {"rsa.pem", "rsa-pkcs1.pem"}, {"rsa.pem", "rsa-pkcs8.pem"}}) {
            ClientTls tls = ClientTls.fromPem(dir.resolve(pair[0]), dir.resolve(pair[1]), dir.resolve(pair[0]));
            assertPair(tls, dir.resolve(pair[1]));
            assertThat(tls.toString()).contains("CN=tester").doesNotContain("PRIVATE");
        }
    }

    @Test
    void encryptedOrMissingKeysAreRefusedNamingTheFile() throws Exception {
        openssl("genrsa", "-traditional", "-out", "rsa.pem", "2048");
        selfSigned("rsa.pem", "cert.pem");
        openssl("pkcs8", "-topk8", "-in", "rsa.pem", "-out", "encrypted.pem", "-passout", "pass:secret");
        assertThatThrownBy(() -> ClientTls.fromPem(dir.resolve("cert.pem"), dir.resolve("encrypted.pem"),
                dir.resolve("cert.pem"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("encrypted.pem").hasMessageContaining("encrypted");
        assertThatThrownBy(() -> ClientTls.fromPem(dir.resolve("cert.pem"), dir.resolve("nope.pem"),
                dir.resolve("cert.pem"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nope.pem");
        assertThatThrownBy(() -> ClientTls.fromPem(dir.resolve("rsa.pem"), dir.resolve("rsa.pem"),
                dir.resolve("cert.pem"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no CERTIFICATE");
    }

    @Test
    void theSwmDirectoryTakesTheCaBundleOfTheFirstSpoolThatHasOne() throws Exception {
        Path home = dir.resolve("home");
        Path swm = Files.createDirectories(home.resolve(".swm"));
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "home/.swm/key.pem");
        selfSigned("home/.swm/key.pem", "home/.swm/cert.pem");
        Path spool = dir.resolve("spool");
        assertThat(ClientTls.caBundleCandidates(home, Map.of("SKYPORT_SPOOL", spool.toString()))).containsExactly(
                spool.resolve("secure/cluster/ca-chain-cert.pem"),
                home.toAbsolutePath().resolve(".swm/spool/secure/cluster/ca-chain-cert.pem"),
                Path.of("/opt/swm/spool/secure/cluster/ca-chain-cert.pem"));
        if (!Files.exists(Path.of("/opt/swm/spool/secure/cluster/ca-chain-cert.pem"))) {
            assertThatThrownBy(() -> ClientTls.fromSwmDirectory(home, Map.of()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no CA bundle")
                    .hasMessageContaining("SKYPORT_SPOOL");
        }
        Path bundle = Files.createDirectories(spool.resolve("secure/cluster")).resolve("ca-chain-cert.pem");
        Files.copy(swm.resolve("cert.pem"), bundle);
        ClientTls tls = ClientTls.fromSwmDirectory(home, Map.of("SKYPORT_SPOOL", spool.toString()));
        assertThat(tls.trusted()).containsExactly(tls.certificate());
    }

    @Test
    void theUrlMustBeHttpsAndDefaultsToTheApiRoot() {
        assertThat(SkyPortClient.apiRoot(URI.create("https://head:8443")).toString())
                .isEqualTo("https://head:8443/api/v1");
        assertThat(SkyPortClient.apiRoot(URI.create("https://head:8443/")).toString())
                .isEqualTo("https://head:8443/api/v1");
        assertThat(SkyPortClient.apiRoot(URI.create("https://gw/skyport/api/v1?x=1")).toString())
                .isEqualTo("https://gw/skyport/api/v1");
        assertThatThrownBy(() -> SkyPortClient.apiRoot(URI.create("http://head:8443")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("https");
        assertThatThrownBy(() -> SkyPortClient.fromEnvironment(Map.of(), dir.toString()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("SKYPORT_URL");
        assertThatThrownBy(() -> SkyPortClient.fromEnvironment(Map.of("SKYPORT_URL", "ftp://x"), dir.toString()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("https");
    }
}
