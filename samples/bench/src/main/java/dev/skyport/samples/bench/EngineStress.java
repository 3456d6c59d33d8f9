package dev.skyport.samples.bench;

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
import dev.skyport.api.Subscription;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The long version of the engine's stress test ({@code EngineStressTest} in skyport-core runs ~25 s of it): many
 * threads cancelling, requeueing and awaiting the same few jobs on the local gate, the engine closed and reopened
 * between rounds; then the stored histories, the attempts and what a subscriber received are checked. Prints
 * {@code figure} lines; exits 1 when an invariant broke.
 *
 * <p>Arguments: {@code --seconds=N} of load per round (default 45), {@code --rounds=N} engine lifetimes (default 2),
 * {@code --threads=N} (default 24), {@code --jobs=N} shared jobs (default 6), {@code --dir=PATH} for the data.
 */
public final class EngineStress {
    private static final JobSpec TRUE = JobSpec.builder().command(List.of("true")).build();
    private static final JobSpec SHORT = JobSpec.builder().command(List.of("sleep", "0.05")).build();

    private EngineStress() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = 45;
        int rounds = 2;
        int threads = 24;
        int jobs = 6;
        Path parent = Path.of(System.getProperty("java.io.tmpdir"));
        for (String arg : args) {
            String value = arg.substring(arg.indexOf('=') + 1);
            if (arg.startsWith("--seconds=")) {
                seconds = Integer.parseInt(value);
            } else if (arg.startsWith("--rounds=")) {
                rounds = Integer.parseInt(value);
            } else if (arg.startsWith("--threads=")) {
                threads = Integer.parseInt(value);
            } else if (arg.startsWith("--jobs=")) {
                jobs = Integer.parseInt(value);
            } else if (arg.startsWith("--dir=")) {
                parent = Path.of(value);
            } else {
                System.err.println("unknown argument '" + arg
                        + "'; usage: EngineStress [--seconds=N] [--rounds=N] [--threads=N] [--jobs=N] [--dir=PATH]");
                System.exit(2);
            }
        }
        Files.createDirectories(parent);
        Path data = Files.createTempDirectory(parent, "skyport-stress-");
        try {
            int violations = run(data, seconds, rounds, threads, jobs);
            System.exit(violations == 0 ? 0 : 1);
        } finally {
            try (var paths = Files.walk(data)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static SkyPort start(Path data) {
        return SkyPort.embedded().dataDir(data).localCpus(4).jobIsolation(JobIsolation.NONE)
                .limits(Limits.defaults().withKillGracePeriod(Duration.ofMillis(300))).start();
    }

    private static int run(Path data, int seconds, int rounds, int threads, int jobs) throws Exception {
        List<JobId> ids = new CopyOnWriteArrayList<>();
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        Map<JobId, List<JobTransitioned>> live = new ConcurrentHashMap<>();
        AtomicLong ops = new AtomicLong();
        long loadNanos = 0;
        for (int round = 0; round < rounds; round++) {
            SkyPort sky = start(data);
            while (ids.size() < jobs) {
                ids.add(sky.jobs().submit(ids.size() % 2 == 0 ? TRUE : SHORT).id());
            }
            Map<JobId, List<JobTransitioned>> seen = new ConcurrentHashMap<>();
            Subscription sub = sky.events().subscribe(e -> {
                if (e instanceof JobTransitioned t) {
                    seen.computeIfAbsent(t.jobId(), k -> new CopyOnWriteArrayList<>()).add(t);
                }
            });
            long start = System.nanoTime();
            long end = start + TimeUnit.SECONDS.toNanos(seconds);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            for (int t = 0; t < threads; t++) {
                pool.execute(() -> hammer(sky, ids, end, ops, failures));
            }
            pool.shutdown();
            pool.awaitTermination(seconds + 120L, TimeUnit.SECONDS);
            loadNanos += System.nanoTime() - start;
            sub.close();
            sky.close();
            // Events of one lifetime are a segment of the history: kept per round, checked at the end.
            seen.forEach((id, events) -> live.merge(id, events, (a, b) -> {
                List<JobTransitioned> both = new ArrayList<>(a);
                both.add(null); // a round boundary: the segments need not touch
                both.addAll(b);
                return both;
            }));
        }
        long attempts = 0;
        try (SkyPort sky = start(data)) {
            for (JobId id : ids) {
                try {
                    sky.jobs().cancel(id);
                } catch (IllegalJobStateException ended) {
                    // already terminal
                }
                Job job = sky.jobs().await(id, Duration.ofMinutes(2));
                List<JobTransitioned> history = sky.events().history(id);
                attempts += job.attempts().size();
                check(job, history, live.getOrDefault(id, List.of()), failures);
            }
        }
        double secs = loadNanos / 1e9;
        System.out.printf("figure stress_ops_per_s %.0f 1/s%n", ops.get() / secs);
        System.out.printf("figure stress_attempts %d attempts%n", attempts);
        System.out.printf("figure stress_violations %d violations%n", failures.size());
        failures.stream().limit(20).forEach(f -> System.out.println("   " + f));
        return failures.size();
    }

    private static void hammer(SkyPort sky, List<JobId> ids, long end, AtomicLong ops, Queue<String> failures) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (System.nanoTime() < end) {
            JobId id = ids.get(random.nextInt(ids.size()));
            int op = random.nextInt(100);
            try {
                if (op < 30) {
                    sky.jobs().cancel(id);
                } else if (op < 65) {
                    sky.jobs().requeue(id);
                } else if (op < 90) {
                    sky.jobs().await(id, Duration.ofMillis(random.nextInt(1, 200)));
                } else {
                    sky.jobs().list(JobQuery.all().withLimit(20));
                }
            } catch (IllegalJobStateException | AwaitTimeoutException expected) {
                // what the API promises for these calls
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException unexpected) {
                failures.add(Thread.currentThread().getName() + ": " + unexpected);
            }
            ops.incrementAndGet();
        }
    }

    /** The history is one chain from the submission, attempts match its starts and do not overlap, live is in order. */
    private static void check(Job job, List<JobTransitioned> history, List<JobTransitioned> live,
                              Queue<String> failures) {
        Optional<JobState> state = Optional.empty();
        long starts = 0;
        for (JobTransitioned e : history) {
            if (!e.from().equals(state)) {
                failures.add(job.id() + ": " + e.from() + "->" + e.to() + " after " + state);
            }
            if (e.from().equals(Optional.of(JobState.QUEUED)) && e.to() == JobState.RUNNING) {
                starts++;
            }
            state = Optional.of(e.to());
        }
        if (starts != job.attempts().size()) {
            failures.add(job.id() + ": " + starts + " starts but " + job.attempts().size() + " attempts");
        }
        List<Attempt> attempts = job.attempts();
        for (int i = 0; i + 1 < attempts.size(); i++) {
            Optional<java.time.Instant> ended = attempts.get(i).endTime();
            if (ended.isEmpty() || ended.get().isAfter(attempts.get(i + 1).startTime())) {
                failures.add(job.id() + ": attempt " + (i + 2) + " started before attempt " + (i + 1) + " ended");
            }
        }
        if (!job.state().isTerminal()) {
            failures.add(job.id() + ": still " + job.state());
        }
        long last = -1;
        for (JobTransitioned e : live) {
            if (e == null) {
                continue;
            }
            int at = history.indexOf(e);
            if (at < 0 || e.sequence() <= last) {
                failures.add(job.id() + ": event " + e.sequence() + " delivered out of the stored order");
            }
            last = e.sequence();
        }
    }
}
