package dev.skyport.gate.loopback;

import dev.skyport.api.JobId;
import dev.skyport.gate.BatchJob;
import dev.skyport.gate.BatchPartition;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.BatchRequest;
import dev.skyport.gate.BatchStatus;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What the loopback batch gate does beyond the contract: its options, its queue and its faults. */
class LoopbackBatchGateTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path workDir;

    private final List<LoopbackBatchGate> gates = new ArrayList<>();

    @AfterEach
    void cancelEverythingAndClose() throws Exception {
        for (LoopbackBatchGate g : gates) {
            LoopbackBatchGate.unreachable(g.queueDirectory(), false);
        }
        if (!gates.isEmpty()) {
            // every job of the queue, whichever gate or JVM submitted it
            LoopbackBatchGate g = gates.get(0);
            try (var files = Files.list(g.queueDirectory().resolve("jobs"))) {
                for (Path f : files.toList()) {
                    String n = f.getFileName().toString();
                    if (n.endsWith(".properties")) {
                        long id = Long.parseLong(n.substring(0, n.length() - ".properties".length()));
                        BatchJobFile.load(f.getParent(), id).ifPresent(j ->
                                g.batchQueue().orElseThrow().cancel(new BatchJob(Long.toString(id), j.job, j.attempt)));
                    }
                }
            }
        }
        gates.forEach(LoopbackBatchGate::close);
    }

    private LoopbackBatchGate gate(Map<String, String> options) {
        Map<String, String> o = new HashMap<>(options);
        o.putIfAbsent(LoopbackBatchSettings.QUEUE_DIR, workDir.resolve("queue").toString());
        LoopbackBatchGate g = new LoopbackBatchGate(new GateConfig(workDir.resolve("gate-" + gates.size()), o,
                Clock.systemUTC()));
        gates.add(g);
        return g;
    }

    private static BatchRequest request(LoopbackBatchGate gate, String script) throws Exception {
        JobId job = new JobId(UUID.randomUUID());
        String dir = gate.files().directoryOf(job, Path.of("/engine/jobs", job.toString()));
        Files.createDirectories(Path.of(dir));
        return new BatchRequest(job, 1, "t", dir, script, dir, Map.of(), "alice", 1, 1, 0, 0,
                Optional.of(Duration.ofMinutes(5)), Optional.empty(), Optional.empty());
    }

    private static BatchRequest with(BatchRequest r, int cpus, Duration time, Optional<String> account) {
        return new BatchRequest(r.job(), r.attempt(), r.name(), r.directory(), r.script(), r.workdir(), r.env(),
                r.owner(), r.nodes(), cpus, r.memoryPerNode(), r.gpusPerNode(), Optional.of(time), r.partition(),
                account);
    }

    private static BatchStatus await(BatchQueue q, BatchJob job, Predicate<BatchStatus> until) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        BatchStatus s = q.status(List.of(job)).get(job);
        while (!until.test(s)) {
            assertThat(Instant.now()).as("%s reached the state waited for; last %s", job, s).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(50);
            s = q.status(List.of(job)).get(job);
        }
        return s;
    }

    private static final String WAITING = "#!/bin/sh\necho $$ > job.pid\nsleep 300\n";

    @Test
    void unknownAndBadOptionsAreRefusedNamingTheKey() {
        assertThatThrownBy(() -> gate(Map.of("partitons", "x:1:1:1:1")))
                .isInstanceOf(GateException.class).hasMessageContaining("partitons");
        for (String bad : List.of("debug", "debug:0:2:2048:60", "debug:1:2:2048", "a:1:1:1:1,a:1:1:1:1",
                "debug:1:x:2048:60", "debug:1:1:1:1:-1")) {
            assertThatThrownBy(() -> gate(Map.of("partitions", bad))).as(bad)
                    .isInstanceOfSatisfying(GateException.class, e -> {
                        assertThat(e.isTransient()).isFalse();
                        assertThat(e.getMessage()).contains("partitions");
                    });
        }
        assertThatThrownBy(() -> gate(Map.of("fail-submit", "sometimes"))).hasMessageContaining("fail-submit");
        assertThatThrownBy(() -> gate(Map.of("unreachable", "yes"))).hasMessageContaining("unreachable");
        assertThatThrownBy(() -> gate(Map.of("min-job-age", "soon"))).hasMessageContaining("min-job-age");
    }

    @Test
    void partitionsComeFromTheOptionWithTheFirstAsDefaultAndTheirNodesAsGateNodes() {
        LoopbackBatchGate g = gate(Map.of("partitions", "big:3:4:4096:60:1,tiny:1:1:512:5"));
        List<BatchPartition> ps = g.batchQueue().orElseThrow().partitions();
        assertThat(ps).extracting(BatchPartition::name).containsExactly("big", "tiny");
        assertThat(ps.get(0).isDefault()).isTrue();
        assertThat(ps.get(0).describe()).isEqualTo("big: up to 3 nodes of 4 cpus, 4096 MiB, 1 gpus, 60 min");
        assertThat(g.nodes()).extracting(n -> n.name() + "@" + n.partition())
                .containsExactly("big-n1@big", "big-n2@big", "big-n3@big", "tiny-n1@tiny");
        assertThat(g.access("tiny-n1").node()).isEqualTo("tiny-n1");
    }

    @Test
    void aJobThatDoesNotFitPendsForResourcesWithAnExpectedStartAndStartsWhenRoomIsMade() throws Exception {
        LoopbackBatchGate g = gate(Map.of("partitions", "one:1:2:1024:10"));
        BatchQueue q = g.batchQueue().orElseThrow();
        BatchJob first = q.submit(with(request(g, WAITING), 2, Duration.ofMinutes(3), Optional.empty()));
        await(q, first, s -> s.state() == BatchStatus.State.RUNNING);
        BatchJob second = q.submit(request(g, "#!/bin/sh\necho second\n"));
        BatchStatus pending = q.status(List.of(second)).get(second);
        assertThat(pending.state()).isEqualTo(BatchStatus.State.PENDING);
        assertThat(pending.reason()).isEqualTo("Resources");
        Instant now = Instant.now();
        assertThat(pending.expectedStart()).as("when the running job reaches its limit").hasValueSatisfying(t ->
                assertThat(t).isBetween(now.plus(Duration.ofMinutes(2)), now.plus(Duration.ofMinutes(4))));
        q.cancel(first);
        BatchStatus end = await(q, second, s -> s.state().isTerminal());
        assertThat(end.state()).isEqualTo(BatchStatus.State.COMPLETED);
        assertThat(end.nodes()).containsExactly("one-n1");
    }

    @Test
    void anUnknownAccountIsRefusedAtSubmitAsSlurmDoesAndNothingIsQueued() throws Exception {
        LoopbackBatchGate g = gate(Map.of("accounts", "physics,chemistry"));
        BatchQueue q = g.batchQueue().orElseThrow();
        BatchRequest r = with(request(g, "#!/bin/sh\nexit 0\n"), 1, Duration.ofMinutes(1), Optional.of("biology"));
        q.check(r); // a dbd-less site cannot tell before it submits
        assertThatThrownBy(() -> q.submit(r)).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.getMessage()).contains("Invalid account or account/partition combination specified")
                    .contains("biology");
        });
        assertThat(g.submittedCount()).isZero();
        BatchRequest ok = with(request(g, "#!/bin/sh\nexit 0\n"), 1, Duration.ofMinutes(1), Optional.of("physics"));
        assertThat(await(q, q.submit(ok), s -> s.state().isTerminal()).state()).isEqualTo(BatchStatus.State.COMPLETED);
    }

    @Test
    void anUnreachableQueueFailsEveryCallTransientlyWhileItsJobsRunOn() throws Exception {
        LoopbackBatchGate g = gate(Map.of());
        BatchQueue q = g.batchQueue().orElseThrow();
        BatchRequest r = request(g, "#!/bin/sh\nwhile [ ! -e go ]; do sleep 0.05; done\nexit 4\n");
        BatchJob job = q.submit(r);
        LoopbackBatchGate other = gate(Map.of());
        g.unreachable(true);
        BatchQueue seenByOther = other.batchQueue().orElseThrow();
        List<Runnable> calls = List.of(seenByOther::partitions, () -> seenByOther.check(r), () -> seenByOther.submit(r),
                () -> seenByOther.find(r.job(), 1), () -> seenByOther.status(List.of(job)),
                () -> seenByOther.cancel(job));
        for (Runnable call : calls) {
            assertThatThrownBy(call::run).isInstanceOfSatisfying(GateException.class,
                    e -> assertThat(e.isTransient()).isTrue());
        }
        Files.writeString(Path.of(r.directory(), "go"), "go");
        // the job ends while nobody can ask; the next question after the outage sees its end
        Path exit = Path.of(r.runDirectory(), DetachedRun.EXIT_CODE);
        Instant deadline = Instant.now().plus(WAIT);
        while (!Files.exists(exit)) {
            assertThat(Instant.now()).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(20);
        }
        g.unreachable(false);
        BatchStatus end = await(seenByOther, job, s -> s.state().isTerminal());
        assertThat(end.state()).isEqualTo(BatchStatus.State.FAILED);
        assertThat(end.exitCode()).hasValue(4);
        assertThat(end.reason()).isEqualTo("NonZeroExitCode");
    }

    @Test
    void anOptionMakesTheWholeQueueUnreachable() throws Exception {
        LoopbackBatchGate g = gate(Map.of("unreachable", "true"));
        assertThatThrownBy(() -> g.batchQueue().orElseThrow().partitions())
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isTrue());
        assertThat(g.nodes()).as("the gate still lists the site's nodes").isNotEmpty();
    }

    @Test
    void injectedTransientSubmitFailuresQueueNothingAndThenPass() throws Exception {
        LoopbackBatchGate g = gate(Map.of("fail-submit", "transient:2"));
        BatchQueue q = g.batchQueue().orElseThrow();
        BatchRequest r = request(g, "#!/bin/sh\nexit 0\n");
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> q.submit(r)).isInstanceOfSatisfying(GateException.class,
                    e -> assertThat(e.isTransient()).isTrue());
            assertThat(q.find(r.job(), 1)).isEmpty();
        }
        BatchJob job = q.submit(r);
        assertThat(q.find(r.job(), 1)).hasValue(job);
        assertThat(g.submittedCount()).isEqualTo(1);
    }

    @Test
    void aLostReplyQueuesTheJobOnceAndTheRetriedSubmitFindsIt() throws Exception {
        LoopbackBatchGate g = gate(Map.of("fail-submit", "lost-reply:1"));
        BatchQueue q = g.batchQueue().orElseThrow();
        BatchRequest r = request(g, "#!/bin/sh\nexit 0\n");
        assertThatThrownBy(() -> q.submit(r)).isInstanceOfSatisfying(GateException.class,
                e -> assertThat(e.isTransient()).isTrue());
        BatchJob found = q.find(r.job(), 1).orElseThrow();
        assertThat(q.submit(r)).isEqualTo(found);
        assertThat(g.submittedCount()).isEqualTo(1);
    }

    @Test
    void aJobPastItsTimeLimitIsKilledAsTimeoutEvenWhenItIgnoresTerm() throws Exception {
        LoopbackBatchGate g = gate(Map.of("kill-wait", "300ms"));
        BatchQueue q = g.batchQueue().orElseThrow();
        BatchRequest r = with(request(g, "#!/bin/sh\ntrap '' TERM\necho $$ > job.pid\nwhile :; do sleep 0.1; done\n"),
                1, Duration.ofSeconds(1), Optional.empty());
        BatchJob job = q.submit(r);
        BatchStatus end = await(q, job, s -> s.state().isTerminal());
        assertThat(end.state()).isEqualTo(BatchStatus.State.TIMEOUT);
        assertThat(end.reason()).isEqualTo("TimeLimit");
        long pid = Long.parseLong(Files.readString(Path.of(r.directory(), "job.pid")).trim());
        Instant deadline = Instant.now().plus(WAIT);
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
                && !Files.readString(Path.of("/proc", Long.toString(pid), "stat")).contains(") Z")) {
            assertThat(Instant.now()).as("the job ignoring TERM was killed").isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    @Test
    void aNodeSetDownFailsItsJobKillsItsProcessesAndTakesNoMoreWork() throws Exception {
        LoopbackBatchGate g = gate(Map.of("partitions", "two:2:1:1024:10"));
        BatchQueue q = g.batchQueue().orElseThrow();
        BatchRequest r = request(g, WAITING);
        BatchJob job = q.submit(r);
        String node = await(q, job, s -> s.state() == BatchStatus.State.RUNNING).nodes().get(0);
        Path pidFile = Path.of(r.directory(), "job.pid");
        Instant deadline = Instant.now().plus(WAIT);
        while (!Files.exists(pidFile) || !Files.readString(pidFile).endsWith("\n")) {
            assertThat(Instant.now()).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(20);
        }
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        g.nodeDown(node, true);
        BatchStatus end = await(q, job, s -> s.state().isTerminal());
        assertThat(end.state()).isEqualTo(BatchStatus.State.NODE_FAIL);
        assertThat(end.reason()).isEqualTo("NodeFail");
        assertThat(g.nodes()).filteredOn(n -> n.name().equals(node)).singleElement()
                .satisfies(n -> assertThat(n.state()).isEqualTo(dev.skyport.api.NodeState.DOWN));
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
                && !Files.readString(Path.of("/proc", Long.toString(pid), "stat")).contains(") Z")) {
            assertThat(Instant.now()).as("the job's processes died with the node").isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(20);
        }
        BatchRequest both = request(g, "#!/bin/sh\nexit 0\n");
        BatchJob wide = q.submit(new BatchRequest(both.job(), 1, "wide", both.directory(), both.script(),
                both.workdir(), Map.of(), "alice", 2, 1, 0, 0, Optional.of(Duration.ofMinutes(1)), Optional.empty(),
                Optional.empty()));
        assertThat(q.status(List.of(wide)).get(wide).reason()).isEqualTo("Resources");
        g.nodeDown(node, false);
        assertThat(await(q, wide, s -> s.state().isTerminal()).state()).isEqualTo(BatchStatus.State.COMPLETED);
    }

    @Test
    void anEndedJobIsForgottenAfterTheMinimumAgeAndThenGoneWithItsExitCode() throws Exception {
        LoopbackBatchGate g = gate(Map.of("min-job-age", "200ms"));
        BatchQueue q = g.batchQueue().orElseThrow();
        BatchRequest r = request(g, "#!/bin/sh\nexit 5\n");
        BatchJob job = q.submit(r);
        BatchStatus gone = await(q, job, s -> s.state() == BatchStatus.State.GONE);
        assertThat(gone.exitCode()).hasValue(5);
        assertThat(q.find(r.job(), 1)).isEmpty();
    }

    @Test
    void aGateInAnotherJvmThatDiedLeavesAJobThatThisOneFindsFollowsAndCancels() throws Exception {
        Path queueDir = workDir.resolve("queue");
        JobId id = new JobId(UUID.randomUUID());
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"), "-Xmx128m",
                SubmittingEngine.class.getName(), queueDir.toString(), id.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(child.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).as("halted as kill -9 leaves it").isEqualTo(137);

        LoopbackBatchGate g = gate(Map.of());
        BatchQueue q = g.batchQueue().orElseThrow();
        BatchJob job = q.find(id, 1).orElseThrow();
        await(q, job, s -> s.state() == BatchStatus.State.RUNNING);
        Path pidFile = queueDir.resolve("shared").resolve(id.toString()).resolve("job.pid");
        Instant deadline = Instant.now().plus(WAIT);
        while (!Files.exists(pidFile) || Files.readString(pidFile).isBlank()) {
            assertThat(Instant.now()).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(20);
        }
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        assertThat(ProcessHandle.of(pid)).as("the job outlived its gate's JVM").isPresent();
        q.cancel(job);
        assertThat(await(q, job, s -> s.state().isTerminal()).state()).isEqualTo(BatchStatus.State.CANCELLED);
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
                && !Files.readString(Path.of("/proc", Long.toString(pid), "stat")).contains(") Z")) {
            assertThat(Instant.now()).as("the job was stopped").isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    /** A child JVM's engine: submits a waiting job through its gate, waits until it runs, and halts. */
    static final class SubmittingEngine {
        public static void main(String[] args) throws Exception {
            Path queueDir = Path.of(args[0]);
            LoopbackBatchGate g = new LoopbackBatchGate(new GateConfig(queueDir.resolveSibling("child-gate"),
                    Map.of(LoopbackBatchSettings.QUEUE_DIR, queueDir.toString()), Clock.systemUTC()));
            JobId job = JobId.parse(args[1]);
            String dir = g.files().directoryOf(job, Path.of("/engine/jobs", args[1]));
            Files.createDirectories(Path.of(dir));
            BatchQueue q = g.batchQueue().orElseThrow();
            BatchJob submitted = q.submit(new BatchRequest(job, 1, "child", dir, WAITING, dir, Map.of(), "alice", 1, 1,
                    0, 0, Optional.of(Duration.ofMinutes(5)), Optional.empty(), Optional.empty()));
            await(q, submitted, s -> s.state() == BatchStatus.State.RUNNING);
            Runtime.getRuntime().halt(137);
        }
    }
}
