package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.StorageException;
import dev.skyport.api.Subscription;
import dev.skyport.core.internal.store.SqliteJobStore;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.StoredEvent;
import dev.skyport.core.store.StoredJob;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code subscribeAfter} against the engine and its SQLite store: what a subscriber gets is exactly the store's
 * events after its cursor, in sequence order, however many threads write them, whether it reads them live, from the
 * ring, or from the store after a restart or after falling behind.
 */
class OrderedEventsTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path data;

    private SkyPort start(int cpus) {
        return SkyPort.embedded().dataDir(data).localCpus(cpus).jobIsolation(JobIsolation.NONE).start();
    }

    private static JobStore storeOf(SkyPort sky) {
        return ((Engine) sky).store();
    }

    /** Every stored event after {@code after} up to {@code upTo}, read in pages as a subscriber would not. */
    private static List<SkyPortEvent> stored(JobStore store, long after, long upTo) {
        List<SkyPortEvent> out = new ArrayList<>();
        for (StoredEvent e : store.eventsAfter(after, upTo, Integer.MAX_VALUE)) {
            out.add(e.event());
        }
        return out;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        while (!condition.getAsBoolean()) {
            assertThat(Instant.now()).as(what).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }

    private static long lastOf(List<SkyPortEvent> events) {
        return events.isEmpty() ? 0 : events.get(events.size() - 1).sequence();
    }

    @Test
    void subscribersGetExactlyTheStoredEventsAfterTheirCursorUnderConcurrentWriters() throws Exception {
        try (SkyPort sky = start(1)) {
            SkyPort alice = sky.asUser("alice");
            SkyPort bob = sky.asUser("bob");
            // Holds the one cpu, so the jobs below stay queued and every event is a submit or a cancel.
            Job blocker = sky.jobs().submit(JobSpec.command("sleep", "600"));
            await(() -> sky.jobs().get(blocker.id()).state() == JobState.RUNNING, "the blocker runs");
            List<SkyPortEvent> fromZero = new CopyOnWriteArrayList<>();
            List<SkyPortEvent> fromMiddle = new CopyOnWriteArrayList<>();
            List<SkyPortEvent> alices = new CopyOnWriteArrayList<>();
            Queue<String> failures = new ConcurrentLinkedQueue<>();
            long[] middle = new long[1];
            try (Subscription all = sky.events().subscribeAfter(0, fromZero::add);
                 Subscription hers = alice.events().subscribeAfter(0, alices::add)) {
                int threads = 8;
                int each = 120;
                CountDownLatch halfway = new CountDownLatch(threads);
                ExecutorService pool = Executors.newFixedThreadPool(threads);
                for (int t = 0; t < threads; t++) {
                    SkyPort as = t % 2 == 0 ? alice : bob;
                    pool.execute(() -> {
                        try {
                            for (int i = 0; i < each; i++) {
                                Job job = as.jobs().submit(JobSpec.command("true"));
                                if (i % 2 == 0) {
                                    as.jobs().cancel(job.id());
                                }
                                if (i == each / 2) {
                                    halfway.countDown();
                                }
                            }
                        } catch (RuntimeException e) {
                            failures.add(e.toString());
                        }
                    });
                }
                assertThat(halfway.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
                // Taken while eight threads write: a resume point in the middle of the traffic.
                middle[0] = sky.events().lastSequence();
                try (Subscription later = sky.events().subscribeAfter(middle[0], fromMiddle::add)) {
                    pool.shutdown();
                    assertThat(pool.awaitTermination(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
                    assertThat(failures).isEmpty();
                    long last = sky.events().lastSequence();
                    await(() -> lastOf(fromZero) == last && lastOf(fromMiddle) == last,
                            "the subscribers reach the last sequence " + last);
                    List<SkyPortEvent> expected = stored(storeOf(sky), 0, last);
                    assertThat(expected).hasSizeGreaterThan(threads * each);
                    assertThat(fromZero).containsExactlyElementsOf(expected);
                    assertThat(fromMiddle).containsExactlyElementsOf(
                            stored(storeOf(sky), middle[0], last));
                    List<SkyPortEvent> herExpected = storeOf(sky).eventsAfter(0, last, Integer.MAX_VALUE).stream()
                            .filter(e -> e.owner().isEmpty() || e.owner().get().equals("alice"))
                            .map(StoredEvent::event).toList();
                    await(() -> alices.size() >= herExpected.size(), "alice's view has her events");
                    assertThat(alices).containsExactlyElementsOf(herExpected);
                    assertThat(alices).filteredOn(e -> e instanceof JobTransitioned).hasSize(threads / 2 * each * 3 / 2);
                    assertThat(alices).filteredOn(e -> e instanceof NodeTransitioned).isNotEmpty();
                }
            } finally {
                sky.jobs().cancel(blocker.id());
            }
        }
    }

    @Test
    void afterARestartStoredEventsAreReplayedFromTheStoreThenLiveOnes() throws Exception {
        List<JobId> before = new ArrayList<>();
        long lastBefore;
        try (SkyPort sky = start(2)) {
            for (int i = 0; i < 5; i++) {
                before.add(sky.jobs().submit(JobSpec.command("true")).id());
            }
            for (JobId id : before) {
                sky.jobs().await(id, WAIT);
            }
            lastBefore = sky.events().lastSequence();
        }
        try (SkyPort sky = start(2)) {
            assertThat(sky.events().lastSequence()).as("no sequence is handed out twice").isEqualTo(lastBefore);
            List<SkyPortEvent> seen = new CopyOnWriteArrayList<>();
            try (Subscription s = sky.events().subscribeAfter(0, seen::add)) {
                await(() -> lastOf(seen) == lastBefore, "the stored events replayed");
                Job after = sky.jobs().submit(JobSpec.command("true"));
                sky.jobs().await(after.id(), WAIT);
                long last = sky.events().lastSequence();
                await(() -> lastOf(seen) == last, "the new events delivered");
                assertThat(seen).containsExactlyElementsOf(stored(storeOf(sky), 0, last));
                assertThat(seen).filteredOn(e -> e instanceof JobTransitioned t && t.jobId().equals(after.id()))
                        .extracting(e -> ((JobTransitioned) e).to())
                        .containsExactly(JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED);
            }
        }
    }

    /**
     * A write that fails after its number was taken (here SQLite aborts the insert, through a trigger on the real
     * file) leaves a gap, not a watermark stuck below it: later events still reach ordered subscribers.
     */
    @Test
    void anEventWhoseWriteFailedDoesNotHoldBackTheOnesAfterIt() throws Exception {
        try (SkyPort sky = start(2)) {
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("skyport.db"));
                 Statement s = c.createStatement()) {
                s.execute("PRAGMA busy_timeout = 10000");
                s.execute("CREATE TRIGGER doomed BEFORE INSERT ON jobs"
                        + " WHEN json_extract(NEW.job_json, '$.spec.name') = 'doomed'"
                        + " BEGIN SELECT RAISE(ABORT, 'injected: this insert fails'); END");
            }
            long start = sky.events().lastSequence();
            List<SkyPortEvent> seen = new CopyOnWriteArrayList<>();
            try (Subscription sub = sky.events().subscribeAfter(start, seen::add)) {
                assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().name("doomed").command(List.of("true"))
                        .build())).isInstanceOf(StorageException.class).hasMessageContaining("injected");
                Job fine = sky.jobs().submit(JobSpec.builder().name("fine").command(List.of("true")).build());
                await(() -> seen.stream().anyMatch(e -> e instanceof JobTransitioned t && t.jobId().equals(fine.id())),
                        "the event after the failed one is delivered");
                JobTransitioned queued = (JobTransitioned) seen.get(0);
                assertThat(queued.jobId()).isEqualTo(fine.id());
                assertThat(queued.sequence()).as("the failed write's number is a gap").isEqualTo(start + 2);
                assertThat(sky.events().lastSequence()).isGreaterThanOrEqualTo(start + 2);
            }
        }
    }

    /** A listener far slower than the writers falls out of the ring and catches up from the store, in order. */
    @Test
    void aSubscriberBehindTheRingReadsTheStoreAndMissesNothing() throws Exception {
        try (JobStore store = SqliteJobStore.open(data)) {
            EventHub hub = new EventHub(store, 8);
            CountDownLatch release = new CountDownLatch(1);
            List<SkyPortEvent> seen = new CopyOnWriteArrayList<>();
            try (Subscription slow = hub.subscribeAfter(0, null, e -> {
                try {
                    release.await(); // held on the first event while 100 more are written
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
                seen.add(e);
            })) {
                EventSequence sequence = hub.sequence();
                List<SkyPortEvent> written = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    long seq = sequence.next();
                    if (i % 10 == 9) {
                        sequence.failed(seq);
                        continue;
                    }
                    Job job = new Job(new JobId(java.util.UUID.randomUUID()), "alice", "alice",
                            JobSpec.command("true"), JobState.QUEUED, "Submitted", Optional.empty(),
                            Instant.ofEpochMilli(i), Instant.ofEpochMilli(i), List.of());
                    JobTransitioned event = new JobTransitioned(seq, job.submitTime(), job.id(), Optional.empty(),
                            JobState.QUEUED, Optional.empty(), "Submitted");
                    store.insert(StoredJob.of(job), event);
                    sequence.written(event, "alice");
                    written.add(event);
                }
                assertThat(sequence.after(0, 10)).as("the first events left the ring").isNull();
                release.countDown();
                await(() -> seen.size() == written.size(), "every event delivered");
                assertThat(seen).containsExactlyElementsOf(written);
            }
            hub.close();
        }
    }

    @Test
    void nothingReachesAnOrderedListenerOnceItsSubscriptionIsClosed() throws Exception {
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        try (SkyPort sky = start(2)) {
            AtomicBoolean closed = new AtomicBoolean();
            CountDownLatch first = new CountDownLatch(1);
            Subscription s = sky.events().subscribeAfter(sky.events().lastSequence(), e -> {
                if (closed.get()) {
                    failures.add("delivered after close: " + e.sequence());
                }
                first.countDown();
                try {
                    Thread.sleep(50); // slow: the events below are waiting behind this one
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            });
            sky.jobs().submitAll(java.util.Collections.nCopies(20, JobSpec.command("true")));
            assertThat(first.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            s.close();
            closed.set(true);
            s.close(); // idempotent
            List<SkyPortEvent> witness = new CopyOnWriteArrayList<>();
            try (Subscription w = sky.events().subscribeAfter(0, witness::add)) {
                long last = sky.events().lastSequence();
                await(() -> lastOf(witness) >= last, "a second subscriber has everything");
            }
        }
        assertThat(failures).isEmpty();
    }
}
