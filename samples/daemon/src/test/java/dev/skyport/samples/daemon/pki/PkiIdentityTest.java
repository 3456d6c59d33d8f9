package dev.skyport.samples.daemon.pki;

import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.UUID;
import javax.security.auth.x500.X500Principal;

import static dev.skyport.samples.daemon.pki.TestCertificates.selfSigned;
import static dev.skyport.samples.daemon.pki.TestCertificates.upstreamSubject;
import static org.assertj.core.api.Assertions.assertThat;

/** {@link UserIdentity#of}: our certificates, upstream's, and the ones that must not map to any user. */
class PkiIdentityTest {
    @TempDir
    Path spool;

    @Test
    void aCertificateWeIssueNamesTheUserAndUuid() {
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost"));
        IssuedUser alice = pki.issueUser("alice", false);

        assertThat(UserIdentity.of(Pem.readCertificates(alice.cert()).get(0)))
                .contains(new UserIdentity("alice", alice.uuid()));
    }

    @Test
    void anUpstreamCertificateIsReadFromTheSubjectAttributeAlone() throws Exception {
        String uuid = TestCertificates.uuid();
        X509Certificate upstream = selfSigned(upstreamSubject("alice", uuid), List.of());

        // What upstream sees (spec A.4): the attribute as a hex-encoded UTF8String, tag 0c and length 0x24.
        assertThat(upstream.getSubjectX500Principal().getName(X500Principal.RFC2253)).contains("2.5.29.17=#0c24");
        assertThat(upstream.getSubjectAlternativeNames()).isNull();
        assertThat(upstream.getExtendedKeyUsage()).isNull();
        assertThat(UserIdentity.of(upstream)).contains(new UserIdentity("alice", UUID.fromString(uuid)));
    }

    @Test
    void anyDerStringTypeIsAcceptedForTheUuidAttribute() throws Exception {
        String uuid = TestCertificates.uuid();
        X509Certificate printable = selfSigned(upstreamSubject("bob", new DERPrintableString(uuid)), List.of());

        assertThat(UserIdentity.of(printable)).contains(new UserIdentity("bob", UUID.fromString(uuid)));
    }

    @Test
    void aSanUriAloneAlsoIdentifiesTheUser() throws Exception {
        UUID uuid = UUID.randomUUID();
        X509Certificate cert = selfSigned(new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, "dana").build(),
                List.of(uuidUri("URN:UUID:" + uuid)));

        assertThat(UserIdentity.of(cert)).contains(new UserIdentity("dana", uuid));
    }

    @Test
    void aCertificateWithoutAUuidIdentifiesNobody() throws Exception {
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost"));
        X509Certificate server = Pem.readCertificates(pki.layout().serverCert()).get(0);

        assertThat(UserIdentity.of(server)).isEmpty();
        assertThat(UserIdentity.of(pki.clusterCertificate())).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "not-a-uuid", "1-1-1-1-1", "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            " 0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e0"})
    void aMalformedUuidIdentifiesNobody(String value) throws Exception {
        assertThat(UserIdentity.of(selfSigned(upstreamSubject("alice", value), List.of()))).isEmpty();
    }

    @Test
    void aCertificateWithoutACommonNameIdentifiesNobody() throws Exception {
        X509Certificate cert = selfSigned(new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "Open Workload")
                .addRDN(TestCertificates.UUID_ATTRIBUTE, new DERUTF8String(TestCertificates.uuid())).build(), List.of());

        assertThat(UserIdentity.of(cert)).isEmpty();
    }

    @Test
    void uuidsThatDisagreeIdentifyNobody() throws Exception {
        X509Certificate cert = selfSigned(upstreamSubject("alice", TestCertificates.uuid()),
                List.of(uuidUri("urn:uuid:" + UUID.randomUUID())));

        assertThat(UserIdentity.of(cert)).isEmpty();
    }

    private static Extension uuidUri(String uri) throws Exception {
        return Extension.create(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, uri)));
    }
}
