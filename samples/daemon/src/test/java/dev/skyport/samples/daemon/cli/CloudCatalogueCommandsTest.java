package dev.skyport.samples.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.loopback.LoopbackGate;
import dev.skyport.samples.daemon.ClientDaemon;
import dev.skyport.samples.daemon.cli.CliHarness.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code skyport flavors}, {@code images}, {@code remotes} and {@code partitions} over the wire against a daemon with a
 * cloud gate ({@code loopback}, the gate SPI's test gate): the cloud catalogue with its prices, and the partitions the
 * gate holds, as readable tables. The union of main and cloud gate is the engine's (branch i14-core).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CloudCatalogueCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> CLOUD = Map.of("flavors", "small:2:4GiB:0.10,gpu:8:32GiB:1.25:1",
            "images", "ubuntu-24.04", "remote", "lab");
    /* now, so that no reconciler takes the partition for an old orphan while the tests run */
    private final String created = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    private ClientDaemon daemon;

    @BeforeAll
    void start(@TempDir Path dir) throws java.io.IOException {
        // a partition the cloud gate finds when the daemon starts (the loopback gate keeps them in gates/loopback)
        LoopbackGate gate = new LoopbackGate(new GateConfig(dir.resolve("data/gates/loopback"), CLOUD,
                Clock.systemUTC()));
        // the engine's id, as an earlier life of it left it: the partitions it shows are its own
        java.nio.file.Files.createDirectories(dir.resolve("data"));
        java.nio.file.Files.writeString(dir.resolve("data/engine-id"), "engine-under-test\n");
        try {
            gate.createPartition(new PartitionSpec("swm-5eed0001", Optional.of("gpu"), 1, Optional.empty(),
                    Optional.empty(), List.of(), Map.of(PartitionSpec.TAG_PARTITION, "swm-5eed0001",
                    PartitionSpec.TAG_JOB, "5eed0001-0000-7000-8000-000000000000", PartitionSpec.TAG_OWNER, "alice",
                    PartitionSpec.TAG_ENGINE, "engine-under-test", PartitionSpec.TAG_CREATED, created)));
        } finally {
            gate.close();
        }
        daemon = ClientDaemon.start(dir, c -> c.withEngine(c.engine().withCloudGate("loopback", CLOUD)
                .withPartitions(c.engine().partitions().withOrphanGrace(Duration.ofHours(1)))));
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
    void flavorsShowsTheCloudSizesWithTheirPricePerHour() throws Exception {
        String table = run("flavors").out();
        assertThat(table.lines().findFirst().orElseThrow()).containsSubsequence("NAME", "SITE", "CPUS", "MEMORY",
                "GPUS", "PRICE/H");
        assertThat(line(table, "gpu")).containsSubsequence("gpu", "lab", "8", "32Gi", "1", "1.2500 USD");
        assertThat(line(table, "small")).containsSubsequence("small", "lab", "2", "4Gi", "0.1000 USD");
        JsonNode json = JSON.readTree(run("flavors", "--json").out());
        assertThat(json.findValuesAsText("name")).contains("small", "gpu");
    }

    @Test
    void imagesAndRemotesShowTheCloudSite() {
        assertThat(line(run("images").out(), "ubuntu-24.04")).containsSubsequence("ubuntu-24.04", "lab", "cloud");
        assertThat(line(run("remotes").out(), "lab")).containsSubsequence("lab", "loopback", "127.0.0.1");
    }

    @Test
    void partitionsShowsWhatTheCloudGateHoldsWithItsJobAndOwner() throws Exception {
        // the engine's partitions as its reconciler's first listing (at start) found them
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        String table = run("partitions").out();
        while (!table.contains("swm-5eed0001") && System.nanoTime() < deadline) {
            Thread.sleep(50); // a poll's pace
            table = run("partitions").out();
        }
        assertThat(table.lines().findFirst().orElseThrow()).containsSubsequence("NAME", "GATE", "STATE", "NODES",
                "JOB", "OWNER", "CREATED");
        assertThat(line(table, "swm-5eed0001")).containsSubsequence("swm-5eed0001", "loopback", "ready",
                "swm-5eed0001-main", "5eed0001-0000-7000-8000-000000000000", "alice", created);
        JsonNode json = JSON.readTree(run("partitions", "--json").out());
        assertThat(json).anySatisfy(p -> assertThat(p.get("name").asText()).isEqualTo("swm-5eed0001"));
    }

    private static String line(String table, String first) {
        return table.lines().filter(l -> l.startsWith(first + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no line for " + first + " in\n" + table));
    }
}
