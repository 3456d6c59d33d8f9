package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.samples.daemon.pki.ClusterPki;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The daemon stays honest about its engine: while the engine cannot schedule, {@code /user/health} answers 503 and
 * a submit answers 503 with the JSON error instead of storing a job that would never run; both recover with it.
 * The real daemon over mTLS, with the {@code failing} scheduler switched on and off.
 */
class DaemonHealthTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Three failed passes (back-off about 1 + 2 s) take the engine down; generous for a loaded machine. */
    private static final Duration WAIT = Duration.ofSeconds(60);

    private Daemon daemon;

    @AfterEach
    void stop() {
        FailingScheduler.failing = false;
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void whileTheEngineCannotScheduleSubmitsAndHealthAnswer503AndBothRecoverWithIt(@TempDir Path dir)
            throws Exception {
        Path spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        OkHttpClient alice = Mtls.client(pki.issueUser("alice", false), pki.layout().caChain());
        DaemonConfig defaults = DaemonConfig.defaults();
        daemon = Daemon.start(defaults.withPort(0).withBind("127.0.0.1").withSpool(spool)
                .withDataDir(dir.resolve("data")).withEngine(defaults.engine().withScheduler("failing")));
        String base = "https://localhost:" + daemon.port();

        FailingScheduler.failing = true;
        String first;
        try (Response r = alice.newCall(submit(base)).execute()) {
            first = r.body().string();
            assertThat(r.code()).as(first).isEqualTo(200);
        }
        JsonNode down = awaitHealth(alice, base, 503);
        assertThat(down.get("status").asText()).isEqualTo("DOWN");
        assertThat(down.get("problems").get(0).get("component").asText()).isEqualTo("scheduler");
        assertThat(down.get("problems").get(0).get("stops").asBoolean()).isTrue();

        try (Response r = alice.newCall(submit(base)).execute()) {
            String text = r.body().string();
            assertThat(r.code()).as(text).isEqualTo(503);
            assertThat(r.header("Retry-After")).isNotBlank();
            JsonNode body = JSON.readTree(text);
            assertThat(body.get("error").asText()).isEqualTo("engine_unavailable");
            assertThat(body.get("message").asText()).contains("scheduler").doesNotContain("\tat ");
        }
        assertThat(daemon.engine().jobs().list(dev.skyport.api.JobQuery.all()).items()).as("nothing stored")
                .hasSize(1);

        FailingScheduler.failing = false;
        JsonNode up = awaitHealth(alice, base, 200);
        assertThat(up.get("status").asText()).isEqualTo("UP");
        assertThat(daemon.engine().jobs().await(JobId.parse(first), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        try (Response r = alice.newCall(submit(base)).execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
    }

    private static Request submit(String base) {
        return new Request.Builder().url(base + "/user/job").post(RequestBody.create(
                "#!/bin/sh\necho ok\n".getBytes(StandardCharsets.UTF_8), MediaType.get("text/plain"))).build();
    }

    private static JsonNode awaitHealth(OkHttpClient client, String base, int code) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        while (true) {
            try (Response r = client.newCall(new Request.Builder().url(base + "/user/health").build()).execute()) {
                String text = r.body().string();
                if (r.code() == code) {
                    assertThat(r.header("Content-Type")).startsWith("application/json");
                    return JSON.readTree(text);
                }
                assertThat(Instant.now()).as("health still %d: %s", r.code(), text).isBefore(deadline);
            }
            Thread.sleep(50); // polling interval, bounded by the deadline
        }
    }
}
