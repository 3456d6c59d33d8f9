package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.JobQuery;
import dev.skyport.api.Limits;
import dev.skyport.samples.daemon.pki.ClusterPki;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The daemon hands the engine its per-user bounds: one user past them gets 429 and stores nothing; others go on. */
class UserQuotaApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Daemon daemon;

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void aUserPastTheirJobOrByteBoundGets429NamingItAndOthersAreServed() throws Exception {
        Path spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        OkHttpClient alice = Mtls.client(pki.issueUser("alice", false), pki.layout().caChain());
        OkHttpClient bob = Mtls.client(pki.issueUser("bob", false), pki.layout().caChain());
        daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1").withSpool(spool)
                .withDataDir(dir.resolve("data"))
                .withLimits(Limits.defaults().withMaxActiveJobsPerUser(2).withMaxStoredBytesPerUser(50_000)));
        String base = "https://localhost:" + daemon.port();
        String sleeper = "#!/bin/sh\nsleep 600\n";

        assertThat(code(submit(alice, base, sleeper))).isEqualTo(200);
        assertThat(code(submit(alice, base, sleeper))).isEqualTo(200);
        try (Response r = submit(alice, base, sleeper)) {
            String text = r.body().string();
            assertThat(r.code()).as(text).isEqualTo(429);
            assertThat(r.header("Retry-After")).isNotBlank();
            JsonNode error = JSON.readTree(text);
            assertThat(error.get("error").asText()).isEqualTo("quota_exceeded");
            assertThat(error.get("field").asText()).isEqualTo("maxActiveJobsPerUser");
            assertThat(error.get("message").asText()).contains("2 jobs that have not ended");
        }
        // Bob's bytes: a 40,000-character script fits once, not twice.
        String big = "#!/bin/sh\n# " + "b".repeat(40_000) + "\ntrue\n";
        assertThat(code(submit(bob, base, big))).isEqualTo(200);
        try (Response r = submit(bob, base, big)) {
            String text = r.body().string();
            assertThat(r.code()).as(text).isEqualTo(429);
            assertThat(JSON.readTree(text).get("field").asText()).isEqualTo("maxStoredBytesPerUser");
        }
        assertThat(daemon.engine().jobs().list(JobQuery.all()).items()).as("nothing more stored").hasSize(3);
        for (var job : daemon.engine().jobs().list(JobQuery.all()).items()) {
            daemon.engine().jobs().cancel(job.id());
        }
    }

    private static int code(Response response) {
        try (response) {
            return response.code();
        }
    }

    private static Response submit(OkHttpClient client, String base, String script) throws Exception {
        return client.newCall(new Request.Builder().url(base + "/user/job").post(RequestBody.create(
                script.getBytes(StandardCharsets.UTF_8), MediaType.get("text/plain"))).build()).execute();
    }
}
