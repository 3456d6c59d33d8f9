package dev.skyport.samples.bench;

import dev.skyport.api.JobId;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.core.internal.SimulatedReplay;
import dev.skyport.core.internal.SimulatedReplay.SimJob;
import dev.skyport.samples.bench.BenchFigures.CpuUse;
import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.NodeMode;
import dev.skyport.scheduler.NodeView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.Scheduler;
import dev.skyport.scheduler.SchedulerProvider;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.UUID;

/**
 * The engine's scheduling over a deep queue, on the {@code mixed} workload's nodes and job shapes, through the real
 * embedded engine (store, scheduling loop, passes, run supervision) on a {@code SimulatedCluster} from skyport-core's
 * test-jar: its runs last their duration on a clock moved by hand and start no process.
 *
 * <ul>
 *   <li>{@code pass}: 100,000 jobs (jobs.csv repeated, as SchedulerBenchmark's 100k case) submitted at t = 0 on the
 *   1,000 nodes; then, with the clock moved 10 s each time (before any run ends), a whole-queue pass asked for, several
 *   times: {@code figure engine_pass_100k_ms} (median wall of those passes, from the engine's metrics) and
 *   {@code engine_pass_100k_cpu_ms} (the scheduling thread's cpu per pass).</li>
 *   <li>{@code replay}: the first {@code --jobs} jobs (default 10,000) on the first {@code --nodes} nodes (default
 *   1,000) submitted at t = 0 and replayed event by event to the end, once with no pass looking past the first
 *   1,000 queued jobs ({@code skyport.scheduler.queue-depth=1000}: the behaviour before whole-queue passes, when the
 *   event passes' window was 1,000; with today's window of 100 event passes plan 100 and whole-queue passes 1,000) and
 *   once with whole-queue passes:
 *   {@code figure engine_mean_wait_window_1000_s}, {@code engine_mean_wait_whole_queue_s} and their ratio; and
 *   {@code sched_plan_mean_wait_s}, the mean start of the one-pass backfill/shared plan of the same input (what
 *   SchedulerBenchmark reports), which the whole-queue replay should come close to.</li>
 * </ul>
 * Arguments: {@code --scenarios=pass,replay}, {@code --jobs=N}, {@code --nodes=N}, {@code --rounds=N} (passes
 * measured, default 5), {@code --data=DIR}. Run it with {@code -Dexec.classpathScope=test}.
 */
