package dev.skyport.samples.bench;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import dev.skyport.samples.bench.BenchFigures.CpuUse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.skyport.samples.bench.BenchFigures.deleteTree;
import static dev.skyport.samples.bench.BenchFigures.figure;
import static dev.skyport.samples.bench.BenchFigures.pct;

/**
 * Sky Port in front of a real Slurm: an embedded engine with batch site {@code hpc} (the slurm gate over slurmrestd,
 * signing its own JWTs) against {@link SlurmCluster} (slurmctld, two slurmd of 2 cpus, slurmrestd v0.0.38, all on
 * loopback, started by this harness and stopped at its end).
 *
 * <ul>
 *   <li>{@code figure slurm_submits_per_s}: 1,000 trivial jobs ({@code true}) naming {@code hpc} are submitted at once
 *   from one thread; the figure is 1,000 / the time from the first submit until every job has been handed to Slurm,
 *   that is until each has entered PROVISIONING (slurmrestd answered the submit with its job id and the engine has
 *   stored that id). Each job's way there: store, stage its script into its directory on the shared file system, one
 *   {@code POST /job/submit}. The number of Slurm jobs with Sky Port's tags is counted with squeue afterwards and
 *   printed (it must be the number submitted). Slurm runs them meanwhile, four at a time; that is not timed.</li>
 *   <li>{@code figure slurm_overhead_ms}: Sky Port's added latency per job over {@code sbatch} alone. The same trivial
 *   job, one at a time, N times each way on the same (otherwise idle) cluster: {@code sbatch --parsable} as root then
 *   squeue every 20 ms until the job left the queue (submit-to-done with Slurm alone), and {@code submit} to the
 *   engine then {@code await} SUCCEEDED (submit-to-done through Sky Port: store, staging, REST submit, the engine's
 *   status polls every {@code poll-interval}, 100 ms here, staging out the logs). Median and p90 of each, and the
 *   difference of the medians and of the p90s as the figure (p50 is the figure, p90 beside it).</li>
 * </ul>
 *
 * <p>Needs root (slurmd does) and Debian's {@code slurm-wlm slurmrestd munge}. It lives with the tests because
 * SlurmCluster is in the slurm gate's test-jar. Run:
 * {@code mvn -B -q -DskipTests -pl samples/bench -am package exec:java -Dexec.classpathScope=test
 * -Dsample=dev.skyport.samples.bench.SlurmBenchmark [-Dbench.jobs=1000 -Dbench.serial=30]}
 * ({@code --jobs N --serial N} as arguments with {@code java -cp}; 0 skips that part)
 */
public final class SlurmBenchmark {
    private static final Duration WAIT = Duration.ofMinutes(10);

