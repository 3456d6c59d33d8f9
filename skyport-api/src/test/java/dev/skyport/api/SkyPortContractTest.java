package dev.skyport.api;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The behaviour every {@link SkyPort} shows, in-process or over REST. An implementation extends this class and
 * supplies {@link #open()}: a started Sky Port whose nodes are POSIX machines running the jobs' scripts. Each test
 * gets its own instance and closes it.
 */
public abstract class SkyPortContractTest {
    /** How long a test waits for something that should take well under a second. */
    protected static final Duration WAIT = Duration.ofSeconds(60);

    protected SkyPort sky;
    private final List<JobId> blockers = new ArrayList<>();

    /** A started Sky Port with an empty queue. */
    protected abstract SkyPort open() throws Exception;

    @BeforeEach
    void start() throws Exception {
        sky = open();
    }

    @AfterEach
    void stop() {
        for (JobId id : blockers) {
            cancelQuietly(id);
        }
        sky.close();
    }

    // ------------------------------------------------------------------ helpers

    protected Job submit(String script) {
        return sky.jobs().submit(JobSpec.script(script));
    }

    protected Job await(JobId id) throws InterruptedException {
        return sky.jobs().await(id, WAIT);
    }

    /** Polls until the job satisfies {@code condition}, failing after {@link #WAIT}. */
    protected Job awaitJob(JobId id, Predicate<Job> condition, String what) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        Job job = sky.jobs().get(id);
        while (!condition.test(job)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("job " + id + " did not become " + what + " in " + WAIT + "; it is " + job);
            }
            TimeUnit.MILLISECONDS.sleep(10);
            job = sky.jobs().get(id);
        }
        return job;
    }

    protected Job awaitState(JobId id, JobState state) throws InterruptedException {
        return awaitJob(id, j -> j.state() == state, state.name());
    }

    /** Fills every node with a long job, so that the next job that needs a whole node stays queued. */
    protected int fillCluster() throws InterruptedException {
        int maxCpus = 0;
        for (Node node : sky.nodes()) {
            Job blocker = sky.jobs().submit(JobSpec.builder().name("blocker").cpus(node.cpus())
                    .script("#!/bin/sh\nexec sleep 600\n").build());
            blockers.add(blocker.id());
            awaitState(blocker.id(), JobState.RUNNING);
            maxCpus = Math.max(maxCpus, node.cpus());
        }
        return maxCpus;
    }

    private void cancelQuietly(JobId id) {
        try {
            sky.jobs().cancel(id);
        } catch (IllegalJobStateException alreadyEnded) {
            // fine
        }
    }

    private List<Job> allJobs() {
        return listAll(sky);
    }

    private List<JobId> allJobIds() {
        return allJobs().stream().map(Job::id).toList();
    }

    /** Every job of {@code sky}, following the pages. */
    public static List<Job> listAll(SkyPort sky) {
        return listAll(sky, JobQuery.all().withLimit(JobQuery.MAX_LIMIT));
    }

    /** Every job of {@code sky} that {@code query} matches, following the pages. */
    public static List<Job> listAll(SkyPort sky, JobQuery query) {
        List<Job> all = new ArrayList<>();
        while (true) {
            Page<Job> page = sky.jobs().list(query);
            all.addAll(page.items());
            if (page.nextPageToken().isEmpty()) {
                return all;
            }
            query = query.after(page);
        }
    }

    /** True when the process exists and is not a zombie (where nothing reaps orphans, they stay zombies). */
    protected static boolean isRunning(long pid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
            int close = stat.lastIndexOf(')');
            return close > 0 && stat.charAt(close + 2) != 'Z';
        } catch (java.io.IOException gone) {
            return false;
        }
    }

    private static long pidFrom(String text) {
        return Long.parseLong(text.trim());
    }

    // ------------------------------------------------------------------ submit and run

    @Test
    void aWorkingManagerAndItsUserViewsReportUp() {
        assertThat(sky.health()).isEqualTo(Health.up());
        assertThat(sky.health().isAvailable()).isTrue();
        assertThat(sky.asUser("health-check").health()).isEqualTo(Health.up());
    }

    @Test
    void submitReturnsAQueuedJobWithAUuidAndTheScriptsName() {
        Job job = submit("#!/bin/sh\n#SWM name contract-hello\necho hi\n");
        assertThat(job.id().toString()).hasSize(36);
        assertThat(UUID.fromString(job.id().toString())).isEqualTo(job.id().value());
        assertThat(job.state()).isEqualTo(JobState.QUEUED);
        assertThat(job.stateDetails()).isEqualTo("Submitted");
        assertThat(job.name()).isEqualTo("contract-hello");
        assertThat(job.attempts()).isEmpty();
        assertThat(sky.jobs().get(job.id()).id()).isEqualTo(job.id());
    }

    @Test
    void aScriptRunsToSuccessWithItsOutput() throws Exception {
        Job job = submit("#!/bin/sh\necho \"out $SKYPORT_JOB_ID\"\necho err >&2\n");
        Job done = await(job.id());
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.endReason()).hasValue(EndReason.COMPLETED);
        assertThat(done.exitCode()).hasValue(0);
        assertThat(done.signal()).isEmpty();
        assertThat(done.attempts()).hasSize(1);
        assertThat(done.nodeNames()).isNotEmpty();
        assertThat(done.startTime()).isPresent();
        assertThat(done.endTime()).isPresent();
        assertThat(UpstreamStates.letter(done)).isEqualTo('F');
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("out " + job.id() + "\n");
        assertThat(sky.jobs().stderr(job.id())).isEqualTo("err\n");
    }

    @Test
    void openedLogsAreTheRawBytesTheJobWrote() throws Exception {
        Job job = sky.jobs().submit(JobSpec.builder()
                .command(List.of("/bin/sh", "-c", "printf 'a\\377b\\000c'; printf 'e\\n' >&2")).build());
        assertThat(await(job.id()).state()).isEqualTo(JobState.SUCCEEDED);
        try (InputStream out = sky.jobs().openStdout(job.id()); InputStream err = sky.jobs().openStderr(job.id())) {
            assertThat(out.readAllBytes()).containsExactly('a', 0xff, 'b', 0, 'c');
            assertThat(err.readAllBytes()).containsExactly('e', '\n');
        }
    }

    @Test
    void aCommandRunsWithItsEnvironment() throws Exception {
        Job job = sky.jobs().submit(JobSpec.builder().command(List.of("/bin/sh", "-c", "echo \"$GREETING\""))
                .env("GREETING", "hello there").build());
        assertThat(await(job.id()).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("hello there\n");
    }

    @Test
    void aNonZeroExitFailsTheJobWithoutRetry() throws Exception {
        Job done = await(submit("#!/bin/sh\nexit 3\n").id());
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.endReason()).hasValue(EndReason.NON_ZERO_EXIT);
        assertThat(done.exitCode()).hasValue(3);
        assertThat(done.attempts()).hasSize(1);
        assertThat(UpstreamStates.letter(done)).isEqualTo('F');
    }

    @Test
    void submitAllStoresEveryJob() throws Exception {
        List<Job> jobs = sky.jobs().submitAll(List.of(
                JobSpec.script("#!/bin/sh\necho one\n"), JobSpec.script("#!/bin/sh\necho two\n")));
        assertThat(jobs).hasSize(2);
        assertThat(await(jobs.get(0).id()).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(await(jobs.get(1).id()).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(sky.jobs().stdout(jobs.get(1).id())).isEqualTo("two\n");
    }

    // ------------------------------------------------------------------ events

    @Test
    void transitionsArePublishedInOrderAndRecorded() throws Exception {
        List<JobTransitioned> seen = new CopyOnWriteArrayList<>();
        try (Subscription ignored = sky.events().subscribe(e -> {
            if (e instanceof JobTransitioned t) {
                seen.add(t);
            }
        })) {
            Job job = submit("#!/bin/sh\necho hi\n");
            await(job.id());
            Instant deadline = Instant.now().plus(WAIT);
            while (seen.stream().noneMatch(t -> t.jobId().equals(job.id()) && t.to().isTerminal())) {
                assertThat(Instant.now()).as("terminal event delivered").isBefore(deadline);
                TimeUnit.MILLISECONDS.sleep(10);
            }
            List<JobTransitioned> mine = seen.stream().filter(t -> t.jobId().equals(job.id())).toList();
            assertThat(mine).extracting(JobTransitioned::to)
                    .containsExactly(JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED);
            assertThat(mine.get(0).from()).isEmpty();
            assertThat(mine.get(1).from()).hasValue(JobState.QUEUED);
            assertThat(mine).extracting(JobTransitioned::sequence).isSorted().doesNotHaveDuplicates();
            assertThat(sky.events().history(job.id())).isEqualTo(mine);
        }
    }

    // ------------------------------------------------------------------ cancel

    @Test
    void cancelStopsARunningJobAndItsChildren() throws Exception {
        Job job = submit("#!/bin/sh\nsleep 600 &\necho $!\nwait\n");
        awaitJob(job.id(), j -> j.state() == JobState.RUNNING && !sky.jobs().stdout(j.id()).isBlank(),
                "RUNNING with its child started");
        long child = pidFrom(sky.jobs().stdout(job.id()));
        assertThat(isRunning(child)).as("the child runs").isTrue();
        Job canceling = sky.jobs().cancel(job.id());
        assertThat(canceling.state()).isIn(JobState.CANCELING, JobState.CANCELED);
        Job done = await(job.id());
        assertThat(done.state()).isEqualTo(JobState.CANCELED);
        assertThat(done.endReason()).hasValue(EndReason.CANCELED);
        assertThat(UpstreamStates.letter(done)).isEqualTo('C');
        assertThat(done.attempts()).hasSize(1);
        assertThat(done.attempts().get(0).endTime()).isPresent();
        Instant deadline = Instant.now().plus(WAIT);
        while (isRunning(child)) {
            assertThat(Instant.now()).as("child %d stopped", child).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }

    @Test
    void cancelOfAQueuedJobEndsItWithoutRunning() throws Exception {
        int cpus = fillCluster();
        Job waiting = sky.jobs().submit(JobSpec.builder().cpus(cpus).script("#!/bin/sh\necho ran\n").build());
        Job canceled = sky.jobs().cancel(waiting.id());
        assertThat(canceled.state()).isEqualTo(JobState.CANCELED);
        assertThat(canceled.attempts()).isEmpty();
        assertThat(sky.jobs().stdout(waiting.id())).isEmpty();
    }

    @Test
    void cancelOfAnEndedJobIsRefusedAndChangesNothing() throws Exception {
        Job done = await(submit("#!/bin/sh\ntrue\n").id());
        assertThatThrownBy(() -> sky.jobs().cancel(done.id()))
                .isInstanceOfSatisfying(IllegalJobStateException.class,
                        e -> assertThat(e.state()).isEqualTo(JobState.SUCCEEDED));
        assertThat(sky.jobs().get(done.id())).isEqualTo(done);
    }

    // ------------------------------------------------------------------ requeue

    @Test
    void requeueOfAFinishedJobRunsItAgainAsANewAttempt() throws Exception {
        Job first = await(submit("#!/bin/sh\necho \"attempt $SKYPORT_ATTEMPT\"\n").id());
        Job requeued = sky.jobs().requeue(first.id());
        assertThat(requeued.state()).isEqualTo(JobState.QUEUED);
        Job second = awaitJob(first.id(), j -> j.state().isTerminal() && j.attempts().size() == 2, "ended twice");
        assertThat(second.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(second.attempts()).extracting(Attempt::number).containsExactly(1, 2);
        assertThat(sky.jobs().stdout(first.id())).isEqualTo("attempt 2\n");
    }

    @Test
    void requeueOfARunningJobStopsItAndRunsItAgain() throws Exception {
        Job job = submit("#!/bin/sh\nif [ \"$SKYPORT_ATTEMPT\" = 1 ]; then exec sleep 600; fi\necho second\n");
        awaitState(job.id(), JobState.RUNNING);
        sky.jobs().requeue(job.id());
        Job done = awaitJob(job.id(), j -> j.state().isTerminal() && j.attempts().size() == 2, "ended twice");
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.attempts().get(0).endReason()).hasValue(EndReason.PREEMPTED);
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("second\n");
    }

    @Test
    void requeueOfAQueuedJobIsRefused() throws Exception {
        int cpus = fillCluster();
        Job waiting = sky.jobs().submit(JobSpec.builder().cpus(cpus).script("#!/bin/sh\ntrue\n").build());
        assertThatThrownBy(() -> sky.jobs().requeue(waiting.id()))
                .isInstanceOfSatisfying(IllegalJobStateException.class,
                        e -> assertThat(e.state()).isEqualTo(JobState.QUEUED));
        sky.jobs().cancel(waiting.id());
    }

    // ------------------------------------------------------------------ await, logs

    @Test
    void awaitGivesUpAfterItsTimeoutWithTheLatestSnapshot() throws Exception {
        Job job = submit("#!/bin/sh\nexec sleep 600\n");
        assertThatThrownBy(() -> sky.jobs().await(job.id(), Duration.ofMillis(200)))
                .isInstanceOfSatisfying(AwaitTimeoutException.class,
                        e -> assertThat(e.last().state().isTerminal()).isFalse());
        sky.jobs().cancel(job.id());
        assertThat(await(job.id()).state()).isEqualTo(JobState.CANCELED);
    }

    @Test
    void onTerminalCompletesWithTheFinalSnapshotWithoutBlocking() throws Exception {
        Job job = submit("#!/bin/sh\necho done\n");
        java.util.concurrent.CompletableFuture<Job> future = sky.jobs().onTerminal(job.id());
        Job last = future.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(last.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(last).isEqualTo(sky.jobs().get(job.id()));
        assertThat(sky.jobs().onTerminal(job.id()).getNow(null)).as("an ended job's future is complete at once")
                .isEqualTo(last);
    }

    @Test
    void cancellingOnesOwnFutureLeavesTheJobAndOtherWaitersAlone() throws Exception {
        Job job = submit("#!/bin/sh\nexec sleep 600\n");
        blockers.add(job.id());
        java.util.concurrent.CompletableFuture<Job> mine = sky.jobs().onTerminal(job.id());
        java.util.concurrent.CompletableFuture<Job> theirs = sky.jobs().onTerminal(job.id());
        assertThat(mine).isNotSameAs(theirs);
        mine.cancel(true);
        theirs.obtrudeValue(null); // even a caller forcing its own future's value does not reach others
        java.util.concurrent.CompletableFuture<Job> third = sky.jobs().onTerminal(job.id());
        assertThat(third).isNotDone();
        assertThat(awaitState(job.id(), JobState.RUNNING).state()).isEqualTo(JobState.RUNNING);
        sky.jobs().cancel(job.id());
        assertThat(third.get(WAIT.toSeconds(), TimeUnit.SECONDS).state()).isEqualTo(JobState.CANCELED);
    }

    @Test
    void awaitAllReturnsEveryJobInTheOrderAsked() throws Exception {
        List<JobId> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ids.add(submit("#!/bin/sh\nexit " + i + "\n").id());
        }
        List<JobId> asked = List.of(ids.get(3), ids.get(0), ids.get(2), ids.get(1));
        List<Job> ended = sky.jobs().awaitAll(asked, WAIT);
        assertThat(ended).extracting(Job::id).containsExactlyElementsOf(asked);
        assertThat(ended).allMatch(j -> j.state().isTerminal());
        assertThat(ended.get(0).exitCode()).hasValue(3);
        assertThat(sky.jobs().awaitAll(List.of(), Duration.ZERO)).isEmpty();
    }

    @Test
    void awaitAllGivesUpWithTheJobsThatHadNotEnded() throws Exception {
        Job quick = submit("#!/bin/sh\ntrue\n");
        Job slow = submit("#!/bin/sh\nexec sleep 600\n");
        blockers.add(slow.id());
        await(quick.id());
        assertThatThrownBy(() -> sky.jobs().awaitAll(List.of(quick.id(), slow.id()), Duration.ofMillis(200)))
                .isInstanceOfSatisfying(AwaitTimeoutException.class, e -> {
                    assertThat(e.notEnded()).extracting(Job::id).containsExactly(slow.id());
                    assertThat(e.last().id()).isEqualTo(slow.id());
                    assertThat(e.getMessage()).contains(slow.id().toString());
                });
    }

    @Test
    void awaitAllChecksEveryIdBeforeWaiting() {
        Job slow = submit("#!/bin/sh\nexec sleep 600\n");
        blockers.add(slow.id());
        JobId unknown = new JobId(UUID.randomUUID());
        assertThatThrownBy(() -> sky.jobs().awaitAll(List.of(slow.id(), unknown), WAIT))
                .isInstanceOfSatisfying(NoSuchJobException.class, e -> assertThat(e.id()).isEqualTo(unknown));
    }

    @Test
    void futuresComposeInAStreamWithoutCheckedExceptions() {
        List<Job> jobs = java.util.stream.IntStream.range(0, 3)
                .mapToObj(i -> submit("#!/bin/sh\necho " + i + "\n")).toList();
        List<String> outputs = jobs.stream().map(j -> sky.jobs().onTerminal(j.id()))
                .map(f -> f.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join())
                .map(j -> sky.jobs().stdout(j.id()).trim()).toList();
        assertThat(outputs).containsExactly("0", "1", "2");
    }

    @Test
    void followStdoutStreamsTheOutputUntilTheJobEnds() throws Exception {
        Job job = submit("#!/bin/sh\nfor i in 1 2 3 4 5; do echo line $i; sleep 0.1; done\n");
        ByteArrayOutputStream collected = new ByteArrayOutputStream();
        try (InputStream in = sky.jobs().followStdout(job.id())) {
            in.transferTo(collected);
        }
        assertThat(sky.jobs().get(job.id()).state().isTerminal()).as("the stream ends with the job").isTrue();
        assertThat(collected.toString(StandardCharsets.UTF_8))
                .isEqualTo("line 1\nline 2\nline 3\nline 4\nline 5\n");
    }

    // ------------------------------------------------------------------ time limit and retries

    @Test
    void aJobPastItsTimeLimitIsKilled() throws Exception {
        Job job = sky.jobs().submit(JobSpec.builder().timeLimit(Duration.ofMillis(500))
                .script("#!/bin/sh\nexec sleep 600\n").build());
        Job done = await(job.id());
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.endReason()).hasValue(EndReason.TIME_LIMIT);
        assertThat(done.attempts()).hasSize(1);
    }

    @Test
    void anInfrastructureFailureIsRetriedWithANewAttempt() throws Exception {
        // The first attempt kills its whole process group, wrapper included: no exit code is left, as when a node dies.
        Job job = sky.jobs().submit(JobSpec.builder()
                .retryPolicy(RetryPolicy.defaults().withBackoff(Duration.ofMillis(20), Duration.ofMillis(50)))
                .script("#!/bin/sh\nif [ \"$SKYPORT_ATTEMPT\" = 1 ]; then kill -9 0; fi\necho recovered\n").build());
        Job done = await(job.id());
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.attempts()).hasSize(2);
        assertThat(done.attempts().get(0).endReason()).hasValue(EndReason.NODE_LOST);
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("recovered\n");
    }

    @Test
    void userFailuresAreRetriedOnlyWhenThePolicySaysSo() throws Exception {
        Job job = sky.jobs().submit(JobSpec.builder()
                .retryPolicy(RetryPolicy.defaults().withMaxAttempts(2).withRetryUserFailures(true)
                        .withBackoff(Duration.ofMillis(20), Duration.ofMillis(50)))
                .script("#!/bin/sh\nexit 4\n").build());
        Job done = await(job.id());
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.endReason()).hasValue(EndReason.NON_ZERO_EXIT);
        assertThat(done.attempts()).hasSize(2);
    }

    // ------------------------------------------------------------------ listing

    @Test
    void listPagesThroughEveryJobOnceInSubmissionOrder() throws Exception {
        List<JobSpec> specs = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            specs.add(JobSpec.builder().name("page-" + i).script("#!/bin/sh\ntrue\n").build());
        }
        List<JobId> ids = sky.jobs().submitAll(specs).stream().map(Job::id).toList();
        List<JobId> listed = new ArrayList<>();
        JobQuery query = JobQuery.all().withLimit(10);
        int pages = 0;
        while (true) {
            Page<Job> page = sky.jobs().list(query);
            assertThat(page.items().size()).isLessThanOrEqualTo(10);
            page.items().forEach(j -> listed.add(j.id()));
            pages++;
            if (page.nextPageToken().isEmpty()) {
                break;
            }
            query = query.after(page);
        }
        assertThat(pages).isGreaterThanOrEqualTo(3);
        assertThat(listed).doesNotHaveDuplicates();
        List<JobId> mine = listed.stream().filter(ids::contains).toList();
        assertThat(mine).isEqualTo(ids);
    }

    @Test
    void listFiltersByState() throws Exception {
        Job failed = await(submit("#!/bin/sh\nexit 1\n").id());
        Job succeeded = await(submit("#!/bin/sh\nexit 0\n").id());
        Set<JobId> failedIds = sky.jobs().list(JobQuery.inStates(JobState.FAILED)).items().stream()
                .map(Job::id).collect(Collectors.toSet());
        assertThat(failedIds).contains(failed.id()).doesNotContain(succeeded.id());
        assertThat(sky.jobs().list(JobQuery.inStates(JobState.FAILED)).items())
                .allSatisfy(j -> assertThat(j.state()).isEqualTo(JobState.FAILED));
    }

    // ------------------------------------------------------------------ idempotent submission

    /** The {@code #SWM} script as {@link JobSpec#script} reads it, with an idempotency key. */
    private static JobSpec keyed(String key, String script) {
        return JobSpec.parseScript(script).idempotencyKey(key).build();
    }

    @Test
    void aRetryWithTheSameKeyReturnsTheFirstJobAsItIsNowAndStoresNothing() throws Exception {
        String key = "retry-" + UUID.randomUUID();
        Job first = sky.jobs().submit(keyed(key, "#!/bin/sh\n#SWM name keyed\necho once\n"));
        assertThat(first.spec().idempotencyKey()).contains(key);
        Job done = await(first.id());
        List<JobId> before = allJobIds();
        List<JobTransitioned> history = sky.events().history(first.id());

        Job again = sky.jobs().submit(keyed(key, "#!/bin/sh\n#SWM name keyed\necho once\n"));
        // A daemon fills the submission address from the client's, which a retry may change.
        Job fromElsewhere = sky.jobs().submit(JobSpec.parseScript("#!/bin/sh\n#SWM name keyed\necho once\n")
                .idempotencyKey(key).submissionAddress("192.0.2.99").build());

        assertThat(again.id()).isEqualTo(first.id());
        assertThat(again.state()).as("the job as it is now, not as it was submitted").isEqualTo(done.state())
                .isEqualTo(JobState.SUCCEEDED);
        assertThat(fromElsewhere.id()).isEqualTo(first.id());
        assertThat(allJobIds()).isEqualTo(before);
        assertThat(sky.events().history(first.id())).isEqualTo(history);
        assertThat(sky.jobs().stdout(first.id())).isEqualTo("once\n");
    }

    @Test
    void aKeyUsedForAnotherSpecIsRefusedNamingTheJobItNames() throws Exception {
        String key = "retry-" + UUID.randomUUID();
        Job first = sky.jobs().submit(keyed(key, "#!/bin/sh\ntrue\n"));
        List<JobId> before = allJobIds();

        for (JobSpec other : List.of(keyed(key, "#!/bin/sh\nfalse\n"),
                JobSpec.parseScript("#!/bin/sh\ntrue\n").idempotencyKey(key).tag("changed", "yes").build())) {
            assertThatThrownBy(() -> sky.jobs().submit(other))
                    .isInstanceOfSatisfying(IdempotencyKeyReusedException.class, e -> {
                        assertThat(e.existing()).isEqualTo(first.id());
                        assertThat(e.field()).isEqualTo("idempotencyKey");
                    });
        }
        assertThatThrownBy(() -> sky.jobs().submitAll(List.of(JobSpec.script("#!/bin/sh\ntrue\n"),
                keyed(key, "#!/bin/sh\nexit 7\n"))))
                .isInstanceOfSatisfying(IdempotencyKeyReusedException.class,
                        e -> assertThat(e.existing()).isEqualTo(first.id()));
        assertThat(allJobIds()).isEqualTo(before);
    }

    @Test
    void idempotencyKeysArePerOwner() throws Exception {
        String key = "shared-" + UUID.randomUUID();
        SkyPort alice = sky.asUser("alice");
        SkyPort bob = sky.asUser("bob");
        Job hers = alice.jobs().submit(keyed(key, "#!/bin/sh\necho alice\n"));
        Job his = bob.jobs().submit(keyed(key, "#!/bin/sh\necho bob\n"));

        assertThat(his.id()).isNotEqualTo(hers.id());
        assertThat(his.owner()).isEqualTo("bob");
        assertThat(alice.jobs().submit(keyed(key, "#!/bin/sh\necho alice\n")).id()).isEqualTo(hers.id());
        assertThat(bob.jobs().submit(keyed(key, "#!/bin/sh\necho bob\n")).id()).isEqualTo(his.id());
        assertThatThrownBy(() -> bob.jobs().submit(keyed(key, "#!/bin/sh\necho alice\n")))
                .isInstanceOfSatisfying(IdempotencyKeyReusedException.class,
                        e -> assertThat(e.existing()).isEqualTo(his.id()));
        assertThat(listAll(bob)).extracting(Job::id).containsExactly(his.id());
    }

    @Test
    void submitAllReturnsKnownKeysJobsInPlaceAndStoresTheRestTogether() throws Exception {
        String run = UUID.randomUUID().toString();
        Job known = sky.jobs().submit(keyed(run + "-a", "#!/bin/sh\necho a\n"));
        List<JobSpec> batch = List.of(keyed(run + "-a", "#!/bin/sh\necho a\n"), keyed(run + "-b", "#!/bin/sh\necho b\n"),
                JobSpec.script("#!/bin/sh\necho unkeyed\n"), keyed(run + "-c", "#!/bin/sh\necho c\n"));

        List<Job> first = sky.jobs().submitAll(batch);
        List<Job> retried = sky.jobs().submitAll(batch);

        assertThat(first).hasSize(4);
        assertThat(first.get(0).id()).isEqualTo(known.id());
        assertThat(first.subList(1, 4)).extracting(Job::id).doesNotContain(known.id()).doesNotHaveDuplicates();
        assertThat(first.get(1).spec().idempotencyKey()).contains(run + "-b");
        assertThat(retried.get(0).id()).isEqualTo(known.id());
        assertThat(retried.get(1).id()).isEqualTo(first.get(1).id());
        assertThat(retried.get(2).id()).as("a spec without a key is a new job each time").isNotEqualTo(first.get(2).id());
        assertThat(retried.get(3).id()).isEqualTo(first.get(3).id());
        assertThat(sky.jobs().await(first.get(3).id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(sky.jobs().stdout(first.get(3).id())).isEqualTo("c\n");

        List<JobId> before = allJobIds();
        assertThatThrownBy(() -> sky.jobs().submitAll(List.of(keyed(run + "-d", "#!/bin/sh\ntrue\n"),
                keyed(run + "-d", "#!/bin/sh\ntrue\n"))))
                .isInstanceOfSatisfying(InvalidJobSpecException.class,
                        e -> assertThat(e.field()).isEqualTo("idempotencyKey"));
        assertThat(allJobIds()).isEqualTo(before);
    }

    @Test
    void submitAllNamesTheIndexOfTheSpecItRefuses() throws Exception {
        String run = UUID.randomUUID().toString();
        JobSpec fine = JobSpec.script("#!/bin/sh\ntrue\n");
        JobSpec unknownFlavor = JobSpec.builder().script("#!/bin/sh\ntrue\n").flavor("no-such-flavor-" + run).build();
        List<JobId> before = allJobIds();

        assertThatThrownBy(() -> sky.jobs().submitAll(List.of(fine, unknownFlavor)))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                    assertThat(e.field()).isEqualTo("flavor");
                    assertThat(e.batchIndex()).hasValue(1);
                });
        assertThatThrownBy(() -> sky.jobs().submitAll(List.of(keyed(run, "#!/bin/sh\ntrue\n"), fine,
                keyed(run, "#!/bin/sh\ntrue\n"))))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                    assertThat(e.field()).isEqualTo("idempotencyKey");
                    assertThat(e.batchIndex()).hasValue(2);
                });
        assertThatThrownBy(() -> sky.jobs().submit(unknownFlavor))
                .isInstanceOfSatisfying(InvalidJobSpecException.class,
                        e -> assertThat(e.batchIndex()).as("a single submit is no batch").isEmpty());
        assertThat(allJobIds()).isEqualTo(before);
    }

    // ------------------------------------------------------------------ listing by name and tags

    @Test
    void listFiltersByNamePrefixAndByEveryTag() throws Exception {
        String run = "r" + UUID.randomUUID().toString().substring(0, 8);
        Job a1 = sky.jobs().submit(JobSpec.builder().name(run + "-sweep_1").tag("run", run).tag("kind", "sweep")
                .script("#!/bin/sh\ntrue\n").build());
        Job a2 = sky.jobs().submit(JobSpec.builder().name(run + "-sweep_2").tag("run", run).tag("kind", "other")
                .script("#!/bin/sh\ntrue\n").build());
        Job b = sky.jobs().submit(JobSpec.builder().name(run + "-sweepX").tag("run", run).tag("kind", "sweep")
                .script("#!/bin/sh\ntrue\n").build());
        Job upper = sky.jobs().submit(JobSpec.builder().name(run.toUpperCase() + "-sweep_3").tag("run", run)
                .script("#!/bin/sh\ntrue\n").build());

        assertThat(listAll(sky, JobQuery.all().withNamePrefix(run + "-sweep_"))).extracting(Job::id)
                .containsExactly(a1.id(), a2.id());
        assertThat(listAll(sky, JobQuery.all().withNamePrefix(run))).extracting(Job::id)
                .containsExactly(a1.id(), a2.id(), b.id());
        assertThat(listAll(sky, JobQuery.all().withNamePrefix(run + "-sweep_1"))).extracting(Job::id)
                .containsExactly(a1.id());
        assertThat(listAll(sky, JobQuery.all().withTag("run", run))).extracting(Job::id)
                .containsExactly(a1.id(), a2.id(), b.id(), upper.id());
        assertThat(listAll(sky, JobQuery.all().withTag("run", run).withTag("kind", "sweep"))).extracting(Job::id)
                .containsExactly(a1.id(), b.id());
        assertThat(listAll(sky, JobQuery.all().withTag("run", run).withTag("kind", "Sweep"))).isEmpty();
        assertThat(listAll(sky, JobQuery.all().withNamePrefix(run).withTag("kind", "sweep").withLimit(1)))
                .extracting(Job::id).containsExactly(a1.id(), b.id());
        assertThat(listAll(sky.asUser("someone-else"), JobQuery.all().withTag("run", run))).isEmpty();
    }

    // ------------------------------------------------------------------ ordered, resumable events

    /** Collects what a listener is given, and waits for it. */
    protected static final class Collected implements java.util.function.Consumer<SkyPortEvent> {
        private final List<SkyPortEvent> events = new CopyOnWriteArrayList<>();

        @Override
        public void accept(SkyPortEvent event) {
            events.add(event);
        }

        public List<SkyPortEvent> events() {
            return List.copyOf(events);
        }

        public List<JobTransitioned> of(JobId id) {
            return events.stream().filter(e -> e instanceof JobTransitioned t && t.jobId().equals(id))
                    .map(e -> (JobTransitioned) e).toList();
        }

        /** Waits until {@code condition} holds of what was collected. */
        public void await(Predicate<List<SkyPortEvent>> condition, String what) throws InterruptedException {
            Instant deadline = Instant.now().plus(WAIT);
            while (!condition.test(events())) {
                if (Instant.now().isAfter(deadline)) {
                    throw new AssertionError("no " + what + " within " + WAIT + "; received " + events());
                }
                TimeUnit.MILLISECONDS.sleep(10);
            }
        }

        public void awaitEnd(JobId id) throws InterruptedException {
            await(all -> all.stream().anyMatch(e -> e instanceof JobTransitioned t && t.jobId().equals(id)
                    && t.to().isTerminal()), "terminal event of " + id);
        }
    }

    @Test
    void subscribeAfterReplaysWhatWasStoredThenDeliversNewEventsInSequenceOrder() throws Exception {
        long start = sky.events().lastSequence();
        assertThat(start).isNotNegative();
        Job earlier = await(submit("#!/bin/sh\ntrue\n").id());
        List<JobTransitioned> earlierHistory = sky.events().history(earlier.id());
        assertThat(sky.events().lastSequence()).as("every recorded event is covered")
                .isGreaterThanOrEqualTo(earlierHistory.get(earlierHistory.size() - 1).sequence());

        Collected collected = new Collected();
        try (Subscription ignored = sky.events().subscribeAfter(start, collected)) {
            collected.awaitEnd(earlier.id());
            Job later = submit("#!/bin/sh\ntrue\n");
            collected.awaitEnd(later.id());
            assertThat(collected.of(earlier.id())).as("replayed").isEqualTo(earlierHistory);
            assertThat(collected.of(later.id())).isEqualTo(sky.events().history(later.id()));
            assertThat(collected.events()).extracting(SkyPortEvent::sequence).isSorted().doesNotHaveDuplicates()
                    .allMatch(seq -> seq > start);
        }
    }

    @Test
    void subscribeAfterAGivenSequenceGetsExactlyTheEventsAfterIt() throws Exception {
        Job job = await(submit("#!/bin/sh\ntrue\n").id());
        List<JobTransitioned> history = sky.events().history(job.id());
        long cut = history.get(0).sequence(); // resume after the QUEUED event, as a client that handled only it
        Collected collected = new Collected();
        try (Subscription ignored = sky.events().subscribeAfter(cut, collected)) {
            collected.awaitEnd(job.id());
            assertThat(collected.of(job.id())).isEqualTo(history.subList(1, history.size()));
            assertThat(collected.events()).allMatch(e -> e.sequence() > cut);
        }
    }

    @Test
    void subscribeAfterRefusesAResumePointThatIsNegativeOrInTheFuture() {
        Collected collected = new Collected();
        long last = sky.events().lastSequence();
        for (long bad : List.of(-1L, last + 1_000_000L, Long.MAX_VALUE)) {
            assertThatThrownBy(() -> sky.events().subscribeAfter(bad, collected).close()).as("after %d", bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> sky.asUser("alice").events().subscribeAfter(-5, collected))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(collected.events()).isEmpty();
    }

    @Test
    void aViewsOrderedSubscriptionGetsOnlyItsUsersJobEvents() throws Exception {
        SkyPort alice = sky.asUser("alice");
        SkyPort bob = sky.asUser("bob");
        long start = bob.events().lastSequence();
        Job hers = alice.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
        alice.jobs().await(hers.id(), WAIT);
        Job his = bob.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
        bob.jobs().await(his.id(), WAIT);
        Collected seenByBob = new Collected();
        Collected seenByAll = new Collected();
        try (Subscription b = bob.events().subscribeAfter(start, seenByBob);
             Subscription all = sky.events().subscribeAfter(start, seenByAll)) {
            seenByBob.awaitEnd(his.id());
            seenByAll.awaitEnd(his.id());
            assertThat(seenByBob.events()).filteredOn(e -> e instanceof JobTransitioned)
                    .allMatch(e -> ((JobTransitioned) e).jobId().equals(his.id()));
            assertThat(seenByBob.of(his.id())).isEqualTo(bob.events().history(his.id()));
            assertThat(seenByAll.of(hers.id())).isEqualTo(sky.events().history(hers.id()));
        }
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void badInputIsRefusedWithTheFieldAndStoresNothing() throws Exception {
        await(submit("#!/bin/sh\ntrue\n").id());
        List<Job> before = allJobs();
        int largest = sky.nodes().stream().mapToInt(Node::cpus).max().orElseThrow();
        Map<String, Runnable> cases = new java.util.LinkedHashMap<>();
        cases.put("cpus", () -> sky.jobs().submit(JobSpec.builder().cpus(largest + 1).script("true").build()));
        cases.put("flavor", () -> sky.jobs().submit(JobSpec.builder().flavor("no-such-flavor-" + UUID.randomUUID())
                .script("true").build()));
        cases.put("gpus", () -> sky.jobs().submit(JobSpec.script("#!/bin/sh\n#SWM gpus lots\ntrue\n")));
        cases.put("script", () -> sky.jobs().submit(JobSpec.script("  \n")));
        cases.put("nodes", () -> sky.jobs().submit(JobSpec.builder().nodes(1_000_000).script("true").build()));
        cases.put("env", () -> sky.jobs().submit(JobSpec.builder().env("X", "a\0b").script("true").build()));
        cases.put("time", () -> sky.jobs().submit(JobSpec.script("#!/bin/sh\n#SWM time 99999999-0\ntrue\n")));
        for (Map.Entry<String, Runnable> c : cases.entrySet()) {
            assertThatThrownBy(c.getValue()::run).as(c.getKey())
                    .isInstanceOfSatisfying(InvalidJobSpecException.class,
                            e -> assertThat(e.field()).isEqualTo(c.getKey()));
        }
        assertThatThrownBy(() -> sky.jobs().submitAll(List.of(JobSpec.script("true"),
                JobSpec.builder().cpus(largest + 1).script("true").build())))
                .isInstanceOf(InvalidJobSpecException.class);
        assertThat(allJobs()).isEqualTo(before);
    }

    @Test
    void aMalformedDirectiveNamesItsLine() {
        assertThatThrownBy(() -> submit("#!/bin/sh\n#SWM name ok\n#SWM ports 80/tcp\ntrue\n"))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                    assertThat(e.line()).hasValue(3);
                    assertThat(e.field()).isEqualTo("ports");
                });
    }

    @Test
    void unknownIdsAreReportedAsSuch() {
        JobId unknown = new JobId(UUID.randomUUID());
        List<Runnable> calls = List.of(() -> sky.jobs().get(unknown), () -> sky.jobs().cancel(unknown),
                () -> sky.jobs().requeue(unknown), () -> sky.jobs().stdout(unknown), () -> sky.jobs().stderr(unknown),
                () -> sky.jobs().openStdout(unknown), () -> sky.jobs().openStderr(unknown),
                () -> sky.jobs().onTerminal(unknown), () -> sky.events().history(unknown),
                () -> sky.asUser("someone").events().history(unknown));
        for (Runnable call : calls) {
            assertThatThrownBy(call::run).isInstanceOfSatisfying(NoSuchJobException.class,
                    e -> assertThat(e.id()).isEqualTo(unknown));
        }
    }

    @Test
    void aJobPrintsShortWithoutItsScriptCommandArgumentsOrEnvironmentValues() {
        Job scripted = sky.jobs().submit(JobSpec.parseScript("#!/bin/sh\n#SWM name printed\necho hunter2-in-script\n")
                .env("API_TOKEN", "hunter2-in-env").build());
        Job commanded = sky.jobs().submit(JobSpec.command("echo", "--password", "hunter2-in-args"));
        for (Job job : List.of(scripted, commanded, sky.jobs().get(scripted.id()))) {
            String text = job.toString();
            assertThat(text).doesNotContain("hunter2").contains(job.id().toString()).contains(job.state().name())
                    .hasSizeLessThan(400);
        }
        assertThat(scripted.toString()).contains("printed").contains("API_TOKEN");
        assertThat(commanded.toString()).contains("echo +2 args");
    }

    @Test
    void unknownDirectivesReachTheJobAsWarnings() {
        Job job = submit("#!/bin/sh\n#SWM frobnicate yes\ntrue\n");
        assertThat(job.warnings()).anyMatch(w -> w.contains("frobnicate"));
        assertThat(sky.jobs().get(job.id()).warnings()).isEqualTo(job.warnings());
    }

    // ------------------------------------------------------------------ user views

    @Test
    void eachViewOwnsWhatItSubmits() throws Exception {
        SkyPort alice = sky.asUser("alice");
        SkyPort bob = sky.asUser("bob");
        Job one = alice.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
        List<Job> two = bob.jobs().submitAll(List.of(JobSpec.script("#!/bin/sh\ntrue\n"),
                JobSpec.script("#!/bin/sh\ntrue\n")));
        assertThat(one.owner()).isEqualTo("alice");
        assertThat(two).extracting(Job::owner).containsExactly("bob", "bob");
        assertThat(alice.jobs().await(one.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(bob.jobs().await(two.get(1).id(), WAIT).owner()).isEqualTo("bob");
        assertThat(sky.jobs().get(one.id()).owner()).as("the manager sees every job").isEqualTo("alice");
        assertThat(alice.asUser("alice").jobs().get(one.id()).owner()).isEqualTo("alice");
        assertThat(bob.nodes()).isEqualTo(sky.nodes());
    }

    @Test
    void anotherUsersJobIsRefusedExactlyLikeAnUnknownIdAndStaysUnchanged() throws Exception {
        SkyPort alice = sky.asUser("alice");
        SkyPort bob = sky.asUser("bob");
        Job running = alice.jobs().submit(JobSpec.script("#!/bin/sh\necho secret\nexec sleep 600\n"));
        blockers.add(running.id());
        awaitJob(running.id(), j -> j.state() == JobState.RUNNING && !sky.jobs().stdout(j.id()).isBlank(),
                "RUNNING with its output written");
        Job before = alice.jobs().get(running.id());
        List<JobTransitioned> historyBefore = alice.events().history(running.id());
        JobId unknown = new JobId(UUID.randomUUID());

        Map<String, java.util.function.Consumer<JobId>> calls = new java.util.LinkedHashMap<>();
        calls.put("get", id -> bob.jobs().get(id));
        calls.put("cancel", id -> bob.jobs().cancel(id));
        calls.put("requeue", id -> bob.jobs().requeue(id));
        calls.put("stdout", id -> bob.jobs().stdout(id));
        calls.put("stderr", id -> bob.jobs().stderr(id));
        calls.put("openStdout", id -> bob.jobs().openStdout(id));
        calls.put("openStderr", id -> bob.jobs().openStderr(id));
        calls.put("followStdout", id -> bob.jobs().followStdout(id));
        calls.put("followStderr", id -> bob.jobs().followStderr(id));
        calls.put("history", id -> bob.events().history(id));
        calls.put("onTerminal", id -> bob.jobs().onTerminal(id));
        calls.put("awaitAll", id -> {
            try {
                bob.jobs().awaitAll(List.of(id), WAIT);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        calls.put("await", id -> {
            try {
                bob.jobs().await(id, WAIT);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        for (Map.Entry<String, java.util.function.Consumer<JobId>> call : calls.entrySet()) {
            String asUnknown = messageOf(() -> call.getValue().accept(unknown), unknown, call.getKey());
            String asForeign = messageOf(() -> call.getValue().accept(running.id()), running.id(), call.getKey());
            assertThat(asForeign.replace(running.id().toString(), unknown.toString())).as(call.getKey())
                    .isEqualTo(asUnknown);
        }

        assertThat(alice.jobs().get(running.id())).isEqualTo(before);
        assertThat(alice.events().history(running.id())).isEqualTo(historyBefore);
        assertThat(alice.jobs().stdout(running.id())).isEqualTo("secret\n");
    }

    /** Runs {@code call}, which must fail with {@link NoSuchJobException} for {@code id}; returns the message. */
    private static String messageOf(Runnable call, JobId id, String what) {
        try {
            call.run();
        } catch (NoSuchJobException e) {
            assertThat(e.id()).as(what).isEqualTo(id);
            return e.getMessage();
        }
        throw new AssertionError(what + " of " + id + " should have failed with NoSuchJobException");
    }

    @Test
    void aViewListsOnlyItsUsersJobsAndTheManagerListsAll() throws Exception {
        SkyPort alice = sky.asUser("alice");
        SkyPort bob = sky.asUser("bob");
        Job hers = alice.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
        Job his = bob.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));

        assertThat(listAll(bob)).extracting(Job::id).contains(his.id()).doesNotContain(hers.id());
        assertThat(listAll(bob)).extracting(Job::owner).containsOnly("bob");
        assertThat(listAll(alice)).extracting(Job::id).contains(hers.id()).doesNotContain(his.id());
        Page<Job> widened = bob.jobs().list(JobQuery.all().withOwner("alice"));
        assertThat(widened.items()).isEmpty();
        assertThat(widened.nextPageToken()).isEmpty();
        assertThat(bob.jobs().list(JobQuery.all().withOwner("bob")).items()).extracting(Job::id).contains(his.id());

        assertThat(allJobs()).extracting(Job::id).contains(hers.id(), his.id());
        assertThat(sky.jobs().list(JobQuery.all().withOwner("alice")).items()).extracting(Job::id)
                .contains(hers.id()).doesNotContain(his.id());
    }

    @Test
    void aViewsSubscriptionGetsOnlyItsUsersEvents() throws Exception {
        SkyPort alice = sky.asUser("alice");
        SkyPort bob = sky.asUser("bob");
        java.util.concurrent.BlockingQueue<SkyPortEvent> seenByBob = new java.util.concurrent.LinkedBlockingQueue<>();
        try (Subscription ignored = bob.events().subscribe(seenByBob::add)) {
            // Alice's events are published first, so a leak would reach bob's listener before his job's last event.
            Job hers = alice.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
            alice.jobs().await(hers.id(), WAIT);
            Job his = bob.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
            List<JobTransitioned> received = new ArrayList<>();
            Instant deadline = Instant.now().plus(WAIT);
            while (received.stream().noneMatch(t -> t.jobId().equals(his.id()) && t.to().isTerminal())) {
                long left = Duration.between(Instant.now(), deadline).toMillis();
                SkyPortEvent next = seenByBob.poll(Math.max(0, left), TimeUnit.MILLISECONDS);
                assertThat(next).as("bob's job's terminal event within %s", WAIT).isNotNull();
                if (next instanceof JobTransitioned t) { // node events are everyone's
                    received.add(t);
                }
            }
            assertThat(received).extracting(JobTransitioned::jobId).containsOnly(his.id());
            assertThat(received).extracting(JobTransitioned::to)
                    .containsExactly(JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED);
            assertThat(sky.events().history(hers.id())).as("the manager sees alice's events").isNotEmpty();
        }
    }

    @Test
    void invalidUserNamesAreRefused() {
        for (String name : List.of("", "   ", "ali\nce", "bob\u0000")) {
            assertThatThrownBy(() -> sky.asUser(name)).as("'%s'", name)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must not");
        }
        assertThatThrownBy(() -> sky.asUser(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> sky.asUser("alice").asUser("")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aViewCannotBecomeAnotherUsersView() {
        SkyPort alice = sky.asUser("alice");
        assertThatThrownBy(() -> alice.asUser("bob")).isInstanceOf(IllegalStateException.class);
        assertThat(alice.asUser("alice").jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n")).owner())
                .isEqualTo("alice");
    }

    @Test
    void closingAViewLeavesTheManagerAndOtherViewsUp() throws Exception {
        SkyPort alice = sky.asUser("alice");
        SkyPort bob = sky.asUser("bob");
        alice.close();
        assertThat(await(submit("#!/bin/sh\ntrue\n").id()).state()).isEqualTo(JobState.SUCCEEDED);
        Job his = bob.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
        assertThat(bob.jobs().await(his.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        Job hers = alice.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
        assertThat(alice.jobs().await(hers.id(), WAIT).owner()).isEqualTo("alice");
    }

    @Test
    void nodesReportCapacity() {
        assertThat(sky.nodes()).isNotEmpty().allSatisfy(n -> {
            assertThat(n.cpus()).isPositive();
            assertThat(n.state()).isEqualTo(NodeState.UP);
        });
    }
}
