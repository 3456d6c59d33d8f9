package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.Partition;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static dev.skyport.samples.daemon.TesHttp.JSON;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Cancel of a TES task in INITIALIZING, on the real daemon: its {@code skyport.yaml} adds a cloud gate (the gate SPI's
 * {@code loopback} test gate, which makes a partition of SSH servers on 127.0.0.1) whose {@code create-delay} keeps
 * every partition being created for an hour. A task that asks a flavor of that gate is PROVISIONING, INITIALIZING in
 * TES, for as long as the test wants, without a timing guess: it cannot get further before the hour is up. The
 * creation is interruptible, as a cloud call waiting for a VM is abandoned, so a cancel ends the task and deletes the
 * partition.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TesInitializingTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    private Daemon daemon;
    private TesHttp alice;
    private Path partitions;

    @BeforeAll
    void start(@TempDir Path dir) throws IOException {
        Path spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        IssuedUser a = pki.issueUser("alice", false);
        Path config = Files.writeString(dir.resolve("skyport.yaml"), """
                job-isolation: none
                gate-options:
                  container-runtime: podman
                cloud-gate: loopback
                cloud-gate-options:
                  flavors: "small:2:4GiB:0.10"
                  remote: lab
                  create-delay: 1h
                """);
        Path data = dir.resolve("data");
        daemon = Daemon.start(DaemonConfig.load(Optional.of(config), Map.of()).withPort(0).withBind("127.0.0.1")
                .withSpool(spool).withDataDir(data));
        alice = new TesHttp(Mtls.client(a, pki.layout().caChain()), "https://localhost:" + daemon.port());
        partitions = data.resolve("gates").resolve("loopback").resolve("partitions");
    }

    @AfterAll
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void cancelOfAnInitializingTaskEndsItAndLeavesNoPartition() throws IOException {
        ObjectNode t = JSON.createObjectNode();
        t.put("name", "initializing");
        ObjectNode e = t.putArray("executors").addObject();
        e.put("image", "alpine:3.19");
        e.putArray("command").add("/bin/true");
        ObjectNode r = t.putObject("resources");
        r.putObject("backend_parameters").put("flavor", "small");
        r.put("backend_parameters_strict", true);
        String id = alice.create(t);

        JsonNode initializing = alice.awaitTask(id, x -> x.get("state").asText().equals("INITIALIZING"), WAIT);
        assertThat(daemon.engine().jobs().get(JobId.parse(id)).state()).isEqualTo(JobState.PROVISIONING);
        Partition partition = await(() -> ofTask(id).findFirst(), "the task's partition is being created");
        assertThat(partition.gate()).isEqualTo("loopback");
        assertThat(partitions.resolve(partition.name())).isDirectory();
        assertThat(initializing.toString()).doesNotContain("\"end_time\"");

        assertThat(alice.post("/tasks/" + id + ":cancel", "{}").body()).isEqualTo("{}");
        assertThat(alice.state(id)).isIn("CANCELING", "CANCELED");
        JsonNode canceled = alice.awaitTask(id, x -> x.get("state").asText().equals("CANCELED"), WAIT);
        for (JsonNode attempt : canceled.path("logs")) {
            assertThat(attempt.get("logs")).as("no executor started: %s", canceled).isEmpty();
            assertThat(attempt.get("outputs")).isEmpty();
        }
        // Nothing left: the partition is deleted at the gate (its servers and directory) and gone from the engine.
        await(() -> ofTask(id).findFirst().isEmpty() && !Files.exists(partitions.resolve(partition.name()))
                ? Optional.of(true) : Optional.empty(), "the partition is deleted");
        assertThat(alice.post("/tasks/" + id + ":cancel", "").code()).isEqualTo(200);
        assertThat(alice.state(id)).isEqualTo("CANCELED");
    }

    private Stream<Partition> ofTask(String id) {
        return daemon.engine().partitions().stream().filter(p -> id.equals(p.tags().get(PartitionSpec.TAG_JOB)));
    }

    private interface Probe<T> {
        Optional<T> get() throws IOException;
    }

    private static <T> T await(Probe<T> probe, String what) throws IOException {
        Instant deadline = Instant.now().plus(WAIT);
        Optional<T> got = probe.get();
        while (got.isEmpty()) {
            assertThat(Instant.now()).as(what).isBefore(deadline);
            try {
                Thread.sleep(50); // a poll interval under the deadline above
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
            got = probe.get();
        }
        return got.get();
    }
}
