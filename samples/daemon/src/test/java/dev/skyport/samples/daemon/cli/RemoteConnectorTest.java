package dev.skyport.samples.daemon.cli;

import dev.skyport.samples.daemon.ClientDaemon;
import dev.skyport.samples.daemon.cli.CliHarness.Result;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The program's connector with real certificates issued by the cluster PKI, and a real daemon on a random port:
 * where the daemon and identity come from, and that every way of not getting through is one line and exit code 1.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RemoteConnectorTest {
    private Path dir;
    private Path spool;
    private Path certDir;
    private IssuedUser alice;
    private ClientDaemon daemon;

    @BeforeAll
    void start(@TempDir Path tmp) {
        dir = tmp;
        daemon = ClientDaemon.start(dir);
        spool = daemon.spool();
        alice = daemon.installUser("alice");
        certDir = daemon.homeOf("alice").resolve(".swm");
    }

    @AfterAll
    void stop() {
        daemon.close();
    }

    private RemoteConnector connector(Map<String, String> env) {
        return new RemoteConnector(env, daemon.homeOf("alice"));
    }

    @Test
    void theUrlIsTheOptionElseSkyportUrlElseLocalhost() {
        assertThat(connector(Map.of()).defaultUrl()).isEqualTo(URI.create("https://localhost:8443"));
        assertThat(connector(Map.of("SKYPORT_URL", " https://head:9443 ")).defaultUrl())
                .isEqualTo(URI.create("https://head:9443"));
        assertThatThrownBy(() -> connector(Map.of("SKYPORT_URL", "https://bad host")).defaultUrl())
                .isInstanceOf(CommandFailure.class).hasMessageContaining("SKYPORT_URL is not a URL");
    }

    @Test
    void theIdentityIsTheCertificatesUuidAsTheDaemonReadsIt() {
        try (Connection c = connector(Map.of("SKYPORT_SPOOL", spool.toString()))
                .connect(Optional.of(daemon.url()), Optional.empty())) {
            assertThat(c.userId()).contains(alice.uuid().toString());
            assertThat(c.owned()).isTrue();
        }
        // Without SKYPORT_SPOOL the bundle must be in <cert dir>/spool (where `skyport certs init --spool
        // ~/.swm/spool` puts it) or /opt/swm/spool; the message says where it was looked for.
        assertThatThrownBy(() -> connector(Map.of()).connect(Optional.empty(), Optional.of(certDir)))
                .isInstanceOf(CommandFailure.class).hasMessageContaining("no CA bundle found in")
                .hasMessageContaining(certDir.resolve("spool").toString());
    }

    @Test
    void missingCertificatesAreNamed() {
        Path empty = dir.resolve("nobody/.swm");
        assertThatThrownBy(() -> connector(Map.of("SKYPORT_SPOOL", spool.toString()))
                .connect(Optional.empty(), Optional.of(empty)))
                .isInstanceOf(CommandFailure.class).hasMessageContaining("cert.pem");
    }

    /** Runs the real program's command line with the real connector and captures what it printed. */
    private Result run(Map<String, String> env, String... args) {
        return CliHarness.run(connector(env), new byte[0], env, false, Optional.empty(), args);
    }

    @Test
    void aDaemonThatIsNotThereIsOneLineAndExitOne() throws Exception {
        int closed;
        try (ServerSocket socket = new ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        Result r = run(Map.of("SKYPORT_SPOOL", spool.toString()), "jobs", "--url",
                "https://127.0.0.1:" + closed, "--cert-dir", certDir.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("skyport jobs: ").doesNotContain("\tat ");
        assertThat(r.err().lines()).hasSize(1);
    }

    @Test
    void aCertificateTheDaemonDoesNotTrustIsOneLineAndExitOne() throws Exception {
        ClusterPki other = ClusterPki.init(dir.resolve("other-spool"), List.of("localhost"));
        IssuedUser mallory = other.issueUser("alice", false);
        Path malloryDir = Files.createDirectories(dir.resolve("mallory/.swm"));
        Files.copy(mallory.cert(), malloryDir.resolve("cert.pem"));
        Files.copy(mallory.key(), malloryDir.resolve("key.pem"));
        Result r = run(Map.of("SKYPORT_SPOOL", spool.toString()), "nodes", "--url",
                daemon.url().toString(), "--cert-dir", malloryDir.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("skyport nodes: ").doesNotContain("\tat ");
        assertThat(r.err().lines()).hasSize(1);

    }

    @Test
    void aPlainHttpUrlIsRefusedByName() {
        Result r = run(Map.of("SKYPORT_SPOOL", spool.toString()), "jobs", "--url", "http://localhost:8443",
                "--cert-dir", certDir.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("skyport jobs: ").contains("https").doesNotContain("\tat ");
    }
}
