package dev.skyport.samples.daemon.pki;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Who a client certificate names: the user name (subject CN) and the user UUID (compatibility spec A.4).
 *
 * @param name the subject common name
 * @param uuid the user's UUID
 */
public record UserIdentity(String name, UUID uuid) {
    private static final Pattern CANONICAL_UUID =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final String URN_PREFIX = "urn:uuid:";
    private static final int SAN_URI = 6;

    public UserIdentity {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(uuid, "uuid");
    }

    /**
     * The identity in {@code cert}, which must already have been verified. The name is the subject CN. The UUID comes
     * from the subject attribute with OID 2.5.29.17, where upstream puts it as a DER string (in RFC 2253 form it
     * shows as {@code 2.5.29.17=#<hex DER>}), or else from a SAN URI {@code urn:uuid:<uuid>} as Sky Port also
     * writes. Upstream certificates (attribute only, no SAN, no EKU) are accepted. Empty when there is no CN or no
     * UUID, when a value is not a canonical 36-character UUID, or when the certificate is ambiguous (several CNs, or
     * UUIDs that disagree), so that a certificate never maps to the wrong user. Never throws.
     */
    public static Optional<UserIdentity> of(X509Certificate cert) {
        X500Name subject;
        try {
            subject = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        List<String> names = attributes(subject, BCStyle.CN);
        if (names.size() != 1 || names.get(0).isEmpty()) {
            return Optional.empty();
        }
        List<String> uuids = attributes(subject, CertificateAuthority.UUID_ATTRIBUTE);
        uuids.addAll(uuidUris(cert));
        if (uuids.isEmpty() || uuids.stream().anyMatch(value -> !CANONICAL_UUID.matcher(value).matches())) {
            return Optional.empty();
        }
        UUID uuid = UUID.fromString(uuids.get(0));
        if (uuids.stream().map(UUID::fromString).anyMatch(other -> !other.equals(uuid))) {
            return Optional.empty();
        }
        return Optional.of(new UserIdentity(names.get(0), uuid));
    }

    /** Every value of attribute {@code type} in {@code subject}, multi-valued RDNs included; "" for non-strings. */
    private static List<String> attributes(X500Name subject, ASN1ObjectIdentifier type) {
        List<String> values = new ArrayList<>();
        for (RDN rdn : subject.getRDNs(type)) {
            for (AttributeTypeAndValue attribute : rdn.getTypesAndValues()) {
                if (attribute.getType().equals(type)) {
                    ASN1Encodable value = attribute.getValue();
                    values.add(value instanceof ASN1String string ? string.getString() : "");
                }
            }
        }
        return values;
    }

    /** The UUIDs of {@code urn:uuid:} SAN URIs, as written after the prefix. */
    private static List<String> uuidUris(X509Certificate cert) {
        Collection<List<?>> alternativeNames;
        try {
            alternativeNames = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return List.of(""); // an unreadable SAN might hold a UUID: refuse rather than guess
        }
        List<String> uuids = new ArrayList<>();
        if (alternativeNames != null) {
            for (List<?> entry : alternativeNames) {
                if (entry.get(0) instanceof Integer type && type == SAN_URI && entry.get(1) instanceof String uri
                        && uri.toLowerCase(Locale.ROOT).startsWith(URN_PREFIX)) {
                    uuids.add(uri.substring(URN_PREFIX.length()));
                }
            }
        }
        return uuids;
    }
}
