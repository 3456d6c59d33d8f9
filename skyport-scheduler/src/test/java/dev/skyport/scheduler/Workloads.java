package dev.skyport.scheduler;

import dev.skyport.api.JobId;
import dev.skyport.api.NodeState;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.ServiceLoader;
import java.util.UUID;

/** Builders for clusters and queues in tests, and seeded random workloads. */
final class Workloads {
    static final Instant NOW = Instant.parse("2025-01-01T00:00:00Z");

    private Workloads() {
    }

    static Scheduler scheduler(String name) {
        for (SchedulerProvider p : ServiceLoader.load(SchedulerProvider.class)) {
            if (p.name().equals(name)) {
                return p.create();
            }
        }
        throw new AssertionError("no scheduler " + name);
    }

    static JobId id(int i) {
        return new JobId(new UUID(7, i));
    }

    static NodeView node(String name, int cpus) {
        return new NodeView(name, "p", cpus, (long) cpus << 30, 0, NodeState.UP);
    }

    static QueuedJob job(int i, int nodes, int cpus, long seconds) {
        return new QueuedJob(id(i), nodes, cpus, 0, 0, Duration.ofSeconds(seconds), 0, "a", NOW);
    }

    static ClusterView cluster(NodeMode mode, List<NodeView> nodes, List<Allocation> running) {
        Map<String, NodeMode> modes = new HashMap<>();
        for (NodeView n : nodes) {
            modes.put(n.partition(), mode);
        }
        return new ClusterView(nodes, running, modes, List.of(), Map.of());
    }

    /** A random cluster of a few node types, some not UP, some running jobs, and a random queue. */
    record Case(ClusterView cluster, List<QueuedJob> queue) {
    }

    static Case random(long seed, NodeMode mode, boolean withRunning) {
        Random r = new Random(seed);
        int n = 1 + r.nextInt(8);
        List<NodeView> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int cpus = new int[] {4, 8, 16}[r.nextInt(3)];
            NodeState state = r.nextInt(10) == 0 ? NodeState.values()[1 + r.nextInt(2)] : NodeState.UP;
            nodes.add(new NodeView("n" + i, r.nextBoolean() ? "a" : "b", cpus, cpus * 4L, r.nextInt(3), state));
        }
        List<Allocation> running = new ArrayList<>();
        if (withRunning) {
            int[] usedCpus = new int[n];
            for (int i = 0; i < r.nextInt(4); i++) {
                int j = r.nextInt(n);
                int cpus = 1 + r.nextInt(4);
                if (usedCpus[j] + cpus > nodes.get(j).cpus() || (mode == NodeMode.EXCLUSIVE && usedCpus[j] > 0)) {
                    continue;
                }
                usedCpus[j] += cpus;
                running.add(new Allocation(id(10_000 + i), List.of("n" + j), cpus, 1, 0,
                        NOW.plusSeconds(1 + r.nextInt(20))));
            }
        }
        int jobs = r.nextInt(14);
        List<QueuedJob> queue = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            int k = r.nextInt(6) == 0 ? 2 + r.nextInt(3) : 1;
            int cpus = r.nextInt(12) == 0 ? 64 : 1 + r.nextInt(8);
            queue.add(new QueuedJob(id(i), k, cpus, r.nextInt(4 * cpus + 1), r.nextInt(4) == 0 ? 1 : 0,
                    Duration.ofSeconds(1 + r.nextInt(30)), r.nextInt(3), "acct" + r.nextInt(3), NOW));
        }
        return new Case(cluster(mode, nodes, running), queue);
    }

    /**
     * A busier random case: up to a dozen nodes of three sizes and up to 80 jobs of varied widths and durations, so
     * timetables get deep, with cpu-full stretches and gaps between them.
     */
    static Case deep(long seed, NodeMode mode) {
        Random r = new Random(seed * 7919);
        int n = 2 + r.nextInt(11);
        List<NodeView> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int cpus = new int[] {4, 8, 16}[r.nextInt(3)];
            NodeState state = r.nextInt(12) == 0 ? NodeState.DOWN : NodeState.UP;
            nodes.add(new NodeView("n" + i, "p" + (i % 2), cpus, cpus * 4L, r.nextInt(4) == 0 ? 1 : 0, state));
        }
        List<Allocation> running = new ArrayList<>();
        for (int i = 0; i < r.nextInt(4); i++) {
            int j = r.nextInt(n);
            running.add(new Allocation(id(10_000 + i), List.of("n" + j), 1 + r.nextInt(3), 2, 0,
                    NOW.plusSeconds(1 + r.nextInt(100))));
        }
        List<QueuedJob> queue = new ArrayList<>();
        int jobs = 20 + r.nextInt(61);
        for (int i = 0; i < jobs; i++) {
            int k = r.nextInt(5) == 0 ? 2 + r.nextInt(3) : 1;
            int cpus = new int[] {1, 1, 2, 3, 4, 8, 16}[r.nextInt(7)];
            queue.add(new QueuedJob(id(i), k, cpus, r.nextInt(3 * cpus + 1), r.nextInt(6) == 0 ? 1 : 0,
                    Duration.ofSeconds(new int[] {1, 5, 20, 60, 200}[r.nextInt(5)] * (1 + r.nextInt(3))),
                    r.nextInt(3), "acct" + r.nextInt(3), NOW));
        }
        Map<String, NodeMode> modes = Map.of("p0", mode, "p1", mode);
        return new Case(new ClusterView(nodes, running, modes, List.of(), Map.of()), queue);
    }
}
