package dev.skyport.gate;

import dev.skyport.api.JobId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The behaviour every gate with a {@link BatchQueue} (a Slurm cluster, the loopback batch gate) must show on top of
 * {@link GateContractTest}, written against the SPI only: a queue with partitions and limits, refusals that submit
 * nothing, jobs that run with their environment and work directory and leave their output, exit status and exit-code
 * file in the job directory, idempotent submission, lookup by tag, cancellation and the status of many jobs at once.
 *
 * <p>An implementation supplies the gate ({@link #createGate}) and may override {@link #request} (a request whose
 * directory the site's {@link BatchQueue#files()} reaches and its job's user can write; by default under
 * {@link NodeAccess#directoryOf} of the files) and {@link #readOnSite} (by default a download through the files).
 * Each test creates its job directories by uploading a file into them first, as the engine stages inputs in before it
 * submits. A refusal for size names the partition's limits as {@link BatchPartition#describe()} writes them, and one
 * for an unknown partition names every partition. The site's nodes must be able to run a few small jobs at once, and
 * the tests assume its job processes run on this machine ({@link #processRuns}), as they do on loopback. Every job a
 * test submits through {@link #submit} is cancelled when the test ends, also when it fails.
 */
public abstract class BatchGateContractTest extends GateContractTest {
    /** How long a trivial job may take from submit to its end: a real scheduler starts jobs every second or so. */
    protected static final Duration WAIT = Duration.ofSeconds(60);

    private final List<BatchJob> submitted = new ArrayList<>();

    /** Cancels what the test submitted, so that a failed test leaves no job behind. */
    @AfterEach
    void cancelWhatTheTestSubmitted() {
        for (BatchJob j : submitted) {
            try {
                queue().cancel(j);
            } catch (GateException e) {
                // the queue may be unreachable on purpose; its own test cleans up
            }
        }
    }

    /** Submits {@code r}, to be cancelled when the test ends. */
    protected BatchJob submit(BatchRequest r) {
        BatchJob j = queue().submit(r);
        submitted.add(j);
        return j;
    }

    protected BatchQueue queue() {
        return gate.batchQueue().orElseThrow(() -> new AssertionError("gate " + gate.name() + " has no batch queue"));
    }

    /**
     * A request for attempt 1 of {@code job} running {@code script} on one node with one cpu, the partition's default
     * memory, five minutes, the site's default partition and account, {@code env} as its variables, and the job's
     * directory (also its work directory) where the site's files put it.
     */
    protected BatchRequest request(JobId job, String script, Map<String, String> env) {
        String dir = queue().files().directoryOf(job, workDir.resolve("engine-jobs").resolve(job.toString()));
        return new BatchRequest(job, 1, "contract-" + job.toString().substring(0, 8), dir, script, dir, env,
                System.getProperty("user.name", "user"), 1, 1, 0, 0, Optional.of(Duration.ofMinutes(5)), Optional.empty(),
                Optional.empty());
    }

    /** The content of {@code path} on the site's shared file system. */
    protected String readOnSite(String path) throws Exception {
        Path local = workDir.resolve("read-back").resolve(UUID.randomUUID().toString());
        queue().files().download(path, local);
        return Files.readString(local, StandardCharsets.UTF_8);
    }

    /** Whether the process {@code pid} (as a job printed its {@code $$}) still runs at the site. */
    protected boolean processRuns(long pid) throws Exception {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (!Files.exists(stat)) {
            return false;
        }
        try {
            String s = Files.readString(stat);
            // a zombie has ended; it only waits for its parent to read its status
            return s.charAt(s.lastIndexOf(')') + 2) != 'Z';
        } catch (java.io.IOException gone) {
            return false;
        }
    }

    /** A new job's request, its directory created on the site by uploading a file into it (as staging in does). */
    protected BatchRequest staged(String script, Map<String, String> env) throws Exception {
        BatchRequest r = request(new JobId(UUID.randomUUID()), script, env);
        upload("staged by the contract test\n", r.directory() + "/input.txt");
        return r;
    }

    protected BatchRequest staged(String script) throws Exception {
        return staged(script, Map.of());
    }

    protected void upload(String content, String remotePath) throws Exception {
        Path local = workDir.resolve("uploads").resolve(UUID.randomUUID().toString());
        Files.createDirectories(local.getParent());
        Files.writeString(local, content, StandardCharsets.UTF_8);
        queue().files().upload(local, remotePath);
    }

    /** {@code r} with other resources: nodes, cpus per node, memory per node (bytes), time and partition. */
    protected static BatchRequest resized(BatchRequest r, int nodes, int cpusPerNode, long memoryPerNode,
                                          int gpusPerNode, Optional<Duration> timeLimit, Optional<String> partition) {
        return new BatchRequest(r.job(), r.attempt(), r.name(), r.directory(), r.script(), r.workdir(), r.env(),
                r.owner(), nodes, cpusPerNode, memoryPerNode, gpusPerNode, timeLimit, partition, r.account());
    }

    protected static BatchRequest withWorkdir(BatchRequest r, String workdir) {
        return new BatchRequest(r.job(), r.attempt(), r.name(), r.directory(), r.script(), workdir, r.env(),
                r.owner(), r.nodes(), r.cpusPerNode(), r.memoryPerNode(), r.gpusPerNode(), r.timeLimit(),
                r.partition(), r.account());
    }

    protected BatchPartition defaultPartition() {
        return queue().partitions().stream().filter(BatchPartition::isDefault).findFirst().orElseThrow();
    }

    /** Polls the job's status until {@code until} holds, failing after {@link #WAIT}. */
    protected BatchStatus awaitStatus(BatchJob job, Predicate<BatchStatus> until, String what) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        BatchStatus last = null;
        while (Instant.now().isBefore(deadline)) {
            last = queue().status(List.of(job)).get(job);
            assertThat(last).as("status of %s is reported", job).isNotNull();
            if (until.test(last)) {
                return last;
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
        throw new AssertionError(job + " did not reach " + what + " within " + WAIT + "; last status " + last);
    }

    protected BatchStatus awaitEnd(BatchJob job) throws Exception {
        return awaitStatus(job, s -> s.state().isTerminal(), "an end");
    }

    /** The content of {@code path} once it is there and not blank, failing after {@link #WAIT}. */
    protected String awaitContent(String path) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        while (Instant.now().isBefore(deadline)) {
            try {
                String s = readOnSite(path);
                if (!s.isBlank() && s.endsWith("\n")) {
                    return s;
                }
            } catch (GateException notYet) {
                // not written yet
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
        throw new AssertionError("nothing in " + path + " within " + WAIT);
    }

    protected void awaitProcessGone(long pid) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        while (processRuns(pid)) {
            assertThat(Instant.now()).as("process %s of a cancelled job ended", pid).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    /**
     * How many status requests the site's backend has answered so far (Slurm: job-info RPCs), when the test can count
     * them; {@link #theStatusOfSeveralJobsComesInOneCallAndAnUnknownJobIsGone} then checks that asking for several jobs
     * is one request. Empty by default: that test then checks the answers only.
     */
    protected OptionalLong statusRequests() {
        return OptionalLong.empty();
    }

    /** A script that records its process id, says it started and then waits (for at most five minutes). */
    protected static String waitingScript() {
        return "#!/bin/sh\necho $$ > job.pid\necho started\nsleep 300\necho survived\n";
    }

    @Test
    void itHasABatchQueue() {
        assertThat(gate.batchQueue()).isPresent();
    }

    @Test
    void itListsPartitionsWithPositiveLimitsAndExactlyOneDefault() {
        List<BatchPartition> partitions = queue().partitions();
        assertThat(partitions).isNotEmpty();
        assertThat(partitions.stream().map(BatchPartition::name).distinct().count()).as("names are unique")
                .isEqualTo(partitions.size());
        assertThat(partitions).filteredOn(BatchPartition::isDefault).hasSize(1);
        for (BatchPartition p : partitions) {
            assertThat(p.name()).isNotBlank();
            assertThat(p.maxNodes()).as("max nodes of %s", p.name()).isPositive();
            assertThat(p.maxCpusPerNode()).as("cpus of %s", p.name()).isPositive();
            assertThat(p.maxMemoryPerNode()).as("memory of %s", p.name()).isPositive();
            assertThat(p.maxGpusPerNode()).as("gpus of %s", p.name()).isNotNegative();
            p.maxTime().ifPresent(t -> assertThat(t).as("time limit of %s", p.name()).isPositive());
            assertThat(p.describe()).contains(p.name());
        }
    }

    @Test
    void anUnknownPartitionIsRefusedNamingTheChoicesAndNothingIsSubmitted() throws Exception {
        BatchRequest base = staged("#!/bin/sh\necho never\n");
        BatchRequest r = resized(base, 1, 1, 0, 0, base.timeLimit(), Optional.of("no-such-partition-x1"));
        List<BatchPartition> partitions = queue().partitions();
        for (var call : List.<Runnable>of(() -> queue().check(r), () -> queue().submit(r))) {
            assertThatThrownBy(call::run).isInstanceOfSatisfying(GateException.class, e -> {
                assertThat(e.isTransient()).isFalse();
                assertThat(e.getMessage()).contains("no-such-partition-x1");
                for (BatchPartition p : partitions) {
                    assertThat(e.getMessage()).as("names the partition %s", p.name()).contains(p.name());
                }
            });
        }
        assertThat(queue().find(r.job(), r.attempt())).as("nothing was submitted").isEmpty();
    }

    @Test
    void aJobLargerThanEveryPartitionIsRefusedNamingTheLimitsAndNothingIsSubmitted() throws Exception {
        List<BatchPartition> partitions = queue().partitions();
        int nodes = partitions.stream().mapToInt(BatchPartition::maxNodes).max().orElseThrow() + 1;
        int cpus = partitions.stream().mapToInt(BatchPartition::maxCpusPerNode).max().orElseThrow() + 1;
        BatchRequest base = staged("#!/bin/sh\necho never\n");
        BatchRequest r = resized(base, nodes, cpus, 0, 0, base.timeLimit(), Optional.empty());
        BatchPartition target = defaultPartition();
        for (var call : List.<Runnable>of(() -> queue().check(r), () -> queue().submit(r))) {
            assertThatThrownBy(call::run).isInstanceOfSatisfying(GateException.class, e -> {
                assertThat(e.isTransient()).isFalse();
                assertThat(e.getMessage()).as("names the limits of the partition it was meant for")
                        .contains(target.describe());
            });
        }
        // each partition named explicitly refuses it too, naming its own limits
        for (BatchPartition p : partitions) {
            BatchRequest there = resized(r, nodes, cpus, 0, 0, r.timeLimit(), Optional.of(p.name()));
            assertThatThrownBy(() -> queue().check(there)).isInstanceOfSatisfying(GateException.class, e -> {
                assertThat(e.isTransient()).isFalse();
                assertThat(e.getMessage()).contains(p.describe());
            });
        }
        assertThat(queue().find(r.job(), r.attempt())).as("nothing was submitted").isEmpty();
    }

    @Test
    void aTimeLimitBeyondAPartitionsIsRefusedAndARequestWithoutOneRunsUnderThePartitions() throws Exception {
        BatchRequest base = staged("#!/bin/sh\necho ran\n");
        for (BatchPartition p : queue().partitions()) {
            if (p.maxTime().isPresent()) {
                BatchRequest r = resized(base, 1, 1, 0, 0, Optional.of(p.maxTime().get().plusMinutes(1)),
                        Optional.of(p.name()));
                assertThatThrownBy(() -> queue().check(r)).as("partition %s", p.name())
                        .isInstanceOfSatisfying(GateException.class, e -> {
                            assertThat(e.isTransient()).isFalse();
                            assertThat(e.getMessage()).contains(p.describe());
                        });
            } else {
                // no limit to exceed: a year is as good as a minute
                queue().check(resized(base, 1, 1, 0, 0, Optional.of(Duration.ofDays(365)), Optional.of(p.name())));
            }
        }
        // The engine asks no limit for a job without one: never refused for its time, it gets the partition's.
        BatchRequest none = resized(base, 1, 1, 0, 0, Optional.empty(), Optional.empty());
        queue().check(none);
        BatchStatus end = awaitEnd(submit(none));
        assertThat(end.state()).isEqualTo(BatchStatus.State.COMPLETED);
        assertThat(readOnSite(none.directory() + "/" + DetachedRun.STDOUT)).isEqualTo("ran\n");
    }

    @Test
    void aScriptThatPrintsAndExitsZeroCompletesWithItsOutputAndExitCodeFile() throws Exception {
        BatchRequest r = staged("#!/bin/sh\necho hello from batch\necho to stderr >&2\nexit 0\n");
        queue().check(r);
        BatchJob job = submit(r);
        assertThat(job.job()).isEqualTo(r.job());
        assertThat(job.attempt()).isEqualTo(r.attempt());
        BatchStatus end = awaitEnd(job);
        assertThat(end.state()).isEqualTo(BatchStatus.State.COMPLETED);
        assertThat(end.exitCode()).hasValue(0);
        assertThat(end.signal()).isEmpty();
        assertThat(readOnSite(r.directory() + "/" + DetachedRun.STDOUT)).isEqualTo("hello from batch\n");
        assertThat(readOnSite(r.directory() + "/" + DetachedRun.STDERR)).isEqualTo("to stderr\n");
        assertThat(DetachedRun.parseStatus(readOnSite(r.runDirectory() + "/" + DetachedRun.EXIT_CODE))).hasValue(0);
    }

    @Test
    void aNonZeroExitEndsTheJobWithThatExitCode() throws Exception {
        BatchRequest r = staged("#!/bin/sh\necho failing\nexit 3\n");
        BatchJob job = submit(r);
        BatchStatus end = awaitEnd(job);
        assertThat(end.state()).isNotIn(BatchStatus.State.COMPLETED, BatchStatus.State.CANCELLED);
        assertThat(end.exitCode()).hasValue(3);
        assertThat(DetachedRun.parseStatus(readOnSite(r.runDirectory() + "/" + DetachedRun.EXIT_CODE))).hasValue(3);
    }

    @Test
    void theJobSeesItsEnvironmentAndRunsInItsWorkdir() throws Exception {
        BatchRequest base = staged("#!/bin/sh\necho \"$GREETING|$SKYPORT_JOB_ID|$SKYPORT_ATTEMPT|$SKYPORT_JOB_DIR\"\n"
                + "echo here > here.txt\n", Map.of("GREETING", "hello batch"));
        upload("marker\n", base.directory() + "/sub/marker.txt");
        BatchRequest r = withWorkdir(base, base.directory() + "/sub");
        BatchJob job = submit(r);
        assertThat(awaitEnd(job).exitCode()).hasValue(0);
        assertThat(readOnSite(r.directory() + "/" + DetachedRun.STDOUT))
                .isEqualTo("hello batch|" + r.job() + "|1|" + r.directory() + "\n");
        assertThat(readOnSite(r.directory() + "/sub/here.txt")).as("written in the workdir").isEqualTo("here\n");
    }

    @Test
    void submittingTheSameAttemptTwiceReturnsTheSameJobWhichFindFinds() throws Exception {
        BatchRequest r = staged(waitingScript());
        BatchJob first = submit(r);
        BatchJob again = submit(r);
        assertThat(again).isEqualTo(first);
        assertThat(queue().find(r.job(), r.attempt())).hasValue(first);
        assertThat(queue().find(r.job(), r.attempt() + 1)).as("another attempt is another job").isEmpty();
        assertThat(queue().find(new JobId(UUID.randomUUID()), 1)).isEmpty();
    }

    @Test
    void cancellingPendingAndRunningJobsEndsThemAndStopsTheirProcesses() throws Exception {
        // A job that takes every node of the default partition whole, so that the next one must wait.
        BatchPartition p = defaultPartition();
        BatchRequest blocker0 = staged(waitingScript());
        BatchRequest blocker = resized(blocker0, p.maxNodes(), p.maxCpusPerNode(), 0, 0, blocker0.timeLimit(),
                Optional.empty());
        BatchJob running = submit(blocker);
        awaitStatus(running, s -> s.state() == BatchStatus.State.RUNNING, "RUNNING");
        long pid = Long.parseLong(awaitContent(blocker.directory() + "/job.pid").trim());
        assertThat(processRuns(pid)).isTrue();

        BatchRequest waiting = staged(waitingScript());
        BatchJob pending = submit(waiting);
        BatchStatus queued = queue().status(List.of(pending)).get(pending);
        assertThat(queued.state()).isEqualTo(BatchStatus.State.PENDING);
        awaitStatus(pending, s -> !s.reason().isBlank(), "a reason to pend");

        queue().cancel(pending);
        assertThat(awaitEnd(pending).state()).isIn(BatchStatus.State.CANCELLED, BatchStatus.State.GONE);
        queue().cancel(running);
        assertThat(awaitEnd(running).state()).isIn(BatchStatus.State.CANCELLED, BatchStatus.State.GONE);
        awaitProcessGone(pid);
        assertThat(readOnSite(blocker.directory() + "/" + DetachedRun.STDOUT)).doesNotContain("survived");
        assertThatThrownBy(() -> readOnSite(waiting.directory() + "/job.pid")).as("the pending job never ran")
                .isInstanceOf(GateException.class);

        queue().cancel(running); // again: not an error
        queue().cancel(pending);
        assertThat(queue().status(List.of(running)).get(running).state())
                .isIn(BatchStatus.State.CANCELLED, BatchStatus.State.GONE);
    }

    @Test
    void cancellingAJobTheQueueDoesNotKnowIsNotAnError() {
        queue().cancel(new BatchJob("987654321", new JobId(UUID.randomUUID()), 1));
    }

    @Test
    void theStatusOfSeveralJobsComesInOneCallAndAnUnknownJobIsGone() throws Exception {
        List<BatchJob> jobs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            jobs.add(submit(staged("#!/bin/sh\nexit " + i + "\n")));
        }
        BatchJob unknown = new BatchJob("987654321", new JobId(UUID.randomUUID()), 1);
        List<BatchJob> asked = new ArrayList<>(jobs);
        asked.add(unknown);
        Instant deadline = Instant.now().plus(WAIT);
        Map<BatchJob, BatchStatus> all;
        while (true) {
            all = queue().status(asked);
            assertThat(all).as("one status per job asked for").containsOnlyKeys(asked);
            Map<BatchJob, BatchStatus> seen = all;
            if (jobs.stream().allMatch(j -> seen.get(j).state().isTerminal())) {
                break;
            }
            assertThat(Instant.now()).as("every job ended: %s", all).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(100);
        }
        for (int i = 0; i < 3; i++) {
            assertThat(all.get(jobs.get(i)).exitCode()).as("exit code of job %s", i).hasValue(i);
        }
        OptionalLong before = statusRequests();
        assertThat(queue().status(asked)).containsOnlyKeys(asked);
        OptionalLong after = statusRequests();
        if (before.isPresent()) {
            assertThat(after.getAsLong() - before.getAsLong()).as("backend requests for the status of %s jobs",
                    asked.size()).isEqualTo(1);
        }
        assertThat(all.get(unknown).state()).isEqualTo(BatchStatus.State.GONE);
    }

    @Test
    void aJobSubmittedBeforeAReopenIsFoundFollowedAndCancelledAfterIt() throws Exception {
        BatchRequest r = staged(waitingScript());
        BatchJob job = submit(r);
        long pid = Long.parseLong(awaitContent(r.directory() + "/job.pid").trim());
        reopen();
        assertThat(queue().find(r.job(), r.attempt())).hasValue(job);
        assertThat(queue().submit(r)).as("not submitted twice after a restart").isEqualTo(job);
        assertThat(queue().status(List.of(job)).get(job).state()).isEqualTo(BatchStatus.State.RUNNING);
        queue().cancel(job);
        assertThat(awaitEnd(job).state()).isIn(BatchStatus.State.CANCELLED, BatchStatus.State.GONE);
        awaitProcessGone(pid);
    }
}
