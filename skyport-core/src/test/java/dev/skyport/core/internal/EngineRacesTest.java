package dev.skyport.core.internal;

import dev.skyport.api.IllegalJobStateException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Limits;
import dev.skyport.api.SkyPort;
import dev.skyport.api.Subscription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** One test per race the stress run found; each failed before its fix (see the notes on the engine's locking). */
class EngineRacesTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final JobSpec TRUE = JobSpec.builder().command(List.of("true")).build();

    @TempDir
    Path data;

    private SkyPort start() {
        return SkyPort.embedded().dataDir(data).localCpus(4).jobIsolation(JobIsolation.NONE)
                .limits(Limits.defaults().withKillGracePeriod(Duration.ofMillis(300))).start();
    }

    private static ExecutorService run(int threads, Queue<String> failures, ThrowingRunnable body) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        for (int t = 0; t < threads; t++) {
            int n = t;
            pool.execute(() -> {
                try {
                    body.run(n);
                } catch (Throwable e) {
                    failures.add(Thread.currentThread().getName() + ": " + e);
                }
            });
        }
        pool.shutdown();
        return pool;
    }

    interface ThrowingRunnable {
        void run(int thread) throws Exception;
    }

    /**
     * Bug 1: a cancel that took a job's entry just before the run ended and a requeue replaced the entry acted on the
     * old one: the job was CANCELED in the store while the new entry ran it again.
     */
    @Test
    void aCancelRacingWithAnEndAndARequeueActsOnTheCurrentEntry() throws Exception {
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        List<JobId> ids = new CopyOnWriteArrayList<>();
        try (SkyPort sky = start()) {
            for (int i = 0; i < 4; i++) {
                ids.add(sky.jobs().submit(TRUE).id());
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
            ExecutorService pool = run(12, failures, t -> {
                while (System.nanoTime() < end) {
                    JobId id = ids.get(ThreadLocalRandom.current().nextInt(ids.size()));
                    try {
                        switch (t % 3) {
                            case 0 -> sky.jobs().cancel(id);
                            case 1 -> sky.jobs().requeue(id);
                            default -> sky.jobs().await(id, Duration.ofMillis(50));
                        }
                    } catch (IllegalJobStateException | dev.skyport.api.AwaitTimeoutException expected) {
                        // the API promises these
                    }
                }
            });
            assertThat(pool.awaitTermination(2, TimeUnit.MINUTES)).isTrue();
            EngineStressTest.endEveryJob(sky, ids);
            for (JobId id : ids) {
                List<JobTransitioned> history = sky.events().history(id);
                failures.addAll(EngineStressTest.historyViolations(id, history));
                failures.addAll(EngineStressTest.attemptViolations(sky.jobs().get(id), history));
            }
        }
        assertThat(failures).isEmpty();
    }

    /**
     * Bug 2: the end of a run woke its waiters before it was published, so a waiter's requeue could publish
     * SUCCEEDED→QUEUED before the job's own RUNNING→SUCCEEDED.
     */
    @Test
    void aRequeueAfterAwaitIsDeliveredAfterTheEndItFollows() throws Exception {
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        List<JobTransitioned> seen = Collections.synchronizedList(new ArrayList<>());
        List<JobId> ids = new ArrayList<>();
        try (SkyPort sky = start(); Subscription s = sky.events().subscribe(e -> {
            if (e instanceof JobTransitioned t) {
                seen.add(t);
            }
        })) {
            for (int i = 0; i < 8; i++) {
                ids.add(sky.jobs().submit(TRUE).id());
            }
            ExecutorService pool = run(8, failures, t -> {
                JobId id = ids.get(t);
                for (int round = 0; round < 40; round++) {
                    sky.jobs().await(id, WAIT);
                    sky.jobs().requeue(id);
                }
            });
            assertThat(pool.awaitTermination(3, TimeUnit.MINUTES)).isTrue();
            for (JobId id : ids) {
                sky.jobs().await(id, WAIT);
            }
            for (JobId id : ids) {
                List<JobTransitioned> history = sky.events().history(id);
                CrashTest.awaitCondition(() -> live(seen, id).size() == history.size(), "every event delivered");
                failures.addAll(EngineStressTest.liveOrderViolations(id, live(seen, id), history));
            }
        }
        assertThat(failures).isEmpty();
    }

    private static List<JobTransitioned> live(List<JobTransitioned> seen, JobId id) {
        synchronized (seen) {
            return seen.stream().filter(e -> e.jobId().equals(id)).toList();
        }
    }

    /**
     * Bug 3: the QUEUED event of a submission went out before the job was registered, so a cancel by a listener that
     * reacted to it found no job to cancel and threw {@link IllegalJobStateException} "in state QUEUED".
     */
    @Test
    void aJobCanBeCanceledAsSoonAsItsFirstEventIsSeen() throws Exception {
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        List<JobId> canceled = new CopyOnWriteArrayList<>();
        try (SkyPort sky = start()) {
            // Holds every cpu, so each job below is still QUEUED when its listener cancels it: no refusal is right.
            Job blocker = sky.jobs().submit(JobSpec.builder().command(List.of("sleep", "600")).cpus(4).build());
            CrashTest.awaitCondition(() -> sky.jobs().get(blocker.id()).state() == JobState.RUNNING, "blocker runs");
            // The listener runs on its own thread, like the user's callback did.
            Subscription s = sky.events().subscribe(e -> {
                if (e instanceof JobTransitioned t && t.from().isEmpty()) {
                    try {
                        sky.jobs().cancel(t.jobId());
                        canceled.add(t.jobId());
                    } catch (RuntimeException ex) {
                        failures.add(t.jobId() + ": " + ex);
                    }
                }
            });
            List<JobId> ids = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                sky.jobs().submitAll(Collections.nCopies(50, TRUE)).forEach(j -> ids.add(j.id()));
            }
            for (int i = 0; i < 100; i++) {
                ids.add(sky.jobs().submit(TRUE).id());
            }
            CrashTest.awaitCondition(() -> canceled.size() + failures.size() == ids.size(), "every job seen");
            s.close();
            for (JobId id : canceled) {
                assertThat(sky.jobs().await(id, WAIT).state()).isEqualTo(JobState.CANCELED);
            }
            sky.jobs().cancel(blocker.id());
        }
        assertThat(failures).isEmpty();
    }

    /** Bug 4: close() left {@code await} waiting for its timeout and {@code followStdout} readers blocked. */
    @Test
    void closeWakesEveryWaiterAndEveryReader() throws Exception {
        SkyPort sky = start();
        assertThat(EngineStressTest.closeWakesEveryWaiterAndReader(sky)).isEmpty();
    }

    /** No event reaches a listener once {@code Subscription.close()} has returned, even with events queued for it. */
    @Test
    void noEventIsDeliveredAfterASubscriptionIsClosed() throws Exception {
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        try (SkyPort sky = start()) {
            java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.CountDownLatch first = new java.util.concurrent.CountDownLatch(1);
            Subscription s = sky.events().subscribe(e -> {
                if (closed.get()) {
                    failures.add("delivered after close: " + e.sequence());
                }
                first.countDown();
                try {
                    // A slow listener: the submissions below queue behind this delivery.
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            });
            // As slow, subscribed alongside: once it has everything, the closed one would have had its queue too.
            java.util.concurrent.atomic.AtomicInteger twin = new java.util.concurrent.atomic.AtomicInteger();
            Subscription witness = sky.events().subscribe(e -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
                twin.incrementAndGet();
            });
            sky.jobs().submitAll(Collections.nCopies(20, TRUE));
            assertThat(first.await(60, TimeUnit.SECONDS)).isTrue();
            s.close();
            closed.set(true);
            CrashTest.awaitCondition(() -> twin.get() >= 20, "the twin subscription has every event");
            witness.close();
        }
        assertThat(failures).isEmpty();
    }
}
