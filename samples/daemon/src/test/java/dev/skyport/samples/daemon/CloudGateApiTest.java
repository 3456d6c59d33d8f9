package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.JobIsolation;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.loopback.LoopbackGate;
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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A daemon whose {@code skyport.yaml} names a cloud gate ({@code cloud-gate: loopback}, the gate SPI's test gate)
 * lists that gate's catalogue beside the main gate's on {@code /user} (upstream's shapes, prices per hour, sizes in
 * bytes) and on {@code /api/v1}, and the partitions it holds. The union of the two gates is the engine's (branch
 * i14-core): these tests describe the merged product.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CloudGateApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String CLOUD_SETTINGS = """
            job-isolation: none
            cloud-gate: loopback
            cloud-gate-options:
              flavors: "small:2:4GiB:0.10,gpu:8:32GiB:1.25:1"
              images: [ubuntu-24.04, alma-9]
              remote: lab
            partitions:
              create-timeout: 2m
              ready-timeout: 60
              create-attempts: 3
              orphan-grace: 1h
              max-in-flight: 8
            """;

    private Path dir;
    private Daemon daemon;
    private OkHttpClient alice;
    private String base;

    @BeforeAll
    void start(@TempDir Path dir) throws IOException {
        this.dir = dir;
        Path spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        IssuedUser a = pki.issueUser("alice", false);
        alice = Mtls.client(a, pki.layout().caChain());
        Path data = dir.resolve("data");
        Path file = Files.writeString(dir.resolve("skyport.yaml"), CLOUD_SETTINGS);
        DaemonConfig config = DaemonConfig.load(Optional.of(file), Map.of()).withPort(0).withBind("127.0.0.1")
                .withSpool(spool).withDataDir(data);
        createPartitionLeftByAnEarlierLife(data, config);
        daemon = Daemon.start(config);
        base = "https://localhost:" + daemon.port();
    }

    /**
     * A partition the cloud gate holds when the daemon starts, as one an earlier life left: the loopback gate keeps its
     * partitions in the engine's directory for it ({@code gates/loopback}), so the daemon's gate finds it there.
     */
    static final String ENGINE_ID = "engine-under-test";

    static void createPartitionLeftByAnEarlierLife(Path data, DaemonConfig config) {
        Map<String, String> options = new HashMap<>(config.engine().cloudGateOptions());
        LoopbackGate gate = new LoopbackGate(new GateConfig(data.resolve("gates").resolve("loopback"), options,
                Clock.systemUTC()));
        try {
            Files.createDirectories(data);
            Files.writeString(data.resolve("engine-id"), ENGINE_ID + "\n");
            gate.createPartition(new PartitionSpec("swm-0badc0de", Optional.of("small"), 2, Optional.empty(),
                    Optional.empty(), List.of(), Map.of(PartitionSpec.TAG_PARTITION, "swm-0badc0de",
                    PartitionSpec.TAG_JOB, "0badc0de-0000-7000-8000-000000000000", PartitionSpec.TAG_OWNER, "alice",
                    PartitionSpec.TAG_ENGINE, ENGINE_ID, PartitionSpec.TAG_CREATED, Instant.now().toString())));
            // Another engine's, sharing the cloud: never shown (its owner's tags are not this daemon's to tell).
            gate.createPartition(new PartitionSpec("swm-0the4e00", Optional.of("small"), 1, Optional.empty(),
                    Optional.empty(), List.of(), Map.of(PartitionSpec.TAG_PARTITION, "swm-0the4e00",
                    PartitionSpec.TAG_JOB, "0the4e00-0000-7000-8000-000000000000", PartitionSpec.TAG_OWNER, "bob",
                    PartitionSpec.TAG_ENGINE, "another-engine", PartitionSpec.TAG_CREATED, Instant.now().toString())));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            gate.close();
        }
    }

    @AfterAll
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void theSettingsFileGivesTheEngineTheCloudGateItsOptionsAndThePartitionPolicy() throws IOException {
        DaemonConfig c = DaemonConfig.load(Optional.of(dir.resolve("skyport.yaml")), Map.of());
        assertThat(c.engine().cloudGate()).contains("loopback");
        assertThat(c.engine().cloudGateOptions()).containsEntry("images", "ubuntu-24.04,alma-9")
                .containsEntry("remote", "lab");
        assertThat(c.engine().partitions().createTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.engine().partitions().readyTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.engine().partitions().maxInFlight()).isEqualTo(8);
        assertThat(c.engine().jobIsolation()).isEqualTo(JobIsolation.NONE);
    }

    @Test
    void userFlavorListsTheCloudFlavorsWithTheirPricesAndTheirRemote() throws IOException {
        JsonNode remotes = body("/user/remote");
        JsonNode lab = find(remotes, "lab");
        assertThat(lab.get("kind").asText()).isEqualTo("loopback");
        JsonNode flavors = body("/user/flavor");
        JsonNode gpu = find(flavors, "gpu");
        assertThat(gpu.get("remote_id").asText()).isEqualTo(lab.get("id").asText());
        assertThat(gpu.get("price").asDouble()).isEqualTo(1.25);
        assertThat(resource(gpu, "cpus")).isEqualTo(8);
        assertThat(resource(gpu, "mem")).as("bytes, as the console expects").isEqualTo(32L << 30);
        assertThat(resource(gpu, "gpus")).isEqualTo(1);
        JsonNode small = find(flavors, "small");
        assertThat(small.get("price").asDouble()).isEqualTo(0.10);
        assertThat(small.get("resources").findValuesAsText("name")).doesNotContain("gpus");
        for (JsonNode f : flavors) {
            String remote = f.get("remote_id").asText();
            if (!remote.isEmpty()) {
                assertThat(remotes.findValuesAsText("id")).as("the spawner needs the remote of %s", f)
                        .contains(remote);
            }
        }
    }

    @Test
    void userImageListsTheCloudImagesUnderTheirRemote() throws IOException {
        String lab = find(body("/user/remote"), "lab").get("id").asText();
        JsonNode images = body("/user/image");
        for (String name : List.of("ubuntu-24.04", "alma-9")) {
            JsonNode image = find(images, name);
            assertThat(image.get("remote_id").asText()).isEqualTo(lab);
            assertThat(image.get("kind").asText()).isEqualTo("cloud");
        }
    }

    @Test
    void apiV1ListsTheCloudCatalogueAndThePartitions() throws IOException {
        JsonNode gpu = find(body("/api/v1/flavors").get("items"), "gpu");
        assertThat(gpu.get("pricePerHour").asDouble()).isEqualTo(1.25);
        assertThat(gpu.get("currency").asText()).isEqualTo("USD");
        assertThat(gpu.get("memoryBytes").asLong()).isEqualTo(32L << 30);
        assertThat(gpu.get("remoteSite").asText()).isEqualTo("lab");
        assertThat(find(body("/api/v1/images").get("items"), "alma-9").get("remoteSite").asText()).isEqualTo("lab");
        assertThat(find(body("/api/v1/remotes").get("items"), "lab").get("gate").asText()).isEqualTo("loopback");
        // Shown from the reconciler's listing at start, this engine's only.
        JsonNode items = eventually(() -> body("/api/v1/partitions").get("items"),
                list -> list.findValuesAsText("name").contains("swm-0badc0de"));
        assertThat(items.findValuesAsText("name")).doesNotContain("swm-0the4e00");
        JsonNode partition = find(items, "swm-0badc0de");
        assertThat(partition.get("gate").asText()).isEqualTo("loopback");
        assertThat(partition.get("state").asText()).isEqualTo("ready");
        assertThat(JSON.convertValue(partition.get("nodes"), List.class))
                .containsExactly("swm-0badc0de-main", "swm-0badc0de-node0");
        assertThat(partition.get("tags").get(PartitionSpec.TAG_OWNER).asText()).isEqualTo("alice");
    }

    @Test
    void aBadCloudGateOptionStopsTheDaemonNamingTheKey(@TempDir Path dir) throws IOException {
        Path spool = dir.resolve("spool");
        ClusterPki.init(spool, List.of("localhost"));
        DaemonConfig config = DaemonConfig.load(Optional.of(Files.writeString(dir.resolve("skyport.yaml"), """
                job-isolation: none
                cloud-gate: loopback
                cloud-gate-options: {flavours: "x:1:1GiB:0.1"}
                """)), Map.of()).withPort(0).withBind("127.0.0.1").withSpool(spool).withDataDir(dir.resolve("data"));
        assertThatThrownBy(() -> Daemon.start(config).close()).hasMessageContaining("flavours");
    }

    private JsonNode body(String path) throws IOException {
        try (Response r = alice.newCall(new Request.Builder().url(base + path).header("Accept", "application/json")
                .build()).execute()) {
            String text = r.body().string();
            assertThat(r.code()).as(path + " -> " + text).isEqualTo(200);
            return JSON.readTree(text);
        }
    }

    private interface Read {
        JsonNode get() throws IOException;
    }

    /** {@code read} until {@code done} holds of it, within a minute; the last answer. */
    private static JsonNode eventually(Read read, java.util.function.Predicate<JsonNode> done) throws IOException {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        JsonNode last = read.get();
        while (!done.test(last) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50); // a poll's pace
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            last = read.get();
        }
        return last;
    }

    private static JsonNode find(JsonNode list, String name) {
        for (JsonNode item : list) {
            if (item.get("name").asText().equals(name)) {
                return item;
            }
        }
        throw new AssertionError("no " + name + " in " + list);
    }

    private static long resource(JsonNode shape, String name) {
        for (JsonNode r : shape.get("resources")) {
            if (r.get("name").asText().equals(name)) {
                return r.get("count").asLong();
            }
        }
        throw new AssertionError("no resource " + name + " in " + shape);
    }
}
