package dev.skyport.samples.daemon.pki;

import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The chains validate with the JDK's PKIX, and a TLS server set up from the spool the way the daemon does it
 * ({@link ServerCredentials}) is reachable with the clients' CA bundle and hostname verification, and identifies
 * clients by their certificates.
 */
class PkiTrustTest {
    private static final int TIMEOUT_MILLIS = 5_000;

    @TempDir
    static Path dir;

    private static ClusterPki pki;
    private static ClusterPki otherPki;
    private static IssuedUser alice;
    private static IssuedUser mallory;
    private static SSLServerSocket server;
    private static Thread serverThread;

    @BeforeAll
    static void startServer() throws Exception {
        pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost", "127.0.0.1", "::1"));
        otherPki = ClusterPki.init(dir.resolve("other-spool"), List.of("localhost"));
        alice = pki.issueUser("alice", false);
        mallory = otherPki.issueUser("mallory", false);

        SSLContext context = ServerCredentials.load(pki.layout()).sslContext();
        server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 8,
                InetAddress.getLoopbackAddress());
        server.setNeedClientAuth(true);
        serverThread = new Thread(PkiTrustTest::serve, "tls-test-server");
        serverThread.setDaemon(true);
        serverThread.start();
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
        serverThread.join(TIMEOUT_MILLIS);
    }

    /** Answers each connection with the identity in the client's certificate, like the daemon's POST /user/job. */
    private static void serve() {
        while (!server.isClosed()) {
            try (SSLSocket socket = (SSLSocket) server.accept()) {
                socket.setSoTimeout(TIMEOUT_MILLIS);
                socket.startHandshake();
                X509Certificate peer = (X509Certificate) socket.getSession().getPeerCertificates()[0];
                String answer = UserIdentity.of(peer).map(id -> id.name() + " " + id.uuid()).orElse("unknown");
                OutputStream out = socket.getOutputStream();
                out.write((answer + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                // A refused handshake or the socket closing at the end; the client side asserts what it saw.
            }
        }
    }

    @Test
    void theServedChainValidatesUpToTheGridCa() throws Exception {
        validate(Pem.readCertificates(pki.layout().serverCert()), gridCa(pki));
    }

    @Test
    void leavesValidateWithTheClusterCaAsTheOnlyTrustAnchor() throws Exception {
        X509Certificate serverLeaf = Pem.readCertificates(pki.layout().serverCert()).get(0);
        X509Certificate user = Pem.readCertificates(alice.cert()).get(0);

        validate(List.of(serverLeaf), pki.clusterCertificate());
        validate(List.of(user), pki.clusterCertificate());
        validate(List.of(user, pki.clusterCertificate()), gridCa(pki));
    }

    @Test
    void certificatesFromAnotherCaDoNotValidate() {
        X509Certificate foreignUser = Pem.readCertificates(mallory.cert()).get(0);

        assertThatThrownBy(() -> validate(List.of(foreignUser), pki.clusterCertificate()))
                .isInstanceOf(CertPathValidatorException.class);
        assertThatThrownBy(() -> validate(List.of(foreignUser, otherPki.clusterCertificate()), gridCa(pki)))
                .isInstanceOf(CertPathValidatorException.class);
    }

    @Test
    void aClientTrustingTheCaBundleReachesLocalhostAndIsIdentified() throws Exception {
        assertThat(exchange("localhost", clientContext(alice))).isEqualTo("alice " + alice.uuid());
    }

    @Test
    void ipLiteralsMatchTheIpEntriesOfTheSan() throws Exception {
        assertThat(exchange("127.0.0.1", clientContext(alice))).isEqualTo("alice " + alice.uuid());
        assertThat(exchange("::1", clientContext(alice))).isEqualTo("alice " + alice.uuid());
    }

    @Test
    void aHostNameOutsideTheSanFailsVerification() {
        assertThatThrownBy(() -> exchange("not-in-san.example", clientContext(alice)))
                .isInstanceOf(SSLHandshakeException.class)
                .hasMessageContaining("not-in-san.example");
    }

    @Test
    void theServerAcceptsUpstreamStyleUserCertificatesWithoutEkuOrSan() throws Exception {
        String uuid = TestCertificates.uuid();
        PrivateKey clusterKey = Pem.readPrivateKey(pki.layout().clusterKey());
        // Only what upstream's openssl profile has: CA:false, no EKU, no SAN, UUID in the subject.
        KeyPair keys = TestCertificates.newKeyPair();
        X509Certificate upstream = TestCertificates.certificate(TestCertificates.upstreamSubject("carol", uuid),
                List.of(Extension.create(Extension.basicConstraints, false, new BasicConstraints(false))),
                pki.clusterCertificate(), clusterKey, keys);

        assertThat(exchange("localhost", clientContext(keys.getPrivate(), upstream))).isEqualTo("carol " + uuid);
    }

    @Test
    void theServerRefusesClientCertificatesFromAnotherCa() {
        assertThatThrownBy(() -> exchange("localhost", clientContext(mallory))).isInstanceOf(IOException.class);
    }

    private static X509Certificate gridCa(ClusterPki of) {
        return Pem.readCertificates(of.layout().gridCert()).get(0);
    }

    private static void validate(List<X509Certificate> path, X509Certificate anchor) throws Exception {
        PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(anchor, null)));
        parameters.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX")
                .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), parameters);
    }

    /** Connects to the test server on loopback, verifying the server as {@code host}; returns its one-line answer. */
    private static String exchange(String host, SSLContext context) throws IOException {
        Socket plain = new Socket();
        plain.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), TIMEOUT_MILLIS);
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory()
                .createSocket(plain, host, server.getLocalPort(), true)) {
            socket.setSoTimeout(TIMEOUT_MILLIS);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            String line = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8))
                    .readLine();
            if (line == null) {
                throw new IOException("the server closed the connection without answering");
            }
            return line;
        }
    }

    /** What the upstream clients do: trust every certificate in the CA bundle, present ~/.swm/cert.pem and key.pem. */
    private static SSLContext clientContext(IssuedUser user) throws Exception {
        return clientContext(Pem.readPrivateKey(user.key()), Pem.readCertificates(user.cert()).get(0));
    }

    private static SSLContext clientContext(PrivateKey key, X509Certificate cert) throws Exception {
        char[] password = "test".toCharArray();
        KeyStore identity = KeyStore.getInstance("PKCS12");
        identity.load(null, null);
        identity.setKeyEntry("me", key, password, new X509Certificate[] {cert});
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(identity, password);

        KeyStore bundle = KeyStore.getInstance("PKCS12");
        bundle.load(null, null);
        List<X509Certificate> cas = new ArrayList<>(Pem.readCertificates(pki.layout().caChain()));
        for (int i = 0; i < cas.size(); i++) {
            bundle.setCertificateEntry("ca" + i, cas.get(i));
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(bundle);

        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
        return context;
    }
}
