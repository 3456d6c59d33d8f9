package dev.skyport.core.internal;

import dev.skyport.api.Attempt;
import dev.skyport.api.AwaitTimeoutException;
import dev.skyport.api.IllegalJobStateException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Limits;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.Subscription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many threads submitting, cancelling, requeueing, awaiting and listing the same few jobs on the local gate, with the
 * engine closed and reopened in the middle; then every invariant of the lifecycle is checked on what was stored and
 * what was delivered. Each of the four bugs this found has a targeted test below as well. Bounded: about 25 s of
 * load plus the drain; {@code EngineStress} in the benchmarks runs the same for longer.
 */
class EngineStressTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final JobSpec TRUE = JobSpec.builder().command(List.of("true")).build();
    private static final JobSpec SHORT = JobSpec.builder().command(List.of("sleep", "0.05")).build();

    @TempDir
    Path data;

    private SkyPort start() {
        return SkyPort.embedded().dataDir(data).localCpus(4).jobIsolation(JobIsolation.NONE)
                .limits(Limits.defaults().withKillGracePeriod(Duration.ofMillis(300))).start();
    }

    /** What one subscription saw, per job, and anything it saw that it must not have. */
    static final class Recorder implements AutoCloseable {
        final Map<JobId, List<JobTransitioned>> live = new ConcurrentHashMap<>();
        final Queue<String> violations = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean closed = new AtomicBoolean();
        private final Subscription subscription;

        Recorder(SkyPort sky) {
            subscription = sky.events().subscribe(event -> {
                if (closed.get()) {
                    violations.add("event " + event.sequence() + " delivered after Subscription.close() returned");
                }
                if (event instanceof JobTransitioned t) {
                    live.computeIfAbsent(t.jobId(), k -> new CopyOnWriteArrayList<>()).add(t);
                }
            });
        }

        @Override
        public void close() {
            subscription.close();
            closed.set(true);
        }
    }

    @Test
    void concurrentCallersAndARestartKeepEveryInvariant() throws Exception {
        List<JobId> ids = new CopyOnWriteArrayList<>();
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        List<Recorder> recorders = new ArrayList<>();
        for (int phase = 0; phase < 2; phase++) {
            SkyPort sky = start();
            Recorder recorder = new Recorder(sky);
            recorders.add(recorder);
            Hammer hammer = new Hammer(sky, ids, failures, 16, Duration.ofSeconds(12));
            hammer.loadedFor(Duration.ofSeconds(9));
            recorder.close();
            hammer.closing();
            // Closed under load: the callers go on until they see it.
            assertThat(closeWakesEveryWaiterAndReader(sky)).as("waiters and readers woken by close").isEmpty();
            hammer.join();
        }
        try (SkyPort sky = start()) {
            endEveryJob(sky, ids);
            for (JobId id : ids) {
                List<JobTransitioned> history = sky.events().history(id);
                failures.addAll(historyViolations(id, history));
                failures.addAll(attemptViolations(sky.jobs().get(id), history));
                for (Recorder r : recorders) {
                    failures.addAll(liveOrderViolations(id, r.live.getOrDefault(id, List.of()), history));
                }
            }
        }
        for (Recorder r : recorders) {
            failures.addAll(r.violations);
        }
        assertThat(ids).hasSizeGreaterThan(10);
        assertThat(failures).as("invariants broken").isEmpty();
    }

    /**
     * {@code threads} callers doing random operations on a handful of jobs for {@code duration}; whatever an operation
     * throws that the API does not promise for it is a failure, until the engine is being closed.
     */
    static final class Hammer {
        private final ExecutorService pool;
        private final long startNanos = System.nanoTime();
        private final long endNanos;
        private volatile boolean closing;

        Hammer(SkyPort sky, List<JobId> ids, Queue<String> failures, int threads, Duration duration) {
            this.endNanos = startNanos + duration.toNanos();
            this.pool = Executors.newFixedThreadPool(threads);
            AtomicInteger subscriptions = new AtomicInteger();
            for (int t = 0; t < threads; t++) {
                pool.execute(() -> {
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    while (System.nanoTime() < endNanos) {
                        try {
                            operate(sky, ids, random, subscriptions, failures);
                        } catch (IllegalJobStateException | AwaitTimeoutException expected) {
                            // cancel of an ended job, requeue of a queued one, a short await: the API says so
                        } catch (Throwable unexpected) {
                            if (closing) {
                                return; // the engine is closing under us: its refusals are expected
                            }
                            failures.add(Thread.currentThread().getName() + ": " + unexpected);
                        }
                    }
                });
            }
            pool.shutdown();
        }

        /** From now on the engine is being closed: refusals are expected and end the callers. */
        void closing() {
            closing = true;
        }

        /** Returns once the load has run for {@code d} (the point of a stress run is the load, not an event). */
        void loadedFor(Duration d) throws InterruptedException {
            pool.awaitTermination(Math.max(0, startNanos + d.toNanos() - System.nanoTime()), TimeUnit.NANOSECONDS);
        }

        void join() throws InterruptedException {
            assertThat(pool.awaitTermination(2, TimeUnit.MINUTES)).as("callers stopped").isTrue();
        }
    }

    private static void operate(SkyPort sky, List<JobId> ids, ThreadLocalRandom random, AtomicInteger subscriptions,
                                Queue<String> failures) throws InterruptedException {
        int op = random.nextInt(100);
        if (ids.size() < 6 || (op < 4 && ids.size() < 24)) {
            ids.add(sky.jobs().submit(random.nextBoolean() ? TRUE : SHORT).id());
            return;
        }
        JobId id = ids.get(random.nextInt(ids.size()));
        if (op < 25) {
            sky.jobs().cancel(id);
        } else if (op < 55) {
            sky.jobs().requeue(id);
        } else if (op < 80) {
            sky.jobs().await(id, Duration.ofMillis(random.nextInt(1, 200)));
        } else if (op < 92) {
            sky.jobs().list(JobQuery.all().withLimit(20));
            sky.jobs().get(id);
        } else if (subscriptions.incrementAndGet() % 4 == 0) {
            // A subscription opened and closed at once: nothing may reach it after close() returns.
            AtomicBoolean closed = new AtomicBoolean();
            Subscription s = sky.events().subscribe(e -> {
                if (closed.get()) {
                    failures.add("event " + e.sequence() + " delivered after Subscription.close() returned");
                }
            });
            sky.jobs().requeue(id);
            s.close();
            closed.set(true);
        } else {
            sky.events().history(id);
        }
    }

    /** Closes {@code sky} while callers await a long job and follow its output; returns what did not wake. */
    static List<String> closeWakesEveryWaiterAndReader(SkyPort sky) throws Exception {
        Job sleeper = sky.jobs().submit(JobSpec.builder().command(List.of("sh", "-c", "echo up; sleep 30")).build());
        ExecutorService callers = Executors.newCachedThreadPool();
        CountDownLatch started = new CountDownLatch(6);
        List<Future<String>> outcomes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            outcomes.add(callers.submit(() -> {
                started.countDown();
                try {
                    Job j = sky.jobs().await(sleeper.id(), Duration.ofMinutes(5));
                    return "await returned " + j.state();
                } catch (SkyPortException closed) {
                    return "woken";
                }
            }));
            outcomes.add(callers.submit(() -> {
                try (InputStream in = sky.jobs().followStdout(sleeper.id())) {
                    started.countDown();
                    while (in.read() >= 0) {
                        // keep following
                    }
                    return "follow ended as if the job had";
                } catch (IOException closed) {
                    return "woken";
                }
            }));
        }
        started.await();
        sky.close();
        List<String> notWoken = new ArrayList<>();
        for (Future<String> f : outcomes) {
            // A latency bound is the point: 20 s is far from the 5 min of the await and the 30 s of the job.
            String outcome;
            try {
                outcome = f.get(20, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException stillBlocked) {
                outcome = "still blocked 20 s after close";
            }
            if (!outcome.equals("woken")) {
                notWoken.add(outcome);
            }
        }
        callers.shutdownNow();
        return notWoken;
    }

    /** Cancels until every job has ended, then waits for each. */
    static void endEveryJob(SkyPort sky, List<JobId> ids) throws InterruptedException {
        for (JobId id : ids) {
            try {
                sky.jobs().cancel(id);
            } catch (IllegalJobStateException ended) {
                // already terminal
            }
            assertThat(sky.jobs().await(id, WAIT).state().isTerminal()).isTrue();
        }
    }

    /** A stored history must start with the submission and follow the lifecycle table, event after event. */
    static List<String> historyViolations(JobId id, List<JobTransitioned> history) {
        List<String> found = new ArrayList<>();
        Optional<JobState> state = Optional.empty();
        for (JobTransitioned e : history) {
            boolean legal = e.from().equals(state)
                    && (state.isEmpty() ? e.to() == JobState.QUEUED : Lifecycle.isAllowed(state.get(), e.to()));
            if (!legal) {
                found.add(id + ": " + e.from().map(Enum::name).orElse("-") + "->" + e.to() + " after "
                        + state.map(Enum::name).orElse("nothing") + " (" + e.details() + ")");
            }
            state = Optional.of(e.to());
        }
        return found;
    }

    /** Attempts match the QUEUED→RUNNING events, every attempt has ended, and no two overlap in time. */
    static List<String> attemptViolations(Job job, List<JobTransitioned> history) {
        List<String> found = new ArrayList<>();
        long starts = history.stream()
                .filter(e -> e.from().equals(Optional.of(JobState.QUEUED)) && e.to() == JobState.RUNNING).count();
        if (starts != job.attempts().size()) {
            found.add(job.id() + ": " + starts + " QUEUED->RUNNING events but " + job.attempts().size() + " attempts");
        }
        List<Attempt> attempts = job.attempts();
        for (int i = 0; i < attempts.size(); i++) {
            Attempt a = attempts.get(i);
            if (a.number() != i + 1 || a.endTime().isEmpty()) {
                found.add(job.id() + ": attempt " + a.number() + " at index " + i + " ended " + a.endTime());
            } else if (i + 1 < attempts.size() && a.endTime().get().isAfter(attempts.get(i + 1).startTime())) {
                found.add(job.id() + ": attempt " + (i + 2) + " started before attempt " + (i + 1) + " ended");
            }
        }
        if (!job.state().isTerminal()) {
            found.add(job.id() + ": still " + job.state());
        }
        return found;
    }

    /** What a subscriber received of a job is the stored history, in its order (a segment of it, without gaps). */
    static List<String> liveOrderViolations(JobId id, List<JobTransitioned> live, List<JobTransitioned> history) {
        if (live.isEmpty()) {
            return List.of();
        }
        int start = history.indexOf(live.get(0));
        if (start < 0 || start + live.size() > history.size()
                || !history.subList(start, start + live.size()).equals(live)) {
            return List.of(id + ": delivered " + describe(live) + " but stored " + describe(history));
        }
        return List.of();
    }

    private static String describe(List<JobTransitioned> events) {
        return events.stream().map(e -> e.sequence() + ":" + e.from().map(Enum::name).orElse("-") + "->" + e.to())
                .toList().toString();
    }
}