public final class QueueDepthBenchmark {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private QueueDepthBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path data = Path.of("samples/bench/data/mixed");
        if (!Files.isDirectory(data)) {
            data = Path.of("data/mixed");
        }
        List<String> scenarios = List.of("pass", "replay");
        int jobCount = 10_000;
        int nodeCount = 1_000;
        int rounds = 5;
        for (String arg : args) {
            if (arg.startsWith("--data=")) {
                data = Path.of(arg.substring(7));
            } else if (arg.startsWith("--scenarios=")) {
                scenarios = List.of(arg.substring(12).split(","));
            } else if (arg.startsWith("--jobs=")) {
                jobCount = Integer.parseInt(arg.substring(7));
            } else if (arg.startsWith("--nodes=")) {
                nodeCount = Integer.parseInt(arg.substring(8));
            } else if (arg.startsWith("--rounds=")) {
                rounds = Integer.parseInt(arg.substring(9));
            } else {
                throw new IllegalArgumentException("unknown argument " + arg
                        + "; use --scenarios=pass,replay --jobs=N --nodes=N --rounds=N --data=DIR");
            }
        }
        List<Node> nodes = readNodes(data.resolve("nodes.csv"));
        // The engine refuses at submission a job no node can hold (the workload's 1,024-cpu jobs, which
        // SchedulerBenchmark counts as infeasible): they are left out here and from the one-pass plan compared with.
        List<SimJob> all = readJobs(data.resolve("jobs.csv"));
        int largest = nodes.stream().mapToInt(Node::cpus).max().orElse(0);
        List<SimJob> jobs = all.stream().filter(j -> j.cpus() <= largest).toList();
        System.err.printf("   %d of the workload's %d jobs fit a node; the others are left out%n", jobs.size(),
                all.size());
        if (scenarios.contains("pass")) {
            pass(nodes.subList(0, 1_000), repeat(jobs, 100_000), rounds);
        }
        if (scenarios.contains("replay")) {
            replay(nodes.subList(0, nodeCount), jobs.subList(0, Math.min(jobCount, jobs.size())));
        }
        System.exit(0); // slf4j-simple and the engines' daemon threads are done
    }

    private static void pass(List<Node> nodes, List<SimJob> jobs, int rounds) throws Exception {
        Path dir = Files.createTempDirectory("skyport-queue-depth");
        try (SimulatedReplay replay = new SimulatedReplay(dir, nodes, T0, "backfill")) {
            long t = System.nanoTime();
            replay.submit(jobs);
            System.err.printf(Locale.ROOT, "   %d jobs submitted and planned in %.1f s; %d started at t=0%n",
                    jobs.size(), (System.nanoTime() - t) / 1e9, replay.cluster().running());
            long[] wall = new long[rounds + 1];
            long[] cpu = new long[rounds + 1];
            CpuUse machine = CpuUse.now();
            for (int r = 0; r <= rounds; r++) { // the first is a warm-up
                // 10 s on: after the last whole-queue pass's spacing (4 x ~0.5 s) and before any run ends (61 s).
                // The whole-queue pass runs on the timer a window pass set, or on the pass asked for after it (then
                // the timer's pass was a window pass): the longest of the round is the whole-queue pass, and the
                // round's cpu includes at most one window pass of the head (~5 ms) beside it.
                replay.resetLongestPass();
                long passesBefore = replay.passes();
                long cpuBefore = replay.schedulingCpuNanos();
                replay.advanceTo(replay.clock().instant().plusSeconds(10));
                replay.pass();
                cpu[r] = replay.schedulingCpuNanos() - cpuBefore;
                wall[r] = replay.longestPassNanos();
                if (replay.passes() - passesBefore > 2) {
                    System.err.printf("   round %d ran %d passes%n", r, replay.passes() - passesBefore);
                }
            }
            String cpuUse = machine.since();
            long[] w = Arrays.copyOfRange(wall, 1, wall.length);
            long[] c = Arrays.copyOfRange(cpu, 1, cpu.length);
            Arrays.sort(w);
            Arrays.sort(c);
            int queued = jobs.size() - replay.cluster().running();
            System.err.printf(Locale.ROOT, "   whole-queue pass over %d queued jobs on %d nodes: wall min %.0f ms, "
                            + "median %.0f ms; scheduling thread cpu min %.0f ms, median %.0f ms (%d passes); %s%n",
                    queued, nodes.size(), w[0] / 1e6, w[w.length / 2] / 1e6, c[0] / 1e6, c[c.length / 2] / 1e6,
                    w.length, cpuUse);
            BenchFigures.figure("engine_pass_100k_ms", w[w.length / 2] / 1e6, "ms");
            BenchFigures.figure("engine_pass_100k_cpu_ms", c[c.length / 2] / 1e6, "ms");
        } finally {
            BenchFigures.deleteTree(dir);
        }
    }

    private static void replay(List<Node> nodes, List<SimJob> jobs) throws Exception {
        double window;
        System.setProperty("skyport.scheduler.queue-depth", "1000");
        try {
            window = replayOnce(nodes, jobs, "window 1,000");
        } finally {
            System.clearProperty("skyport.scheduler.queue-depth");
        }
        double whole = replayOnce(nodes, jobs, "whole queue");
        double plan = onePassPlan(nodes, jobs);
        String size = jobs.size() % 1000 == 0 ? jobs.size() / 1000 + "k" : Integer.toString(jobs.size());
        System.err.printf(Locale.ROOT, "   %s jobs x %d nodes: mean wait window %.0f s, whole queue %.0f s, one-pass "
                + "plan %.0f s%n", size, nodes.size(), window, whole, plan);
        BenchFigures.figure("engine_mean_wait_window_1000_s", window, "s");
        BenchFigures.figure("engine_mean_wait_whole_queue_s", whole, "s");
        System.out.println(String.format(Locale.ROOT, "figure engine_mean_wait_window_vs_whole_ratio %.3f x",
                window / whole));
        BenchFigures.figure("sched_plan_mean_wait_s", plan, "s");
    }

    private static double replayOnce(List<Node> nodes, List<SimJob> jobs, String what) throws Exception {
        Path dir = Files.createTempDirectory("skyport-queue-depth");
        CpuUse machine = CpuUse.now();
        long t = System.nanoTime();
        try (SimulatedReplay replay = new SimulatedReplay(dir, nodes, T0, "backfill")) {
            replay.showProgress();
            List<JobId> ids = replay.submit(jobs);
            long cpu0 = replay.schedulingCpuNanos();
            Instant end = replay.runToEnd();
            double[] waits = replay.waits(ids);
            double sum = 0;
            for (double w : waits) {
                if (w < 0) {
                    throw new IllegalStateException("a job never started");
                }
                sum += w;
            }
            System.err.printf(Locale.ROOT, "   replay (%s): %d jobs on %d nodes, makespan %d s (simulated), %d passes "
                            + "(%.1f s of passes, the longest %.0f ms; scheduling thread cpu %.1f s), replayed in "
                            + "%.0f s, %d events; jobs moved to %s; %s%n", what, jobs.size(), nodes.size(),
                    Duration.between(T0, end).toSeconds(), replay.passes(), replay.passNanos() / 1e9,
                    replay.longestPassNanos() / 1e6, (replay.schedulingCpuNanos() - cpu0) / 1e9,
                    (System.nanoTime() - t) / 1e9, replay.events(), replay.transitions(), machine.since());
            return sum / waits.length;
        } finally {
            BenchFigures.deleteTree(dir);
        }
    }

    /** The mean start of one backfill pass over the idle cluster, as SchedulerBenchmark plans it (shared nodes). */
    private static double onePassPlan(List<Node> nodes, List<SimJob> jobs) {
        Scheduler backfill = null;
        for (SchedulerProvider p : ServiceLoader.load(SchedulerProvider.class)) {
            if (p.name().equals("backfill")) {
                backfill = p.create();
            }
        }
        List<NodeView> views = new ArrayList<>();
        Map<String, NodeMode> modes = new HashMap<>();
        for (Node n : nodes) {
            views.add(new NodeView(n.name(), n.partition(), n.cpus(), n.memoryBytes(), 0, NodeState.UP));
            modes.put(n.partition(), NodeMode.SHARED);
        }
        List<QueuedJob> queue = new ArrayList<>();
        for (int i = 0; i < jobs.size(); i++) {
            SimJob j = jobs.get(i);
            queue.add(new QueuedJob(new JobId(new UUID(0x5C4EDL, i)), j.nodes(), j.cpus(), j.memoryBytes(), 0,
                    j.duration(), 0, "account", T0));
        }
        Plan plan = backfill.plan(new ClusterView(views, List.of(), modes, List.of(), Map.of()), queue, T0);
        double sum = 0;
        int n = 0;
        for (List<Plan.Placement> list : List.of(plan.startNow(), plan.reservations())) {
            for (Plan.Placement p : list) {
                sum += Duration.between(T0, p.start()).toMillis() / 1000.0;
                n++;
            }
        }
        return sum / n;
    }

    /** The workload's nodes as {@link SchedulerBenchmark} reads them, as the gate's nodes. */
    private static List<Node> readNodes(Path file) throws IOException {
        List<Node> nodes = new ArrayList<>();
        for (NodeView n : SchedulerBenchmark.readNodes(file)) {
            nodes.add(new Node(n.name(), n.partition(), n.cpus(), n.memoryBytes(), n.gpus(), n.state(), Map.of()));
        }
        return nodes;
    }

    /** The workload's jobs as {@link SchedulerBenchmark} reads them, as the simulated cluster's jobs. */
    private static List<SimJob> readJobs(Path file) throws IOException {
        List<SimJob> jobs = new ArrayList<>();
        for (QueuedJob j : SchedulerBenchmark.readJobs(file)) {
            jobs.add(new SimJob(j.nodes(), j.cpus(), j.memoryBytes(), j.expectedDuration()));
        }
        return jobs;
    }

    private static List<SimJob> repeat(List<SimJob> jobs, int count) {
        List<SimJob> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(jobs.get(i % jobs.size()));
        }
        return out;
    }
}
