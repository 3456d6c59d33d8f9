package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.BatchSite;
import dev.skyport.api.JobSpec;
import dev.skyport.gate.slurm.testing.SlurmCluster;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real daemon (random port, real mTLS) whose {@code skyport.yaml} points {@code batch-sites} at a real Slurm
 * ({@link SlurmCluster}: slurmctld, two slurmd, slurmrestd on loopback) through the {@code slurm} gate: the cluster's
 * nodes show on {@code /user/node} and {@code /api/v1/nodes}, and a job submitted over the wire runs on Slurm.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SlurmSiteDaemonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SlurmCluster cluster;
    private Path dir;
    private Daemon daemon;
    private OkHttpClient alice;
    private String base;

    @BeforeAll
    void start(@TempDir Path dir) throws IOException {
        this.dir = dir;
        cluster = SlurmCluster.start();
        Path spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        IssuedUser a = pki.issueUser("alice", false);
        alice = Mtls.client(a, pki.layout().caChain());
        Path file = Files.writeString(dir.resolve("skyport.yaml"), """
                job-isolation: none
                batch-sites:
                  hpc:
                    gate: slurm
                    options:
                      rest-url: %s
                      user: %s
                      jwt-key-file: %s
                      work-root: %s
                      poll-interval: 200ms
                """.formatted(cluster.restUrl(), SlurmCluster.REST_USER, cluster.jwtKeyFile(), cluster.workRoot()));
        DaemonConfig config = DaemonConfig.load(Optional.of(file), Map.of()).withPort(0).withBind("127.0.0.1")
                .withSpool(spool).withDataDir(dir.resolve("data"));
        daemon = Daemon.start(config);
        base = "https://localhost:" + daemon.port();
    }

    @AfterAll
    void stop() {
        try {
            if (daemon != null) {
                daemon.close();
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
    }

    @Test
    void theSettingsFileNamesTheSlurmGate() throws IOException {
        DaemonConfig c = DaemonConfig.load(Optional.of(dir.resolve("skyport.yaml")), Map.of());
        assertThat(c.engine().batchSites()).extracting(BatchSite::name, BatchSite::gate)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("hpc", "slurm"));
    }

    @Test
    void userNodeAndApiNodesListSlurmsNodesUnderTheSitesName() throws IOException {
        JsonNode nodes = body("/user/node");
        List<String> names = new ArrayList<>();
        nodes.forEach(n -> names.add(n.get("name").asText()));
        assertThat(names).contains("hpc/n1", "hpc/n2");
        assertThat(names).as("the daemon's own node too").anyMatch(n -> !n.startsWith("hpc/"));
        JsonNode v1 = body("/api/v1/nodes");
        JsonNode items = v1.has("items") ? v1.get("items") : v1;
        JsonNode n2 = null;
        for (JsonNode n : items) {
            if (n.get("name").asText().equals("hpc/n2")) {
                n2 = n;
            }
        }
        assertThat(n2).as("hpc/n2 in " + v1).isNotNull();
        assertThat(n2.get("partition").asText()).isEqualTo("hpc/debug");
        assertThat(n2.toString()).contains("\"skyport-site\":\"hpc\"").contains("\"slurm-state\":\"idle\"");
    }

    @Test
    void aJobSubmittedOverTheWireRunsOnSlurm() throws Exception {
        String body = dev.skyport.client.internal.wire.WireJson.writeSpecRequest(JobSpec.builder()
                .remoteSite("hpc").script("#!/bin/sh\necho \"on $SLURM_JOB_NODELIST as slurm job $SLURM_JOB_ID\"\n")
                .build()).toString();
        String id;
        try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/jobs")
                .post(okhttp3.RequestBody.create(body, okhttp3.MediaType.get("application/json"))).build()).execute()) {
            String text = r.body().string();
            assertThat(r.code()).as(text).isBetween(200, 201);
            id = JSON.readTree(text).get("id").asText();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        JsonNode job = body("/api/v1/jobs/" + id);
        while (!job.get("state").asText().equals("SUCCEEDED") && System.nanoTime() < deadline) {
            Thread.sleep(100); // a poll's pace
            job = body("/api/v1/jobs/" + id);
        }
        assertThat(job.get("state").asText()).as(job.toString()).isEqualTo("SUCCEEDED");
        assertThat(job.toString()).contains("hpc/debug");
        String stdout;
        try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/jobs/" + id + "/stdout").build())
                .execute()) {
            stdout = r.body().string();
        }
        // Slurm's own id in the job's output, and the same job at Slurm tagged with Sky Port's id.
        String tagged = cluster.run("squeue", "-h", "-a", "-t", "all", "-o", "%i %k").lines()
                .filter(l -> l.trim().endsWith(" skyport:" + id + ":1")).findFirst()
                .orElseThrow(() -> new AssertionError("no Slurm job tagged " + id)).trim();
        assertThat(stdout).matches("on n[12] as slurm job " + tagged.substring(0, tagged.indexOf(' ')) + "\n");
    }

    private JsonNode body(String path) throws IOException {
        try (Response r = alice.newCall(new Request.Builder().url(base + path).build()).execute()) {
            String text = r.body().string();
            assertThat(r.code()).as(path + ": " + text).isEqualTo(200);
            return JSON.readTree(text);
        }
    }
}
