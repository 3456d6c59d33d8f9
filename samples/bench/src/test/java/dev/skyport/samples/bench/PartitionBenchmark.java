package dev.skyport.samples.bench;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.PartitionPolicy;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.gate.azure.FakeAzure;
import dev.skyport.samples.bench.BenchFigures.CpuUse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static dev.skyport.samples.bench.BenchFigures.deleteTree;
import static dev.skyport.samples.bench.BenchFigures.figure;
import static dev.skyport.samples.bench.BenchFigures.pct;

/**
 * The engine's cost per cloud partition: an embedded engine with the local gate and {@code cloudGate("azure")} (the
 * real Azure gate, through AzureGateProvider) against {@link FakeAzure}, a fake Resource Manager with zero latency
 * whose partition heads are real MINA SSH servers on loopback addresses with the host keys the gate generated.
 *
 * <ul>
 *   <li>{@code figure partition_overhead_ms}: the median wall time of one partition lifecycle, from the submit of a
 *   job running {@code true} on its own partition to the later of the job's end and its resource group's deletion;
 *   jobs one after another (default 30 after 5 warm-up), with p50/p95 and a breakdown from the fake's timeline
 *   (keys + scheduling up to the group's PUT, the gate's creation calls, SSH ready, staging + run, delete). The fake
 *   answers at once and the SDK's polling delay is 1 ms (set by the fake, global to the JVM), so this is the engine's
 *   and the gate's own cost, not Azure's minutes.</li>
 *   <li>{@code figure partitions_in_flight}: the peak of concurrent partition creations when 100 jobs, each needing its
 *   own partition, are submitted at once, counted in the fake as VM PUTs waiting together (they are held until 100
 *   wait or 20 s passed).</li>
 * </ul>
 *
 * <p>It lives with the tests because FakeAzure is in the Azure gate's test-jar. Run:
 * {@code mvn -B -q -DskipTests -pl samples/bench -am package exec:java -Dexec.classpathScope=test
 * -Dsample=dev.skyport.samples.bench.PartitionBenchmark [-Dbench.jobs=30 -Dbench.warmup=5 -Dbench.burst=100]}
 * ({@code --jobs N --warmup N --burst N} as arguments with {@code java -cp}; a burst of 0 skips it)
 */
public final class PartitionBenchmark {
    private static final Duration WAIT = Duration.ofMinutes(5);

