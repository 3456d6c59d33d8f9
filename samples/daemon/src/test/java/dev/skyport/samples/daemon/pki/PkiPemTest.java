package dev.skyport.samples.daemon.pki;

import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcePEMEncryptorBuilder;
import org.bouncycastle.util.io.pem.PemObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link Pem}: the key and certificate forms the spool may hold, ours and OpenSSL's, and what it refuses. */
class PkiPemTest {
    @TempDir
    Path dir;

    @Test
    void readsThePkcs8KeysWeWriteAndTheyFitTheirCertificates() throws Exception {
        SpoolLayout layout = ClusterPki.init(dir.resolve("spool"), List.of("localhost")).layout();

        PrivateKey key = Pem.readPrivateKey(layout.serverKey());

        assertThat(Files.readString(layout.serverKey())).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(key.getAlgorithm()).isEqualTo("EC");
        assertThat(signs(key, Pem.readCertificates(layout.serverCert()).get(0), "SHA256withECDSA")).isTrue();
    }

    @Test
    void readsATraditionalRsaKey() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair keys = generator.generateKeyPair();
        Path file = write("rsa.pem", pem(keys.getPrivate()));

        assertThat(Files.readString(file)).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        assertThat(Pem.readPrivateKey(file).getEncoded()).isEqualTo(keys.getPrivate().getEncoded());
    }

    @Test
    void readsATraditionalEcKeyEvenAfterAParametersBlock() throws Exception {
        KeyPair keys = TestCertificates.newKeyPair();
        // `openssl ecparam -genkey` writes the curve parameters first, then a SEC 1 key that names its curve.
        String parameters = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
        BigInteger secret = ((ECPrivateKey) keys.getPrivate()).getS();
        DERBitString point = new DERBitString(SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()).getPublicKeyData().getBytes());
        byte[] sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(256, secret, point, SECObjectIdentifiers.secp256r1)
                .getEncoded();
        Path file = write("ec.pem", parameters + pem(new PemObject("EC PRIVATE KEY", sec1)));

        PrivateKey key = Pem.readPrivateKey(file);
        assertThat(key.getAlgorithm()).isEqualTo("EC");
        assertThat(((ECPrivateKey) key).getS()).isEqualTo(secret);
    }

    @Test
    void refusesAnEncryptedKey() throws Exception {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(TestCertificates.newKeyPair().getPrivate(),
                    new JcePEMEncryptorBuilder("AES-128-CBC").setProvider(new BouncyCastleProvider())
                            .build("secret".toCharArray()));
        }
        Path file = write("encrypted.pem", text.toString());

        assertThatThrownBy(() -> Pem.readPrivateKey(file))
                .isInstanceOf(PkiException.class)
                .hasMessage("the key in " + file + " is encrypted; Sky Port needs an unencrypted key");
    }

    @Test
    void refusesFilesWithoutAUsableKey() throws Exception {
        Path garbage = write("garbage.pem", "this is not PEM\n");
        Path broken = write("broken.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        Path binary = dir.resolve("binary.pem");
        Files.write(binary, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 2});

        assertThatThrownBy(() -> Pem.readPrivateKey(garbage)).isInstanceOf(PkiException.class)
                .hasMessage("no PEM private key in " + garbage);
        assertThatThrownBy(() -> Pem.readPrivateKey(broken)).isInstanceOf(PkiException.class)
                .hasMessageContaining(broken.toString());
        assertThatThrownBy(() -> Pem.readPrivateKey(binary)).isInstanceOf(PkiException.class)
                .hasMessageContaining(binary.toString());
        assertThatThrownBy(() -> Pem.readPrivateKey(dir.resolve("missing.pem"))).isInstanceOf(PkiException.class)
                .hasMessage("cannot read a private key from " + dir.resolve("missing.pem")
                        + ": no such file or directory");
    }

    @Test
    void readsEveryCertificateInFileOrderAndSkipsOtherBlocks() throws Exception {
        SpoolLayout layout = ClusterPki.init(dir.resolve("spool"), List.of("localhost")).layout();
        X509Certificate cluster = Pem.readCertificates(layout.clusterCert()).get(0);
        X509Certificate grid = Pem.readCertificates(layout.gridCert()).get(0);
        Path mixed = write("mixed.pem", "comment line\n" + Files.readString(layout.clusterCert())
                + Files.readString(layout.serverKey()) + Files.readString(layout.gridCert()));

        assertThat(Pem.readCertificates(mixed)).containsExactly(cluster, grid);
    }

    @Test
    void refusesFilesWithoutAUsableCertificate() throws Exception {
        Path garbage = write("garbage.pem", "nothing here\n");
        Path broken = write("broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");

        assertThatThrownBy(() -> Pem.readCertificates(garbage)).isInstanceOf(PkiException.class)
                .hasMessage("no PEM certificate in " + garbage);
        assertThatThrownBy(() -> Pem.readCertificates(broken)).isInstanceOf(PkiException.class)
                .hasMessageContaining(broken.toString());
    }

    private Path write(String name, String content) throws Exception {
        return Files.writeString(dir.resolve(name), content, StandardCharsets.US_ASCII);
    }

    /** JcaPEMWriter writes a JCA private key in OpenSSL's traditional form (PKCS#1 for RSA), other objects as-is. */
    private static String pem(Object key) throws Exception {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(key);
        }
        return text.toString();
    }

    private static boolean signs(PrivateKey key, X509Certificate cert, String algorithm) throws Exception {
        byte[] data = "proof".getBytes(StandardCharsets.US_ASCII);
        Signature signer = Signature.getInstance(algorithm);
        signer.initSign(key);
        signer.update(data);
        Signature verifier = Signature.getInstance(algorithm);
        verifier.initVerify(cert.getPublicKey());
        verifier.update(data);
        return verifier.verify(signer.sign());
    }
}