    private SlurmBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int jobs = Integer.getInteger("bench.jobs", 1000);
        int serial = Integer.getInteger("bench.serial", 30);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--jobs" -> jobs = Integer.parseInt(args[++i]);
                case "--serial" -> serial = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (known: --jobs N, --serial N; 0 skips that part)");
            }
        }
        Path dir = Files.createTempDirectory("skyport-slurm-bench");
        try (SlurmCluster cluster = SlurmCluster.start()) {
            if (serial > 0) {
                overhead(cluster, dir.resolve("serial"), serial);
            }
            if (jobs > 0) {
                submits(cluster, dir.resolve("burst"), jobs);
            }
        } finally {
            deleteTree(dir);
        }
        System.exit(0);
    }

    private static SkyPort engine(SlurmCluster cluster, Path data, String pollInterval) {
        Map<String, String> o = cluster.restGateOptions();
        o.put("poll-interval", pollInterval);
        return SkyPort.embedded().dataDir(data).localCpus(1).batchSite("hpc", "slurm", o).start();
    }

    private static JobSpec trivial() {
        return JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.none()).script("#!/bin/sh\ntrue\n")
                .build();
    }

    private static void submits(SlurmCluster cluster, Path data, int n) throws Exception {
        try (SkyPort sky = engine(cluster, data, "1s")) {
            Set<JobId> handed = ConcurrentHashMap.newKeySet();
            CountDownLatch all = new CountDownLatch(n);
            sky.events().subscribe(e -> {
                if (e instanceof JobTransitioned t && (t.to() == JobState.PROVISIONING || t.to().isTerminal())
                        && handed.add(t.jobId())) {
                    all.countDown();
                }
            });
            CpuUse cpu = CpuUse.now();
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                sky.jobs().submit(trivial());
            }
            long acked = System.nanoTime();
            if (!all.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("only " + handed.size() + " of " + n + " jobs reached Slurm");
            }
            long end = System.nanoTime();
            String use = cpu.since("others (Slurm, its jobs, other programs)");
            long atSlurm = cluster.run("squeue", "-h", "-a", "-t", "all", "-o", "%k").lines()
                    .filter(l -> l.trim().startsWith("skyport:")).count();
            long failed = sky.jobs().list(dev.skyport.api.JobQuery.inStates(JobState.FAILED)).items().size();
            System.err.printf(Locale.ROOT, "%d jobs: all acknowledged after %.0f ms, all handed to Slurm after %.0f ms;"
                            + " Slurm jobs tagged by Sky Port: %d; failed: %d; %s%n", n, (acked - start) / 1e6,
                    (end - start) / 1e6, atSlurm, failed, use);
            figure("slurm_submits_per_s", n / ((end - start) / 1e9), "jobs/s");
        }
    }

    private static void overhead(SlurmCluster cluster, Path data, int n) throws Exception {
        long[] slurm = new long[n];
        long[] skyport = new long[n];
        Path out = Files.createDirectories(cluster.workRoot().resolve("sbatch"));
        // one of each first: the first sbatch and the engine's first submit pay for warm-up
        sbatchToDone(cluster, out);
        try (SkyPort sky = engine(cluster, data, "100ms")) {
            skyPortToDone(sky);
            CpuUse cpu = CpuUse.now();
            for (int i = 0; i < n; i++) {
                slurm[i] = sbatchToDone(cluster, out);
                skyport[i] = skyPortToDone(sky);
            }
            String use = cpu.since("others (Slurm, its jobs, other programs)");
            System.err.printf(Locale.ROOT, "%d jobs each way, one at a time: sbatch p50 %.0f ms p90 %.0f ms; Sky Port"
                            + " p50 %.0f ms p90 %.0f ms; %s%n", n, pct(slurm, 50), pct(slurm, 90), pct(skyport, 50),
                    pct(skyport, 90), use);
            figure("slurm_overhead_ms", pct(skyport, 50) - pct(slurm, 50), "ms (p50; p90 "
                    + String.format(Locale.ROOT, "%.0f", pct(skyport, 90) - pct(slurm, 90)) + " ms)");
        }
    }

    /** Nanoseconds from {@code sbatch} to the job's leaving squeue's running and pending states. */
    private static long sbatchToDone(SlurmCluster cluster, Path out) throws InterruptedException {
        long start = System.nanoTime();
        String id = cluster.run("sbatch", "--parsable", "-o", out.resolve("%j.out").toString(), "-D", out.toString(),
                "--wrap", "true").trim();
        long deadline = start + WAIT.toNanos();
        while (!cluster.run("squeue", "-h", "-j", id, "-t", "PENDING,RUNNING,COMPLETING,CONFIGURING", "-o", "%i")
                .isBlank()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("sbatch job " + id + " did not end");
            }
            Thread.sleep(20);
        }
        return System.nanoTime() - start;
    }

    private static long skyPortToDone(SkyPort sky) throws InterruptedException {
        long start = System.nanoTime();
        Job job = sky.jobs().submit(trivial());
        Job done = sky.jobs().await(job.id(), WAIT);
        if (done.state() != JobState.SUCCEEDED) {
            throw new IllegalStateException("job " + job.id() + " ended " + done.state() + ": " + done.stateDetails());
        }
        return System.nanoTime() - start;
    }
}