    private PartitionBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        // also as -Dbench.jobs=N etc.: with -pl ... -am, -Dexec.args would reach the daemon's completion-script too
        int jobs = Integer.getInteger("bench.jobs", 30);
        int warmup = Integer.getInteger("bench.warmup", 5);
        int burst = Integer.getInteger("bench.burst", 100);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--jobs" -> jobs = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--burst" -> burst = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (known: --jobs N, --warmup N, --burst N, 0 skips the burst)");
            }
        }
        System.err.printf(Locale.ROOT, "rsa 3072 key generation here: %.0f ms (median of 3)%n", rsaMillis());
        Path dir = Files.createTempDirectory("skyport-partition-bench");
        try {
            lifecycles(dir.resolve("seq"), jobs, warmup);
            if (burst > 0) {
                inFlight(dir.resolve("burst"), burst);
            }
        } finally {
            deleteTree(dir);
        }
        // the engine's and SSHD's non-daemon threads are closed; the SDK's reactor threads are not ours to stop
        System.exit(0);
    }

    private static void lifecycles(Path dir, int jobs, int warmup) throws Exception {
        try (FakeAzure azure = FakeAzure.start(Files.createDirectories(dir.resolve("homes"))).install();
             SkyPort sky = engine(dir, azure)) {
            long[] total = new long[jobs];
            long[][] parts = new long[5][jobs];
            long[][] states = new long[4][jobs]; // time in PROVISIONING, STAGING_IN, RUNNING, STAGING_OUT
            CpuUse cpu = null;
            for (int i = 0; i < warmup + jobs; i++) {
                if (i == warmup) {
                    cpu = CpuUse.now();
                }
                azure.forgetTimelines();
                long start = System.nanoTime();
                Job job = sky.jobs().submit(job().build());
                Job done = sky.jobs().await(job.id(), WAIT);
                if (done.state() != JobState.SUCCEEDED) {
                    throw new IllegalStateException("job " + job.id() + " ended " + done.state() + ": "
                            + done.stateDetails());
                }
                while (!azure.groupNames().isEmpty()) {
                    Thread.onSpinWait();
                    if (System.nanoTime() - start > WAIT.toNanos()) {
                        throw new IllegalStateException("the group of job " + job.id() + " was not deleted");
                    }
                }
                long end = System.nanoTime();
                if (i >= warmup) {
                    int k = i - warmup;
                    total[k] = end - start;
                    FakeAzure.Timeline t = timeline(azure);
                    parts[0][k] = t.groupPut() - start;
                    parts[1][k] = t.lastBeforeSsh() - t.groupPut();
                    parts[2][k] = t.sshSession() - t.lastBeforeSsh();
                    parts[3][k] = t.deleteRequested() - t.sshSession();
                    parts[4][k] = t.deleted() - t.deleteRequested();
                    List<JobTransitioned> h = sky.events().history(job.id());
                    JobState[] order = {JobState.PROVISIONING, JobState.STAGING_IN, JobState.RUNNING,
                            JobState.STAGING_OUT, JobState.SUCCEEDED};
                    for (int s = 0; s < 4; s++) {
                        // a state the job skipped (no files to stage) took no time
                        var from = at(h, order[s]);
                        int next = s + 1;
                        while (next < order.length - 1 && at(h, order[next]).isEmpty()) {
                            next++;
                        }
                        var to = at(h, order[next]);
                        states[s][k] = from.isPresent() && to.isPresent()
                                ? Duration.between(from.get(), to.get()).toNanos() : 0;
                    }
                }
            }
            String[] names = {"keys+scheduling (submit to group PUT)", "create at the gate (group PUT to its last read)",
                    "ssh ready (to the head's first SSH session)", "staging+run (to the group's DELETE)",
                    "delete (DELETE to group gone)"};
            for (int p = 0; p < names.length; p++) {
                System.err.printf(Locale.ROOT, "  %-50s p50 %7.1f ms  p95 %7.1f ms%n", names[p], pct(parts[p], 50),
                        pct(parts[p], 95));
            }
            String[] stateNames = {"in PROVISIONING", "in STAGING_IN", "in RUNNING", "in STAGING_OUT"};
            for (int p = 0; p < stateNames.length; p++) {
                System.err.printf(Locale.ROOT, "  %-50s p50 %7.1f ms  p95 %7.1f ms%n", stateNames[p],
                        pct(states[p], 50), pct(states[p], 95));
            }
            System.err.printf(Locale.ROOT, "%d lifecycles after %d warm-up: p50 %.1f ms, p95 %.1f ms, max %.1f ms; %s%n",
                    jobs, warmup, pct(total, 50), pct(total, 95), pct(total, 100), cpu.sinceWithJobs());
            figure("partition_overhead_ms", pct(total, 50), "ms");
        }
    }

    private static void inFlight(Path dir, int burst) throws Exception {
        try (FakeAzure azure = FakeAzure.start(Files.createDirectories(dir.resolve("homes")), burst + 50).install()
                .holdVmPuts(burst, Duration.ofSeconds(20));
             SkyPort sky = engine(dir, azure)) {
            CpuUse cpu = CpuUse.now();
            long start = System.nanoTime();
            List<JobId> ids = new ArrayList<>();
            for (int i = 0; i < burst; i++) {
                ids.add(sky.jobs().submit(job().build()).id());
            }
            int succeeded = 0;
            for (JobId id : ids) {
                if (sky.jobs().await(id, WAIT).state() == JobState.SUCCEEDED) {
                    succeeded++;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.err.printf(Locale.ROOT, "%d jobs at once: %d succeeded in %.1f s, peak %d VM creations waiting"
                    + " together; %s%n", burst, succeeded, seconds, azure.peakVmPutsHeld(), cpu.sinceWithJobs());
            System.out.println("figure partitions_in_flight " + azure.peakVmPutsHeld());
        }
    }

    private static SkyPort engine(Path dir, FakeAzure azure) {
        var b = SkyPort.embedded().dataDir(dir.resolve("data")).owner("bench").localCpus(2)
                .jobIsolation(JobIsolation.NONE).cloudGate("azure")
                .partitionPolicy(PartitionPolicy.defaults().withReadyTimeout(Duration.ofSeconds(60)));
        azure.options().forEach(b::cloudGateOption);
        return b.start();
    }

    private static JobSpec.Builder job() {
        return JobSpec.builder().script("#!/bin/sh\ntrue\n").flavor(FakeAzure.SIZE).retryPolicy(RetryPolicy.none());
    }

    private static java.util.Optional<java.time.Instant> at(List<JobTransitioned> history, JobState state) {
        return history.stream().filter(e -> e.to() == state).findFirst().map(JobTransitioned::time);
    }

    private static FakeAzure.Timeline timeline(FakeAzure azure) {
        List<String> deleted = azure.deletedGroups();
        return azure.timeline(deleted.get(deleted.size() - 1)).orElseThrow();
    }

    private static double rsaMillis() throws Exception {
        long[] t = new long[3];
        for (int i = 0; i < t.length; i++) {
            long s = System.nanoTime();
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(3072);
            g.generateKeyPair();
            t[i] = System.nanoTime() - s;
        }
        return pct(t, 50);
    }
}
