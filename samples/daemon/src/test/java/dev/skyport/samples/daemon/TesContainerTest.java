package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.core.internal.local.BusyboxImage;
import dev.skyport.gate.DetachedRun;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static dev.skyport.samples.daemon.TesHttp.JSON;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * TES tasks that run: the real daemon, configured from a {@code skyport.yaml} to run container images with podman on
 * the local gate, runs each executor in a container of a busybox image imported for the test (no registry here).
 * Checked through {@code /ga4gh/tes/v1} in the FULL view: executor logs with exit codes and output tails, outputs with
 * sizes and the files at their destinations in the caller's storage, EXECUTOR_ERROR against SYSTEM_ERROR, and cancel
 * of a running task (the killed executor keeps its entry) and of an ended task.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TesContainerTest {
    private static final Duration RUN = Duration.ofSeconds(180);

    private BusyboxImage image;
    private Daemon daemon;
    private TesHttp alice;
    private TesHttp bob;
    private Path storage;
    private Path dataDir;

    @BeforeAll
    void start(@TempDir Path dir) throws IOException, InterruptedException {
        image = BusyboxImage.importNew(Files.createDirectories(dir.resolve("image")));
        Path spool = dir.resolve("spool");
        dataDir = dir.resolve("data");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        Path bundle = pki.layout().caChain();
        IssuedUser a = pki.issueUser("alice", false);
        IssuedUser b = pki.issueUser("bob", false);
        Path config = dir.resolve("skyport.yaml");
        Files.writeString(config, "gate-options:\n  container-runtime: podman\n  container-runtime-args: \""
                + BusyboxImage.RUNTIME_ARGS + "\"\n");
        daemon = Daemon.start(DaemonConfig.load(Optional.of(config), Map.of()).withPort(0).withBind("127.0.0.1")
                .withSpool(spool).withDataDir(dataDir));
        String base = "https://localhost:" + daemon.port();
        alice = new TesHttp(Mtls.client(a, bundle), base);
        bob = new TesHttp(Mtls.client(b, bundle), base);
        storage = Files.createDirectories(spool.toAbsolutePath().normalize().resolve("inputs").resolve("alice"));
    }

    @AfterAll
    void stop() throws IOException, InterruptedException {
        if (daemon != null) {
            daemon.close();
        }
        if (image != null) {
            image.close();
        }
    }

    private ObjectNode executor(ArrayNode executors, String script) {
        ObjectNode e = executors.addObject();
        e.put("image", image.tag());
        e.putArray("command").add("/bin/sh").add("-c").add(script);
        return e;
    }

    @Test
    void aMultiExecutorTaskStagesInputsSharesAVolumeAndCollectsAWildcardOutput() throws IOException {
        Files.writeString(storage.resolve("in.txt"), "hello\n");
        Path tree = Files.createDirectories(storage.resolve("tree/sub"));
        Files.writeString(tree.resolve("leaf.txt"), "leaf\n");
        ObjectNode t = JSON.createObjectNode();
        t.put("name", "multi");
        ArrayNode inputs = t.putArray("inputs");
        inputs.addObject().put("path", "/data/conf.txt").put("content", "threshold=3\n");
        inputs.addObject().put("path", "/data/in.txt").put("url", "file://" + storage + "/in.txt");
        inputs.addObject().put("path", "/data/tree").put("url", storage + "/tree").put("type", "DIRECTORY");
        t.putArray("volumes").add("/vol");
        ArrayNode executors = t.putArray("executors");
        executor(executors, "cat /data/in.txt /data/conf.txt > /vol/both && cat /data/tree/sub/leaf.txt"
                + " && echo step-one");
        executor(executors, "echo oops >&2; exit 3").put("ignore_error", true);
        executor(executors, "wc -c < /vol/both | tr -d ' ' > /out/count.txt && cp /vol/both /out/both.txt"
                + " && echo no > /out/skip.log && grep NAME= /etc/os-release");
        ArrayNode outputs = t.putArray("outputs");
        outputs.addObject().put("path", "/out/*.txt").put("path_prefix", "/out/")
                .put("url", "file://" + storage + "/results/");
        outputs.addObject().put("path", "/vol/both").put("url", "file://" + storage + "/both.copy");

        String id = alice.create(t);
        JsonNode done = alice.awaitTerminal(id, RUN);
        assertThat(done.get("state").asText()).as("only an ignored executor failed: %s", done).isEqualTo("COMPLETE");
        assertThat(done.get("logs")).hasSize(1);
        JsonNode log = done.get("logs").get(0);
        assertThat(log.get("metadata").get("attempt").asText()).isEqualTo("1");
        assertThat(log.get("metadata").get("nodes").asText()).isEqualTo("local");
        Instant attemptStart = Instant.parse(log.get("start_time").asText());
        JsonNode steps = log.get("logs");
        assertThat(steps).hasSize(3);
        List<Integer> codes = new ArrayList<>();
        steps.forEach(s -> codes.add(s.get("exit_code").asInt()));
        assertThat(codes).containsExactly(0, 3, 0);
        for (JsonNode s : steps) {
            assertThat(Instant.parse(s.get("start_time").asText())).isAfterOrEqualTo(attemptStart);
            assertThat(Instant.parse(s.get("end_time").asText()))
                    .isAfterOrEqualTo(Instant.parse(s.get("start_time").asText()));
        }
        assertThat(steps.get(0).get("stdout").asText()).contains("leaf").contains("step-one");
        assertThat(steps.get(1).get("stderr").asText()).contains("oops");
        assertThat(steps.get(2).get("stdout").asText()).contains(BusyboxImage.OS_NAME);
        assertThat(log.get("system_logs").isArray()).isTrue();

        String both = "hello\nthreshold=3\n";
        assertThat(Files.readString(storage.resolve("results/both.txt"))).isEqualTo(both);
        assertThat(Files.readString(storage.resolve("results/count.txt")).strip()).isEqualTo("18");
        assertThat(Files.readString(storage.resolve("both.copy"))).isEqualTo(both);
        assertThat(storage.resolve("results/skip.log")).doesNotExist();
        Map<String, JsonNode> byUrl = new java.util.HashMap<>();
        log.get("outputs").forEach(o -> byUrl.put(o.get("url").asText(), o));
        assertThat(byUrl).containsOnlyKeys("file://" + storage + "/results/both.txt",
                "file://" + storage + "/results/count.txt", "file://" + storage + "/both.copy");
        JsonNode copied = byUrl.get("file://" + storage + "/results/both.txt");
        assertThat(copied.get("path").asText()).isEqualTo("/out/both.txt");
        assertThat(copied.get("size_bytes").asText()).isEqualTo("18");
        assertThat(byUrl.get("file://" + storage + "/results/count.txt").get("size_bytes").asText()).isEqualTo("3");

        JsonNode basic = alice.task(id, "BASIC");
        JsonNode basicStep = basic.get("logs").get(0).get("logs").get(0);
        assertThat(basicStep.has("stdout") || basicStep.has("stderr")).isFalse();
        assertThat(basicStep.get("exit_code").asInt()).isZero();
        assertThat(basic.get("logs").get(0).has("system_logs")).isFalse();
        assertThat(basic.get("logs").get(0).get("outputs")).hasSize(3);

        // Cancel of an ended task changes nothing: its outcome stays.
        assertThat(alice.post("/tasks/" + id + ":cancel", "{}").body()).isEqualTo("{}");
        assertThat(alice.state(id)).isEqualTo("COMPLETE");
    }

    @Test
    void aFailingExecutorEndsTheTaskAsAnExecutorError() {
        ObjectNode t = JSON.createObjectNode();
        ArrayNode executors = t.putArray("executors");
        executor(executors, "echo before; exit 7");
        executor(executors, "echo never");
        String id = alice.create(t);
        JsonNode done = alice.awaitTerminal(id, RUN);
        assertThat(done.get("state").asText()).as(done.toString()).isEqualTo("EXECUTOR_ERROR");
        JsonNode steps = done.get("logs").get(0).get("logs");
        assertThat(steps).as("the executor after the failing one never started").hasSize(1);
        assertThat(steps.get(0).get("exit_code").asInt()).isEqualTo(7);
        assertThat(steps.get(0).get("stdout").asText()).contains("before");
        assertThat(alice.post("/tasks/" + id + ":cancel", "").code()).isEqualTo(200);
        assertThat(alice.state(id)).isEqualTo("EXECUTOR_ERROR");
    }

    @Test
    void anImageThatCannotBeHadIsASystemError() {
        ObjectNode t = JSON.createObjectNode();
        ObjectNode e = t.putArray("executors").addObject();
        e.put("image", "localhost/skyport-test:missing-" + UUID.randomUUID().toString().substring(0, 8));
        e.putArray("command").add("/bin/true");
        String id = alice.create(t);
        JsonNode done = alice.awaitTerminal(id, RUN);
        assertThat(done.get("state").asText()).as(done.toString()).isEqualTo("SYSTEM_ERROR");
        JsonNode last = done.get("logs").get(done.get("logs").size() - 1);
        assertThat(last.get("system_logs").toString()).as("system_logs say why").contains("SYSTEM_ERROR");
    }

    @Test
    void cancelOfARunningTaskStopsItKeepsTheKilledExecutorsLogAndOnlyItsOwnerMayCancel() throws Exception {
        ObjectNode t = JSON.createObjectNode();
        ArrayNode executors = t.putArray("executors");
        executor(executors, "echo started; sleep 300");
        executor(executors, "echo never");
        String id = alice.create(t);
        JsonNode running = alice.awaitTask(id, x -> x.get("state").asText().equals("RUNNING"), RUN);
        // The attempt is open. The engine reads the steps' records when the run ends, so no executor entry shows
        // while the executor sleeps (docs/tes.md says so; TaskViewTest covers how a started, unended one renders).
        JsonNode attempt = running.get("logs").get(0);
        assertThat(attempt.has("start_time")).isTrue();
        assertThat(attempt.has("end_time")).isFalse();
        assertThat(attempt.get("logs").isArray()).isTrue();
        assertThat(attempt.get("logs")).as("executor entries of a running attempt: %s", running).isEmpty();
        // RUNNING means the run started, not that the first executor's container did: a cancel before that has no
        // step record to keep. Wait until the executor itself has written, as a user watching its output would.
        Path out = dataDir.resolve("jobs").resolve(id).resolve(DetachedRun.runDirectoryName(1))
                .resolve("step.0.stdout");
        Instant deadline = Instant.now().plus(RUN);
        while (!(Files.exists(out) && Files.readString(out).equals("started\n"))) {
            assertThat(Instant.now()).as("executor 0 starts").isBefore(deadline);
            Thread.sleep(50); // polling a file with a deadline; nothing to wait on
        }
        assertThat(bob.post("/tasks/" + id + ":cancel", "{}").code()).isEqualTo(404);
        assertThat(alice.state(id)).isEqualTo("RUNNING");
        assertThat(alice.post("/tasks/" + id + ":cancel", "{}").body()).isEqualTo("{}");
        assertThat(alice.state(id)).isIn("CANCELING", "CANCELED");
        JsonNode canceled = alice.awaitTask(id, x -> x.get("state").asText().equals("CANCELED"), RUN);
        JsonNode log = canceled.get("logs").get(0);
        assertThat(log.has("end_time")).as(canceled.toString()).isTrue();
        // The executor the cancel killed keeps its entry, ended by SIGTERM as a shell reports it; the one after it
        // never started and has none.
        JsonNode killed = log.get("logs");
        assertThat(killed).as("executor entries of the canceled attempt: %s", canceled).hasSize(1);
        assertThat(killed.get(0).has("end_time")).isTrue();
        assertThat(killed.get(0).get("exit_code").asInt()).isEqualTo(143);
        assertThat(killed.get(0).get("stdout").asText()).isEqualTo("started\n");
        assertThat(alice.post("/tasks/" + id + ":cancel", "").code()).isEqualTo(200);
        assertThat(alice.state(id)).isEqualTo("CANCELED");
    }
}
