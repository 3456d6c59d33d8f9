package dev.skyport.samples.daemon.pki;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import static dev.skyport.samples.daemon.pki.TestCertificates.octets;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The certificate profiles (spec A.3 "Recommended", A.4), checked field by field on a fixed clock. */
class PkiProfileTest {
    private static final Instant NOW = Instant.parse("2030-01-02T03:04:05Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String BASIC_CONSTRAINTS = "2.5.29.19";
    private static final String KEY_USAGE = "2.5.29.15";
    // keyUsage bits: 0 digitalSignature, 2 keyEncipherment, 5 keyCertSign, 6 cRLSign.
    private static final boolean[] CA_USAGE = {false, false, false, false, false, true, true, false, false};
    private static final boolean[] SIGNING_USAGE = {true, false, false, false, false, false, false, false, false};

    @TempDir
    Path spool;

    private ClusterPki pki;
    private X509Certificate grid;
    private X509Certificate cluster;

    @BeforeEach
    void createPki() {
        pki = ClusterPki.init(spool, List.of("host.example", "localhost", "127.0.0.1", "::1"), CLOCK,
                new SecureRandom());
        grid = Pem.readCertificates(pki.layout().gridCert()).get(0);
        cluster = pki.clusterCertificate();
    }

    @Test
    void theGridCaIsASelfSignedTenYearRoot() throws Exception {
        assertThat(grid.getSubjectX500Principal().getName()).isEqualTo("CN=Sky Port grid CA");
        assertThat(grid.getIssuerX500Principal()).isEqualTo(grid.getSubjectX500Principal());
        grid.verify(grid.getPublicKey());
        assertThat(grid.getBasicConstraints()).isEqualTo(Integer.MAX_VALUE);
        assertThat(grid.getKeyUsage()).containsExactly(CA_USAGE);
        assertThat(grid.getCriticalExtensionOIDs()).containsExactlyInAnyOrder(BASIC_CONSTRAINTS, KEY_USAGE);
        assertThat(authorityKeyId(grid)).isEqualTo(subjectKeyId(grid));
        assertValidity(grid, NOW.atOffset(ZoneOffset.UTC).plusYears(10).toInstant());
        assertCommon(grid);
    }

    @Test
    void theClusterCaIsSignedByTheGridAndMaySignOnlyLeaves() throws Exception {
        assertThat(cluster.getSubjectX500Principal().getName()).isEqualTo("CN=Sky Port cluster CA");
        assertThat(cluster.getIssuerX500Principal()).isEqualTo(grid.getSubjectX500Principal());
        cluster.verify(grid.getPublicKey());
        assertThat(cluster.getBasicConstraints()).isZero();
        assertThat(cluster.getKeyUsage()).containsExactly(CA_USAGE);
        assertThat(cluster.getCriticalExtensionOIDs()).containsExactlyInAnyOrder(BASIC_CONSTRAINTS, KEY_USAGE);
        assertThat(authorityKeyId(cluster)).isEqualTo(subjectKeyId(grid));
        assertValidity(cluster, NOW.atOffset(ZoneOffset.UTC).plusYears(5).toInstant());
        assertCommon(cluster);
    }

    @Test
    void theServerCertificateNamesEveryHostInItsSanAndServesOnlyTls() throws Exception {
        X509Certificate server = Pem.readCertificates(pki.layout().serverCert()).get(0);

        assertThat(server.getSubjectX500Principal().getName()).isEqualTo("CN=host.example");
        server.verify(cluster.getPublicKey());
        assertThat(server.getSubjectAlternativeNames()).containsExactly(
                List.of(2, "host.example"), List.of(2, "localhost"),
                List.of(7, "127.0.0.1"), List.of(7, "0:0:0:0:0:0:0:1"));
        assertThat(server.getExtendedKeyUsage()).containsExactly(SERVER_AUTH);
        assertLeaf(server);
    }

    @Test
    void theUserCertificateCarriesTheUuidWhereUpstreamAndStandardClientsLook() throws Exception {
        IssuedUser alice = pki.issueUser("alice", false);
        X509Certificate user = Pem.readCertificates(alice.cert()).get(0);

        X500Name subject = X500Name.getInstance(user.getSubjectX500Principal().getEncoded());
        assertThat(subject.getRDNs(new ASN1ObjectIdentifier("2.5.4.3"))[0].getFirst().getValue())
                .hasToString("alice");
        var uuidValue = subject.getRDNs(TestCertificates.UUID_ATTRIBUTE)[0].getFirst().getValue();
        assertThat(uuidValue).isInstanceOf(DERUTF8String.class);
        assertThat(((ASN1String) uuidValue).getString()).isEqualTo(alice.uuid().toString());
        assertThat(user.getSubjectAlternativeNames()).containsExactly(List.of(6, "urn:uuid:" + alice.uuid()));
        assertThat(user.getExtendedKeyUsage()).containsExactly(CLIENT_AUTH);
        user.verify(cluster.getPublicKey());
        assertLeaf(user);
    }

    @Test
    void aLeafNeverOutlivesItsIssuer() {
        Instant clusterExpiry = cluster.getNotAfter().toInstant();
        Clock late = Clock.fixed(clusterExpiry.minus(Duration.ofDays(30)), ZoneOffset.UTC);

        IssuedUser bob = ClusterPki.open(spool, late, new SecureRandom()).issueUser("bob", false);

        assertThat(Pem.readCertificates(bob.cert()).get(0).getNotAfter().toInstant()).isEqualTo(clusterExpiry);
    }

    @Test
    void anExpiredClusterCaIssuesNothing() {
        Clock afterExpiry = Clock.fixed(cluster.getNotAfter().toInstant().plusSeconds(1), ZoneOffset.UTC);
        ClusterPki expired = ClusterPki.open(spool, afterExpiry, new SecureRandom());

        assertThatThrownBy(() -> expired.issueUser("bob", false))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining("expired");
        assertThat(expired.layout().userCert("bob")).doesNotExist();
    }

    @Test
    void serialsAreRandomPositive159BitNumbers() {
        List<X509Certificate> all = List.of(grid, cluster, Pem.readCertificates(pki.layout().serverCert()).get(0),
                Pem.readCertificates(pki.issueUser("alice", false).cert()).get(0));

        assertThat(all).allSatisfy(cert -> assertThat(cert.getSerialNumber().bitLength()).isEqualTo(159));
        assertThat(all.stream().map(X509Certificate::getSerialNumber)).doesNotHaveDuplicates();
    }

    private void assertLeaf(X509Certificate leaf) {
        assertThat(leaf.getIssuerX500Principal()).isEqualTo(cluster.getSubjectX500Principal());
        assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
        assertThat(leaf.getExtensionValue(BASIC_CONSTRAINTS)).isNotNull();
        assertThat(leaf.getKeyUsage()).containsExactly(SIGNING_USAGE);
        assertThat(leaf.getCriticalExtensionOIDs()).containsExactlyInAnyOrder(BASIC_CONSTRAINTS, KEY_USAGE);
        assertThat(authorityKeyId(leaf)).isEqualTo(subjectKeyId(cluster));
        assertValidity(leaf, NOW.plus(Duration.ofDays(397)));
        assertCommon(leaf);
    }

    private static void assertCommon(X509Certificate cert) {
        assertThat(cert.getVersion()).isEqualTo(3);
        assertThat(cert.getSigAlgName()).isEqualTo("SHA256withECDSA");
        assertThat(cert.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(subjectKeyId(cert)).isNotEmpty();
        assertThat(cert.getSerialNumber().signum()).isPositive();
    }

    private static void assertValidity(X509Certificate cert, Instant notAfter) {
        assertThat(cert.getNotBefore().toInstant()).isEqualTo(NOW.minus(Duration.ofMinutes(5)));
        assertThat(cert.getNotAfter().toInstant()).isEqualTo(notAfter);
    }

    private static byte[] subjectKeyId(X509Certificate cert) {
        return SubjectKeyIdentifier.getInstance(octets(cert, Extension.subjectKeyIdentifier)).getKeyIdentifier();
    }

    private static byte[] authorityKeyId(X509Certificate cert) {
        AuthorityKeyIdentifier aki = AuthorityKeyIdentifier.getInstance(octets(cert, Extension.authorityKeyIdentifier));
        assertThat(aki.getAuthorityCertIssuer()).as("AKI names no issuer, so a re-signed CA still matches").isNull();
        return aki.getKeyIdentifier();
    }
}
