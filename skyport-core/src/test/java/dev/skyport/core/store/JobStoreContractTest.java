package dev.skyport.core.store;

import com.fasterxml.uuid.Generators;
import com.fasterxml.uuid.UUIDClock;
import com.fasterxml.uuid.impl.TimeBasedEpochGenerator;
import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NodeState;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.Page;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RetryPolicy;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import static dev.skyport.api.JobState.CANCELED;
import static dev.skyport.api.JobState.CANCELING;
import static dev.skyport.api.JobState.FAILED;
import static dev.skyport.api.JobState.PROVISIONING;
import static dev.skyport.api.JobState.QUEUED;
import static dev.skyport.api.JobState.RUNNING;
import static dev.skyport.api.JobState.STAGING_IN;
import static dev.skyport.api.JobState.STAGING_OUT;
import static dev.skyport.api.JobState.SUCCEEDED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The behaviour every {@link JobStore} must show. A store module extends this class and supplies
 * {@link #openStore(Path)}; each test gets a fresh, empty store in its own {@link #dir}, and {@link #reopen()} stands
 * for an engine restart.
 *
 * <p>Jobs get time-ordered (version 7) ids from {@link #newId()}, as the engine issues them, so a job created later
 * has a larger id and "submission (id) order" is the order the test created them in. The instants a store may keep
 * outside the job's own record (event times, notBefore, the submit time of an active row) are whole milliseconds
 * as the engine stamps them (see {@link #instantsKeepMillisecondPrecision()}).
 *
 * <p>A page may hold fewer items than its limit; a token is present exactly when more items follow.
 */
public abstract class JobStoreContractTest {
    /** Long enough for a slow disk, short enough that a lost wake-up fails the build instead of hanging it. */
    private static final long DEADLINE_SECONDS = 120;

    protected static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");

    private static final TimeBasedEpochGenerator UUIDS =
            Generators.timeBasedEpochGenerator(new Random(), new NeverBackwardsClock());
    private static JobId lastId;

    @TempDir
    protected Path dir;

    protected JobStore store;

    private final AtomicLong sequence = new AtomicLong();

    /** Opens (creating or migrating as needed) the store kept under {@code dir}, as the engine does at start-up. */
    protected abstract JobStore openStore(Path dir);

    @BeforeEach
    void openTheStore() {
        store = openStore(dir);
    }

    @AfterEach
    void closeTheStore() {
        if (store != null) {
            store.close();
        }
    }

    /** Closes the store and opens it again over the same directory. */
    protected void reopen() {
        store.close();
        store = null;
        store = openStore(dir);
    }

    // ------------------------------------------------------------------ fixtures

    /** A new id, larger than every id handed out before in this JVM. */
    protected static synchronized JobId newId() {
        JobId id = new JobId(UUIDS.generate());
        if (lastId != null && id.compareTo(lastId) <= 0) {
            throw new AssertionError("the UUIDv7 generator went backwards: " + id + " after " + lastId);
        }
        lastId = id;
        return id;
    }

    /** Every field set to a value other than its default, text that needs escaping included. */
    protected static JobSpec fullSpec() {
        return JobSpec.builder()
                .name("full \"spec\" ✓")
                .script("#!/bin/bash\n#SWM name full\necho \"héllo\\tworld\" > out.txt\n")
                .containerImage("docker.io/library/ubuntu:24.04")
                .cloudImage("ubuntu-24.04-hpc")
                .nodes(3)
                .cpus(16)
                .memoryBytes(64L << 30)
                .gpus(2)
                .flavor("Standard_NC24ads_A100_v4")
                .remoteSite("azure-westeurope")
                .relocatable(false)
                .port(PortSpec.parse("8888/tcp/in"))
                .port(PortSpec.parse("5000/udp/out"))
                .inputFile("data/input.csv")
                .inputFile("model weights.bin")
                .outputFile("results/")
                .outputFile("log.txt")
                .workdir("/scratch/run-1")
                .env("OMP_NUM_THREADS", "16")
                .env("GREETING", "hello, \"world\"\nsecond line")
                .env("EMPTY", "")
                .account("physics")
                .priority(-5)
                .timeLimit(Duration.ofMinutes(90).plusMillis(250))
                .retryPolicy(RetryPolicy.defaults().withMaxAttempts(5)
                        .withBackoff(Duration.ofMillis(250), Duration.ofMinutes(3))
                        .withDeadline(Duration.ofHours(6))
                        .withRetryUserFailures(true))
                .tag("project", "fusion")
                .tag("cost-center", "42")
                .comment("a job with every field set")
                .submissionAddress("10.0.0.7")
                .storage("container-1")
                .idempotencyKey("submit-7d1e0c55-full")
                .warning("unknown directive '#SWM frobnicate'")
                .warning("a second warning")
                .build();
    }

    /** A command with every optional field absent and every collection empty. */
    protected static JobSpec minimalSpec() {
        return JobSpec.command("true");
    }

    protected static Job queuedJob(JobId id, String owner, JobSpec spec, Instant submitted) {
        return new Job(id, owner, owner, spec, QUEUED, "Submitted", Optional.empty(), submitted, submitted, List.of());
    }

    /** The job as the engine would have it in {@code state}: attempts, end reason and details to match. */
    protected static Job inState(Job job, JobState state, Instant at) {
        Instant started = job.submitTime().plusSeconds(1);
        List<Attempt> attempts = switch (state) {
            case QUEUED -> job.attempts();
            case PROVISIONING, STAGING_IN, RUNNING, STAGING_OUT, CANCELING -> List.of(new Attempt(1,
                    List.of("node-1"), Optional.of("swm-" + job.id().toString().substring(0, 8)), started,
                    Optional.empty(), OptionalInt.empty(), OptionalInt.empty(), Optional.empty()));
            case SUCCEEDED -> List.of(ended(started, at, OptionalInt.of(0), OptionalInt.empty(), EndReason.COMPLETED));
            case FAILED -> List.of(ended(started, at, OptionalInt.of(3), OptionalInt.empty(), EndReason.NON_ZERO_EXIT));
            case CANCELED -> List.of(ended(started, at, OptionalInt.empty(), OptionalInt.of(15), EndReason.CANCELED));
        };
        Optional<EndReason> reason = state.isTerminal() ? attempts.get(0).endReason() : Optional.empty();
        return new Job(job.id(), job.owner(), job.ownerName(), job.spec(), state, "now " + state, reason, job.submitTime(), at,
                attempts);
    }

    private static Attempt ended(Instant start, Instant end, OptionalInt exit, OptionalInt signal, EndReason reason) {
        return new Attempt(1, List.of("node-1"), Optional.of("swm-part"), start, Optional.of(end), exit, signal,
                Optional.of(reason));
    }

    protected JobTransitioned submitted(Job job) {
        return new JobTransitioned(sequence.incrementAndGet(), job.submitTime(), job.id(), Optional.empty(), QUEUED,
                Optional.empty(), "Submitted");
    }

    protected JobTransitioned moved(JobState from, Job to) {
        return new JobTransitioned(sequence.incrementAndGet(), to.updateTime(), to.id(), Optional.of(from), to.state(),
                to.endReason(), to.stateDetails());
    }

    /** A job created now (the next id), submitted at {@code T0 + n seconds}. */
    private Job newQueuedJob(String owner, int n) {
        return queuedJob(newId(), owner, minimalSpec(), T0.plusSeconds(n));
    }

    /** Inserts the job as QUEUED and, unless {@code state} is QUEUED, moves it there with one update. */
    private StoredJob storeIn(JobState state, String owner, int n) {
        Job queued = newQueuedJob(owner, n);
        store.insert(StoredJob.of(queued), submitted(queued));
        if (state == QUEUED) {
            return StoredJob.of(queued);
        }
        StoredJob moved = StoredJob.of(inState(queued, state, queued.submitTime().plusSeconds(30)));
        store.update(moved, moved(QUEUED, moved.job()));
        return moved;
    }

    /** Every page of {@code query}, checking that no page holds more than the limit. */
    protected List<Job> listAll(JobQuery query) {
        List<Job> all = new ArrayList<>();
        Page<Job> page = store.list(query);
        while (true) {
            assertThat(page.items()).as("a page of at most %d", query.limit()).hasSizeLessThanOrEqualTo(query.limit());
            all.addAll(page.items());
            if (page.nextPageToken().isEmpty()) {
                return all;
            }
            query = query.after(page);
            page = store.list(query);
        }
    }

    private static List<JobId> ids(Collection<Job> jobs) {
        return jobs.stream().map(Job::id).toList();
    }

    private static List<JobId> idsOf(Collection<StoredJob> jobs) {
        return jobs.stream().map(s -> s.job().id()).toList();
    }

    /** The compact row the engine expects for {@code stored}; an absent account is the empty string. */
    protected static ActiveJob activeRow(StoredJob stored) {
        Job job = stored.job();
        JobSpec spec = job.spec();
        return new ActiveJob(job.id(), job.owner(), job.state(), job.submitTime(), spec.priority(), spec.nodes(),
                spec.cpus(), spec.memoryBytes(), spec.gpus(), spec.timeLimit(), spec.account().orElse(""),
                stored.notBefore());
    }

    // ------------------------------------------------------------------ insert and find

    @Test
    void anInsertedJobIsFoundEqualInEveryField() {
        JobId id = newId();
        Instant submitted = T0.plusNanos(123_456_789);
        // A job waiting for its retry: one ended attempt (node lost, killed by signal 9), no end reason yet.
        Attempt first = new Attempt(1, List.of("node-1", "node-2", "node-3"), Optional.of("swm-0190abcd"),
                submitted.plusSeconds(2), Optional.of(submitted.plusSeconds(65).plusNanos(1)), OptionalInt.empty(),
                OptionalInt.of(9), Optional.of(EndReason.NODE_LOST));
        Job job = new Job(id, "alice", "alice", fullSpec(), QUEUED, "retrying after node lost", Optional.empty(), submitted,
                submitted.plusSeconds(66), List.of(first));
        StoredJob stored = new StoredJob(job, Optional.empty(), Optional.of(T0.plusSeconds(70)));

        store.insert(stored, submitted(job));

        assertThat(store.find(id)).contains(stored);
        assertThat(store.find(id).orElseThrow().job().spec()).isEqualTo(fullSpec());
    }

    /** A job of container steps with every field of its steps set somewhere, and the logs of an ended attempt. */
    @Test
    void aJobOfContainerStepsIsFoundEqualWithItsStepAndOutputLogsAlsoInListings() {
        dev.skyport.api.ContainerSteps steps = new dev.skyport.api.ContainerSteps(List.of(
                new dev.skyport.api.ContainerStep("docker.io/library/python:3.12", List.of("python3", "-c", "1"),
                        Optional.of("/work"), Optional.of("/in/x"), Optional.of("/out/o"), Optional.of("/out/e"),
                        Map.of("K", "v \"quoted\"\ttab"), true),
                dev.skyport.api.ContainerStep.of("busybox", "true")),
                List.of(dev.skyport.api.StepInput.content("/in/x", "héllo\n"),
                        dev.skyport.api.StepInput.directory("/ref", "/srv/alice/ref")),
                List.of(dev.skyport.api.StepOutput.file("/out/o", "/srv/alice/o"),
                        new dev.skyport.api.StepOutput("/out/*.csv", Optional.of("/out/"), "/srv/alice/csv", false),
                        new dev.skyport.api.StepOutput("/res", Optional.empty(), "/srv/alice/res", true)),
                List.of("/scratch"));
        JobId id = newId();
        Instant submitted = T0.plusNanos(5_000_001);
        Attempt done = new Attempt(1, List.of("node-1"), Optional.empty(), submitted.plusSeconds(1),
                Optional.of(submitted.plusSeconds(9)), OptionalInt.of(0), OptionalInt.empty(),
                Optional.of(EndReason.COMPLETED),
                List.of(new dev.skyport.api.StepLog(submitted.plusSeconds(2), Optional.of(submitted.plusSeconds(3)),
                                OptionalInt.of(7), "out \u00e9\n", "err\n"),
                        new dev.skyport.api.StepLog(submitted.plusSeconds(4), Optional.empty(), OptionalInt.empty(),
                                "", "")),
                List.of(new dev.skyport.api.OutputLog("/out/a.csv", "/srv/alice/csv/a.csv", 12),
                        new dev.skyport.api.OutputLog("/out/o", "/srv/alice/o", 0)));
        JobSpec spec = JobSpec.builder().name("steps").containerSteps(steps).build();
        Job job = new Job(id, "alice", "alice", spec, SUCCEEDED, "Completed", Optional.of(EndReason.COMPLETED),
                submitted, submitted.plusSeconds(9), List.of(done));

        store.insert(StoredJob.of(job), submitted(job));

        assertThat(store.find(id)).contains(StoredJob.of(job));
        assertThat(store.list(JobQuery.all().withoutScripts()).items()).contains(job);
    }

    @Test
    void aJobWithEveryOptionalFieldAbsentIsFoundEqual() {
        Job job = queuedJob(newId(), "bob", minimalSpec(), T0);

        store.insert(StoredJob.of(job), submitted(job));

        assertThat(store.find(job.id())).contains(StoredJob.of(job));
    }

    @Test
    void findOfAnUnknownIdIsEmpty() {
        Job job = newQueuedJob("alice", 0);
        store.insert(StoredJob.of(job), submitted(job));

        assertThat(store.find(newId())).isEmpty();
    }

    @Test
    void insertingAnExistingIdThrowsAndChangesNothing() {
        Job original = newQueuedJob("alice", 0);
        JobTransitioned event = submitted(original);
        store.insert(StoredJob.of(original), event);
        Job impostor = queuedJob(original.id(), "mallory", fullSpec(), T0.plusSeconds(99));

        assertThatThrownBy(() -> store.insert(StoredJob.of(impostor), submitted(impostor)))
                .isInstanceOf(IllegalArgumentException.class);

        assertThat(store.find(original.id())).contains(StoredJob.of(original));
        assertThat(store.history(original.id())).containsExactly(event);
        assertThat(store.lastSequence()).isEqualTo(event.sequence());
        assertThat(listAll(JobQuery.all())).containsExactly(original);
    }

    @Test
    void asyncInsertsCompleteOnceStoredInTheirOrderAndRefuseAnExistingId() throws Exception {
        List<Job> jobs = IntStream.range(0, 200).mapToObj(i -> newQueuedJob("alice", i)).toList();
        List<java.util.concurrent.CompletableFuture<Void>> done = jobs.stream()
                .map(j -> store.insertAsync(StoredJob.of(j), submitted(j))).toList();
        for (int i = 0; i < jobs.size(); i++) {
            done.get(i).get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(store.find(jobs.get(i).id())).contains(StoredJob.of(jobs.get(i)));
        }
        assertThat(ids(listAll(JobQuery.all()))).containsExactlyElementsOf(jobs.stream().map(Job::id).toList());
        Job impostor = queuedJob(jobs.get(0).id(), "mallory", fullSpec(), T0.plusSeconds(99));
        assertThatThrownBy(() -> store.insertAsync(StoredJob.of(impostor), submitted(impostor)).join())
                .cause().isInstanceOf(IllegalArgumentException.class);
        assertThat(store.find(jobs.get(0).id())).contains(StoredJob.of(jobs.get(0)));
    }

    @Test
    void insertAllStoresEveryJobAndItsEvent() {
        List<StoredJob> jobs = IntStream.range(0, 5).mapToObj(i -> StoredJob.of(newQueuedJob("alice", i))).toList();
        List<JobTransitioned> events = jobs.stream().map(s -> submitted(s.job())).toList();

        store.insertAll(jobs, events);

        for (int i = 0; i < jobs.size(); i++) {
            assertThat(store.find(jobs.get(i).job().id())).contains(jobs.get(i));
            assertThat(store.history(jobs.get(i).job().id())).containsExactly(events.get(i));
        }
        assertThat(ids(listAll(JobQuery.all()))).containsExactlyElementsOf(idsOf(jobs));
        assertThat(store.lastSequence()).isEqualTo(events.get(events.size() - 1).sequence());
    }

    @Test
    void insertAllWithOneExistingIdStoresNoneOfTheBatch() {
        Job existing = newQueuedJob("alice", 0);
        JobTransitioned existingEvent = submitted(existing);
        store.insert(StoredJob.of(existing), existingEvent);
        Job before = newQueuedJob("bob", 1);
        Job duplicate = queuedJob(existing.id(), "bob", minimalSpec(), T0.plusSeconds(2));
        Job after = newQueuedJob("bob", 3);
        List<StoredJob> batch = List.of(StoredJob.of(before), StoredJob.of(duplicate), StoredJob.of(after));

        assertThatThrownBy(() -> store.insertAll(batch, batch.stream().map(s -> submitted(s.job())).toList()))
                .isInstanceOf(IllegalArgumentException.class);

        assertThat(store.find(before.id())).isEmpty();
        assertThat(store.find(after.id())).isEmpty();
        assertThat(store.find(existing.id())).contains(StoredJob.of(existing));
        assertThat(store.history(before.id())).isEmpty();
        assertThat(store.history(after.id())).isEmpty();
        assertThat(store.history(existing.id())).containsExactly(existingEvent);
        assertThat(listAll(JobQuery.all())).containsExactly(existing);
        assertThat(store.active()).extracting(ActiveJob::id).containsExactly(existing.id());
        assertThat(store.lastSequence()).isEqualTo(existingEvent.sequence());
    }

    @Test
    void insertAllWithTheSameIdTwiceStoresNoneOfTheBatch() {
        Job first = newQueuedJob("alice", 0);
        Job other = newQueuedJob("alice", 1);
        Job again = queuedJob(first.id(), "alice", fullSpec(), T0.plusSeconds(2));
        List<StoredJob> batch = List.of(StoredJob.of(first), StoredJob.of(other), StoredJob.of(again));

        assertThatThrownBy(() -> store.insertAll(batch, batch.stream().map(s -> submitted(s.job())).toList()))
                .isInstanceOf(IllegalArgumentException.class);

        assertThat(store.find(first.id())).isEmpty();
        assertThat(store.find(other.id())).isEmpty();
        assertThat(listAll(JobQuery.all())).isEmpty();
        assertThat(store.active()).isEmpty();
        assertThat(store.lastSequence()).isZero();
    }

    // ------------------------------------------------------------------ update

    @Test
    void updateReplacesTheRowAndAppendsTheEvent() {
        Job queued = newQueuedJob("alice", 0);
        JobTransitioned e1 = submitted(queued);
        store.insert(StoredJob.of(queued), e1);

        Job running = inState(queued, RUNNING, T0.plusSeconds(10));
        JobTransitioned e2 = moved(QUEUED, running);
        store.update(StoredJob.of(running), e2);

        assertThat(store.find(queued.id())).contains(StoredJob.of(running));
        assertThat(store.history(queued.id())).containsExactly(e1, e2);
        assertThat(listAll(JobQuery.all())).containsExactly(running);
        assertThat(store.active()).containsExactly(activeRow(StoredJob.of(running)));

        Job failed = inState(queued, FAILED, T0.plusSeconds(20));
        JobTransitioned e3 = moved(RUNNING, failed);
        store.update(StoredJob.of(failed), e3);

        assertThat(store.find(queued.id())).contains(StoredJob.of(failed));
        assertThat(store.find(queued.id()).orElseThrow().job().exitCode()).hasValue(3);
        assertThat(store.history(queued.id())).containsExactly(e1, e2, e3);
        assertThat(listAll(JobQuery.all())).containsExactly(failed);
        assertThat(store.active()).isEmpty();
        assertThat(store.lastSequence()).isEqualTo(e3.sequence());
    }

    @Test
    void anUpdateWithABatchRowStoresBothAndSurvivesAReopen() {
        Job queued = newQueuedJob("alice", 0);
        store.insert(StoredJob.of(queued), submitted(queued));
        Job provisioning = inState(queued, PROVISIONING, T0.plusSeconds(10));
        JobTransitioned e2 = moved(QUEUED, provisioning);
        StoredBatchJob row = new StoredBatchJob(queued.id(), 1, "hpc", "4711", T0.plusSeconds(10));
        store.update(StoredJob.of(provisioning), e2, row);

        reopen();
        assertThat(store.find(queued.id())).contains(StoredJob.of(provisioning));
        assertThat(store.history(queued.id())).endsWith(e2);
        assertThat(store.batchJobs()).containsExactly(row);

        StoredBatchJob next = new StoredBatchJob(queued.id(), 2, "hpc", "4712", T0.plusSeconds(20));
        Job again = inState(queued, PROVISIONING, T0.plusSeconds(20));
        store.update(StoredJob.of(again), moved(PROVISIONING, again), next);
        assertThat(store.batchJobs()).as("one row per job, the last attempt's").containsExactly(next);

        store.deleteBatchJob(queued.id());
        store.deleteBatchJob(queued.id());
        assertThat(store.batchJobs()).isEmpty();
    }

    @Test
    void anUpdateWithABatchRowOfAnUnknownJobWritesNeither() {
        Job ghost = inState(newQueuedJob("alice", 1), PROVISIONING, T0.plusSeconds(5));
        assertThatThrownBy(() -> store.update(StoredJob.of(ghost), moved(QUEUED, ghost),
                new StoredBatchJob(ghost.id(), 1, "hpc", "1", T0))).isInstanceOf(IllegalArgumentException.class);
        assertThat(store.batchJobs()).isEmpty();
        assertThat(store.history(ghost.id())).isEmpty();
    }

    @Test
    void aPurgeDeletesTheJobsBatchRow() {
        Job queued = newQueuedJob("alice", 0);
        store.insert(StoredJob.of(queued), submitted(queued));
        Job provisioning = inState(queued, PROVISIONING, T0.plusSeconds(10));
        store.update(StoredJob.of(provisioning), moved(QUEUED, provisioning),
                new StoredBatchJob(queued.id(), 1, "hpc", "7", T0.plusSeconds(10)));
        Job failed = inState(queued, FAILED, T0.plusSeconds(20));
        store.update(StoredJob.of(failed), moved(PROVISIONING, failed));
        assertThat(store.purge(queued.id())).isTrue();
        assertThat(store.batchJobs()).isEmpty();
    }

    @Test
    void updatingAnUnknownIdThrowsAndChangesNothing() {
        StoredJob existing = storeIn(RUNNING, "alice", 0);
        long last = store.lastSequence();
        Job ghost = inState(newQueuedJob("alice", 1), RUNNING, T0.plusSeconds(5));

        assertThatThrownBy(() -> store.update(StoredJob.of(ghost), moved(QUEUED, ghost)))
                .isInstanceOf(IllegalArgumentException.class);

        assertThat(store.find(ghost.id())).isEmpty();
        assertThat(store.history(ghost.id())).isEmpty();
        assertThat(store.lastSequence()).isEqualTo(last);
        assertThat(listAll(JobQuery.all())).containsExactly(existing.job());
        assertThat(store.active()).containsExactly(activeRow(existing));
    }

    @Test
    void stopIntentAndNotBeforeRoundTrip() {
        StoredJob toCancel = storeIn(RUNNING, "alice", 0);
        StoredJob toRequeue = storeIn(RUNNING, "alice", 1);

        Job canceling = inState(toCancel.job(), CANCELING, T0.plusSeconds(20));
        StoredJob cancel = new StoredJob(canceling, Optional.of(StopIntent.CANCEL), Optional.empty());
        store.update(cancel, moved(RUNNING, canceling));
        Job stopping = inState(toRequeue.job(), CANCELING, T0.plusSeconds(21));
        StoredJob requeue = new StoredJob(stopping, Optional.of(StopIntent.REQUEUE), Optional.empty());
        store.update(requeue, moved(RUNNING, stopping));

        assertThat(store.find(canceling.id())).contains(cancel);
        assertThat(store.find(stopping.id())).contains(requeue);

        // Requeued with a back-off: QUEUED, no intent any more, not to be placed before T0 + 45 s.
        Job back = new Job(stopping.id(), stopping.owner(), stopping.ownerName(), stopping.spec(), QUEUED, "Requeued", Optional.empty(),
                stopping.submitTime(), T0.plusSeconds(30), stopping.attempts());
        StoredJob backedOff = new StoredJob(back, Optional.empty(), Optional.of(T0.plusSeconds(45)));
        store.update(backedOff, moved(CANCELING, back));

        assertThat(store.find(back.id())).contains(backedOff);
        assertThat(store.active()).containsExactly(activeRow(cancel), activeRow(backedOff));
        assertThat(store.active().get(1).notBefore()).contains(T0.plusSeconds(45));

        // Placed again: both cleared.
        StoredJob cleared = StoredJob.of(inState(back, RUNNING, T0.plusSeconds(50)));
        store.update(cleared, moved(QUEUED, cleared.job()));

        assertThat(store.find(back.id())).contains(cleared);
        assertThat(store.active()).containsExactly(activeRow(cancel), activeRow(cleared));
        assertThat(store.active().get(1).notBefore()).isEmpty();
    }

    // ------------------------------------------------------------------ list

    @Test
    void anEmptyStoreListsOneEmptyPage() {
        Page<Job> page = store.list(JobQuery.all());

        assertThat(page.items()).isEmpty();
        assertThat(page.nextPageToken()).isEmpty();
    }

    @Test
    void listReturnsJobsInIdOrderWhateverTheInsertOrder() {
        List<Job> created = IntStream.range(0, 6).mapToObj(i -> newQueuedJob("alice", i)).toList();
        for (int i : new int[] {3, 0, 5, 1, 4, 2}) {
            store.insert(StoredJob.of(created.get(i)), submitted(created.get(i)));
        }

        assertThat(store.list(JobQuery.all()).items()).containsExactlyElementsOf(created);
    }

    @Test
    void listFiltersByState() {
        List<StoredJob> all = new ArrayList<>();
        int n = 0;
        for (JobState state : JobState.values()) {
            all.add(storeIn(state, "alice", n++));
            all.add(storeIn(state, "bob", n++));
        }

        assertThat(listAll(JobQuery.inStates(QUEUED, RUNNING))).containsExactlyElementsOf(all.stream()
                .map(StoredJob::job).filter(j -> j.state() == QUEUED || j.state() == RUNNING).toList());
        for (JobState state : JobState.values()) {
            assertThat(listAll(JobQuery.inStates(state))).as("state %s", state)
                    .hasSize(2)
                    .allSatisfy(j -> assertThat(j.state()).isEqualTo(state));
        }
        assertThat(listAll(JobQuery.all())).containsExactlyElementsOf(all.stream().map(StoredJob::job).toList());
    }

    @Test
    void listFiltersByOwnerAndByOwnerAndState() {
        StoredJob a1 = storeIn(QUEUED, "alice", 0);
        StoredJob b1 = storeIn(QUEUED, "bob", 1);
        StoredJob a2 = storeIn(RUNNING, "alice", 2);
        StoredJob b2 = storeIn(FAILED, "bob", 3);
        StoredJob a3 = storeIn(SUCCEEDED, "alice", 4);
        storeIn(RUNNING, "alice-2", 5);

        assertThat(listAll(JobQuery.all().withOwner("alice")))
                .containsExactly(a1.job(), a2.job(), a3.job());
        assertThat(listAll(JobQuery.all().withOwner("bob"))).containsExactly(b1.job(), b2.job());
        assertThat(listAll(JobQuery.inStates(QUEUED, RUNNING).withOwner("alice")))
                .containsExactly(a1.job(), a2.job());
        assertThat(listAll(JobQuery.inStates(RUNNING).withOwner("bob"))).isEmpty();
        assertThat(listAll(JobQuery.all().withOwner("carol"))).isEmpty();
    }

    @Test
    void pagesCoverEveryJobExactlyOnceInIdOrder() {
        List<Job> created = IntStream.range(0, 25).mapToObj(i -> newQueuedJob("alice", i)).toList();
        created.forEach(j -> store.insert(StoredJob.of(j), submitted(j)));

        List<Page<Job>> pages = new ArrayList<>();
        JobQuery query = JobQuery.all().withLimit(7);
        Page<Job> page = store.list(query);
        pages.add(page);
        while (page.nextPageToken().isPresent()) {
            query = query.after(page);
            page = store.list(query);
            pages.add(page);
        }

        assertThat(pages).hasSizeGreaterThanOrEqualTo(4)
                .allSatisfy(p -> assertThat(p.items()).hasSizeLessThanOrEqualTo(7));
        assertThat(pages.get(pages.size() - 1).nextPageToken()).isEmpty();
        assertThat(pages.stream().flatMap(p -> p.items().stream()).toList()).containsExactlyElementsOf(created);
    }

    @Test
    void aLastPageFilledExactlyHasNoToken() {
        List<Job> created = IntStream.range(0, 21).mapToObj(i -> newQueuedJob("alice", i)).toList();
        created.forEach(j -> store.insert(StoredJob.of(j), submitted(j)));

        // "More items follow" is false on the page that ends with the last job, however full it is.
        Page<Job> all = store.list(JobQuery.all().withLimit(21));
        assertThat(all.items()).containsExactlyElementsOf(created);
        assertThat(all.nextPageToken()).isEmpty();
        assertThat(store.list(JobQuery.all().withLimit(20)).nextPageToken()).isPresent();

        JobQuery query = JobQuery.all().withLimit(7);
        Page<Job> page = store.list(query);
        List<Job> seen = new ArrayList<>(page.items());
        while (page.nextPageToken().isPresent()) {
            assertThat(seen).as("a token after the last job").doesNotContain(created.get(20));
            query = query.after(page);
            page = store.list(query);
            seen.addAll(page.items());
        }
        assertThat(seen).containsExactlyElementsOf(created);
    }

    @Test
    void pagingKeepsTheFilter() {
        List<Job> alices = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            StoredJob s = storeIn(i % 3 == 0 ? RUNNING : QUEUED, i % 2 == 0 ? "alice" : "bob", i);
            if (s.job().owner().equals("alice") && s.job().state() == QUEUED) {
                alices.add(s.job());
            }
        }

        assertThat(listAll(JobQuery.inStates(QUEUED).withOwner("alice").withLimit(2)))
                .containsExactlyElementsOf(alices);
    }

    @ParameterizedTest
    @ValueSource(strings = {"garbage", "", "not-a-page-token-of-thirty-six-chars", "'; DROP TABLE jobs; --"})
    void aGarbagePageTokenIsRejectedNamingTheField(String token) {
        Job job = newQueuedJob("alice", 0);
        store.insert(StoredJob.of(job), submitted(job));
        JobQuery query = new JobQuery(Set.of(), Optional.empty(), 10, Optional.of(token));

        assertThatThrownBy(() -> store.list(query))
                .isInstanceOfSatisfying(InvalidJobSpecException.class,
                        e -> assertThat(e.field()).isEqualTo("pageToken"));
        assertThat(listAll(JobQuery.all())).containsExactly(job);
    }

    // ------------------------------------------------------------------ active

    @Test
    void activeReturnsExactlyTheUnfinishedJobsInIdOrder() {
        List<StoredJob> all = new ArrayList<>();
        int n = 0;
        for (JobState state : new JobState[] {SUCCEEDED, QUEUED, RUNNING, FAILED, PROVISIONING, STAGING_IN,
                CANCELED, STAGING_OUT, CANCELING}) {
            all.add(storeIn(state, n % 2 == 0 ? "alice" : "bob", n++));
        }
        // Compact fields other than the defaults, and an absent account (the empty string in the row).
        Job big = queuedJob(newId(), "carol", JobSpec.builder().command(List.of("mpirun", "solver")).nodes(4)
                .cpus(32).memoryBytes(128L << 30).gpus(8).priority(9).timeLimit(Duration.ofHours(3).plusMillis(7))
                .build(), T0.plusSeconds(100));
        StoredJob bigStored = new StoredJob(big, Optional.empty(), Optional.of(T0.plusSeconds(160)));
        store.insert(bigStored, submitted(big));
        all.add(bigStored);
        Job accounted = queuedJob(newId(), "dave", fullSpec(), T0.plusSeconds(101));
        store.insert(StoredJob.of(accounted), submitted(accounted));
        all.add(StoredJob.of(accounted));

        List<ActiveJob> expected = all.stream().filter(s -> !s.job().state().isTerminal())
                .map(JobStoreContractTest::activeRow).toList();

        assertThat(store.active()).containsExactlyElementsOf(expected);
        assertThat(store.active()).extracting(ActiveJob::state)
                .containsExactly(QUEUED, RUNNING, PROVISIONING, STAGING_IN, STAGING_OUT, CANCELING, QUEUED, QUEUED);
        assertThat(store.active().get(6).account()).isEmpty();
        assertThat(store.active().get(7).account()).isEqualTo("physics");
    }

    @Test
    void aRequeuedJobIsActiveAgain() {
        StoredJob done = storeIn(SUCCEEDED, "alice", 0);
        assertThat(store.active()).isEmpty();

        Job requeued = new Job(done.job().id(), "alice", "alice", done.job().spec(), QUEUED, "Requeued", Optional.empty(),
                done.job().submitTime(), T0.plusSeconds(300), done.job().attempts());
        store.update(StoredJob.of(requeued), moved(SUCCEEDED, requeued));

        assertThat(store.active()).containsExactly(activeRow(StoredJob.of(requeued)));
    }

    // ------------------------------------------------------------------ history and sequence

    @Test
    void historyHoldsOneJobsEventsInSequenceOrder() {
        Job a = newQueuedJob("alice", 0);
        Job b = newQueuedJob("bob", 1);
        JobTransitioned a1 = submitted(a);
        store.insert(StoredJob.of(a), a1);
        JobTransitioned b1 = submitted(b);
        store.insert(StoredJob.of(b), b1);
        Job aRunning = inState(a, RUNNING, T0.plusSeconds(10));
        JobTransitioned a2 = moved(QUEUED, aRunning);
        store.update(StoredJob.of(aRunning), a2);
        Job bCanceled = inState(b, CANCELED, T0.plusSeconds(11));
        JobTransitioned b2 = moved(QUEUED, bCanceled);
        store.update(StoredJob.of(bCanceled), b2);
        Job aFailed = inState(a, FAILED, T0.plusSeconds(12));
        JobTransitioned a3 = moved(RUNNING, aFailed);
        store.update(StoredJob.of(aFailed), a3);

        assertThat(store.history(a.id())).containsExactly(a1, a2, a3);
        assertThat(store.history(b.id())).containsExactly(b1, b2);
        assertThat(b2.endReason()).contains(EndReason.CANCELED);
        assertThat(a3.endReason()).contains(EndReason.NON_ZERO_EXIT);
    }

    @Test
    void historyOfAnUnknownIdIsEmpty() {
        storeIn(RUNNING, "alice", 0);

        assertThat(store.history(newId())).isEmpty();
    }

    @Test
    void lastSequenceIsZeroForAnEmptyStore() {
        assertThat(store.lastSequence()).isZero();
    }

    @Test
    void lastSequenceIsTheHighestStoredNotTheLatestWritten() {
        Job a = newQueuedJob("alice", 0);
        Job b = newQueuedJob("alice", 1);
        store.insert(StoredJob.of(a), new JobTransitioned(5, a.submitTime(), a.id(), Optional.empty(), QUEUED,
                Optional.empty(), "Submitted"));
        assertThat(store.lastSequence()).isEqualTo(5);
        Job aRunning = inState(a, RUNNING, T0.plusSeconds(5));
        store.update(StoredJob.of(aRunning), new JobTransitioned(12, aRunning.updateTime(), a.id(),
                Optional.of(QUEUED), RUNNING, Optional.empty(), "Running"));
        store.insert(StoredJob.of(b), new JobTransitioned(9, b.submitTime(), b.id(), Optional.empty(), QUEUED,
                Optional.empty(), "Submitted"));

        assertThat(store.lastSequence()).isEqualTo(12);
    }

    // ------------------------------------------------------------------ durability

    @Test
    void everythingIsBackAfterCloseAndReopen() {
        Map<JobId, StoredJob> expected = new LinkedHashMap<>();
        Map<JobId, List<JobTransitioned>> history = new HashMap<>();
        for (JobState state : JobState.values()) {
            Job queued = newQueuedJob(state.ordinal() % 2 == 0 ? "alice" : "bob", state.ordinal());
            JobTransitioned first = submitted(queued);
            store.insert(StoredJob.of(queued), first);
            history.put(queued.id(), new ArrayList<>(List.of(first)));
            expected.put(queued.id(), StoredJob.of(queued));
            if (state != QUEUED) {
                Job moved = inState(queued, state, T0.plusSeconds(60));
                StoredJob stored = new StoredJob(moved,
                        state == CANCELING ? Optional.of(StopIntent.REQUEUE) : Optional.empty(), Optional.empty());
                JobTransitioned event = moved(QUEUED, moved);
                store.update(stored, event);
                history.get(queued.id()).add(event);
                expected.put(queued.id(), stored);
            }
        }
        Job full = queuedJob(newId(), "carol", fullSpec(), T0.plusSeconds(99));
        StoredJob fullStored = new StoredJob(full, Optional.empty(), Optional.of(T0.plusSeconds(120)));
        JobTransitioned fullEvent = submitted(full);
        store.insertAll(List.of(fullStored), List.of(fullEvent));
        expected.put(full.id(), fullStored);
        history.put(full.id(), List.of(fullEvent));
        long last = store.lastSequence();

        reopen();

        expected.forEach((id, stored) -> {
            assertThat(store.find(id)).as("find %s", id).contains(stored);
            assertThat(store.history(id)).as("history %s", id).containsExactlyElementsOf(history.get(id));
        });
        assertThat(listAll(JobQuery.all().withLimit(4)))
                .containsExactlyElementsOf(expected.values().stream().map(StoredJob::job).toList());
        assertThat(store.active()).containsExactlyElementsOf(expected.values().stream()
                .filter(s -> !s.job().state().isTerminal()).map(JobStoreContractTest::activeRow).toList());
        assertThat(store.lastSequence()).isEqualTo(last).isEqualTo(sequence.get());
    }

    @Test
    void theStoreKeepsWorkingAfterAReopen() {
        StoredJob before = storeIn(RUNNING, "alice", 0);
        reopen();

        StoredJob after = storeIn(QUEUED, "alice", 1);
        Job done = inState(before.job(), SUCCEEDED, T0.plusSeconds(90));
        store.update(StoredJob.of(done), moved(RUNNING, done));

        assertThat(listAll(JobQuery.all())).containsExactly(done, after.job());
        assertThat(store.lastSequence()).isEqualTo(sequence.get());
    }

    // ------------------------------------------------------------------ precision

    /**
     * Stores keep instants to the millisecond, and the engine stamps whole milliseconds. Whatever the store is given
     * at that precision comes back unchanged: the snapshot's own instants, notBefore, event times and the compact
     * row.
     */
    @Test
    void instantsKeepMillisecondPrecision() {
        Instant submitted = T0.plusMillis(123);
        Instant notBefore = T0.plusSeconds(5).plusMillis(987);
        Job job = queuedJob(newId(), "alice", minimalSpec(), submitted);
        StoredJob stored = new StoredJob(job, Optional.empty(), Optional.of(notBefore));
        JobTransitioned event = submitted(job);

        store.insert(stored, event);

        SoftAssertions softly = new SoftAssertions();
        softly.assertThat(store.find(job.id())).as("find").contains(stored);
        softly.assertThat(store.history(job.id())).as("history").containsExactly(event);
        softly.assertThat(store.active()).as("active").containsExactly(activeRow(stored));
        softly.assertAll();
    }

    // ------------------------------------------------------------------ concurrency

    @Test
    void concurrentInsertsAllLandAndEachIsVisibleOnceAcknowledged() throws Exception {
        int threads = 8;
        int perThread = 500;
        ExecutorService writers = Executors.newFixedThreadPool(threads);
        ExecutorService readers = Executors.newFixedThreadPool(4);
        try {
            CountDownLatch start = new CountDownLatch(1);
            Queue<Future<Optional<String>>> checks = new ConcurrentLinkedQueue<>();
            List<Future<List<Job>>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String owner = "user-" + t;
                results.add(writers.submit(() -> {
                    start.await();
                    List<Job> mine = new ArrayList<>(perThread);
                    for (int i = 0; i < perThread; i++) {
                        Job job = queuedJob(newId(), owner, minimalSpec(), T0.plusMillis(i));
                        store.insert(StoredJob.of(job), submitted(job));
                        // Acknowledged: from now on any thread must see it.
                        checks.add(readers.submit(() -> store.find(job.id()).equals(Optional.of(StoredJob.of(job)))
                                ? Optional.empty() : Optional.of(job.id() + " not visible after insert returned")));
                        mine.add(job);
                    }
                    return mine;
                }));
            }
            start.countDown();

            List<Job> inserted = new ArrayList<>();
            for (Future<List<Job>> f : results) {
                inserted.addAll(f.get(DEADLINE_SECONDS, TimeUnit.SECONDS));
            }
            List<String> invisible = new ArrayList<>();
            for (Future<Optional<String>> check : checks) {
                check.get(DEADLINE_SECONDS, TimeUnit.SECONDS).ifPresent(invisible::add);
            }

            assertThat(invisible).isEmpty();
            List<Job> listed = listAll(JobQuery.all().withLimit(JobQuery.MAX_LIMIT));
            assertThat(listed).hasSize(threads * perThread);
            assertThat(ids(listed)).doesNotHaveDuplicates()
                    .containsExactlyElementsOf(inserted.stream().map(Job::id).sorted().toList())
                    .isSortedAccordingTo(Comparator.naturalOrder());
            assertThat(store.lastSequence()).isEqualTo(threads * perThread);
            for (int t = 0; t < threads; t++) {
                assertThat(listAll(JobQuery.all().withOwner("user-" + t).withLimit(JobQuery.MAX_LIMIT)))
                        .hasSize(perThread);
            }
            assertThat(store.active()).hasSize(threads * perThread);
            assertThat(store.active()).extracting(ActiveJob::state).containsOnly(QUEUED);
        } finally {
            writers.shutdownNow();
            readers.shutdownNow();
            writers.awaitTermination(DEADLINE_SECONDS, TimeUnit.SECONDS);
            readers.awaitTermination(DEADLINE_SECONDS, TimeUnit.SECONDS);
        }
    }

    // ------------------------------------------------------------------ listing without scripts, sizes, purge

    @Test
    void aListingWithoutScriptsKeepsEverythingButTheScriptAndGetStillHasIt() {
        JobSpec withScript = JobSpec.parseScript("#!/bin/sh\n#SWM name big\n# " + "x".repeat(100_000) + "\ntrue\n")
                .env("K", "v").build();
        Job scripted = queuedJob(newId(), "alice", withScript, T0);
        Job command = queuedJob(newId(), "alice", minimalSpec(), T0);
        store.insert(StoredJob.of(scripted), submitted(scripted));
        store.insert(StoredJob.of(command), submitted(command));

        List<Job> listed = listAll(JobQuery.all().withoutScripts());
        assertThat(listed).hasSize(2);
        Job light = listed.get(0);
        assertThat(light.spec().script()).isEmpty();
        assertThat(light.spec().scriptOmitted()).isTrue();
        assertThat(light.spec()).isEqualTo(withScript.withoutScript());
        assertThat(light.name()).isEqualTo("big");
        assertThat(light.spec().env()).containsEntry("K", "v");
        assertThat(listed.get(1)).isEqualTo(command); // nothing to omit
        assertThat(listAll(JobQuery.all())).containsExactly(scripted, command);
        assertThat(store.find(scripted.id()).orElseThrow().job()).isEqualTo(scripted);
        // An update after the insert keeps the script.
        Job running = inState(scripted, RUNNING, T0.plusSeconds(5));
        store.update(StoredJob.of(running), new JobTransitioned(sequence.incrementAndGet(), T0.plusSeconds(5),
                running.id(), Optional.of(QUEUED), RUNNING, Optional.empty(), "Running"));
        assertThat(store.find(scripted.id()).orElseThrow().job()).isEqualTo(running);
        assertThat(running.spec().script()).isPresent();
    }

    @Test
    void usageByOwnerCountsUnfinishedJobsAndStoredSizes() {
        Job a1 = queuedJob(newId(), "alice", fullSpec(), T0);
        Job a2 = queuedJob(newId(), "alice", JobSpec.script("#!/bin/sh\n# " + "y".repeat(5000) + "\n"), T0);
        Job b1 = queuedJob(newId(), "bob", minimalSpec(), T0);
        for (Job j : List.of(a1, a2, b1)) {
            store.insert(StoredJob.of(j), submitted(j));
        }
        Job a1Done = inState(a1, SUCCEEDED, T0.plusSeconds(9));
        store.update(StoredJob.of(a1Done), new JobTransitioned(sequence.incrementAndGet(), T0.plusSeconds(9),
                a1.id(), Optional.of(QUEUED), SUCCEEDED, Optional.of(EndReason.COMPLETED), "Completed"));

        Map<String, OwnerUsage> usage = store.usageByOwner();
        assertThat(usage).containsOnlyKeys("alice", "bob");
        assertThat(usage.get("alice")).isEqualTo(new OwnerUsage(1,
                StoredJob.of(a1Done).size() + StoredJob.of(a2).size()));
        assertThat(usage.get("bob")).isEqualTo(new OwnerUsage(1, StoredJob.of(b1).size()));
        assertThat(StoredJob.of(a2).size()).isGreaterThan(5000);
    }

    @Test
    void purgeDeletesAnEndedJobWithItsHistoryAndLeavesUnfinishedOnesAlone() {
        Job done = queuedJob(newId(), "alice", JobSpec.script("#!/bin/sh\ntrue\n"), T0);
        Job waiting = queuedJob(newId(), "alice", minimalSpec(), T0.plusSeconds(1));
        Job recent = queuedJob(newId(), "alice", minimalSpec(), T0.plusSeconds(2));
        for (Job j : List.of(done, waiting, recent)) {
            store.insert(StoredJob.of(j), submitted(j));
        }
        Job ended = inState(done, SUCCEEDED, T0.plusSeconds(10));
        store.update(StoredJob.of(ended), new JobTransitioned(sequence.incrementAndGet(), T0.plusSeconds(10),
                done.id(), Optional.of(QUEUED), SUCCEEDED, Optional.of(EndReason.COMPLETED), "Completed"));
        Job endedLater = inState(recent, FAILED, T0.plusSeconds(100));
        store.update(StoredJob.of(endedLater), new JobTransitioned(sequence.incrementAndGet(), T0.plusSeconds(100),
                recent.id(), Optional.of(QUEUED), FAILED, Optional.of(EndReason.NON_ZERO_EXIT), "Failed"));

        assertThat(store.endedBefore(T0.plusSeconds(50), 10)).containsExactly(done.id());
        assertThat(store.endedBefore(T0.plusSeconds(500), 10)).containsExactly(done.id(), recent.id());
        assertThat(store.endedBefore(T0.plusSeconds(500), 1)).containsExactly(done.id());
        assertThat(store.purge(waiting.id())).isFalse();
        assertThat(store.purge(newId())).isFalse();
        assertThat(store.purge(done.id())).isTrue();
        assertThat(store.purge(done.id())).isFalse();

        assertThat(store.find(done.id())).isEmpty();
        assertThat(store.history(done.id())).isEmpty();
        assertThat(store.find(waiting.id())).contains(StoredJob.of(waiting));
        assertThat(store.history(waiting.id())).hasSize(1);
        assertThat(listAll(JobQuery.all())).containsExactly(waiting, endedLater);
        assertThat(store.usageByOwner().get("alice"))
                .isEqualTo(new OwnerUsage(1, StoredJob.of(waiting).size() + StoredJob.of(endedLater).size()));
        reopen();
        assertThat(store.find(done.id())).isEmpty();
        assertThat(store.endedBefore(T0.plusSeconds(500), 10)).containsExactly(recent.id());
    }

    // ------------------------------------------------------------------ idempotency keys

    private Job keyedJob(String owner, String key, int n) {
        return queuedJob(newId(), owner, JobSpec.builder().name("keyed-" + n).command(List.of("true"))
                .idempotencyKey(key).build(), T0.plusSeconds(n));
    }

    /** Ends {@code job} and purges it, as the engine's purger would. */
    private void endAndPurge(Job job) {
        Job done = inState(job, SUCCEEDED, job.submitTime().plusSeconds(5));
        store.update(StoredJob.of(done), moved(QUEUED, done));
        assertThat(store.purge(job.id())).isTrue();
    }

    @Test
    void aJobIsFoundByItsOwnersIdempotencyKeyUntilItIsPurged() {
        Job keyed = keyedJob("alice", "key-1", 0);
        Job plain = newQueuedJob("alice", 1);
        store.insert(StoredJob.of(keyed), submitted(keyed));
        store.insert(StoredJob.of(plain), submitted(plain));

        assertThat(store.findByIdempotencyKey("alice", "key-1")).contains(keyed.id());
        assertThat(store.findByIdempotencyKey("bob", "key-1")).as("keys are per owner").isEmpty();
        assertThat(store.findByIdempotencyKey("alice", "key-2")).isEmpty();
        assertThat(store.findByIdempotencyKey("alice", "KEY-1")).as("keys are compared exactly").isEmpty();
        assertThat(store.find(keyed.id()).orElseThrow().job().spec().idempotencyKey()).contains("key-1");
        reopen();
        assertThat(store.findByIdempotencyKey("alice", "key-1")).contains(keyed.id());

        endAndPurge(keyed);
        assertThat(store.findByIdempotencyKey("alice", "key-1")).as("a purge frees the key").isEmpty();
        Job again = keyedJob("alice", "key-1", 2);
        store.insert(StoredJob.of(again), submitted(again));
        assertThat(store.findByIdempotencyKey("alice", "key-1")).contains(again.id());
    }

    @Test
    void aSecondJobUnderAKeyItsOwnerUsedIsRefusedAndNothingIsWritten() {
        Job first = keyedJob("alice", "key-1", 0);
        JobTransitioned firstEvent = submitted(first);
        store.insert(StoredJob.of(first), firstEvent);
        Job second = keyedJob("alice", "key-1", 1);

        assertThatThrownBy(() -> store.insert(StoredJob.of(second), submitted(second)))
                .isInstanceOf(IllegalArgumentException.class);

        assertThat(store.find(second.id())).isEmpty();
        assertThat(store.history(second.id())).isEmpty();
        assertThat(store.lastSequence()).isEqualTo(firstEvent.sequence());
        assertThat(store.findByIdempotencyKey("alice", "key-1")).contains(first.id());
        Job bobs = keyedJob("bob", "key-1", 2);
        store.insert(StoredJob.of(bobs), submitted(bobs));
        assertThat(store.findByIdempotencyKey("bob", "key-1")).contains(bobs.id());
        // An update rewrites the row and keeps its key.
        Job running = inState(first, RUNNING, T0.plusSeconds(9));
        store.update(StoredJob.of(running), moved(QUEUED, running));
        assertThat(store.findByIdempotencyKey("alice", "key-1")).contains(first.id());
    }

    @Test
    void insertAllWithAKeyTakenOrGivenTwiceStoresNoneOfTheBatch() {
        Job taken = keyedJob("alice", "taken", 0);
        store.insert(StoredJob.of(taken), submitted(taken));
        long last = store.lastSequence();
        List<StoredJob> reusesTaken = List.of(StoredJob.of(keyedJob("alice", "new-1", 1)),
                StoredJob.of(keyedJob("alice", "taken", 2)));
        List<StoredJob> twice = List.of(StoredJob.of(keyedJob("alice", "new-2", 3)),
                StoredJob.of(keyedJob("alice", "new-2", 4)));

        for (List<StoredJob> batch : List.of(reusesTaken, twice)) {
            assertThatThrownBy(() -> store.insertAll(batch, batch.stream().map(j -> submitted(j.job())).toList()))
                    .isInstanceOf(IllegalArgumentException.class);
        }

        assertThat(listAll(JobQuery.all())).containsExactly(taken);
        assertThat(store.findByIdempotencyKey("alice", "new-1")).isEmpty();
        assertThat(store.findByIdempotencyKey("alice", "new-2")).isEmpty();
        assertThat(store.lastSequence()).isEqualTo(last);
        List<StoredJob> fine = List.of(StoredJob.of(keyedJob("alice", "new-1", 5)),
                StoredJob.of(keyedJob("bob", "taken", 6)), StoredJob.of(newQueuedJob("alice", 7)));
        store.insertAll(fine, fine.stream().map(j -> submitted(j.job())).toList());
        assertThat(store.findByIdempotencyKey("alice", "new-1")).contains(fine.get(0).job().id());
        assertThat(store.findByIdempotencyKey("bob", "taken")).contains(fine.get(1).job().id());
    }

    // ------------------------------------------------------------------ name and tag filters

    private Job storeNamed(String owner, String name, Map<String, String> tags, int n) {
        JobSpec.Builder spec = JobSpec.builder().name(name).command(List.of("true"));
        tags.forEach(spec::tag);
        Job job = queuedJob(newId(), owner, spec.build(), T0.plusSeconds(n));
        store.insert(StoredJob.of(job), submitted(job));
        return job;
    }

    @Test
    void aNamePrefixMatchesCaseSensitivelyAndTakesWildcardsAsText() {
        Map<String, Job> byName = new LinkedHashMap<>();
        int n = 0;
        for (String name : List.of("sweep-1", "sweep-2", "Sweep-3", "sweep_%x", "swe", "a%b", "abc", "x*y", "xyz",
                "日本-job", "\uD83D\uDE80-rocket", "sweep")) {
            byName.put(name, storeNamed("alice", name, Map.of(), n++));
        }
        Map<String, List<String>> expected = new LinkedHashMap<>();
        expected.put("sweep-", List.of("sweep-1", "sweep-2"));
        expected.put("Sweep", List.of("Sweep-3"));
        expected.put("sweep_", List.of("sweep_%x")); // LIKE's _ would match "sweep-1"
        expected.put("sweep_%", List.of("sweep_%x"));
        expected.put("a%", List.of("a%b")); // LIKE's % would match "abc"
        expected.put("x*", List.of("x*y")); // GLOB's * would match "xyz"
        expected.put("[s]", List.of());
        expected.put("swe", List.of("sweep-1", "sweep-2", "sweep_%x", "swe", "sweep"));
        expected.put("sweep", List.of("sweep-1", "sweep-2", "sweep_%x", "sweep"));
        expected.put("sweep-1", List.of("sweep-1")); // a whole name matches itself
        expected.put("sweep-10", List.of());
        expected.put("日本", List.of("日本-job"));
        expected.put("\uD83D\uDE80", List.of("\uD83D\uDE80-rocket"));
        expected.put("", List.copyOf(byName.keySet()));
        expected.forEach((prefix, names) -> assertThat(listAll(JobQuery.all().withNamePrefix(prefix)))
                .as("prefix '%s'", prefix)
                .containsExactlyElementsOf(names.stream().map(byName::get).toList()));
    }

    @Test
    void everyTagFilterMustMatchExactly() {
        Job both = storeNamed("alice", "both", Map.of("project", "fusion", "team", "a"), 0);
        Job project = storeNamed("alice", "project", Map.of("project", "fusion"), 1);
        Job capital = storeNamed("alice", "capital", Map.of("project", "Fusion"), 2);
        Job spaced = storeNamed("alice", "spaced", Map.of("project", "fusion ", "we.ird\"key[0]", "v'a\"l"), 3);
        storeNamed("alice", "untagged", Map.of(), 4);

        assertThat(listAll(JobQuery.all().withTag("project", "fusion"))).containsExactly(both, project);
        assertThat(listAll(JobQuery.all().withTag("project", "fusion").withTag("team", "a"))).containsExactly(both);
        assertThat(listAll(JobQuery.all().withTag("team", "a").withTag("project", "Fusion"))).isEmpty();
        assertThat(listAll(JobQuery.all().withTag("project", "Fusion"))).containsExactly(capital);
        assertThat(listAll(JobQuery.all().withTag("we.ird\"key[0]", "v'a\"l"))).containsExactly(spaced);
        assertThat(listAll(JobQuery.all().withTag("project", "fusion%"))).isEmpty();
        assertThat(listAll(JobQuery.all().withTag("nope", ""))).isEmpty();
        assertThat(listAll(JobQuery.all().withTag("project", "fusion").withNamePrefix("proj")))
                .containsExactly(project);
    }

    @Test
    void filteredListingsPageThroughEveryMatchOnceInSubmissionOrder() {
        List<Job> expected = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            boolean keep = i % 3 != 0;
            Job job = storeNamed(i % 4 == 0 ? "bob" : "alice", (keep ? "keep-" : "drop-") + i,
                    keep ? Map.of("sweep", "s1") : Map.of("sweep", "s2"), i);
            if (keep && job.owner().equals("alice")) {
                expected.add(job);
            }
        }
        JobQuery query = JobQuery.all().withOwner("alice").withNamePrefix("keep-").withTag("sweep", "s1")
                .withLimit(4);
        List<Job> listed = listAll(query);
        assertThat(listed).containsExactlyElementsOf(expected);
        assertThat(listAll(query.withLimit(JobQuery.MAX_LIMIT))).containsExactlyElementsOf(expected);
        assertThat(listAll(JobQuery.inStates(QUEUED).withNamePrefix("keep-").withTag("sweep", "s2"))).isEmpty();
    }

    // ------------------------------------------------------------------ events in sequence, node events

    protected NodeTransitioned nodeEvent(String node, Optional<NodeState> from, NodeState to, Instant at) {
        return new NodeTransitioned(sequence.incrementAndGet(), at, node, "part-" + node, from, to,
                "now " + to);
    }

    @Test
    void eventsAfterMergesJobAndNodeEventsInSequenceOrderWithTheirOwners() {
        Job a = newQueuedJob("alice", 0);
        JobTransitioned a1 = submitted(a);
        store.insert(StoredJob.of(a), a1);
        NodeTransitioned n2 = nodeEvent("node-1", Optional.empty(), NodeState.UP, T0.plusSeconds(1));
        store.insertNodeEvent(n2);
        Job b = newQueuedJob("bob", 2);
        JobTransitioned b3 = submitted(b);
        store.insert(StoredJob.of(b), b3);
        Job aRunning = inState(a, RUNNING, T0.plusSeconds(3));
        JobTransitioned a4 = moved(QUEUED, aRunning);
        store.update(StoredJob.of(aRunning), a4);
        NodeTransitioned n5 = nodeEvent("node-1", Optional.of(NodeState.UP), NodeState.DOWN, T0.plusSeconds(4));
        store.insertNodeEvent(n5);
        NodeTransitioned n6 = nodeEvent("node-2", Optional.empty(), NodeState.DRAINING, T0.plusSeconds(5));
        store.insertNodeEvent(n6);

        List<StoredEvent> all = List.of(StoredEvent.of(a1, "alice"), StoredEvent.of(n2), StoredEvent.of(b3, "bob"),
                StoredEvent.of(a4, "alice"), StoredEvent.of(n5), StoredEvent.of(n6));
        assertThat(store.eventsAfter(0, 6, 100)).containsExactlyElementsOf(all);
        assertThat(store.eventsAfter(1, 4, 100)).containsExactlyElementsOf(all.subList(1, 4));
        assertThat(store.eventsAfter(1, 6, 2)).containsExactlyElementsOf(all.subList(1, 3));
        assertThat(store.eventsAfter(3, 6, 2)).containsExactlyElementsOf(all.subList(3, 5));
        assertThat(store.eventsAfter(0, 0, 10)).isEmpty();
        assertThat(store.eventsAfter(6, 6, 10)).isEmpty();
        assertThat(store.lastSequence()).isEqualTo(6);
        reopen();
        assertThat(store.eventsAfter(0, 6, 100)).containsExactlyElementsOf(all);
        assertThat(store.lastSequence()).isEqualTo(6);
    }

    @Test
    void eachNodesLastEventIsKeptAndOlderOnesArePurged() {
        NodeTransitioned up = nodeEvent("node-1", Optional.empty(), NodeState.UP, T0);
        NodeTransitioned down = nodeEvent("node-1", Optional.of(NodeState.UP), NodeState.DOWN, T0.plusSeconds(10));
        NodeTransitioned other = nodeEvent("node-2", Optional.empty(), NodeState.UP, T0.plusSeconds(1));
        NodeTransitioned backUp = nodeEvent("node-1", Optional.of(NodeState.DOWN), NodeState.UP, T0.plusSeconds(20));
        for (NodeTransitioned e : List.of(up, down, other, backUp)) {
            store.insertNodeEvent(e);
        }
        assertThat(store.lastNodeEvents()).isEqualTo(Map.of("node-1", backUp, "node-2", other));

        assertThat(store.purgeNodeEvents(T0.plusSeconds(15))).isEqualTo(2); // up and down; node-2's only one stays
        assertThat(store.eventsAfter(0, 10, 10)).extracting(StoredEvent::event).containsExactly(other, backUp);
        assertThat(store.lastNodeEvents()).isEqualTo(Map.of("node-1", backUp, "node-2", other));
        assertThat(store.purgeNodeEvents(T0.plusSeconds(100))).isZero();
        reopen();
        assertThat(store.lastNodeEvents()).isEqualTo(Map.of("node-1", backUp, "node-2", other));
        assertThat(store.lastSequence()).as("the highest sequence stays").isEqualTo(4);
    }

    @Test
    void aPurgeNeverLowersTheLastSequenceNorLeavesItsEventsToReplay() {
        Job older = newQueuedJob("alice", 0);
        store.insert(StoredJob.of(older), submitted(older));
        Job newest = newQueuedJob("alice", 1);
        store.insert(StoredJob.of(newest), submitted(newest));
        Job done = inState(newest, SUCCEEDED, T0.plusSeconds(5));
        JobTransitioned last = moved(QUEUED, done);
        store.update(StoredJob.of(done), last);

        assertThat(store.purge(newest.id())).isTrue();

        assertThat(store.lastSequence()).isEqualTo(last.sequence());
        assertThat(store.eventsAfter(0, last.sequence(), 10)).extracting(e -> e.event().sequence())
                .containsExactly(1L);
        reopen();
        assertThat(store.lastSequence()).as("a restart continues after the purged events").isEqualTo(last.sequence());
    }

    /** Never goes back in time, so ids from {@link #newId()} always grow even if the wall clock is stepped back. */
    private static final class NeverBackwardsClock extends UUIDClock {
        private final AtomicLong last = new AtomicLong();

        @Override
        public long currentTimeMillis() {
            return last.accumulateAndGet(System.currentTimeMillis(), Math::max);
        }
    }
}
