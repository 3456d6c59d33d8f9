package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The listener's TLS on both implementations: the native one (BoringSSL through Conscrypt) and the JDK's. The other
 * daemon tests run on the default, which is the native one wherever it loads.
 */
class ServerTlsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void theNativeProviderServesByDefaultWhereItLoads() {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        try (Daemon daemon = start(pki, ServerTls.Choice.AUTO)) {
            assertThat(daemon.tlsProvider()).isEqualTo("Conscrypt");
        }
    }

    /**
     * A client that offers its previous session resumes it where the provider resumes that TLS version (Python's
     * {@code ssl} says exactly whether it did; Conscrypt sends no TLS 1.3 tickets, see {@link ServerTls}), and what it
     * submits over a resumed session belongs to the user of the certificate of the full handshake.
     */
    @ParameterizedTest
    @CsvSource({"NATIVE, TLSv1_2, true", "NATIVE, TLSv1_3, true", "JDK, TLSv1_2, true", "JDK, TLSv1_3, true"})
    void aResumedSessionKeepsTheClientsIdentity(ServerTls.Choice choice, String maxVersion, boolean resumes)
            throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        IssuedUser alice = pki.issueUser("alice", false);
        try (Daemon daemon = start(pki, choice)) {
            assertThat(daemon.tlsProvider()).isEqualTo(choice == ServerTls.Choice.JDK ? "JDK" : "Conscrypt");

            List<JsonNode> calls = resumingClient(daemon, alice, pki, 3, maxVersion);

            assertThat(calls).extracting(c -> c.get("reused").asBoolean()).containsExactly(false, resumes, resumes);
            for (JsonNode call : calls) {
                assertThat(call.get("status").asInt()).as(call.toString()).isEqualTo(200);
                Job job = daemon.engine().jobs().get(JobId.parse(call.get("body").asText().strip()));
                assertThat(job.owner()).isEqualTo(alice.uuid().toString());
                assertThat(job.ownerName()).isEqualTo("alice");
            }
        }
    }

    @Test
    void theNativeProviderRefusesAClientCertificateOfAnotherCa() throws IOException {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        pki.issueUser("alice", false);
        ClusterPki other = ClusterPki.init(dir.resolve("other-spool"), List.of("localhost"));
        IssuedUser mallory = other.issueUser("alice", false); // same name, wrong CA
        try (Daemon daemon = start(pki, ServerTls.Choice.NATIVE)) {
            String url = "https://localhost:" + daemon.port() + "/user";
            OkHttpClient foreign = Mtls.client(mallory, pki.layout().caChain());
            assertThatThrownBy(() -> foreign.newCall(new Request.Builder().url(url).build()).execute().close())
                    .isInstanceOfAny(SSLException.class, SocketException.class);
            OkHttpClient anonymous = Mtls.anonymous(pki.layout().caChain());
            assertThatThrownBy(() -> anonymous.newCall(new Request.Builder().url(url).build()).execute().close())
                    .isInstanceOfAny(SSLException.class, SocketException.class);
            // and the same daemon still serves a certificate of its own CA
            IssuedUser bob = pki.issueUser("bob", false);
            try (Response r = Mtls.client(bob, pki.layout().caChain()).newCall(new Request.Builder()
                    .url(url + "/job").build()).execute()) {
                assertThat(r.code()).isEqualTo(200);
            }
        }
    }

    @Test
    void anUnknownChoiceIsRefusedNamingTheVariable() {
        assertThat(ServerTls.Choice.fromEnvironment(Map.of())).isEqualTo(ServerTls.Choice.AUTO);
        assertThat(ServerTls.Choice.fromEnvironment(Map.of(ServerTls.ENVIRONMENT, " jdk ")))
                .isEqualTo(ServerTls.Choice.JDK);
        assertThatThrownBy(() -> ServerTls.Choice.fromEnvironment(Map.of(ServerTls.ENVIRONMENT, "openssl")))
                .isInstanceOf(Daemon.DaemonException.class)
                .hasMessage("SKYPORT_TLS_PROVIDER: 'openssl' is not one of auto, native, jdk");
    }

    private Daemon start(ClusterPki pki, ServerTls.Choice choice) {
        return Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1").withSpool(pki.layout().spool())
                .withDataDir(dir.resolve("data")), choice);
    }

    /** Runs {@code resuming_client.py} for {@code calls} submits; one JSON object per call. */
    private List<JsonNode> resumingClient(Daemon daemon, IssuedUser user, ClusterPki pki, int calls,
                                          String maxVersion)
            throws IOException, InterruptedException {
        Path script = dir.resolve("resuming_client.py");
        try (InputStream in = ServerTlsTest.class.getResourceAsStream("/tls/resuming_client.py")) {
            Files.write(script, in.readAllBytes());
        }
        Process python = new ProcessBuilder("python3", script.toString(), String.valueOf(daemon.port()),
                user.cert().toString(), user.key().toString(), pki.layout().caChain().toString(),
                String.valueOf(calls), maxVersion).redirectError(dir.resolve("python.err").toFile()).start();
        String out = new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(python.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(python.exitValue()).as(Files.readString(dir.resolve("python.err"))).isZero();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.strip().split("\n")) {
            lines.add(JSON.readTree(line));
        }
        return lines;
    }
}
