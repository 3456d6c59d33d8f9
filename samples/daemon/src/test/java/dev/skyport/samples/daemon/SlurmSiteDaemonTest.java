package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skyport.api.BatchSite;
import dev.skyport.api.JobSpec;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import dev.skyport.samples.daemon.pki.ClusterPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
    private SlurmCluster cluster;
    private Path dir;
    private Daemon daemon;
    private AliceOverTheWire alice;

    @BeforeAll
    void start(@TempDir Path dir) throws IOException {
        this.dir = dir;
        cluster = SlurmCluster.start();
        Path spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
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
        alice = AliceOverTheWire.issue(pki, daemon.port());
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
        List<String> names = alice.userNodeNames();
        assertThat(names).contains("hpc/n1", "hpc/n2");
        assertThat(names).as("the daemon's own node too").anyMatch(n -> !n.startsWith("hpc/"));
        JsonNode n2 = alice.apiNode("hpc/n2");
        assertThat(n2.get("partition").asText()).isEqualTo("hpc/debug");
        assertThat(n2.toString()).contains("\"skyport-site\":\"hpc\"").contains("\"slurm-state\":\"idle\"");
    }

    @Test
    void aJobSubmittedOverTheWireRunsOnSlurm() throws Exception {
        String id = alice.submit(JobSpec.builder().remoteSite("hpc")
                .script("#!/bin/sh\necho \"on $SLURM_JOB_NODELIST as slurm job $SLURM_JOB_ID\"\n").build());
        JsonNode job = alice.awaitSucceeded(id, Duration.ofSeconds(90), Duration.ofMillis(100));
        assertThat(job.toString()).contains("hpc/debug");
        String stdout = alice.text("/api/v1/jobs/" + id + "/stdout");
        // Slurm's own id in the job's output, and the same job at Slurm tagged with Sky Port's id.
        String tagged = cluster.run("squeue", "-h", "-a", "-t", "all", "-o", "%i %k").lines()
                .filter(l -> l.trim().endsWith(" skyport:" + id + ":1")).findFirst()
                .orElseThrow(() -> new AssertionError("no Slurm job tagged " + id)).trim();
        assertThat(stdout).matches("on n[12] as slurm job " + tagged.substring(0, tagged.indexOf(' ')) + "\n");
    }
}
