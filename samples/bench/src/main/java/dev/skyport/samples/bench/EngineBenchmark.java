package dev.skyport.samples.bench;

import dev.skyport.api.IllegalJobStateException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Limits;
import dev.skyport.api.Page;
import dev.skyport.api.SkyPort;
import dev.skyport.api.Subscription;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.RunRequest;
import dev.skyport.samples.bench.BenchFigures.CpuUse;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * A plain benchmark harness for the embedded engine (not JMH: every figure is a whole-engine measurement lasting
 * seconds, where JMH's forking and blackholes buy nothing). It prints one line per figure on standard output,
 * {@code figure <name> <value> <unit>}, and everything else on standard error. Under {@code mvn exec:java}, Maven
 * writes ANSI resets to standard output before the first figure, so keep the figures with {@code grep -o 'figure .*'}.
 * Each scenario ends with a line saying how the machine's cpu was shared between this JVM, the job processes it
 * started and other programs: figures taken while others were busy are not comparable.
 *
 * <p>Scenarios, each on a fresh engine over a fresh temporary data directory that is deleted afterwards:
 * <ul>
 *   <li>{@code submits}: durable submits per second from 8 threads, one {@code submit} per call and, separately,
 *       {@code submitAll} batches of 100. The jobs queue behind a blocker job that holds the node's only cpu.</li>
 *   <li>{@code e2e}: trivial jobs ({@code true}) per second from submission until every one is terminal, on a local
 *       node with 64 slots.</li>
 *   <li>{@code latency}: submit-to-RUNNING latency of one job at a time on an idle node.</li>
 *   <li>{@code heap}: heap held by 100,000 queued jobs.</li>
 *   <li>{@code restart}: time to start an engine over 100,000 queued jobs until a listing answers.</li>
 * </ul>
 * Two probes of the machine, not run by default, help to explain the figures: {@code fsync} (raw fdatasync and
 * one-row SQLite commits) and {@code spawn} (process starts, bare and with the local gate's wrapper).
 *
 * <p>Arguments: scenario names (default: all five), {@code --quick} for a smoke run with small sizes (figures whose
 * name carries a size then say the size used), {@code --dir=PATH} for where the temporary data directories go
 * (default: {@code java.io.tmpdir}). Exits 1 when a scenario fails (e.g. a trivial job did not succeed), 2 on bad
 * arguments.
 */
public final class EngineBenchmark {
    private static final List<String> SCENARIOS = List.of("submits", "async", "e2e", "latency", "heap",
            "restart");
    private static final List<String> PROBES = List.of("fsync", "spawn");
    private static final int SUBMIT_THREADS = 8;
    private static final int SUBMIT_BATCH = 100;
    /** Ends a submit run early so the queue stays under the default limit of 1,000,000 unfinished jobs. */
    private static final long MAX_QUEUED_PER_RUN = 900_000;
    private static final Duration WAIT_LIMIT = Duration.ofMinutes(2);
    private static final JobSpec TRIVIAL = JobSpec.builder().name("bench-true").command(List.of("true")).build();

    private final boolean quick;
    private final Path parentDir;

    private EngineBenchmark(boolean quick, Path parentDir) {
        this.quick = quick;
        this.parentDir = parentDir;
    }

    /** How jobs are isolated ({@code --isolation=}); the default is the engine's, as a user gets it. */
    private static JobIsolation isolation = JobIsolation.AUTO;

    public static void main(String[] args) throws Exception {
        boolean quick = false;
        Path parent = Path.of(System.getProperty("java.io.tmpdir"));
        Set<String> selected = new LinkedHashSet<>();
        for (String arg : args) {
            if (arg.equals("--quick")) {
                quick = true;
            } else if (arg.startsWith("--dir=")) {
                parent = Path.of(arg.substring("--dir=".length()));
            } else if (arg.startsWith("--isolation=")) {
                isolation = JobIsolation.parse(arg.substring("--isolation=".length()));
            } else if (arg.equals("all")) {
                selected.addAll(SCENARIOS);
            } else if (SCENARIOS.contains(arg) || PROBES.contains(arg)) {
                selected.add(arg);
            } else {
                System.err.println("unknown argument '" + arg + "'; usage: EngineBenchmark [--quick] [--dir=PATH] "
                        + "[--isolation=auto|account|sandbox|none] "
                        + "[" + String.join("|", SCENARIOS) + "|" + String.join("|", PROBES) + "|all]...");
                System.exit(2);
            }
        }
        if (selected.isEmpty()) {
            selected.addAll(SCENARIOS);
        }
        Files.createDirectories(parent);
        Runtime rt = Runtime.getRuntime();
        progress("JVM %s (%s %s), %d cores, max heap %d MB, GC %s", Runtime.version(),
                System.getProperty("java.vm.name"), System.getProperty("java.vendor"), rt.availableProcessors(),
                rt.maxMemory() >> 20, ManagementFactory.getGarbageCollectorMXBeans().stream()
                        .map(b -> b.getName()).toList());
        progress("OS %s %s, load average %.2f; data directories under %s; scenarios %s%s",
                System.getProperty("os.name"), System.getProperty("os.version"),
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), parent.toAbsolutePath(), selected,
                quick ? " (quick)" : "");
        // Other programs on the machine skew every figure: each scenario's last line says how much cpu they took.

        EngineBenchmark bench = new EngineBenchmark(quick, parent);
        long start = System.nanoTime();
        try {
            for (String scenario : selected) {
                long t0 = System.nanoTime();
                CpuUse cpu = CpuUse.now();
                progress("== %s", scenario);
                switch (scenario) {
                    case "submits" -> bench.submits();
                    case "async" -> bench.submitsAsync();
                    case "e2e" -> bench.endToEnd();
                    case "latency" -> bench.latency();
                    case "heap" -> bench.heap();
                    case "restart" -> bench.restart();
                    case "fsync" -> bench.fsync();
                    case "spawn" -> bench.spawn();
                    default -> throw new IllegalStateException(scenario);
                }
                progress("   %s took %.1f s; %s", scenario, seconds(System.nanoTime() - t0), cpu.sinceWithJobs());
            }
        } catch (BenchmarkFailure e) {
            System.out.flush();
            System.err.println("ERROR: " + e.getMessage());
            System.exit(1);
        }
        progress("all done in %.1f s", seconds(System.nanoTime() - start));
    }

    // ------------------------------------------------------------------ 1. submits

    private void submits() throws Exception {
        Duration warmup = quick ? Duration.ofSeconds(1) : Duration.ofSeconds(3);
        Duration measure = quick ? Duration.ofSeconds(2) : Duration.ofSeconds(10);
        try (Workspace ws = new Workspace("submits")) {
            SkyPort sky = ws.start(1);
            ws.block();
            SubmitRun run = submitLoop(sky, 1, warmup, measure);
            progress("   submit: %d jobs in %.2f s by %d threads; latency p50 %.2f ms, p99 %.2f ms, mean %.2f ms; %s",
                    run.jobs, run.seconds, SUBMIT_THREADS, run.p50Ms, run.p99Ms, run.meanMs, run.cpu);
            figure("submits_per_s", run.jobs / run.seconds, "1/s");
        }
        try (Workspace ws = new Workspace("submits-batch")) {
            SkyPort sky = ws.start(1);
            ws.block();
            SubmitRun run = submitLoop(sky, SUBMIT_BATCH, warmup, measure);
            progress("   submitAll(%d): %d jobs in %.2f s by %d threads; call latency p50 %.2f ms, p99 %.2f ms; %s",
                    SUBMIT_BATCH, run.jobs, run.seconds, SUBMIT_THREADS, run.p50Ms, run.p99Ms, run.cpu);
            figure("submits_batch_per_s", run.jobs / run.seconds, "1/s");
        }
    }

    /**
     * One thread submits {@code n} jobs with {@code submitAsync}, keeping as many in flight as the engine lets it (it
     * waits when the engine's bound is reached), so the store's group commit fills its batches. The rate counts jobs
     * whose future completed, i.e. that are durable, from the first call to the last completion; the latency of each
     * is from its call to its completion. A warm-up run of a quarter of {@code n} comes first, on the same engine.
     */
    private void submitsAsync() throws Exception {
        int n = quick ? 20_000 : 200_000;
        try (Workspace ws = new Workspace("submits-async")) {
            SkyPort sky = ws.start(1);
            ws.block();
            warmUp(sky, n / 4);
            CpuUse cpu = CpuUse.now();
            Map<String, Long> threads0 = threadCpuNanos();
            long written0 = bytesWritten();
            long cpu0 = processCpuNanos();
            long t0 = System.nanoTime();
            Latencies latencies = asyncRun(sky, n);
            long t1 = System.nanoTime();
            long cpu1 = processCpuNanos();
            Map<String, Long> threads1 = threadCpuNanos();
            long written1 = bytesWritten();
            String cpuUse = cpu.sinceWithJobs();
            progress("   submitAsync: %d jobs in %.2f s from one thread; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms;"
                    + " %s", n, seconds(t1 - t0), latencies.percentileMs(50), latencies.percentileMs(99),
                    latencies.percentileMs(100), cpuUse);
            figure("submits_async_per_s", n / seconds(t1 - t0), "1/s");
            figure("submits_async_p99_ms", latencies.percentileMs(99), "ms");
            // The rate depends on what the others take of 2 cores; the cpu a job costs this JVM does not.
            if (cpu0 >= 0 && cpu1 >= 0) {
                progress("   cpu per job by thread: %s; %.0f bytes written a job", perJob(threads0, threads1, n),
                        (written1 - written0) / (double) n);
                figure("submits_async_cpu_us_per_job", (cpu1 - cpu0) / 1e3 / n, "us");
            }
        }
    }

    /** One warm-up run of a scenario. */
    @FunctionalInterface
    private interface WarmUpRun {
        void run() throws InterruptedException;
    }

    /**
     * Warm-up runs of {@code n} submissions until the JIT has settled (see {@link #untilTheJitSettles}). On 2 cores
     * shared with other programs, one run was too little: the C2 compiler was still working through the engine's
     * methods during the measurement, 9-16 us of cpu per measured job, a cost paid once per JVM and not per job. Five
     * were too few as well: on 2 busy cores the compilers wait for cpu, and it took 8 to 13 runs of 50,000 (half a
     * million submissions, a few seconds) until they were done; with five, the C2 compiler still took 6-8 us of each
     * measured job's 19-25 us.
     */
    private static void warmUp(SkyPort sky, int n) throws InterruptedException {
        untilTheJitSettles(n + " jobs", 15, () -> asyncRun(sky, n));
    }

    /**
     * Runs {@code run} up to {@code maxRuns} times, ending at the first run in which the compilers worked less than a
     * tenth of the run's time (once where the JVM does not tell compilation time).
     */
    private static void untilTheJitSettles(String what, int maxRuns, WarmUpRun run) throws InterruptedException {
        for (int i = 1; i <= maxRuns; i++) {
            long compiling = compilationMillis();
            long t0 = System.nanoTime();
            run.run();
            double ms = (System.nanoTime() - t0) / 1e6;
            if (compiling < 0) {
                return;
            }
            long compiled = compilationMillis() - compiling;
            progress("   warm-up %d: %s in %.0f ms, the JIT compiled for %d ms", i, what, ms, compiled);
            if (compiled < ms / 10) {
                return;
            }
        }
    }

    /** {@return how long this JVM's compilers have worked so far, in milliseconds; -1 where it does not tell} */
    private static long compilationMillis() {
        java.lang.management.CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1;
    }

    /**
     * The cpu time of each of this JVM's threads so far, in nanoseconds, by name with its number dropped ("GC
     * Thread#1" counts as "GC Thread"): from {@code /proc/self/task}, which also lists the collector's and the
     * compilers' threads that {@link java.lang.management.ThreadMXBean} does not show. Empty where there is no /proc.
     * Linux cuts names to 15 characters.
     */
    private static Map<String, Long> threadCpuNanos() {
        Map<String, Long> out = new java.util.HashMap<>();
        String caller = Thread.currentThread().getName();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    String name = Files.readString(task.resolve("comm")).strip();
                    String stat = Files.readString(task.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
                    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
                    // The launcher's main thread keeps the name "java"; exec:java's is named after the main class.
                    boolean calling = caller.startsWith(name) || (name.equals("java") && caller.equals("main"));
                    name = calling ? "caller" : name.replaceAll("#?[0-9]+$", "");
                    out.merge(name, ticks * 10_000_000L, Long::sum); // USER_HZ is 100 on Linux
                } catch (IOException | RuntimeException gone) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException | RuntimeException notLinux) {
            return Map.of();
        }
        return out;
    }

    /**
     * Where a job's cpu went between two readings, e.g. "caller 12.1 us, skyport-store-w 9.0 us, GC Thread 3.0 us,
     * ...": the threads that took at least 0.1 us a job, most first.
     */
    private static String perJob(Map<String, Long> before, Map<String, Long> after, int jobs) {
        List<Map.Entry<String, Long>> used = new ArrayList<>();
        for (Map.Entry<String, Long> e : after.entrySet()) {
            long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
            if (d / 1e3 / jobs >= 0.1) {
                used.add(Map.entry(e.getKey(), d));
            }
        }
        used.sort(Map.Entry.<String, Long>comparingByValue().reversed());
        return String.join(", ", used.stream().map(e -> String.format(Locale.ROOT, "%s %.1f us", e.getKey(),
                e.getValue() / 1e3 / jobs)).toList());
    }

    /** What this process has passed to write calls (the WAL's pages, mostly), from /proc; 0 elsewhere. */
    private static long bytesWritten() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
                if (line.startsWith("wchar:")) {
                    return Long.parseLong(line.substring("wchar:".length()).trim());
                }
            }
        } catch (IOException | RuntimeException notLinux) {
            // unknown
        }
        return 0;
    }

    /** This JVM's cpu time (all threads, the JIT and GC too), or -1 where the platform does not say. */
    private static long processCpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : -1;
    }

    private static Latencies asyncRun(SkyPort sky, int n) throws InterruptedException {
        Latencies latencies = new Latencies(n);
        CountDownLatch completed = new CountDownLatch(n);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int i = 0; i < n && failure.get() == null; i++) {
            long t0 = System.nanoTime();
            sky.jobs().submitAsync(TRIVIAL).whenComplete((job, e) -> {
                if (e != null) {
                    failure.compareAndSet(null, e);
                } else {
                    // The engine completes its futures on one thread, so this list has one writer.
                    latencies.add(System.nanoTime() - t0);
                }
                completed.countDown();
            });
        }
        if (!completed.await(WAIT_LIMIT.toMillis(), TimeUnit.MILLISECONDS) || failure.get() != null) {
            throw new BenchmarkFailure("async submits did not all complete: " + failure.get(), failure.get());
        }
        return latencies;
    }

    private record SubmitRun(long jobs, double seconds, double p50Ms, double p99Ms, double meanMs, String cpu) {
    }

    /**
     * Runs {@link #SUBMIT_THREADS} threads that submit without pause (one spec per call when {@code batch} is 1, else
     * {@code submitAll} of {@code batch}) and counts the jobs that became durable between the end of the warm-up
     * and the end of the measurement. The threads run through both phases, so the measured window starts warm.
     */
    private SubmitRun submitLoop(SkyPort sky, int batch, Duration warmup, Duration measure) throws Exception {
        List<JobSpec> specs = Collections.nCopies(batch, TRIVIAL);
        LongAdder done = new LongAdder();
        Latencies[] latencies = new Latencies[SUBMIT_THREADS];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        // 0 = warm-up, 1 = measuring, 2 = stop: threads record latencies only while measuring.
        AtomicInteger phase = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < SUBMIT_THREADS; i++) {
            Latencies mine = latencies[i] = new Latencies(200_000);
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        int p = phase.get();
                        if (p == 2 || done.sum() >= MAX_QUEUED_PER_RUN) {
                            return;
                        }
                        long t0 = System.nanoTime();
                        if (batch == 1) {
                            sky.jobs().submit(TRIVIAL);
                        } else {
                            sky.jobs().submitAll(specs);
                        }
                        long t1 = System.nanoTime();
                        done.add(batch);
                        if (p == 1) {
                            mine.add(t1 - t0);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "bench-submitter-" + i);
            threads.add(t);
        }
        threads.forEach(Thread::start);
        waitFor(warmup, failure, done);
        long jobs0 = done.sum();
        long t0 = System.nanoTime();
        CpuUse cpu = CpuUse.now();
        phase.set(1);
        waitFor(measure, failure, done);
        phase.set(2);
        long jobs1 = done.sum();
        long t1 = System.nanoTime();
        String cpuUse = cpu.sinceWithJobs();
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new BenchmarkFailure("a submitter failed: " + failure.get(), failure.get());
        }
        if (jobs1 >= MAX_QUEUED_PER_RUN) {
            progress("   (the measurement ended early, after %.1f s, at the cap of %d queued jobs)", seconds(t1 - t0),
                    MAX_QUEUED_PER_RUN);
        }
        Latencies all = Latencies.merge(latencies);
        return new SubmitRun(jobs1 - jobs0, seconds(t1 - t0), all.percentileMs(50), all.percentileMs(99),
                all.meanMs(), cpuUse);
    }

    /** Waits for {@code d}, or until a submitter failed or the submitters reached the cap. */
    private static void waitFor(Duration d, AtomicReference<Throwable> failure, LongAdder done)
            throws InterruptedException {
        long end = System.nanoTime() + d.toNanos();
        while (System.nanoTime() < end && failure.get() == null && done.sum() < MAX_QUEUED_PER_RUN) {
            Thread.sleep(Math.min(10, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
        }
    }

    // ------------------------------------------------------------------ 2. end to end

    private void endToEnd() throws Exception {
        int warmupJobs = quick ? 50 : 1000;
        int jobs = quick ? 300 : 2000;
        try (Workspace ws = new Workspace("e2e")) {
            SkyPort sky = ws.start(64);
            Map<JobId, JobTransitioned> ends = new ConcurrentHashMap<>();
            AtomicReference<CountDownLatch> pending = new AtomicReference<>(new CountDownLatch(0));
            try (Subscription ignored = sky.events().subscribe(event -> {
                if (event instanceof JobTransitioned t && t.to().isTerminal()) {
                    ends.put(t.jobId(), t);
                    pending.get().countDown();
                }
            })) {
                // As for submits: with one warm-up run of 500 jobs, the compilers' work while measuring was a quarter
                // to a third of the JVM's cpu a job (2.45-3.1 ms against 1.8 after ten runs, when they still worked).
                untilTheJitSettles(warmupJobs + " jobs", 12, () -> runTrivialJobs(sky, warmupJobs, ends, pending));
                // Past the warm-ups the compilers still have bursts of work (9-372 ms a thousand jobs in warm-ups 13 to
                // 30 of one run: methods run once a job reach C2 late on 2 busy cores; 0.7-2.8 s in the round in which
                // the engine's snapshot cache reaches half its weight, ~16,000 trivial jobs, and Caffeine's frequency
                // sketch starts), and the machine drifts: each round is printed, the figures are the median round's,
                // and the slowest round's rate.
                List<TrivialRun> rounds = new ArrayList<>();
                int measuredRounds = quick ? 1 : 3;
                for (int r = 1; r <= measuredRounds; r++) {
                    // A profiler attached from here on sees measured jobs only.
                    progress("   measuring %d jobs, round %d of %d", jobs, r, measuredRounds);
                    long compiling = compilationMillis();
                    TrivialRun run = runTrivialJobs(sky, jobs, ends, pending);
                    long compiled = compilationMillis() - compiling;
                    progress("   %d jobs: all submitted after %.2f s, all terminal after %.2f s (%.0f/s), the JIT compiled"
                            + " for %s; %s", jobs, run.submitSeconds, run.seconds, jobs / run.seconds,
                            compiling < 0 ? "an unknown time" : compiled + " ms", run.cpu);
                    progress("   %s", run.perJob);
                    rounds.add(run);
                }
                rounds.sort(Comparator.comparingDouble(TrivialRun::seconds));
                TrivialRun median = rounds.get(rounds.size() / 2); // of an even number, the slower middle one
                figure("jobs_per_s", jobs / median.seconds, "1/s");
                figure("jobs_per_s_slowest_round", jobs / rounds.get(rounds.size() - 1).seconds, "1/s");
                // Steady whatever others take of the machine, unlike the rate: compare these between runs.
                figure("jobs_jvm_cpu_ms_per_job", median.perJob.jvmMs(), "ms");
                figure("jobs_process_cpu_ms_per_job", median.perJob.processesMs(), "ms");
                ProcessFloor.measure(ws.dir, jobs).ifPresent(floor -> {
                    figure("process_floor_ms_per_run", floor, "ms");
                    progress("   the jobs' processes cost %.2f times this minute's floor", median.perJob.processesMs()
                            / floor);
                });
            }
        }
    }

    private record TrivialRun(double submitSeconds, double seconds, String cpu, ProcessCpu.PerUnit perJob) {
    }

    /**
     * Submits {@code n} trivial jobs in {@code submitAll} batches of {@link #SUBMIT_BATCH}, so that the figure is
     * about running jobs rather than about one thread's submit latency, and waits for the terminal event of each.
     *
     * @throws BenchmarkFailure when one did not succeed, or not all ended within {@link #WAIT_LIMIT}
     */
    private TrivialRun runTrivialJobs(SkyPort sky, int n, Map<JobId, JobTransitioned> ends,
                                      AtomicReference<CountDownLatch> pending) throws InterruptedException {
        CountDownLatch allEnded = new CountDownLatch(n);
        pending.set(allEnded);
        List<JobId> ids = new ArrayList<>(n);
        CpuUse cpu = CpuUse.now();
        ProcessCpu processCpu = ProcessCpu.now();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i += SUBMIT_BATCH) {
            for (Job job : sky.jobs().submitAll(Collections.nCopies(Math.min(SUBMIT_BATCH, n - i), TRIVIAL))) {
                ids.add(job.id());
            }
        }
        long submitted = System.nanoTime();
        if (!allEnded.await(WAIT_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new BenchmarkFailure(allEnded.getCount() + " of " + n + " trivial jobs had not ended after "
                    + WAIT_LIMIT.toSeconds() + " s", null);
        }
        long t1 = System.nanoTime();
        String cpuUse = cpu.sinceWithJobs();
        ProcessCpu.PerUnit perJob = processCpu.perUnitSince(n);
        List<String> bad = new ArrayList<>();
        for (JobId id : ids) {
            JobTransitioned end = ends.get(id);
            if (end == null || end.to() != JobState.SUCCEEDED) {
                bad.add(id + " " + (end == null ? "no terminal event" : end.to() + " (" + end.details() + ")"));
            }
        }
        if (!bad.isEmpty()) {
            throw new BenchmarkFailure(bad.size() + " of " + n + " trivial jobs did not succeed, e.g. " + bad.get(0)
                    + "; stderr: " + sky.jobs().stderr(JobId.parse(bad.get(0).substring(0, 36))).strip(), null);
        }
        return new TrivialRun(seconds(submitted - t0), seconds(t1 - t0), cpuUse, perJob);
    }

    // ------------------------------------------------------------------ 3. latency

    private void latency() throws Exception {
        int warmup = quick ? 10 : 50;
        int samples = quick ? 50 : 300;
        try (Workspace ws = new Workspace("latency")) {
            SkyPort sky = ws.start(Runtime.getRuntime().availableProcessors());
            Map<JobId, Long> runningAt = new ConcurrentHashMap<>();
            BlockingQueue<JobTransitioned> ended = new LinkedBlockingQueue<>();
            try (Subscription ignored = sky.events().subscribe(event -> {
                long now = System.nanoTime();
                if (event instanceof JobTransitioned t) {
                    if (t.to() == JobState.RUNNING) {
                        runningAt.putIfAbsent(t.jobId(), now);
                    } else if (t.to().isTerminal()) {
                        ended.add(t);
                    }
                }
            })) {
                Latencies toRunning = new Latencies(samples);
                Latencies toDurable = new Latencies(samples);
                Latencies toEnd = new Latencies(samples);
                for (int i = 0; i < warmup + samples; i++) {
                    long t0 = System.nanoTime();
                    JobId id = sky.jobs().submit(TRIVIAL).id();
                    long returned = System.nanoTime();
                    JobTransitioned end = ended.poll(WAIT_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
                    long t1 = System.nanoTime();
                    if (end == null || !end.jobId().equals(id)) {
                        throw new BenchmarkFailure("job " + id + " did not end in time (got " + end + ")", null);
                    }
                    if (end.to() != JobState.SUCCEEDED) {
                        throw new BenchmarkFailure("job " + id + " ended " + end.to() + ": " + end.details(), null);
                    }
                    Long running = runningAt.remove(id);
                    if (running == null) {
                        throw new BenchmarkFailure("no RUNNING event for job " + id, null);
                    }
                    if (i >= warmup) {
                        toRunning.add(running - t0);
                        toDurable.add(returned - t0);
                        toEnd.add(t1 - t0);
                    }
                }
                progress("   %d samples; submit returns (durable) p50 %.2f ms p99 %.2f ms; terminal event p50 %.2f ms",
                        samples, toDurable.percentileMs(50), toDurable.percentileMs(99), toEnd.percentileMs(50));
                progress("   submit->RUNNING min %.2f, p50 %.2f, p90 %.2f, p99 %.2f, max %.2f ms",
                        toRunning.percentileMs(0), toRunning.percentileMs(50), toRunning.percentileMs(90),
                        toRunning.percentileMs(99), toRunning.percentileMs(100));
                figure("submit_to_running_p50_ms", toRunning.percentileMs(50), "ms");
                figure("submit_to_running_p99_ms", toRunning.percentileMs(99), "ms");
            }
        }
    }

    // ------------------------------------------------------------------ 4. heap

    private void heap() throws Exception {
        int jobs = quick ? 10_000 : 100_000;
        // A throw-away engine first, so that classes, serialiser caches and the JIT are in place before the baseline.
        try (Workspace ws = new Workspace("heap-warmup")) {
            SkyPort sky = ws.start(1);
            ws.block();
            queueJobs(sky, Math.min(jobs, 20_000));
        }
        try (Workspace ws = new Workspace("heap")) {
            SkyPort sky = ws.start(1);
            ws.block();
            long baseline = heapUsedAfterGc();
            long t0 = System.nanoTime();
            queueJobs(sky, jobs);
            progress("   queued %d jobs with submitAll(1000) in %.2f s", jobs, seconds(System.nanoTime() - t0));
            long loaded = heapUsedAfterGc();
            double perJob = (double) (loaded - baseline) / jobs;
            progress("   heap after GC: baseline %.1f MB (includes the host JVM, e.g. Maven's, under exec:java), "
                    + "with %d queued %.1f MB: %.0f bytes per queued job", mb(baseline), jobs, mb(loaded), perJob);
            String size = sizeName(jobs);
            figure("heap_queued_" + size + "_mb", mb(loaded - baseline), "MB");
            figure("heap_used_total_" + size + "_mb", mb(loaded), "MB");
            figure("heap_baseline_mb", mb(baseline), "MB");
        }
    }

    /** Queues {@code n} trivial jobs in batches of 1000 and keeps none of the returned snapshots. */
    private static void queueJobs(SkyPort sky, int n) {
        for (int i = 0; i < n; i += 1000) {
            sky.jobs().submitAll(Collections.nCopies(Math.min(1000, n - i), TRIVIAL));
        }
    }

    private static long heapUsedAfterGc() throws InterruptedException {
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(200);
            // The engine's threads allocate a little even when idle (the store writer polls): keep the lowest.
            least = Math.min(least, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    // ------------------------------------------------------------------ 5. restart

    private void restart() throws Exception {
        int queued = quick ? 10_000 : 100_000;
        int canceled = queued / 100;
        int measured = quick ? 1 : 3;
        try (Workspace ws = new Workspace("restart")) {
            SkyPort sky = ws.start(1);
            ws.block();
            long t0 = System.nanoTime();
            List<JobId> toCancel = new ArrayList<>(canceled);
            int total = queued + canceled;
            int every = total / canceled;
            for (int i = 0; i < total; i += 1000) {
                List<Job> batch = sky.jobs().submitAll(Collections.nCopies(Math.min(1000, total - i), TRIVIAL));
                for (int j = 0; j < batch.size(); j++) {
                    if ((i + j) % every == 0 && toCancel.size() < canceled) {
                        toCancel.add(batch.get(j).id());
                    }
                }
            }
            long t1 = System.nanoTime();
            cancelAll(sky, toCancel);
            long t2 = System.nanoTime();
            progress("   stored %d jobs in %.2f s, canceled %d of them in %.2f s; plus the running blocker", total,
                    seconds(t1 - t0), canceled, seconds(t2 - t1));
            ws.stop();

            List<Double> times = new ArrayList<>();
            for (int i = 0; i <= measured; i++) {
                long s0 = System.nanoTime();
                SkyPort again = ws.start(1);
                Page<Job> first = again.jobs().list(JobQuery.inStates(JobState.QUEUED).withLimit(100));
                long s1 = System.nanoTime();
                if (first.items().isEmpty()) {
                    throw new BenchmarkFailure("the restarted engine lists no queued job", null);
                }
                double ms = (s1 - s0) / 1e6;
                progress("   %s: start + first page %.0f ms", i == 0 ? "warm-up restart" : "restart " + i, ms);
                if (i > 0) {
                    times.add(ms);
                }
                if (i == measured) {
                    long l0 = System.nanoTime();
                    long relisted = countQueued(again);
                    long l1 = System.nanoTime();
                    progress("   re-listed %d queued jobs (expected %d) in %.0f ms with pages of %d", relisted, queued,
                            (l1 - l0) / 1e6, JobQuery.MAX_LIMIT);
                    if (relisted != queued) {
                        progress("   WARNING: %d queued jobs were stored but %d are listed after the restart", queued,
                                relisted);
                    }
                    ws.checkBlocker();
                    Collections.sort(times);
                    String size = sizeName(queued);
                    figure("restart_ms", times.get(times.size() / 2), "ms");
                    figure("restart_queued_relisted_" + size, relisted, "jobs");
                } else {
                    ws.stop();
                }
            }
        }
    }

    private static void cancelAll(SkyPort sky, List<JobId> ids) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(SUBMIT_THREADS);
        try {
            List<Future<Job>> results = new ArrayList<>();
            for (JobId id : ids) {
                results.add(pool.submit(() -> sky.jobs().cancel(id)));
            }
            for (Future<Job> f : results) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    private static long countQueued(SkyPort sky) {
        long n = 0;
        JobQuery query = JobQuery.inStates(JobState.QUEUED).withLimit(JobQuery.MAX_LIMIT);
        while (true) {
            Page<Job> page = sky.jobs().list(query);
            n += page.items().size();
            if (page.nextPageToken().isEmpty()) {
                return n;
            }
            query = query.after(page);
        }
    }

    // ------------------------------------------------------------------ probes of the machine

    /**
     * What one durable commit costs on this disk, without the engine: a 4 KiB write in place plus fdatasync (a WAL
     * commit at {@code synchronous=FULL} is a few such pages and one sync), and a one-row SQLite transaction with the
     * store's pragmas.
     */
    private void fsync() throws Exception {
        int n = quick ? 200 : 1000;
        try (Workspace ws = new Workspace("fsync")) {
            Latencies sync = new Latencies(n);
            Path file = ws.dir.resolve("probe");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                int pages = 64;
                ch.write(ByteBuffer.allocate(4096 * pages));
                ch.force(true);
                ByteBuffer page = ByteBuffer.allocateDirect(4096);
                for (int i = 0; i < n + n / 10; i++) {
                    page.clear();
                    long t0 = System.nanoTime();
                    ch.write(page, (long) (i % pages) * 4096);
                    ch.force(false);
                    if (i >= n / 10) {
                        sync.add(System.nanoTime() - t0);
                    }
                }
            }
            progress("   4 KiB write in place + fdatasync: p50 %.3f ms, p99 %.3f ms", sync.percentileMs(50),
                    sync.percentileMs(99));
            figure("fsync_p50_ms", sync.percentileMs(50), "ms");
            figure("fsync_per_s", 1000 / sync.meanMs(), "1/s");

            Latencies commit = new Latencies(n);
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + ws.dir.resolve("probe.db"))) {
                try (Statement s = c.createStatement()) {
                    s.execute("PRAGMA journal_mode=WAL");
                    s.execute("PRAGMA synchronous=FULL");
                    s.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID");
                }
                c.setAutoCommit(false);
                String body = "x".repeat(1200); // about the size of a trivial job's JSON
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (?, ?)")) {
                    for (int i = 0; i < n + n / 10; i++) {
                        long t0 = System.nanoTime();
                        ps.setString(1, UUID.randomUUID().toString());
                        ps.setString(2, body);
                        ps.executeUpdate();
                        c.commit();
                        if (i >= n / 10) {
                            commit.add(System.nanoTime() - t0);
                        }
                    }
                }
            } catch (SQLException e) {
                throw new BenchmarkFailure("SQLite probe failed: " + e.getMessage(), e);
            }
            progress("   one-row SQLite commit (WAL, synchronous=FULL): p50 %.3f ms, p99 %.3f ms",
                    commit.percentileMs(50), commit.percentileMs(99));
            figure("sqlite_commit_p50_ms", commit.percentileMs(50), "ms");
            figure("sqlite_commits_per_s", 1000 / commit.meanMs(), "1/s");
        }
    }

    /** What starting a process costs here: {@code true} alone, and {@code true} under the local gate's wrapper. */
    private void spawn() throws Exception {
        int n = quick ? 100 : 500;
        try (Workspace ws = new Workspace("spawn")) {
            Latencies bare = new Latencies(n);
            for (int i = 0; i < n + n / 10; i++) {
                long t0 = System.nanoTime();
                Process p = new ProcessBuilder("true").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                p.waitFor();
                if (i >= n / 10) {
                    bare.add(System.nanoTime() - t0);
                }
            }
            progress("   start+wait 'true': p50 %.2f ms", bare.percentileMs(50));
            figure("spawn_true_ms", bare.percentileMs(50), "ms");

            Latencies wrapped = new Latencies(n);
            for (int i = 0; i < n + n / 10; i++) {
                long t0 = System.nanoTime();
                wrapped(ws.dir, i).waitFor();
                if (i >= n / 10) {
                    wrapped.add(System.nanoTime() - t0);
                }
            }
            progress("   start+wait the local gate's wrapper around 'true': p50 %.2f ms", wrapped.percentileMs(50));
            figure("spawn_wrapped_ms", wrapped.percentileMs(50), "ms");

            // As the engine's 16 workers do: many starts at once, each waited for.
            int threads = 16;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                long t0 = System.nanoTime();
                List<Future<Integer>> all = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    int k = 1_000_000 + i;
                    all.add(pool.submit(() -> wrapped(ws.dir, k).waitFor()));
                }
                for (Future<Integer> f : all) {
                    f.get();
                }
                double s = seconds(System.nanoTime() - t0);
                progress("   %d wrapped runs from %d threads: %.0f/s", n, threads, n / s);
                figure("spawn_wrapped_parallel_per_s", n / s, "1/s");
            } finally {
                pool.shutdown();
            }
        }
    }

    /** Starts {@code true} exactly as the local gate does: job directory, run directory, the detached wrapper. */
    private static Process wrapped(Path root, int i) throws IOException {
        Path dir = root.resolve("job-" + i);
        RunRequest request = new RunRequest(new JobId(UUID.randomUUID()), 1, dir.toString(), Optional.empty(),
                List.of("true"), dir.toString(), Map.of());
        Files.createDirectories(Path.of(request.runDirectory()));
        return new ProcessBuilder(DetachedRun.command(request, DetachedRun.program(request)))
                .directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    // ------------------------------------------------------------------ plumbing

    /**
     * A temporary data directory and the engine over it. {@link #block()} fills the node with a {@code sleep} job so
     * that everything submitted afterwards stays queued; {@link #close()} cancels it, closes the engine and deletes
     * the directory.
     */
    private final class Workspace implements AutoCloseable {
        final Path dir;
        private SkyPort sky;
        private JobId blocker;

        Workspace(String scenario) throws IOException {
            this.dir = Files.createTempDirectory(parentDir, "skyport-bench-" + scenario + "-");
        }

        SkyPort start(int cpus) {
            if (sky != null) {
                throw new IllegalStateException("an engine is running over " + dir);
            }
            // One user submits every job: the per-user bounds must not cut the run short.
            sky = SkyPort.embedded().dataDir(dir).localCpus(cpus).owner("bench").jobIsolation(isolation)
                    .limits(Limits.defaults().withMaxActiveJobsPerUser(1_000_000).withMaxStoredBytesPerUser(1L << 40))
                    .start();
            return sky;
        }

        /** Closes the engine cleanly; a running blocker goes on and is re-attached by the next {@link #start}. */
        void stop() {
            if (sky != null) {
                sky.close();
                sky = null;
            }
        }

        void block() throws InterruptedException {
            int cpus = sky.nodes().stream().mapToInt(n -> n.cpus()).max().orElseThrow();
            JobSpec spec = JobSpec.builder().name("bench-blocker").command(List.of("sleep", "3600")).cpus(cpus).build();
            blocker = sky.jobs().submit(spec).id();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            JobState state;
            while ((state = sky.jobs().get(blocker).state()) != JobState.RUNNING) {
                if (state.isTerminal() || System.nanoTime() > deadline) {
                    throw new BenchmarkFailure("the blocker job is " + state + ", not RUNNING", null);
                }
                Thread.sleep(5);
            }
        }

        /**
         * Warns when the blocker did not stay in its first run through the restarts: then the engine lost track of
         * it, and queued jobs may have run while the restarts were measured.
         */
        void checkBlocker() {
            List<JobTransitioned> history = sky.events().history(blocker);
            JobTransitioned last = history.get(history.size() - 1);
            if (last.to() != JobState.RUNNING || history.size() != 2) {
                progress("   WARNING: the blocker job made %d transition(s) after it started, the last to %s (%s); "
                        + "queued jobs may have run during the restarts", history.size() - 2, last.to(), last.details());
            }
        }

        @Override
        public void close() {
            try {
                if (sky != null && blocker != null) {
                    try {
                        sky.jobs().cancel(blocker);
                    } catch (IllegalJobStateException alreadyEnded) {
                        // nothing to stop
                    }
                }
                stop();
                if (blocker != null) {
                    killLeftovers(dir.resolve("jobs").resolve(blocker.toString()));
                }
            } finally {
                deleteTree(dir);
            }
        }
    }

    /**
     * Kills the process group of every run of a job directory that still lives once its engine is closed, so that a
     * blocker the engine lost track of does not sleep on for an hour. The pid files follow {@link DetachedRun}.
     */
    private static void killLeftovers(Path jobDir) {
        try (Stream<Path> runs = Files.list(jobDir)) {
            for (Path run : runs.filter(r -> DetachedRun.isRunDirectoryName(r.getFileName().toString())).toList()) {
                Path pidFile = run.resolve("pid");
                if (!Files.exists(pidFile)) {
                    continue;
                }
                long pid = Long.parseLong(Files.readString(pidFile).trim());
                boolean ours = ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                        .flatMap(p -> p.info().commandLine()).map(c -> c.contains(jobDir.toString())).orElse(false);
                if (ours) {
                    progress("   killing process group %d of %s, still running after its engine closed", pid, run);
                    new ProcessBuilder("kill", "-KILL", "--", "-" + pid).redirectErrorStream(true)
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (IOException | RuntimeException e) {
            progress("   could not check %s for leftover processes: %s", jobDir, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            progress("   could not delete %s entirely: %s", root, e.getMessage());
        }
    }

    /** Durations in nanoseconds, up to a fixed count (later ones are dropped). */
    private static final class Latencies {
        private long[] values;
        private int size;

        Latencies(int capacity) {
            values = new long[capacity];
        }

        void add(long nanos) {
            if (size < values.length) {
                values[size++] = nanos;
            }
        }

        static Latencies merge(Latencies[] parts) {
            Latencies all = new Latencies(Arrays.stream(parts).mapToInt(p -> p.size).sum());
            for (Latencies p : parts) {
                System.arraycopy(p.values, 0, all.values, all.size, p.size);
                all.size += p.size;
            }
            return all;
        }

        /** Nearest-rank percentile; 0 is the minimum, 100 the maximum. */
        double percentileMs(double pct) {
            if (size == 0) {
                return Double.NaN;
            }
            long[] sorted = Arrays.copyOf(values, size);
            Arrays.sort(sorted);
            int rank = (int) Math.ceil(pct / 100 * size);
            return sorted[Math.max(0, Math.min(size - 1, rank - 1))] / 1e6;
        }

        double meanMs() {
            return size == 0 ? Double.NaN : Arrays.stream(values, 0, size).average().orElseThrow() / 1e6;
        }
    }

    /** A scenario could not produce its figure; the message says why. */
    private static final class BenchmarkFailure extends RuntimeException {
        BenchmarkFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static void figure(String name, double value, String unit) {
        String text;
        if (value == Math.rint(value) || Math.abs(value) >= 100) {
            text = String.format(Locale.ROOT, "%.0f", value);
        } else if (Math.abs(value) >= 10) {
            text = String.format(Locale.ROOT, "%.1f", value);
        } else {
            text = String.format(Locale.ROOT, "%.2f", value);
        }
        System.out.println("figure " + name + " " + text + " " + unit);
        System.out.flush();
    }

    private static void progress(String format, Object... args) {
        System.err.println(String.format(Locale.ROOT, format, args));
    }

    private static String sizeName(int n) {
        return n % 1000 == 0 ? n / 1000 + "k" : Integer.toString(n);
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static double mb(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }
}
