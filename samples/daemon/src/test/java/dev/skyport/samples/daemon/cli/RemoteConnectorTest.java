package dev.skyport.samples.daemon.cli;

import dev.skyport.samples.daemon.Daemon;
import dev.skyport.samples.daemon.DaemonConfig;
import dev.skyport.samples.daemon.SkyportCommand;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
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
    private Daemon daemon;

    @BeforeAll
    void start(@TempDir Path tmp) throws Exception {
        dir = tmp;
        spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        alice = pki.issueUser("alice", false);
        certDir = Files.createDirectories(dir.resolve("alice-home/.swm"));
        Files.copy(alice.cert(), certDir.resolve("cert.pem"));
        Files.copy(alice.key(), certDir.resolve("key.pem"));
        daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1").withSpool(spool)
                .withDataDir(dir.resolve("data")));
    }

    @AfterAll
    void stop() {
        daemon.close();
    }

    private RemoteConnector connector(Map<String, String> env) {
        return new RemoteConnector(env, dir.resolve("alice-home"));
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
                .connect(Optional.of(URI.create("https://localhost:" + daemon.port())), Optional.empty())) {
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
    private String[] run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CliContext context = new CliContext(connector(env), InputStream.nullInputStream(),
                new ByteArrayOutputStream(), false, env, Clock.systemUTC());
        CommandLine cli = Cli.commandLine(new SkyportCommand(), context);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new String[]{String.valueOf(exit), out.toString(), err.toString()};
    }

    @Test
    void aDaemonThatIsNotThereIsOneLineAndExitOne() throws Exception {
        int closed;
        try (ServerSocket socket = new ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        String[] r = run(Map.of("SKYPORT_SPOOL", spool.toString()), "jobs", "--url",
                "https://127.0.0.1:" + closed, "--cert-dir", certDir.toString());
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[2]).startsWith("skyport jobs: ").doesNotContain("\tat ");
        assertThat(r[2].lines()).hasSize(1);
    }

    @Test
    void aCertificateTheDaemonDoesNotTrustIsOneLineAndExitOne() throws Exception {
        ClusterPki other = ClusterPki.init(dir.resolve("other-spool"), List.of("localhost"));
        IssuedUser mallory = other.issueUser("alice", false);
        Path malloryDir = Files.createDirectories(dir.resolve("mallory/.swm"));
        Files.copy(mallory.cert(), malloryDir.resolve("cert.pem"));
        Files.copy(mallory.key(), malloryDir.resolve("key.pem"));
        String[] r = run(Map.of("SKYPORT_SPOOL", spool.toString()), "nodes", "--url",
                "https://localhost:" + daemon.port(), "--cert-dir", malloryDir.toString());
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[2]).startsWith("skyport nodes: ").doesNotContain("\tat ");
        assertThat(r[2].lines()).hasSize(1);

    }

    @Test
    void aPlainHttpUrlIsRefusedByName() {
        String[] r = run(Map.of("SKYPORT_SPOOL", spool.toString()), "jobs", "--url", "http://localhost:8443",
                "--cert-dir", certDir.toString());
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[2]).startsWith("skyport jobs: ").contains("https").doesNotContain("\tat ");
    }
}
