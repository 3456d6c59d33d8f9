package dev.skyport.core.internal;

import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Node;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import dev.skyport.gate.BatchStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Jobs handed to a batch site: a {@link ProcessBatchGate} whose jobs are real processes and whose state lives in
 * files, so that a restarted engine and a child JVM see the same site.
 */
class BatchSitesTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private final List<SkyPort> engines = new ArrayList<>();
    private final List<Process> children = new ArrayList<>();

    @AfterEach
    void close() {
        children.forEach(Process::destroyForcibly);
        engines.forEach(SkyPort::close);
    }

    private Path state() {
        return dir.resolve("site");
    }

    private SkyPort engine() {
        SkyPort sky = BatchChildEngine.engine(dir.resolve("data"), state());
        engines.add(sky);
        return sky;
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private static Job awaitState(SkyPort sky, JobId id, JobState state) throws InterruptedException {
        waitFor(() -> sky.jobs().get(id).state() == state, "job " + id + " to be " + state);
        return sky.jobs().get(id);
    }

    private Path siteDir(JobId id) {
        return state().resolve("shared").resolve(id.toString());
    }

    @Test
    void aJobNamingTheSiteRunsThereAndItsOutputsAndLogsComeBack() throws Exception {
        SkyPort sky = engine();
        Path input = dir.resolve("in.txt");
        Files.writeString(input, "forty-two\n");
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").inputFile(input.toString())
                .outputFile("result.txt").script("#!/bin/sh\necho \"hello from $SKYPORT_JOB_ID\"\n"
                        + "cp in.txt result.txt\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);

        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        Attempt attempt = done.lastAttempt().orElseThrow();
        assertThat(attempt.partition()).contains("hpc/debug");
        assertThat(attempt.nodes()).containsExactly("hpc/n1");
        assertThat(attempt.exitCode()).hasValue(0);
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("hello from " + job.id() + "\n");
        assertThat(dir.resolve("data").resolve("jobs").resolve(job.id().toString()).resolve("result.txt"))
                .hasContent("forty-two");
        assertThat(sky.events().history(job.id()).stream().map(JobTransitioned::to).distinct())
                .containsExactly(JobState.QUEUED, JobState.STAGING_IN, JobState.PROVISIONING, JobState.RUNNING,
                        JobState.STAGING_OUT, JobState.SUCCEEDED);
        assertThat(ProcessBatchGate.backendJobs(state())).hasSize(1);
    }

    @Test
    void aJobNoNodeHereHoldsGoesToTheSiteWhileOneThatFitsStaysHere() throws Exception {
        SkyPort sky = engine();
        Job big = sky.jobs().submit(JobSpec.builder().cpus(2).script("#!/bin/sh\necho big\n").build());
        Job small = sky.jobs().submit(JobSpec.builder().cpus(1).script("#!/bin/sh\necho small\n").build());

        Job bigDone = sky.jobs().await(big.id(), WAIT);
        Job smallDone = sky.jobs().await(small.id(), WAIT);
        assertThat(bigDone.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(bigDone.lastAttempt().orElseThrow().partition()).contains("hpc/debug");
        assertThat(smallDone.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(smallDone.lastAttempt().orElseThrow().partition()).isEmpty();
        assertThat(smallDone.lastAttempt().orElseThrow().nodes()).noneMatch(n -> n.startsWith("hpc/"));
        assertThat(ProcessBatchGate.backendJobs(state())).hasSize(1);
    }

    @Test
    void thePendingReasonAndExpectedStartAreShownUntilTheSiteStartsIt() throws Exception {
        SkyPort sky = engine();
        Instant expected = Instant.parse("2030-01-01T12:00:00Z");
        ProcessBatchGate.hold(state(), "Resources", expected);
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc/debug").script("#!/bin/sh\ntrue\n").build());
        waitFor(() -> sky.jobs().get(job.id()).stateDetails().startsWith("pending at hpc"), "pending details");
        Job pending = sky.jobs().get(job.id());
        assertThat(pending.state()).isEqualTo(JobState.PROVISIONING);
        assertThat(pending.stateDetails()).isEqualTo("pending at hpc: Resources; expected start " + expected);

        Instant later = Instant.parse("2030-01-01T13:00:00Z");
        ProcessBatchGate.hold(state(), "Priority", later);
        waitFor(() -> sky.jobs().get(job.id()).stateDetails().contains("Priority"), "new reason");
        assertThat(sky.events().history(job.id()).stream().filter(t -> t.details().startsWith("pending at")).count())
                .as("one transition per change, not per poll").isEqualTo(2);

        ProcessBatchGate.release(state());
        assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
    }

    @Test
    void aNonZeroExitFailsTheJobWithItsCodeAndItsLogsStillComeBack() throws Exception {
        SkyPort sky = engine();
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.none())
                .script("#!/bin/sh\necho oops >&2\nexit 3\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.endReason()).contains(EndReason.NON_ZERO_EXIT);
        assertThat(done.lastAttempt().orElseThrow().exitCode()).hasValue(3);
        assertThat(done.stateDetails()).startsWith("Exited with code 3");
        assertThat(sky.jobs().stderr(job.id())).isEqualTo("oops\n");
    }

    @Test
    void aJobPendingAtTheSiteIsCanceledThereAndEndsCanceled() throws Exception {
        SkyPort sky = engine();
        ProcessBatchGate.hold(state(), "Resources", Instant.parse("2030-01-01T12:00:00Z"));
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").script("#!/bin/sh\ntrue\n").build());
        waitFor(() -> sky.jobs().get(job.id()).stateDetails().startsWith("pending at"), "pending");
        sky.jobs().cancel(job.id());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.CANCELED);
        assertThat(done.endReason()).contains(EndReason.CANCELED);
        assertThat(ProcessBatchGate.calls(state())).contains("cancel 1");
    }

    @Test
    void aRunningJobIsCanceledAtTheSiteAndItsProcessesEnd() throws Exception {
        SkyPort sky = engine();
        Job job = sky.jobs().submit(BatchChildEngine.waitingJob());
        awaitState(sky, job.id(), JobState.RUNNING);
        waitFor(() -> Files.exists(siteDir(job.id()).resolve("stdout.log")), "the run to start");
        sky.jobs().cancel(job.id());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.CANCELED);
        assertThat(ProcessBatchGate.calls(state())).contains("cancel 1");
        // The site recorded no exit: the run was killed, it did not finish.
        assertThat(siteDir(job.id()).resolve("run.1").resolve("exitcode")).doesNotExist();
    }

    @Test
    void transientBackendErrorsAreRetriedWithoutFailingTheJob() throws Exception {
        SkyPort sky = engine();
        ProcessBatchGate.failNext(state(), 6);
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").script("#!/bin/sh\necho ok\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.attempts()).hasSize(1);
        assertThat(Files.readString(state().resolve("fail-next")).trim()).isEqualTo("0");
        assertThat(ProcessBatchGate.backendJobs(state())).hasSize(1);
    }

    @Test
    void anAccountTheSiteRefusesFailsTheJobAtOnceWithTheSitesMessage() throws Exception {
        SkyPort sky = engine();
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").account("nosuch")
                .script("#!/bin/sh\ntrue\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.attempts()).hasSize(1);
        assertThat(done.stateDetails()).contains(ProcessBatchGate.INVALID_ACCOUNT);
        assertThat(ProcessBatchGate.backendJobs(state())).isEmpty();
    }

    @Test
    void aRestartedEngineFollowsARunningJobByItsIdAndSubmitsNothing() throws Exception {
        SkyPort first = engine();
        Job job = first.jobs().submit(BatchChildEngine.waitingJob());
        awaitState(first, job.id(), JobState.RUNNING);
        first.close();
        engines.remove(first);
        long submitsBefore = ProcessBatchGate.calls(state()).stream().filter(c -> c.startsWith("submit")).count();

        SkyPort second = engine();
        assertThat(second.jobs().get(job.id()).state()).isEqualTo(JobState.RUNNING);
        Files.writeString(siteDir(job.id()).resolve("release"), "");
        Job done = second.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(second.jobs().stdout(job.id())).isEqualTo("start\nend\n");
        List<String> calls = ProcessBatchGate.calls(state());
        assertThat(calls.stream().filter(c -> c.startsWith("submit")).count()).isEqualTo(submitsBefore);
        assertThat(calls).noneMatch(c -> c.startsWith("find"));
        assertThat(calls).as("closing the engine cancels nothing").noneMatch(c -> c.startsWith("cancel"));
        assertThat(ProcessBatchGate.backendJobs(state())).hasSize(1);
    }

    @Test
    void theStatusOfEveryJobOfTheSiteComesFromOneCallPerPoll() throws Exception {
        SkyPort sky = engine();
        ProcessBatchGate.hold(state(), "Priority", Instant.parse("2030-01-01T12:00:00Z"));
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            jobs.add(sky.jobs().submit(JobSpec.builder().remoteSite("hpc").script("#!/bin/sh\ntrue\n").build()));
        }
        for (Job j : jobs) {
            waitFor(() -> sky.jobs().get(j.id()).stateDetails().startsWith("pending at"), "job " + j.id() + " pending");
        }
        waitFor(() -> {
            try {
                return ProcessBatchGate.calls(state()).contains("status 3");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, "one status call for the three jobs");
        ProcessBatchGate.release(state());
        for (Job j : jobs) {
            assertThat(sky.jobs().await(j.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    @Test
    void aCrashBetweenTheSitesReplyAndTheCommitFindsTheJobByItsTagAndSubmitsItOnce() throws Exception {
        Files.createDirectories(state());
        Files.writeString(state().resolve("halt-after-submit"), "");
        Child child = new Child();
        String id = child.line("ACK ");
        assertThat(child.process.waitFor(60, TimeUnit.SECONDS)).as("the child halts in the submit").isTrue();
        Files.delete(state().resolve("halt-after-submit"));
        assertThat(ProcessBatchGate.backendJobs(state())).hasSize(1);

        SkyPort sky = engine();
        JobId job = JobId.parse(id);
        awaitState(sky, job, JobState.RUNNING);
        Files.writeString(siteDir(job).resolve("release"), "");
        assertThat(sky.jobs().await(job, WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(ProcessBatchGate.backendJobs(state())).hasSize(1);
        List<String> calls = ProcessBatchGate.calls(state());
        int find = calls.indexOf("find " + "skyport:" + id + ":1");
        assertThat(find).as("looked up by its tag").isGreaterThan(calls.indexOf("submit skyport:" + id + ":1"));
        assertThat(calls.subList(find, calls.size())).noneMatch(c -> c.startsWith("submit"));
    }

    @Test
    void anEngineKilledWhileTheSiteRunsItsJobReattachesByIdOnTheNextStart() throws Exception {
        Child child = new Child();
        String id = child.line("RUNNING ");
        child.process.destroyForcibly(); // kill -9
        assertThat(child.process.waitFor(60, TimeUnit.SECONDS)).isTrue();

        SkyPort sky = engine();
        JobId job = JobId.parse(id);
        assertThat(sky.jobs().get(job).state()).isEqualTo(JobState.RUNNING);
        Files.writeString(siteDir(job).resolve("release"), "");
        Job done = sky.jobs().await(job, WAIT);
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.attempts()).hasSize(1);
        assertThat(ProcessBatchGate.backendJobs(state())).hasSize(1);
        assertThat(ProcessBatchGate.calls(state())).noneMatch(c -> c.startsWith("find"));
    }

    @Test
    void submissionsTheSiteCannotTakeAreRefusedNamingTheFieldAndNothingIsCreated() throws Exception {
        SkyPort sky = engine();
        String script = "#!/bin/sh\ntrue\n";
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc/gpu").script(script).build()))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field()).isEqualTo("remoteSite"))
                .hasMessageContaining("hpc/debug").hasMessageContaining("hpc/small");
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc/small").nodes(2).account("physics")
                .script(script).build()))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field()).isEqualTo("nodes"))
                .hasMessageContaining("small: up to 1 node of 2 cpus, 1000 MiB, 0 gpus, 10 min");
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc/small").account("biology")
                .script(script).build()))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field()).isEqualTo("account"))
                .hasMessageContaining("physics");
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc").cpus(64).script(script)
                .build()))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field()).isEqualTo("cpus"))
                .hasMessageContaining("no partition of batch site hpc").hasMessageContaining("debug: up to 2 nodes");
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc/debug")
                .timeLimit(Duration.ofHours(2)).script(script).build()))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field())
                        .isEqualTo("timeLimit"));
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("elsewhere").script(script).build()))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field()).isEqualTo("remoteSite"))
                .hasMessageContaining("[hpc]");
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().cpus(64).script(script).build()))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field()).isEqualTo("cpus"));
        assertThat(sky.jobs().list(JobQuery.all()).items()).isEmpty();
        assertThat(ProcessBatchGate.calls(state())).noneMatch(c -> c.startsWith("submit") || c.startsWith("check"));
    }

    @Test
    void theSitesNodesAreListedUnderItsNameAndNeverGetALocalJob() throws Exception {
        SkyPort sky = engine();
        waitFor(() -> sky.nodes().stream().anyMatch(n -> n.name().equals("hpc/n1")), "the site's nodes");
        Node n1 = sky.nodes().stream().filter(n -> n.name().equals("hpc/n1")).findFirst().orElseThrow();
        assertThat(n1.partition()).isEqualTo("hpc/debug");
        assertThat(n1.labels()).containsEntry(BatchSites.SITE_LABEL, "hpc");
        assertThat(sky.partitions()).anySatisfy(p -> assertThat(p.name()).isEqualTo("hpc/small"));
        // Two 1-cpu jobs on a 1-cpu machine: the second waits for the first rather than taking a site node.
        Job a = sky.jobs().submit(JobSpec.builder().script("#!/bin/sh\nsleep 0.2\n").build());
        Job b = sky.jobs().submit(JobSpec.builder().script("#!/bin/sh\ntrue\n").build());
        assertThat(sky.jobs().await(a.id(), WAIT).lastAttempt().orElseThrow().nodes()).noneMatch(n -> n.contains("/"));
        assertThat(sky.jobs().await(b.id(), WAIT).lastAttempt().orElseThrow().nodes()).noneMatch(n -> n.contains("/"));
        assertThat(ProcessBatchGate.backendJobs(state())).isEmpty();
    }

    @Test
    void aSiteWhoseGateIsUnknownOrHasNoQueueStopsTheStartNamingTheSite() {
        assertThatThrownBy(() -> SkyPort.embedded().dataDir(dir.resolve("a"))
                .batchSite("hpc", "no-such-gate", Map.of()).start())
                .isInstanceOf(SkyPortException.class).hasMessageContaining("batch site 'hpc'")
                .hasMessageContaining("no-such-gate");
        assertThatThrownBy(() -> SkyPort.embedded().dataDir(dir.resolve("b"))
                .batchSite("hpc", "local", Map.of()).start())
                .isInstanceOf(SkyPortException.class).hasMessageContaining("batch site 'hpc'")
                .hasMessageContaining("no batch queue");
    }

    @Test
    void everyEndStateOfTheSiteMapsOntoAnEndReason() {
        Map<BatchStatus.State, EndReason> expected = Map.of(
                BatchStatus.State.TIMEOUT, EndReason.TIME_LIMIT,
                BatchStatus.State.NODE_FAIL, EndReason.NODE_LOST,
                BatchStatus.State.BOOT_FAIL, EndReason.NODE_LOST,
                BatchStatus.State.PREEMPTED, EndReason.PREEMPTED,
                BatchStatus.State.OUT_OF_MEMORY, EndReason.SIGNALED,
                BatchStatus.State.CANCELLED, EndReason.SIGNALED,
                BatchStatus.State.DEADLINE, EndReason.NO_CAPACITY);
        expected.forEach((state, reason) -> assertThat(BatchSites.ending("hpc", status(state, OptionalInt.empty()))
                .reason()).as("%s", state).isEqualTo(reason));
        assertThat(BatchSites.ending("hpc", status(BatchStatus.State.COMPLETED, OptionalInt.of(0))).reason())
                .isEqualTo(EndReason.COMPLETED);
        assertThat(BatchSites.ending("hpc", status(BatchStatus.State.FAILED, OptionalInt.of(3))).reason())
                .isEqualTo(EndReason.NON_ZERO_EXIT);
        assertThat(BatchSites.ending("hpc", status(BatchStatus.State.GONE, OptionalInt.of(0))).reason())
                .isEqualTo(EndReason.COMPLETED);
        assertThat(BatchSites.ending("hpc", status(BatchStatus.State.GONE, OptionalInt.empty())).reason())
                .as("gone without an exit code: lost, and retried").isEqualTo(EndReason.NODE_LOST);
        assertThat(EndReason.NODE_LOST.cause()).isEqualTo(EndReason.Cause.INFRASTRUCTURE);
        assertThat(BatchSites.ending("hpc", status(BatchStatus.State.OUT_OF_MEMORY, OptionalInt.empty())).outcome()
                .detail()).contains("out of memory");
    }

    private static BatchStatus status(BatchStatus.State state, OptionalInt exit) {
        return new BatchStatus(state, "", Optional.empty(), List.of(), exit, OptionalInt.empty());
    }

    /** A {@link BatchChildEngine} on this test's data directory and site. */
    private final class Child {
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

        Child() throws IOException {
            List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    System.getProperty("java.class.path"), "-Xmx256m", BatchChildEngine.class.getName(),
                    dir.resolve("data").toString(), state().toString());
            process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            children.add(process);
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (IOException ignored) {
                    // the child was killed
                }
            });
            reader.setDaemon(true);
            reader.start();
        }

        /** The rest of the first line starting with {@code prefix}. */
        String line(String prefix) throws InterruptedException {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                String line = lines.poll(100, TimeUnit.MILLISECONDS);
                if (line != null && line.startsWith(prefix)) {
                    return line.substring(prefix.length());
                }
            }
            throw new AssertionError("the child printed no " + prefix);
        }
    }
}
