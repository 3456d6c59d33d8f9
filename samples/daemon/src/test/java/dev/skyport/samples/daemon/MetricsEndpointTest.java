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

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code /metrics} on the real daemon over mTLS: an admin scrapes Prometheus text in which the engine's meters move
 * when a job runs; a user who is not an admin gets 403 with the JSON error, and changes nothing.
 */
class MetricsEndpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);

    private Daemon daemon;
    private OkHttpClient root;
    private OkHttpClient alice;
    private String base;

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    /** Starts the daemon with root as its one admin, and the clients of root and of alice, who is not an admin. */
    private void start(Path dir) throws Exception {
        Path spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        root = Mtls.client(pki.issueUser("root", false), pki.layout().caChain());
        alice = Mtls.client(pki.issueUser("alice", false), pki.layout().caChain());
        daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1").withSpool(spool)
                .withDataDir(dir.resolve("data")).withAdmins(List.of("root")));
        base = "https://localhost:" + daemon.port();
    }

    @Test
    void anAdminScrapesTheEnginesMetersAndTheyMoveWhenAJobRuns(@TempDir Path dir) throws Exception {
        start(dir);

        String before = scrape(root, base);
        assertThat(before).contains("# TYPE skyport_queue_jobs gauge")
                .contains("skyport_queue_jobs{state=\"queued\"} 0.0")
                .contains("# TYPE skyport_scheduler_pass_seconds summary")
                .contains("jvm_memory_used_bytes");
        assertThat(value(before, "skyport_jobs_submitted_total", "")).isZero();

        String id;
        try (Response r = alice.newCall(new Request.Builder().url(base + "/user/job").post(RequestBody.create(
                "#!/bin/sh\necho metered\n".getBytes(StandardCharsets.UTF_8), MediaType.get("text/plain"))).build())
                .execute()) {
            id = r.body().string().trim();
            assertThat(r.code()).as(id).isEqualTo(200);
        }
        assertThat(daemon.engine().jobs().await(JobId.parse(id), WAIT).state()).isEqualTo(JobState.SUCCEEDED);

        String after = scrape(root, base);
        assertThat(value(after, "skyport_jobs_submitted_total", "")).isEqualTo(1.0);
        assertThat(value(after, "skyport_jobs_submit_seconds_count", "")).isEqualTo(1.0);
        assertThat(value(after, "skyport_jobs_transitions_total",
                "reason=\"completed\",state=\"succeeded\"")).isEqualTo(1.0);
        assertThat(value(after, "skyport_jobs_transitions_total", "reason=\"none\",state=\"running\""))
                .isEqualTo(1.0);
        assertThat(value(after, "skyport_scheduler_pass_seconds_count", ""))
                .isGreaterThan(value(before, "skyport_scheduler_pass_seconds_count", ""));
        assertThat(value(after, "skyport_gate_calls_seconds_count",
                "gate=\"local\",operation=\"launch\",outcome=\"success\"")).isEqualTo(1.0);
        assertThat(value(after, "skyport_queue_jobs", "state=\"running\"")).isZero();
    }

    @Test
    void aUserWhoIsNotAnAdminGets403AsJson(@TempDir Path dir) throws Exception {
        start(dir);

        try (Response r = alice.newCall(new Request.Builder().url(base + "/metrics").build()).execute()) {
            String text = r.body().string();
            assertThat(r.code()).as(text).isEqualTo(403);
            assertThat(r.header("Content-Type")).startsWith("application/json");
            JsonNode body = JSON.readTree(text);
            assertThat(body.get("error").asText()).isEqualTo("forbidden");
            assertThat(body.get("message").asText()).contains("admin").doesNotContain("skyport_");
        }
        try (Response r = root.newCall(new Request.Builder().url(base + "/metrics").post(RequestBody.create(
                new byte[0], MediaType.get("text/plain"))).build()).execute()) {
            assertThat(r.code()).isEqualTo(405);
            assertThat(r.header("Allow")).isEqualTo("GET");
            assertThat(JSON.readTree(r.body().string()).get("error").asText()).isEqualTo("method_not_allowed");
        }
        try (Response r = root.newCall(new Request.Builder().url(base + "/metrics/x").build()).execute()) {
            assertThat(r.code()).isEqualTo(404);
        }
    }

    private static String scrape(OkHttpClient client, String base) throws Exception {
        try (Response r = client.newCall(new Request.Builder().url(base + "/metrics").build()).execute()) {
            String text = r.body().string();
            assertThat(r.code()).as(text).isEqualTo(200);
            assertThat(r.header("Content-Type")).startsWith("text/plain; version=0.0.4");
            return text;
        }
    }

    /** The sample {@code name{labels}} of a scrape; 0 when the scrape has none yet (a counter not yet created). */
    private static double value(String scrape, String name, String labels) {
        Pattern line = Pattern.compile("(?m)^" + Pattern.quote(name) + (labels.isEmpty() ? "" : "\\{"
                + Pattern.quote(labels) + "\\}") + " (\\S+)$");
        Matcher m = line.matcher(scrape);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }
}
