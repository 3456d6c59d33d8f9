package dev.skyport.samples.bench;

import dev.skyport.api.JobId;
import dev.skyport.api.NodeState;
import dev.skyport.samples.bench.BenchFigures.CpuUse;
import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.NodeMode;
import dev.skyport.scheduler.NodeView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.Scheduler;
import dev.skyport.scheduler.SchedulerProvider;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.UUID;

/**
 * A plain harness for the scheduling algorithms on the {@code mixed} workload (a copy of the team's shared
 * scheduling benchmark in {@code samples/bench/data/mixed}, described in its README): all nodes idle, the whole queue submitted at t = 0 in file order, one pass.
 * Prints one line per case on standard output:
 * {@code sched-bench policy=<p> mode=<m> jobs=<J> nodes=<N> pass_ms=<median> planned=<n> infeasible=<n>
 * makespan_s=<s> mean_wait_s=<s> utilisation=<0..1>}. Pass time is the median of at least {@code --passes} passes
 * and at least half a second of them, after a warm-up of at least a second (a daemon runs passes compiled).
 * Utilisation is requested cpu-time over the cluster's cpu-time up to the makespan. Per size it also prints a
 * {@code sched-ratio} line (mean waits against fcfs and upstream, pass-time speed-ups against upstream's reported
 * 40 ms and 3.3 s) and, for exclusive cases, a {@code sched-gaps} line: the node time left idle between jobs before
 * each node's last job ends, the most backfill could fill. Each case also prints
 * {@code figure sched_<policy>_<mode>_<jobs>_ms <median> ms} and, on standard error, where the machine's cpu went
 * meanwhile (others' share makes figures of a shared machine comparable). Arguments: {@code --data=DIR}
 * (default {@code samples/bench/data/mixed}), {@code --passes=N}, {@code --cases=policy/mode,...} (default all,
 * e.g. {@code --cases=backfill/shared}; the {@code sched-ratio} lines need all).
 */
public final class SchedulerBenchmark {
    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
    private static final long WARM_UP_NANOS = 1_000_000_000L;
    private static final long MEASURE_NANOS = 500_000_000L;

