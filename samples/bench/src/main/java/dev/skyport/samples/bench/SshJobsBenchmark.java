package dev.skyport.samples.bench;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.SkyPort;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Trivial jobs end to end on one node of the {@code ssh} gate: an embedded engine, through the public builder only,
 * whose one node is OpenSSH's {@code sshd} on loopback. A job is launched over SSH, followed by polling, and its logs
 * come back by SFTP, so the figure is what the SSH round trips cost per job, not what {@code true} costs. Prints
 * {@code figure ssh_jobs_per_s} (a burst of jobs, submit to the last terminal state) and the single-job latency.
 *
 * <p>Run: {@code mvn -B -q -DskipTests -pl samples/bench -am package exec:java
 * -Dsample=dev.skyport.samples.bench.SshJobsBenchmark [-Dexec.args="--jobs 200"]}
 */
public final class SshJobsBenchmark {
    private static final Duration WAIT_LIMIT = Duration.ofMinutes(10);

    private SshJobsBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int jobs = 200;
        int latencySamples = 30;
        int cpus = 4;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--jobs" -> jobs = Integer.parseInt(args[++i]);
                case "--latency-samples" -> latencySamples = Integer.parseInt(args[++i]);
                case "--cpus" -> cpus = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (known: --jobs N, --latency-samples N, --cpus N)");
            }
        }
        Path dir = Files.createTempDirectory("skyport-ssh-jobs-bench");
        try (LoopbackSshd sshd = LoopbackSshd.start(dir);
             SkyPort sky = SkyPort.embedded().dataDir(dir.resolve("data")).owner("bench").gate("ssh")
                     .gateOption("nodes", "n1")
                     .gateOption("node.n1.host", "127.0.0.1")
                     .gateOption("node.n1.port", Integer.toString(sshd.port))
                     .gateOption("node.n1.cpus", Integer.toString(cpus))
                     .gateOption("node.n1.memory", "4G")
                     .gateOption("user", System.getProperty("user.name"))
                     .gateOption("key", sshd.clientKey().toString())
                     .gateOption("known-hosts", sshd.knownHosts().toString())
                     .gateOption("remote-root", dir.resolve("remote").toString())
                     .gateOption("health-interval", "1s")
                     .start()) {
            awaitUp(sky);
            JobSpec trivial = JobSpec.builder().name("bench-true").command(List.of("true")).build();

            double[] latencies = new double[latencySamples];
            for (int i = -5; i < latencySamples; i++) {
                long t0 = System.nanoTime();
                Job end = sky.jobs().onTerminal(sky.jobs().submit(trivial).id())
                        .get(WAIT_LIMIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                check(end);
                if (i >= 0) {
                    latencies[i] = (System.nanoTime() - t0) / 1e6;
                }
            }
            Arrays.sort(latencies);

            List<JobId> ids = new ArrayList<>(jobs);
            long t0 = System.nanoTime();
            for (int i = 0; i < jobs; i++) {
                ids.add(sky.jobs().submit(trivial).id());
            }
            List<Job> ended = sky.jobs().awaitAll(ids, WAIT_LIMIT);
            double seconds = (System.nanoTime() - t0) / 1e9;
            ended.forEach(SshJobsBenchmark::check);
            System.err.printf(Locale.ROOT, "%d jobs on one ssh node with %d cpus in %.2f s%n", jobs, cpus, seconds);
            figure("ssh_jobs_per_s", jobs / seconds);
            figure("ssh_job_latency_ms_p50", latencies[latencies.length / 2]);
            figure("ssh_job_latency_ms_p90", latencies[(int) (latencies.length * 0.9)]);
        } finally {
            deleteTree(dir);
        }
    }

    private static void awaitUp(SkyPort sky) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < end) {
            for (Node n : sky.nodes()) {
                if (n.state() == NodeState.UP) {
                    return;
                }
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the ssh node did not come UP: " + sky.nodes());
    }

    private static void check(Job job) {
        if (job.state() != JobState.SUCCEEDED) {
            throw new IllegalStateException("job " + job.id() + " ended " + job.state() + ": " + job.stateDetails());
        }
    }

    private static void figure(String name, double value) {
        System.out.printf(Locale.ROOT, "figure %s %.2f%n", name, value);
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
