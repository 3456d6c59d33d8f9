package dev.skyport.samples.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.BatchSite;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import dev.skyport.samples.daemon.ClientDaemon;
import dev.skyport.samples.daemon.cli.CliHarness.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code skyport nodes} over the wire against a daemon whose batch site is a real Slurm: Slurm's nodes, by name. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SlurmSiteNodesCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private SlurmCluster cluster;
    private ClientDaemon daemon;

    @BeforeAll
    void start(@TempDir Path dir) {
        cluster = SlurmCluster.start();
        BatchSite site = new BatchSite("hpc", "slurm", cluster.restGateOptions());
        daemon = ClientDaemon.start(dir, c -> c.withEngine(c.engine().withBatchSites(List.of(site))));
        daemon.installUser("alice");
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

    private Result run(String... args) {
        return CliHarness.runAsAlice(daemon, args);
    }

    @Test
    void nodesShowsSlurmsNodesUnderTheSitesNameWithTheirPartition() throws Exception {
        String table = run("nodes").out();
        for (String node : List.of("hpc/n1", "hpc/n2")) {
            String line = table.lines().filter(l -> l.startsWith(node + " ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no " + node + " in\n" + table));
            assertThat(line).containsSubsequence(node, "hpc/debug");
        }
        JsonNode json = JSON.readTree(run("nodes", "--json").out());
        assertThat(json.findValuesAsText("name")).contains("hpc/n1", "hpc/n2");
    }
}
