package dev.skyport.samples.daemon.pki;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the PEM files of the spool, for the daemon's TLS setup and for {@link ClusterPki}. Both methods take files
 * written by this package or by upstream's {@code openssl} setup, and throw {@link PkiException} naming the file when
 * it is missing, unreadable or holds nothing usable. Stateless and thread-safe.
 */
public final class Pem {
    private Pem() {
    }

    /** Every certificate in {@code file}, in file order; other PEM blocks are skipped. Never empty. */
    public static List<X509Certificate> readCertificates(Path file) {
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        List<X509Certificate> certificates = new ArrayList<>();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
             PEMParser parser = new PEMParser(reader)) {
            for (Object block = parser.readObject(); block != null; block = parser.readObject()) {
                if (block instanceof X509CertificateHolder holder) {
                    certificates.add(converter.getCertificate(holder));
                }
            }
        } catch (IOException e) {
            throw PkiException.io("read certificates from", file, e);
        } catch (CertificateException | RuntimeException e) {
            // BouncyCastle reports malformed DER with unchecked exceptions; the file is at fault, not the caller.
            throw new PkiException("cannot read certificates from " + file + ": malformed PEM or DER", e);
        }
        if (certificates.isEmpty()) {
            throw new PkiException("no PEM certificate in " + file);
        }
        return List.copyOf(certificates);
    }

    /**
     * The first private key in {@code file}: unencrypted PKCS#8 ({@code PRIVATE KEY}) or a traditional OpenSSL key
     * ({@code RSA PRIVATE KEY}, {@code EC PRIVATE KEY}). Encrypted keys are refused, as the upstream clients cannot
     * use them either.
     */
    public static PrivateKey readPrivateKey(Path file) {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
             PEMParser parser = new PEMParser(reader)) {
            for (Object block = parser.readObject(); block != null; block = parser.readObject()) {
                if (block instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (block instanceof PEMKeyPair pair) {
                    return converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
                if (block instanceof PKCS8EncryptedPrivateKeyInfo || block instanceof PEMEncryptedKeyPair) {
                    throw new PkiException("the key in " + file + " is encrypted; Sky Port needs an unencrypted key");
                }
            }
        } catch (IOException e) {
            throw PkiException.io("read a private key from", file, e);
        } catch (RuntimeException e) {
            if (e instanceof PkiException pki) {
                throw pki;
            }
            throw new PkiException("cannot read a private key from " + file + ": malformed PEM or DER", e);
        }
        throw new PkiException("no PEM private key in " + file);
    }

    /** Certificates as consecutive {@code CERTIFICATE} blocks. */
    static byte[] encodeCertificates(List<X509Certificate> certificates) {
        List<PemObject> blocks = new ArrayList<>();
        for (X509Certificate certificate : certificates) {
            try {
                blocks.add(new PemObject("CERTIFICATE", certificate.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new PkiException("cannot encode certificate " + certificate.getSubjectX500Principal(), e);
            }
        }
        return encode(blocks);
    }

    /** A key as an unencrypted PKCS#8 {@code PRIVATE KEY} block, the form OpenSSL and Python read without asking. */
    static byte[] encodePrivateKey(PrivateKey key) {
        if (!"PKCS#8".equals(key.getFormat())) {
            throw new PkiException("cannot encode a " + key.getAlgorithm() + " key in " + key.getFormat() + " format");
        }
        return encode(List.of(new PemObject("PRIVATE KEY", key.getEncoded())));
    }

    private static byte[] encode(List<PemObject> blocks) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PemWriter writer = new PemWriter(new OutputStreamWriter(bytes, StandardCharsets.US_ASCII))) {
            for (PemObject block : blocks) {
                writer.writeObject(block);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return bytes.toByteArray();
    }
}
