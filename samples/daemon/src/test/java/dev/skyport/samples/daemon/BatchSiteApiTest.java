package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skyport.api.BatchSite;
import dev.skyport.samples.daemon.DaemonConfig.ConfigException;
import dev.skyport.samples.daemon.pki.ClusterPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
    private Path dir;
    private Daemon daemon;
    private AliceOverTheWire alice;

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
        Path file = Files.writeString(dir.resolve("skyport.yaml"), settings(dir.resolve("queue")));
        DaemonConfig config = DaemonConfig.load(Optional.of(file), Map.of()).withPort(0).withBind("127.0.0.1")
                .withSpool(spool).withDataDir(dir.resolve("data"));
        daemon = Daemon.start(config);
        alice = AliceOverTheWire.issue(pki, daemon.port());
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
        List<String> names = alice.userNodeNames();
        assertThat(names).contains("hpc/debug-n1", "hpc/debug-n2", "hpc/small-n1");
        assertThat(names).as("the daemon's own node too").anyMatch(n -> !n.startsWith("hpc/"));
        JsonNode small = alice.apiNode("hpc/small-n1");
        assertThat(small.get("partition").asText()).isEqualTo("hpc/small");
        assertThat(small.get("labels").get("skyport-site").asText()).isEqualTo("hpc");
    }

    @Test
    void aJobNamingTheSiteRunsThere() throws Exception {
        String id = alice.submit(dev.skyport.api.JobSpec.builder().remoteSite("hpc")
                .script("#!/bin/sh\necho at the site\n").build());
        JsonNode job = alice.awaitSucceeded(id, java.time.Duration.ofMinutes(1), java.time.Duration.ofMillis(50));
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
}
