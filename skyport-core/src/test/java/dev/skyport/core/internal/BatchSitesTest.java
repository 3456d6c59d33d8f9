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
import dev.skyport.gate.BatchRequest;
import dev.skyport.gate.BatchStatus;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.loopback.LoopbackBatchGate;
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
import java.util.stream.Stream;

import static dev.skyport.core.internal.LoopbackQueues.waitFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Jobs handed to a batch site: the {@code loopback-batch} gate of the gate SPI's test-jar, whose jobs are real
 * processes and whose queue lives in files, so that a restarted engine and a child JVM see the same site; its call log
 * witnesses what the engine asked of the site. Every job left at the site is canceled when a test ends.
 */
class BatchSitesTest {
    private static final Duration WAIT = LoopbackQueues.WAIT;

    @TempDir
    Path dir;

    private final List<SkyPort> engines = new ArrayList<>();
    private final List<Process> children = new ArrayList<>();

    @AfterEach
    void close() {
        children.forEach(Process::destroyForcibly);
        engines.forEach(SkyPort::close);
        LoopbackBatchGate.cancelAll(queue());
    }

    private Path queue() {
        return dir.resolve("queue");
    }

    private SkyPort engine() {
        return engine(Map.of());
    }

    private SkyPort engine(Map<String, String> options) {
        SkyPort sky = BatchChildEngine.engine(dir.resolve("data"), queue(), options);
        engines.add(sky);
        return sky;
    }

    private static Job awaitState(SkyPort sky, JobId id, JobState state) throws InterruptedException {
        waitFor(() -> sky.jobs().get(id).state() == state, "job " + id + " to be " + state);
        return sky.jobs().get(id);
    }

    private Path siteDir(JobId id) {
        return LoopbackQueues.siteDir(queue(), id);
    }

    private List<String> calls() {
        return LoopbackBatchGate.calls(queue());
    }

    /** How many backend jobs the site ever queued. */
    private long backendJobs() {
        Path jobs = queue().resolve("jobs");
        if (!Files.isDirectory(jobs)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(jobs)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".properties")).count();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Stream<String> details(SkyPort sky, JobId id) {
        return sky.events().history(id).stream().map(JobTransitioned::details);
    }

