package dev.skyport.samples.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.BatchSite;
import dev.skyport.samples.daemon.ClientDaemon;
import dev.skyport.samples.daemon.cli.CliHarness.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code skyport nodes} over the wire against a daemon with a batch site: the site's nodes under its name. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchSiteNodesCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private ClientDaemon daemon;

    @BeforeAll
    void start(@TempDir Path dir) {
        BatchSite site = new BatchSite("hpc", "loopback-batch", Map.of("queue-dir", dir.resolve("queue").toString(),
                "partitions", "debug:2:2:2048:60"));
        daemon = ClientDaemon.start(dir, c -> c.withEngine(c.engine().withBatchSites(List.of(site))));
        daemon.installUser("alice");
    }

    @AfterAll
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    private Result run(String... args) {
        return CliHarness.runAsAlice(daemon, args);
    }

    @Test
    void nodesShowsTheSitesNodesUnderItsNameWithTheirPartition() throws Exception {
        String table = run("nodes").out();
        String n1 = table.lines().filter(l -> l.startsWith("hpc/debug-n1 ")).findFirst()
                .orElseThrow(() -> new AssertionError("no hpc/debug-n1 in\n" + table));
        assertThat(n1).containsSubsequence("hpc/debug-n1", "hpc/debug");
        assertThat(table).contains("hpc/debug-n2");
        JsonNode json = JSON.readTree(run("nodes", "--json").out());
        assertThat(json.findValuesAsText("name")).contains("hpc/debug-n1", "hpc/debug-n2");
    }
}
