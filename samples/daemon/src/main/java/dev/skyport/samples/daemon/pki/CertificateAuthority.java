package dev.skyport.samples.daemon.pki;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.Period;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.UUID;

/**
 * A CA certificate with its key, and the certificate profiles it signs (compatibility spec A.3 "Recommended" and
 * A.4). All profiles are RFC 5280 clean: SHA-256 signatures, random positive 159-bit serials, SKI and AKI, critical
 * basicConstraints and keyUsage, and validity from five minutes ago (clock skew) but never past the issuer's own
 * expiry. Fresh keys are EC P-256; an existing CA may also hold an RSA key (upstream's {@code openssl} setup).
 */
final class CertificateAuthority {
    /** The subject attribute upstream puts the user UUID in: the OID of the subjectAltName extension (spec A.4). */
    static final ASN1ObjectIdentifier UUID_ATTRIBUTE = new ASN1ObjectIdentifier("2.5.29.17");

    static final Period GRID_VALIDITY = Period.ofYears(10);
    static final Period CLUSTER_VALIDITY = Period.ofYears(5);
    static final Period LEAF_VALIDITY = Period.ofDays(397);
    static final Duration BACKDATE = Duration.ofMinutes(5);
    private static final int CN_MAX = 64;
    private static final int SERIAL_BITS = 159;

    private final X509Certificate certificate;
    private final PrivateKey key;
    private final Clock clock;
    private final SecureRandom random;

    CertificateAuthority(X509Certificate certificate, PrivateKey key, Clock clock, SecureRandom random) {
        this.certificate = certificate;
        this.key = key;
        this.clock = clock;
        this.random = random;
        if (certificate.getBasicConstraints() < 0) {
            throw new PkiException(certificate.getSubjectX500Principal().getName() + " is not a CA certificate");
        }
        if (!keyMatches(certificate.getPublicKey(), key)) {
            throw new PkiException("the key of " + certificate.getSubjectX500Principal().getName()
                    + " does not belong to its certificate");
        }
    }

