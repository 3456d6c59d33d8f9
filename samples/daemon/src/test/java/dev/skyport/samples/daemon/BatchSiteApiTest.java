package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.BatchSite;
import dev.skyport.samples.daemon.DaemonConfig.ConfigException;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A daemon whose {@code skyport.yaml} names a batch site ({@code batch-sites: {hpc: {gate: loopback-batch, ...}}}, the
 * gate SPI's test batch queue) shows the site's nodes beside its own on {@code /user/node} and {@code /api/v1/nodes},
 * named {@code hpc/<node>}, and runs a job naming the site there.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchSiteApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path dir;
    private Daemon daemon;
    private OkHttpClient alice;
    private String base;

    static String settings(Path queue) {
        return """
                job-isolation: none
                batch-sites:
                  hpc:
                    gate: loopback-batch
                    options:
                      queue-dir: %s
                      partitions: "debug:2:2:2048:60,small:1:1:1024:10"
                      poll-interval: 200ms
                """.formatted(queue);
    }

    @BeforeAll
    void start(@TempDir Path dir) throws IOException {
        this.dir = dir;
        Path spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        IssuedUser a = pki.issueUser("alice", false);
        alice = Mtls.client(a, pki.layout().caChain());
        Path file = Files.writeString(dir.resolve("skyport.yaml"), settings(dir.resolve("queue")));
        DaemonConfig config = DaemonConfig.load(Optional.of(file), Map.of()).withPort(0).withBind("127.0.0.1")
                .withSpool(spool).withDataDir(dir.resolve("data"));
        daemon = Daemon.start(config);
        base = "https://localhost:" + daemon.port();
    }

    @AfterAll
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void theSettingsFileGivesTheEngineTheSiteWithItsGateAndOptions() throws IOException {
        DaemonConfig c = DaemonConfig.load(Optional.of(dir.resolve("skyport.yaml")), Map.of());
        assertThat(c.engine().batchSites()).containsExactly(new BatchSite("hpc", "loopback-batch", Map.of(
                "queue-dir", dir.resolve("queue").toString(), "partitions", "debug:2:2:2048:60,small:1:1:1024:10",
                "poll-interval", "200ms")));
    }

    @Test
    void userNodeAndApiNodesListTheSitesNodesUnderItsName() throws IOException {
        JsonNode nodes = body("/user/node");
        List<String> names = new ArrayList<>();
        nodes.forEach(n -> names.add(n.get("name").asText()));
        assertThat(names).contains("hpc/debug-n1", "hpc/debug-n2", "hpc/small-n1");
        assertThat(names).as("the daemon's own node too").anyMatch(n -> !n.startsWith("hpc/"));
        JsonNode v1 = body("/api/v1/nodes");
        JsonNode items = v1.has("items") ? v1.get("items") : v1;
        JsonNode small = null;
        for (JsonNode n : items) {
            if (n.get("name").asText().equals("hpc/small-n1")) {
                small = n;
            }
        }
        assertThat(small).as("hpc/small-n1 in " + v1).isNotNull();
        assertThat(small.get("partition").asText()).isEqualTo("hpc/small");
        assertThat(small.get("labels").get("skyport-site").asText()).isEqualTo("hpc");
    }

    @Test
    void aJobNamingTheSiteRunsThere() throws Exception {
        String body = dev.skyport.client.internal.wire.WireJson.writeSpecRequest(dev.skyport.api.JobSpec.builder()
                .remoteSite("hpc").script("#!/bin/sh\necho at the site\n").build()).toString();
        String id;
        try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/jobs")
                .post(okhttp3.RequestBody.create(body, okhttp3.MediaType.get("application/json"))).build()).execute()) {
            String text = r.body().string();
            assertThat(r.code()).as(text).isBetween(200, 201);
            id = JSON.readTree(text).get("id").asText();
        }
        long deadline = System.nanoTime() + java.time.Duration.ofMinutes(1).toNanos();
        JsonNode job = body("/api/v1/jobs/" + id);
        while (!job.get("state").asText().equals("SUCCEEDED") && System.nanoTime() < deadline) {
            Thread.sleep(50); // a poll's pace
            job = body("/api/v1/jobs/" + id);
        }
        assertThat(job.get("state").asText()).as(job.toString()).isEqualTo("SUCCEEDED");
        assertThat(job.toString()).contains("hpc/debug");
    }

    @Test
    void badBatchSiteSettingsAreRefusedNamingTheKey() throws IOException {
        Map<String, String> refused = Map.of(
                "batch-sites: {hpc: {gate: loopback-batch, option: {}}}", "batch-sites.hpc: unknown key 'option'",
                "batch-sites: {hpc: {options: {}}}", "batch-sites.hpc.gate",
                "batch-sites: {hpc: {gate: nosuch}}", "batch-sites.hpc.gate: no batch-sites.hpc.gate named 'nosuch'",
                "batch-sites: {hpc: [1]}", "batch-sites.hpc: expected a map",
                "batch-sites: {hpc: {gate: loopback-batch, options: [1]}}", "batch-sites.hpc.options",
                "batch-sites: {a/b: {gate: loopback-batch}}", "batch-sites.a/b");
        for (Map.Entry<String, String> e : refused.entrySet()) {
            Path file = Files.writeString(dir.resolve("bad.yaml"), e.getKey() + "\n");
            assertThatThrownBy(() -> DaemonConfig.load(Optional.of(file), Map.of())).as(e.getKey())
                    .isInstanceOf(ConfigException.class).hasMessageContaining(e.getValue());
        }
    }

    private JsonNode body(String path) throws IOException {
        try (Response r = alice.newCall(new Request.Builder().url(base + path).header("Accept", "application/json")
                .build()).execute()) {
            String text = r.body().string();
            assertThat(r.code()).as(path + " -> " + text).isEqualTo(200);
            return JSON.readTree(text);
        }
    }
}