    private SchedulerBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        Path data = defaultData();
        int passes = 9;
        List<String> only = List.of();
        for (String arg : args) {
            if (arg.startsWith("--data=")) {
                data = Path.of(arg.substring("--data=".length()));
            } else if (arg.startsWith("--passes=")) {
                passes = Integer.parseInt(arg.substring("--passes=".length()));
            } else if (arg.startsWith("--cases=")) {
                only = List.of(arg.substring("--cases=".length()).split(","));
            } else {
                throw new IllegalArgumentException("unknown argument " + arg
                        + "; use --data=DIR, --passes=N, --cases=policy/mode,...");
            }
        }
        List<NodeView> allNodes = readNodes(data.resolve("nodes.csv"));
        List<QueuedJob> allJobs = readJobs(data.resolve("jobs.csv"));
        Map<String, Scheduler> schedulers = new HashMap<>();
        for (SchedulerProvider p : ServiceLoader.load(SchedulerProvider.class)) {
            schedulers.put(p.name(), p.create());
        }
        List<QueuedJob> big = repeat(allJobs, 100_000);
        String[][] cases = {
                {"fcfs", "exclusive"}, {"backfill", "exclusive"}, {"backfill", "shared"}};
        // Upstream swm-sched's figures from data/README.md: mean start and the faster end of its pass time.
        double[][] upstream = {{30_164, 40}, {29_545, 3_300}};
        int[][] sizes = {{1_000, 100}, {10_000, 1_000}};
        for (int s = 0; s < sizes.length; s++) {
            Result[] r = new Result[cases.length];
            for (int c = 0; c < cases.length; c++) {
                if (selected(only, cases[c])) {
                    r[c] = run(schedulers.get(cases[c][0]), cases[c][1], allJobs.subList(0, sizes[s][0]),
                            allNodes.subList(0, sizes[s][1]), passes);
                }
            }
            if (!only.isEmpty()) {
                continue;
            }
            System.out.printf(Locale.ROOT, "sched-ratio jobs=%d nodes=%d fcfs_wait_vs_upstream=%.4f "
                            + "backfill_exclusive_wait_vs_fcfs=%.3f backfill_shared_wait_vs_fcfs=%.3f "
                            + "fcfs_speedup_vs_upstream=%.0f backfill_exclusive_speedup_vs_upstream=%.0f%n",
                    sizes[s][0], sizes[s][1], r[0].meanWait / upstream[s][0], r[1].meanWait / r[0].meanWait,
                    r[2].meanWait / r[0].meanWait, upstream[s][1] / r[0].passMs, upstream[s][1] / r[1].passMs);
        }
        for (String[] c : cases) {
            if (!selected(only, c)) {
                continue;
            }
            run(schedulers.get(c[0]), c[1], big, allNodes.subList(0, 1_000), Math.max(3, passes / 3));
        }
    }

    private static boolean selected(List<String> only, String[] c) {
        return only.isEmpty() || only.contains(c[0] + "/" + c[1]);
    }

    private record Result(double passMs, double meanWait) {
    }

    private static Result run(Scheduler scheduler, String mode, List<QueuedJob> jobs, List<NodeView> nodes,
                              int passes) {
        Map<String, NodeMode> modes = new HashMap<>();
        for (NodeView n : nodes) {
            modes.put(n.partition(), NodeMode.valueOf(mode.toUpperCase(Locale.ROOT)));
        }
        ClusterView cluster = new ClusterView(nodes, List.of(), modes, List.of(), Map.of());
        // Warm-up: at least half the passes and at least a second, so that a short pass is measured compiled, as a
        // long-running engine runs it. Then at least the given passes and, for short ones, at least half a second.
        Plan plan = null;
        CpuUse cpu = CpuUse.now();
        long warmUntil = System.nanoTime() + WARM_UP_NANOS;
        for (int i = 0; i < Math.max(2, passes / 2) || System.nanoTime() < warmUntil; i++) {
            plan = scheduler.plan(cluster, jobs, T0);
        }
        // The pass thread's own cpu time besides wall time: on a machine other programs share, wall time counts
        // the time this thread waited for a core, its cpu time does not.
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long[] nanos = new long[passes];
        long[] cpuNanos = new long[passes];
        int measured = 0;
        long measureUntil = System.nanoTime() + MEASURE_NANOS;
        while (measured < passes || System.nanoTime() < measureUntil) {
            if (measured == nanos.length) {
                nanos = Arrays.copyOf(nanos, measured * 2);
                cpuNanos = Arrays.copyOf(cpuNanos, measured * 2);
            }
            long c = threads.getCurrentThreadCpuTime();
            long t = System.nanoTime();
            plan = scheduler.plan(cluster, jobs, T0);
            nanos[measured] = System.nanoTime() - t;
            cpuNanos[measured++] = threads.getCurrentThreadCpuTime() - c;
        }
        nanos = Arrays.copyOf(nanos, measured);
        Arrays.sort(nanos);
        cpuNanos = Arrays.copyOf(cpuNanos, measured);
        Arrays.sort(cpuNanos);
        String cpuUse = cpu.since();
        Map<JobId, QueuedJob> byId = new HashMap<>();
        for (QueuedJob j : jobs) {
            byId.put(j.id(), j);
        }
        long makespan = 0;
        double waitSum = 0;
        double used = 0;
        int planned = 0;
        Map<String, long[]> perNode = new HashMap<>(); // busy node-ms and last end, per node
        for (List<Plan.Placement> list : List.of(plan.startNow(), plan.reservations())) {
            for (Plan.Placement p : list) {
                QueuedJob j = byId.get(p.job());
                long start = Duration.between(T0, p.start()).toMillis();
                long end = start + j.expectedDuration().toMillis();
                makespan = Math.max(makespan, end);
                waitSum += start / 1000.0;
                used += (double) j.cpus() * j.nodes() * j.expectedDuration().toSeconds();
                planned++;
                for (String node : p.nodes()) {
                    long[] b = perNode.computeIfAbsent(node, x -> new long[2]);
                    b[0] += end - start;
                    b[1] = Math.max(b[1], end);
                }
            }
        }
        long totalCpus = 0;
        for (NodeView n : nodes) {
            totalCpus += n.cpus();
        }
        double makespanS = makespan / 1000.0;
        System.out.printf(Locale.ROOT, "sched-bench policy=%s mode=%s jobs=%d nodes=%d pass_ms=%.2f planned=%d "
                        + "infeasible=%d makespan_s=%.0f mean_wait_s=%.0f utilisation=%.3f%n",
                scheduler.name(), mode, jobs.size(), nodes.size(), nanos[measured / 2] / 1e6, planned,
                plan.infeasible().size(), makespanS, planned == 0 ? 0 : waitSum / planned,
                makespan == 0 ? 0 : used / (totalCpus * makespanS));
        System.out.printf(Locale.ROOT, "figure sched_%s_%s_%s_ms %.2f ms%n", scheduler.name().replace('-', '_'), mode,
                jobs.size() % 1000 == 0 ? jobs.size() / 1000 + "k" : Integer.toString(jobs.size()),
                nanos[measured / 2] / 1e6);
        System.err.printf(Locale.ROOT, "   %s %s %d x %d: min %.2f ms, median %.2f ms of %d passes; pass thread cpu "
                        + "min %.2f ms, median %.2f ms; plan md5 %s; %s%n",
                scheduler.name(), mode, jobs.size(), nodes.size(), nanos[0] / 1e6, nanos[measured / 2] / 1e6,
                measured, cpuNanos[0] / 1e6, cpuNanos[measured / 2] / 1e6, md5(plan), cpuUse);
        if (mode.equals("exclusive")) {
            // The idle time between jobs on a node, before its last job ends: all that backfill could ever fill.
            double busy = 0;
            double idle = 0;
            for (long[] b : perNode.values()) {
                busy += b[0] / 1000.0;
                idle += (b[1] - b[0]) / 1000.0;
            }
            System.out.printf(Locale.ROOT, "sched-gaps policy=%s mode=%s jobs=%d nodes=%d busy_node_s=%.0f "
                            + "idle_before_last_end_node_s=%.0f idle_share=%.4f%n", scheduler.name(), mode,
                    jobs.size(), nodes.size(), busy, idle, idle / (busy + idle));
        }
        return new Result(nanos[measured / 2] / 1e6, planned == 0 ? 0 : waitSum / planned);
    }

    /**
     * The MD5 of the whole plan (every placement's job, start and nodes, every cloud placement and infeasible
     * reason, in the plan's order): a change to the planner that must not change plans is checked by comparing it.
     */
    private static String md5(Plan plan) {
        StringBuilder text = new StringBuilder();
        for (List<Plan.Placement> list : List.of(plan.startNow(), plan.reservations())) {
            for (Plan.Placement p : list) {
                text.append(p.job()).append(' ').append(p.start()).append(' ').append(p.nodes()).append('\n');
            }
            text.append("--\n");
        }
        for (Plan.CloudPlacement c : plan.cloud()) {
            text.append(c).append('\n');
        }
        for (Plan.Infeasible i : plan.infeasible()) {
            text.append(i).append('\n');
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5")
                    .digest(text.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no MD5 in this JVM", e);
        }
    }

    /** The workload copied into this module ({@code data/mixed}), from the repository root or the module. */
    private static Path defaultData() {
        for (Path candidate : List.of(Path.of("samples/bench/data/mixed"), Path.of("data/mixed"))) {
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("no workload in samples/bench/data/mixed; run from the repository root or pass"
                + " --data=DIR");
    }

    static List<NodeView> readNodes(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        List<NodeView> nodes = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            nodes.add(new NodeView(f[0], f[1], Integer.parseInt(f[2]), Long.parseLong(f[3]), 0, NodeState.UP));
        }
        return nodes;
    }

    static List<QueuedJob> readJobs(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        List<QueuedJob> jobs = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            jobs.add(new QueuedJob(idOf(jobs.size()), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                    Long.parseLong(f[3]), 0, Duration.ofSeconds(Long.parseLong(f[4])), Integer.parseInt(f[5]),
                    "account-" + (jobs.size() % 7), T0));
        }
        return jobs;
    }

    /** The first {@code count} jobs of {@code jobs} repeated, each copy with new ids. */
    private static List<QueuedJob> repeat(List<QueuedJob> jobs, int count) {
        List<QueuedJob> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            QueuedJob j = jobs.get(i % jobs.size());
            out.add(new QueuedJob(idOf(i), j.nodes(), j.cpus(), j.memoryBytes(), j.gpus(), j.expectedDuration(),
                    j.priority(), j.account(), j.submitTime()));
        }
        return out;
    }

    private static JobId idOf(int i) {
        return new JobId(new UUID(0x5C4EDL, i));
    }
}