    @Test
    void aJobNamingTheSiteRunsThereAndItsOutputsAndLogsComeBack() throws Exception {
        SkyPort sky = engine();
        Path input = dir.resolve("in.txt");
        Files.writeString(input, "forty-two\n");
        String script = "#!/bin/sh\necho \"hello from $SKYPORT_JOB_ID\"\ncp in.txt result.txt\n";
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").inputFile(input.toString())
                .outputFile("result.txt").script(script).build());
        Job done = sky.jobs().await(job.id(), WAIT);

        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        Attempt attempt = done.lastAttempt().orElseThrow();
        assertThat(attempt.partition()).contains("hpc/debug");
        assertThat(attempt.nodes()).containsExactly("hpc/debug-n1");
        assertThat(attempt.exitCode()).hasValue(0);
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("hello from " + job.id() + "\n");
        assertThat(dir.resolve("data").resolve("jobs").resolve(job.id().toString()).resolve("result.txt"))
                .hasContent("forty-two");
        assertThat(sky.events().history(job.id()).stream().map(JobTransitioned::to).distinct())
                .containsExactly(JobState.QUEUED, JobState.STAGING_IN, JobState.PROVISIONING, JobState.RUNNING,
                        JobState.STAGING_OUT, JobState.SUCCEEDED);
        assertThat(backendJobs()).isEqualTo(1);
        // The gate's submit writes the script and checks the job itself: the engine neither uploads nor checks.
        assertThat(siteDir(job.id()).resolve(DetachedRun.SCRIPT)).hasContent(script.strip());
        assertThat(calls()).as("no check call besides the submit").noneMatch(c -> c.startsWith("check"))
                .contains("submit " + BatchRequest.tag(job.id(), 1));
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
        assertThat(backendJobs()).isEqualTo(1);
    }

    @Test
    void thePendingReasonIsShownUntilTheSiteStartsIt() throws Exception {
        SkyPort sky = engine();
        LoopbackBatchGate.hold(queue(), Optional.of("Priority"));
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc/debug").script("#!/bin/sh\ntrue\n").build());
        waitFor(() -> sky.jobs().get(job.id()).stateDetails().startsWith("pending at hpc"), "pending details");
        Job pending = sky.jobs().get(job.id());
        assertThat(pending.state()).isEqualTo(JobState.PROVISIONING);
        assertThat(pending.stateDetails()).isEqualTo("pending at hpc: Priority");

        LoopbackBatchGate.hold(queue(), Optional.of("JobHeldAdmin"));
        waitFor(() -> sky.jobs().get(job.id()).stateDetails().contains("JobHeldAdmin"), "new reason");
        assertThat(details(sky, job.id()).filter(d -> d.startsWith("pending at")).count())
                .as("one transition per change, not per poll").isEqualTo(2);

        LoopbackBatchGate.hold(queue(), Optional.empty());
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
    void aScriptKilledByASignalEndsSignaledAsOnEveryGate() throws Exception {
        SkyPort sky = engine();
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.none())
                .script("#!/bin/sh\nkill -9 $$\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.endReason()).contains(EndReason.SIGNALED);
        assertThat(done.lastAttempt().orElseThrow().signal()).hasValue(9);
    }

    @Test
    void aJobPendingAtTheSiteIsCanceledThereAndEndsCanceled() throws Exception {
        SkyPort sky = engine();
        LoopbackBatchGate.hold(queue(), Optional.of("Priority"));
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").script("#!/bin/sh\ntrue\n").build());
        waitFor(() -> sky.jobs().get(job.id()).stateDetails().startsWith("pending at"), "pending");
        sky.jobs().cancel(job.id());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.CANCELED);
        assertThat(done.endReason()).contains(EndReason.CANCELED);
        assertThat(calls()).contains("cancel 1");
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
        assertThat(calls()).contains("cancel 1");
        assertThat(sky.jobs().stdout(job.id())).doesNotContain("end");
    }

    @Test
    void aCancelTheSiteRefusesIsShownAndTriedAgainUntilItTakes() throws Exception {
        SkyPort sky = engine();
        Job job = sky.jobs().submit(BatchChildEngine.waitingJob());
        awaitState(sky, job.id(), JobState.RUNNING);
        LoopbackBatchGate.refuseCancel(queue(), Optional.of("Access/permission denied"));
        sky.jobs().cancel(job.id());
        waitFor(() -> sky.jobs().get(job.id()).stateDetails().contains("refuses to cancel"), "the refusal shown");
        assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.CANCELING);
        assertThat(sky.jobs().get(job.id()).stateDetails()).contains("Access/permission denied")
                .contains("trying again at");
        LoopbackBatchGate.refuseCancel(queue(), Optional.empty());
        assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.CANCELED);
    }

    @Test
    void transientSubmitFailuresAreRetriedAndShownWithoutFailingTheJob() throws Exception {
        SkyPort sky = engine(Map.of("fail-submit", "transient:3"));
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").script("#!/bin/sh\necho ok\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.attempts()).hasSize(1);
        assertThat(backendJobs()).isEqualTo(1);
        assertThat(details(sky, job.id()).filter(d -> d.startsWith("Submitting to batch site hpc failed: ")))
                .as("each failed submit, with when the next comes").hasSize(3)
                .allMatch(d -> d.contains("injected transient failure") && d.contains("trying again at"));
    }

    @Test
    void submitsThatFailForLongerThanTheSubmitTimeoutEndTheAttemptAsASystemError() throws Exception {
        SkyPort sky = engine(Map.of("fail-submit", "transient:1000", "submit-timeout", "2s"));
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.none())
                .script("#!/bin/sh\necho never\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.endReason()).contains(EndReason.SYSTEM_ERROR);
        assertThat(done.stateDetails()).contains("did not take the job within PT2S")
                .contains("injected transient failure");
        assertThat(backendJobs()).isZero();
    }

    @Test
    void aJobStoppedWhileItsSubmitWaitsForARetryIsLookedForAndCanceledAtTheSite() throws Exception {
        // Every reply is lost: the site queues the job, the engine hears only errors and waits to try again.
        SkyPort sky = engine(Map.of("fail-submit", "lost-reply:1000"));
        Job job = sky.jobs().submit(BatchChildEngine.waitingJob());
        String tag = BatchRequest.tag(job.id(), 1);
        waitFor(() -> calls().contains("submit " + tag) && backendJobs() == 1, "the site to queue the job");
        sky.jobs().cancel(job.id());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.CANCELED);
        List<String> calls = calls();
        assertThat(calls).as("looked up by its tag, then canceled").contains("find " + tag, "cancel 1");
        assertThat(calls.indexOf("cancel 1")).isGreaterThan(calls.indexOf("find " + tag));
    }

    @Test
    void anAccountTheSiteRefusesFailsTheJobAtOnceWithTheSitesMessage() throws Exception {
        SkyPort sky = engine(Map.of("accounts", "physics"));
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").account("nosuch")
                .script("#!/bin/sh\ntrue\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.attempts()).hasSize(1);
        assertThat(done.stateDetails()).contains("Invalid account or account/partition combination specified");
        assertThat(backendJobs()).isZero();
    }

    @Test
    void aJobTheSiteWillNeverRunEndsFailedWithTheSitesReasonAndIsNotRetried() throws Exception {
        SkyPort first = engine();
        LoopbackBatchGate.hold(queue(), Optional.of("Priority"));
        Job job = first.jobs().submit(JobSpec.builder().remoteSite("hpc/small")
                .retryPolicy(RetryPolicy.defaults().withMaxAttempts(3)).script("#!/bin/sh\ntrue\n").build());
        waitFor(() -> first.jobs().get(job.id()).stateDetails().startsWith("pending at"), "pending");
        first.close();
        engines.remove(first);

        // The site's partition small is gone: its pending job would never start, and the site ends it FAILED.
        SkyPort second = engine(Map.of("partitions", "debug:2:2:2048:60"));
        Job done = second.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.attempts()).as("a refusal is not retried").hasSize(1);
        assertThat(done.stateDetails()).contains("refused by batch site hpc").contains("PartitionConfig");
        assertThat(second.events().history(job.id()).stream().map(JobTransitioned::to))
                .as("it never ran").doesNotContain(JobState.RUNNING);
    }

    @Test
    void aRestartedEngineFollowsARunningJobByItsIdAndSubmitsNothing() throws Exception {
        SkyPort first = engine();
        Job job = first.jobs().submit(BatchChildEngine.waitingJob());
        awaitState(first, job.id(), JobState.RUNNING);
        first.close();
        engines.remove(first);
        long submitsBefore = calls().stream().filter(c -> c.startsWith("submit")).count();

        SkyPort second = engine();
        assertThat(second.jobs().get(job.id()).state()).isEqualTo(JobState.RUNNING);
        Files.writeString(siteDir(job.id()).resolve("release"), "");
        Job done = second.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(second.jobs().stdout(job.id())).isEqualTo("start\nend\n");
        List<String> calls = calls();
        assertThat(calls.stream().filter(c -> c.startsWith("submit")).count()).isEqualTo(submitsBefore);
        assertThat(calls).noneMatch(c -> c.startsWith("find"));
        assertThat(calls).as("closing the engine cancels nothing").noneMatch(c -> c.startsWith("cancel"));
        assertThat(backendJobs()).isEqualTo(1);
    }

    @Test
    void theStatusOfEveryJobOfTheSiteComesFromOneCallPerPoll() throws Exception {
        SkyPort sky = engine();
        LoopbackBatchGate.hold(queue(), Optional.of("Priority"));
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            jobs.add(sky.jobs().submit(JobSpec.builder().remoteSite("hpc").script("#!/bin/sh\ntrue\n").build()));
        }
        for (Job j : jobs) {
            waitFor(() -> sky.jobs().get(j.id()).stateDetails().startsWith("pending at"), "job " + j.id() + " pending");
        }
        waitFor(() -> calls().contains("status 3"), "one status call for the three jobs");
        LoopbackBatchGate.hold(queue(), Optional.empty());
        for (Job j : jobs) {
            assertThat(sky.jobs().await(j.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    @Test
    void aCrashBetweenTheSitesReplyAndTheCommitFindsTheJobByItsTagAndSubmitsItOnce() throws Exception {
        Files.createDirectories(queue());
        LoopbackBatchGate.haltAfterSubmit(queue(), true);
        Child child = new Child();
        String id = child.line("ACK ");
        assertThat(child.process.waitFor(60, TimeUnit.SECONDS)).as("the child halts in the submit").isTrue();
        LoopbackBatchGate.haltAfterSubmit(queue(), false);
        assertThat(backendJobs()).isEqualTo(1);

        SkyPort sky = engine();
        JobId job = JobId.parse(id);
        awaitState(sky, job, JobState.RUNNING);
        Files.writeString(siteDir(job).resolve("release"), "");
        assertThat(sky.jobs().await(job, WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(backendJobs()).isEqualTo(1);
        List<String> calls = calls();
        int find = calls.indexOf("find skyport:" + id + ":1");
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
        assertThat(backendJobs()).isEqualTo(1);
        assertThat(calls()).noneMatch(c -> c.startsWith("find"));
    }

    @Test
    void submissionsTheSiteCannotTakeAreRefusedNamingTheFieldAndNothingIsCreated() throws Exception {
        SkyPort sky = engine();
        String script = "#!/bin/sh\ntrue\n";
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc/gpu").script(script).build()))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field()).isEqualTo("remoteSite"))
                .hasMessageContaining("hpc/debug").hasMessageContaining("hpc/small");
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc/small").nodes(2)
                .script(script).build()))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field()).isEqualTo("nodes"))
                .hasMessageContaining("small: up to 1 node of 1 cpus, 1024 MiB, 0 gpus, 10 min");
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
        assertThat(calls()).noneMatch(c -> c.startsWith("submit") || c.startsWith("check"));
    }

    @Test
    void aJobForASiteWhosePartitionsAreAllDownIsAcceptedAndWaitsUntilOneIsUp() throws Exception {
        Files.createDirectories(queue());
        LoopbackBatchGate.partitionDown(queue(), "debug", true);
        LoopbackBatchGate.partitionDown(queue(), "small", true);
        SkyPort sky = engine();
        String script = "#!/bin/sh\necho back\n";
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc").cpus(64).script(script)
                .build())).as("too large is too large, up or down")
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field()).isEqualTo("cpus"));
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").script(script).build());
        waitFor(() -> sky.jobs().get(job.id()).stateDetails().contains("are down"), "the wait to be explained");
        assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.QUEUED);
        assertThat(sky.jobs().get(job.id()).stateDetails()).contains("hpc/debug").contains("hpc/small");

        LoopbackBatchGate.partitionDown(queue(), "debug", false);
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.lastAttempt().orElseThrow().partition()).contains("hpc/debug");
    }

    @Test
    void theSitesNodesAreListedUnderItsNameAndNeverGetALocalJob() throws Exception {
        SkyPort sky = engine();
        waitFor(() -> sky.nodes().stream().anyMatch(n -> n.name().equals("hpc/debug-n1")), "the site's nodes");
        Node n1 = sky.nodes().stream().filter(n -> n.name().equals("hpc/debug-n1")).findFirst().orElseThrow();
        assertThat(n1.partition()).isEqualTo("hpc/debug");
        assertThat(n1.labels()).containsEntry(BatchSites.SITE_LABEL, "hpc");
        assertThat(sky.partitions()).anySatisfy(p -> assertThat(p.name()).isEqualTo("hpc/small"));
        // Two 1-cpu jobs on a 1-cpu machine: the second waits for the first rather than taking a site node.
        Job a = sky.jobs().submit(JobSpec.builder().script("#!/bin/sh\nsleep 0.2\n").build());
        Job b = sky.jobs().submit(JobSpec.builder().script("#!/bin/sh\ntrue\n").build());
        assertThat(sky.jobs().await(a.id(), WAIT).lastAttempt().orElseThrow().nodes()).noneMatch(n -> n.contains("/"));
        assertThat(sky.jobs().await(b.id(), WAIT).lastAttempt().orElseThrow().nodes()).noneMatch(n -> n.contains("/"));
        assertThat(backendJobs()).isZero();
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
    void aJobWithoutATimeLimitAsksTheSiteForNoneEvenBeforeTheSiteListedItsPartitions() {
        Job job = new Job(new JobId(java.util.UUID.randomUUID()), "u1", "alice", JobSpec.builder().remoteSite("hpc")
                .command(List.of("echo", "it's $HOME")).build(), JobState.STAGING_IN, "", Optional.empty(),
                Instant.EPOCH, Instant.EPOCH, List.of());
        BatchRequest r = BatchSubmits.batchRequest(job, 1, "/site/jobs/x", "debug");
        assertThat(r.timeLimit()).isEmpty();
        assertThat(r.script()).isEqualTo("#!/bin/sh\nexec 'echo' 'it'\\''s $HOME'\n");
        assertThat(r.partition()).contains("debug");
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
        expected.forEach((state, reason) -> assertThat(ending(state, OptionalInt.empty()).reason())
                .as("%s", state).isEqualTo(reason));
        assertThat(ending(BatchStatus.State.COMPLETED, OptionalInt.of(0)).reason()).isEqualTo(EndReason.COMPLETED);
        assertThat(ending(BatchStatus.State.FAILED, OptionalInt.of(3)).reason()).isEqualTo(EndReason.NON_ZERO_EXIT);
        assertThat(ending(BatchStatus.State.GONE, OptionalInt.of(0)).reason()).isEqualTo(EndReason.COMPLETED);
        assertThat(ending(BatchStatus.State.GONE, OptionalInt.empty()).reason())
                .as("gone without an exit code: lost, and retried").isEqualTo(EndReason.NODE_LOST);
        assertThat(EndReason.NODE_LOST.cause()).isEqualTo(EndReason.Cause.INFRASTRUCTURE);
        assertThat(ending(BatchStatus.State.OUT_OF_MEMORY, OptionalInt.empty()).outcome().detail())
                .contains("out of memory");
        // The wrapper exits 128+N when the script dies by signal N, and the site reports no signal: read as exited().
        for (BatchStatus.State state : List.of(BatchStatus.State.FAILED, BatchStatus.State.GONE)) {
            BatchEndings.Ending killed = ending(state, OptionalInt.of(137));
            assertThat(killed.reason()).as("%s 137", state).isEqualTo(EndReason.SIGNALED);
            assertThat(killed.outcome().signal()).hasValue(9);
            assertThat(ending(state, OptionalInt.of(128 + 65)).reason()).as("%s above 128+64", state)
                    .isEqualTo(EndReason.NON_ZERO_EXIT);
        }
        // FAILED without an exit status: the site will never run it; a permanent refusal, not retried.
        BatchEndings.Ending refused = BatchEndings.ending("hpc", new BatchStatus(BatchStatus.State.FAILED,
                "PartitionConfig", Optional.empty(), List.of(), OptionalInt.empty(), OptionalInt.empty()));
        assertThat(refused.outcome().detail()).isEqualTo("refused by batch site hpc: PartitionConfig");
        assertThat(refused.refused()).hasValueSatisfying(g -> assertThat(g.isTransient()).isFalse());
    }

    private static BatchEndings.Ending ending(BatchStatus.State state, OptionalInt exit) {
        return BatchEndings.ending("hpc", new BatchStatus(state, "", Optional.empty(), List.of(), exit,
                OptionalInt.empty()));
    }

    /** A {@link BatchChildEngine} on this test's data directory and site. */
    private final class Child {
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

        Child() throws IOException {
            List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    System.getProperty("java.class.path"), "-Xmx256m", BatchChildEngine.class.getName(),
                    dir.resolve("data").toString(), queue().toString());
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