    /** A fresh EC P-256 key pair. */
    static KeyPair newKeyPair(SecureRandom random) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), random);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new PkiException("this JVM cannot generate EC P-256 keys: " + e.getMessage(), e);
        }
    }

    /** A self-signed root CA (no path length limit) for {@code keys}. */
    static CertificateAuthority selfSigned(String commonName, Period validity, KeyPair keys, Clock clock,
                                           SecureRandom random) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        X500Name subject = commonName(commonName);
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial(random),
                Date.from(now.minus(BACKDATE)), Date.from(plus(now, validity)), subject, keys.getPublic());
        byte[] keyId = keyIdentifier(keys.getPublic());
        List<Extension> extensions = caExtensions(new BasicConstraints(true), keyId, keyId);
        X509Certificate certificate = sign(builder, extensions, keys.getPrivate(), random);
        return new CertificateAuthority(certificate, keys.getPrivate(), clock, random);
    }

    X509Certificate certificate() {
        return certificate;
    }

    PrivateKey key() {
        return key;
    }

    /** A CA below this one that may sign only end-entity certificates (pathLen 0). */
    CertificateAuthority issueSubordinate(String commonName, Period validity, KeyPair keys) {
        List<Extension> extensions = caExtensions(new BasicConstraints(0), keyIdentifier(keys.getPublic()),
                issuerKeyIdentifier());
        X509Certificate issued = issue(commonName(commonName), keys.getPublic(), validity, extensions);
        return new CertificateAuthority(issued, keys.getPrivate(), clock, random);
    }

    /** A TLS server certificate for validated, deduplicated {@code names} (DNS names and IP literals). */
    X509Certificate issueServer(List<String> names, PublicKey publicKey) {
        List<GeneralName> alternativeNames = new ArrayList<>();
        for (String name : names) {
            // An IP literal is not a valid dNSName (RFC 5280 4.2.1.6); TLS clients match IP hosts against iPAddress.
            alternativeNames.add(SubjectNames.isIpLiteral(name)
                    ? new GeneralName(GeneralName.iPAddress, name) : new GeneralName(GeneralName.dNSName, name));
        }
        // The CN is only a label (clients match the SAN); it must fit the 64 characters X.520 allows.
        String label = names.stream().filter(name -> name.length() <= CN_MAX).findFirst().orElse("Sky Port server");
        List<Extension> extensions = leafExtensions(publicKey, KeyPurposeId.id_kp_serverAuth,
                new GeneralNames(alternativeNames.toArray(GeneralName[]::new)));
        return issue(commonName(label), publicKey, LEAF_VALIDITY, extensions);
    }

    /**
     * A client certificate naming {@code name} in the CN and {@code uuid} twice: in the subject attribute upstream
     * reads (OID 2.5.29.17, UTF8String) and as a standard SAN URI {@code urn:uuid:<uuid>}.
     */
    X509Certificate issueUser(String name, UUID uuid, PublicKey publicKey) {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.CN, name)
                .addRDN(UUID_ATTRIBUTE, new DERUTF8String(uuid.toString()))
                .build();
        List<Extension> extensions = leafExtensions(publicKey, KeyPurposeId.id_kp_clientAuth,
                new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, "urn:uuid:" + uuid)));
        return issue(subject, publicKey, LEAF_VALIDITY, extensions);
    }

    private X509Certificate issue(X500Name subject, PublicKey publicKey, Period validity, List<Extension> extensions) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        Instant notAfter = plus(now, validity);
        Instant issuerNotAfter = certificate.getNotAfter().toInstant();
        if (notAfter.isAfter(issuerNotAfter)) {
            notAfter = issuerNotAfter;
        }
        if (!notAfter.isAfter(now)) {
            throw new PkiException(certificate.getSubjectX500Principal().getName() + " expired on " + issuerNotAfter);
        }
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate, serial(random),
                Date.from(now.minus(BACKDATE)), Date.from(notAfter), subject, publicKey);
        return sign(builder, extensions, key, random);
    }

    private List<Extension> leafExtensions(PublicKey publicKey, KeyPurposeId purpose, GeneralNames alternativeNames) {
        int usage = "RSA".equals(publicKey.getAlgorithm())
                ? KeyUsage.digitalSignature | KeyUsage.keyEncipherment : KeyUsage.digitalSignature;
        return List.of(
                extension(Extension.basicConstraints, true, new BasicConstraints(false)),
                extension(Extension.keyUsage, true, new KeyUsage(usage)),
                extension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose)),
                extension(Extension.subjectAlternativeName, false, alternativeNames),
                extension(Extension.subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(publicKey))),
                extension(Extension.authorityKeyIdentifier, false, new AuthorityKeyIdentifier(issuerKeyIdentifier())));
    }

    private static List<Extension> caExtensions(BasicConstraints constraints, byte[] keyId, byte[] authorityKeyId) {
        return List.of(
                extension(Extension.basicConstraints, true, constraints),
                extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign)),
                extension(Extension.subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId)),
                extension(Extension.authorityKeyIdentifier, false, new AuthorityKeyIdentifier(authorityKeyId)));
    }

    /** The issuer's own SKI when it has one (an upstream CA computed it its own way), else ours. */
    private byte[] issuerKeyIdentifier() {
        byte[] extension = certificate.getExtensionValue(Extension.subjectKeyIdentifier.getId());
        if (extension != null) {
            return SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(extension).getOctets())
                    .getKeyIdentifier();
        }
        return keyIdentifier(certificate.getPublicKey());
    }

    private static byte[] keyIdentifier(PublicKey publicKey) {
        try {
            return new JcaX509ExtensionUtils().createSubjectKeyIdentifier(publicKey).getKeyIdentifier();
        } catch (GeneralSecurityException e) {
            throw new PkiException("cannot compute a key identifier: " + e.getMessage(), e);
        }
    }

    private static Extension extension(ASN1ObjectIdentifier oid, boolean critical, ASN1Encodable value) {
        try {
            return Extension.create(oid, critical, value);
        } catch (IOException e) {
            throw new PkiException("cannot encode extension " + oid + ": " + e.getMessage(), e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, List<Extension> extensions,
                                        PrivateKey signingKey, SecureRandom random) {
        try {
            for (Extension extension : extensions) {
                builder.addExtension(extension);
            }
            ContentSigner signer = new JcaContentSignerBuilder(signatureAlgorithm(signingKey))
                    .setSecureRandom(random).build(signingKey);
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
        } catch (CertIOException | OperatorCreationException | CertificateException e) {
            throw new PkiException("cannot sign a certificate: " + e.getMessage(), e);
        }
    }

    private static String signatureAlgorithm(PrivateKey key) {
        return switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> throw new PkiException("cannot sign with a " + key.getAlgorithm() + " key; use EC or RSA");
        };
    }

    /** Whether {@code key} is the private half of {@code publicKey}: it signs something {@code publicKey} verifies. */
    private static boolean keyMatches(PublicKey publicKey, PrivateKey key) {
        try {
            String algorithm = signatureAlgorithm(key);
            byte[] challenge = "sky port key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static X500Name commonName(String commonName) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
    }

    /** Random, positive, exactly 159 bits: at most 20 DER bytes (RFC 5280 4.1.2.2) with 158 bits of entropy. */
    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(SERIAL_BITS, random).setBit(SERIAL_BITS - 1);
    }

    private static Instant plus(Instant instant, Period period) {
        return instant.atOffset(ZoneOffset.UTC).plus(period).toInstant();
    }
}
