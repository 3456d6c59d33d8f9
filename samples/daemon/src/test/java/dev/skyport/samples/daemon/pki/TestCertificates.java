package dev.skyport.samples.daemon.pki;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.UUID;

/** Certificates the tests build by hand, e.g. in the shape upstream's {@code openssl} setup issues them. */
final class TestCertificates {
    static final ASN1ObjectIdentifier UUID_ATTRIBUTE = new ASN1ObjectIdentifier("2.5.29.17");
    private static final SecureRandom RANDOM = new SecureRandom();

    private TestCertificates() {
    }

    /** Upstream's user subject (spec A.4): O, OU, CN and the UUID in attribute 2.5.29.17 as a UTF8String. */
    static X500Name upstreamSubject(String name, String uuidValue) {
        return upstreamSubject(name, new DERUTF8String(uuidValue));
    }

    static X500Name upstreamSubject(String name, ASN1Encodable uuidValue) {
        return new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.C, "EU")
                .addRDN(BCStyle.O, "Open Workload")
                .addRDN(BCStyle.OU, "Sky Port")
                .addRDN(BCStyle.CN, name)
                .addRDN(UUID_ATTRIBUTE, uuidValue)
                .build();
    }

    /** A certificate for {@code subject} with exactly {@code extensions}, signed by {@code issuer} (self when null). */
    static X509Certificate certificate(X500Name subject, List<Extension> extensions, X509Certificate issuer,
                                       PrivateKey issuerKey) throws Exception {
        return certificate(subject, extensions, issuer, issuerKey, newKeyPair());
    }

    /** As above, for the given subject key pair. */
    static X509Certificate certificate(X500Name subject, List<Extension> extensions, X509Certificate issuer,
                                       PrivateKey issuerKey, KeyPair keys) throws Exception {
        Instant now = Instant.now();
        Date from = Date.from(now.minus(Duration.ofHours(1)));
        Date to = Date.from(now.plus(Duration.ofDays(365)));
        BigInteger serial = new BigInteger(64, RANDOM).add(BigInteger.ONE);
        X509v3CertificateBuilder builder = issuer == null
                ? new JcaX509v3CertificateBuilder(subject, serial, from, to, subject, keys.getPublic())
                : new JcaX509v3CertificateBuilder(issuer, serial, from, to, subject, keys.getPublic());
        for (Extension extension : extensions) {
            builder.addExtension(extension);
        }
        PrivateKey signer = issuer == null ? keys.getPrivate() : issuerKey;
        String algorithm = "RSA".equals(signer.getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
        return new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder(algorithm).build(signer)));
    }

    static X509Certificate selfSigned(X500Name subject, List<Extension> extensions) throws Exception {
        return certificate(subject, extensions, null, null);
    }

    static KeyPair newKeyPair() {
        return CertificateAuthority.newKeyPair(RANDOM);
    }

    static String uuid() {
        return UUID.randomUUID().toString();
    }

    static String mode(Path path) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }

    static byte[] octets(X509Certificate certificate, ASN1ObjectIdentifier extension) {
        byte[] value = certificate.getExtensionValue(extension.getId());
        return value == null ? null : ASN1OctetString.getInstance(value).getOctets();
    }
}
