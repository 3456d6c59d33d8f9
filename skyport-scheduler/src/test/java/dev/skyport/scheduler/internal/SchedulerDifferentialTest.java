package dev.skyport.scheduler.internal;

import dev.skyport.api.JobId;
import dev.skyport.api.NodeState;
import dev.skyport.scheduler.Allocation;
import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.FlavorView;
import dev.skyport.scheduler.NodeMode;
import dev.skyport.scheduler.NodeView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.Scheduler;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The timetable scheduler against {@link NaiveScheduler}, the README's rules written down with plain loops and no
 * shared code: on seeded random workloads (exclusive, shared and mixed partitions, running allocations, multi-node
 * jobs, nodes that are not UP, many equal start times, more job shapes than the shape index keeps) every policy gives
 * exactly the reference's plan, node choice and infeasible reasons included. {@code InjectedBugsTest} proves the comparison can fail.
 */
class SchedulerDifferentialTest {
    private static final Instant NOW = Instant.parse("2025-01-01T00:00:00Z");

    enum Shape { EXCLUSIVE, SHARED, MIXED }

    static Stream<Arguments> cases() {
        return LongStream.range(0, 400).boxed().flatMap(seed -> Stream.of(Shape.values())
                .flatMap(shape -> Stream.of(TimetableScheduler.Policy.values())
                        .map(policy -> Arguments.of(policy, shape, seed))));
    }

    @ParameterizedTest(name = "{0} {1} seed {2}")
    @MethodSource("cases")
    void samePlanAsTheReference(TimetableScheduler.Policy policy, Shape shape, long seed) {
        check(policy, randomCase(shape, seed));
    }

    /** Mostly small clusters (ties, DOWN nodes, odd capacities); every tenth seed a larger one with deep timetables. */
    static Workload randomCase(Shape shape, long seed) {
        Random r = new Random(seed * 31 + shape.ordinal());
        boolean large = seed % 10 == 9;
        return random(r, shape, large ? 40 + r.nextInt(80) : 1 + r.nextInt(12), large ? 400 + r.nextInt(800)
                : r.nextInt(60));
    }

    static Stream<Arguments> benchShaped() {
        return LongStream.range(0, 6).boxed().flatMap(seed -> Stream.of(TimetableScheduler.Policy.values())
                .flatMap(policy -> Stream.of(NodeMode.values()).map(mode -> Arguments.of(policy, mode, seed))));
    }

    @ParameterizedTest(name = "{0} {1} seed {2}")
    @MethodSource("benchShaped")
    void samePlanAsTheReferenceOnBenchShapedWorkloads(TimetableScheduler.Policy policy, NodeMode mode, long seed) {
        check(policy, benchShapedCase(mode, seed));
    }

    /** Like the shared bench workload: three node sizes, mostly one-node jobs, long and varied durations. */
    static Workload benchShapedCase(NodeMode mode, long seed) {
        Random r = new Random(seed);
        int n = 50 + r.nextInt(100);
        List<NodeView> nodes = new ArrayList<>();
        Map<String, NodeMode> modes = new HashMap<>();
        for (int i = 0; i < n; i++) {
            int cpus = new int[] {16, 32, 64}[r.nextInt(3)];
            String partition = "part-" + (i / 20);
            nodes.add(new NodeView("node-" + i, partition, cpus, (long) cpus << 32, 0, NodeState.UP));
            modes.put(partition, mode);
        }
        List<QueuedJob> queue = new ArrayList<>();
        int[] sizes = {1, 1, 1, 1, 1, 1, 1, 2, 2, 4, 8};
        for (int i = 0; i < 1500; i++) {
            int cpus = new int[] {1, 4, 8, 16, 32, 64, 128}[r.nextInt(7)];
            queue.add(new QueuedJob(id(i), sizes[r.nextInt(sizes.length)], cpus, (long) cpus << 31, 0,
                    Duration.ofSeconds(60 + r.nextInt(7200)), r.nextInt(100), "account-" + i % 7, NOW));
        }
        return new Workload(new ClusterView(nodes, List.of(), modes, List.of(), Map.of()), queue);
    }

    static Stream<Arguments> manyShapes() {
        return LongStream.range(0, 40).boxed().flatMap(seed -> Stream.of(TimetableScheduler.Policy.values())
                .map(policy -> Arguments.of(policy, seed)));
    }

    /**
     * Shared nodes with room for jobs of well over a hundred shapes: sizes off the index's grid (a job and the shape
     * it is indexed under differ, so the index only bounds its starts) and more shapes than the index keeps (the
     * jobs beyond are placed by walking every node).
     */
    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("manyShapes")
    void samePlanAsTheReferenceWithManyJobShapes(TimetableScheduler.Policy policy, long seed) {
        Random r = new Random(seed);
        List<NodeView> nodes = new ArrayList<>();
        Map<String, NodeMode> modes = Map.of("s", NodeMode.SHARED, "x", NodeMode.EXCLUSIVE);
        for (int i = 0; i < 6 + r.nextInt(20); i++) {
            int cpus = 64 + r.nextInt(200);
            nodes.add(new NodeView("n" + i, seed % 4 == 3 && i % 5 == 0 ? "x" : "s", cpus, cpus * 3L, r.nextInt(3),
                    r.nextInt(15) == 0 ? NodeState.DRAINING : NodeState.UP));
        }
        List<QueuedJob> queue = new ArrayList<>();
        for (int i = 0; i < 200 + r.nextInt(300); i++) {
            int k = r.nextInt(5) == 0 ? 2 + r.nextInt(4) : 1;
            int cpus = 1 + r.nextInt(r.nextBoolean() ? 12 : 150);
            queue.add(new QueuedJob(id(i), k, cpus, r.nextInt(3 * cpus + 1), r.nextInt(6) == 0 ? 1 : 0,
                    Duration.ofSeconds(1 + r.nextInt(r.nextBoolean() ? 30 : 600)), r.nextInt(3), "acct" + r.nextInt(3),
                    NOW));
        }
        check(policy, new Workload(new ClusterView(nodes, List.of(), modes, List.of(), Map.of()), queue));
    }

    record Workload(ClusterView cluster, List<QueuedJob> queue) {
    }

    /** The plan the README's rules give for {@code w} under {@code policy}. */
    static Plan reference(TimetableScheduler.Policy policy, Workload w) {
        return new NaiveScheduler(NaiveScheduler.Rule.valueOf(policy.name())).plan(w.cluster(), w.queue(), NOW);
    }

    static Plan plan(Scheduler scheduler, Workload w) {
        return scheduler.plan(w.cluster(), w.queue(), NOW);
    }

    private static void check(TimetableScheduler.Policy policy, Workload w) {
        Plan expected = reference(policy, w);
        Plan actual = plan(new TimetableScheduler(policy, "opt"), w);
        assertThat(actual.startNow()).as("start now").isEqualTo(expected.startNow());
        assertThat(actual.reservations()).as("reservations").isEqualTo(expected.reservations());
        assertThat(actual).isEqualTo(expected);
    }

    private static Workload random(Random r, Shape shape, int n, int jobs) {
        List<NodeView> nodes = new ArrayList<>();
        Map<String, NodeMode> modes = new HashMap<>();
        modes.put("x", shape == Shape.SHARED ? NodeMode.SHARED : NodeMode.EXCLUSIVE);
        modes.put("s", shape == Shape.EXCLUSIVE ? NodeMode.EXCLUSIVE : NodeMode.SHARED);
        for (int i = 0; i < n; i++) {
            int cpus = r.nextInt(40) == 0 ? 0 : new int[] {4, 8, 8, 16}[r.nextInt(4)];
            NodeState state = r.nextInt(8) == 0 ? NodeState.values()[1 + r.nextInt(NodeState.values().length - 1)]
                    : NodeState.UP;
            // A quarter of the nodes are short of memory, so that memory, not cpus, is what fills them.
            long memory = cpus * (r.nextInt(4) == 0 ? 1L : 4L);
            nodes.add(new NodeView("n" + i, r.nextBoolean() ? "x" : "s", cpus, memory, r.nextInt(3) == 0 ? 1 : 0,
                    state));
        }
        List<Allocation> running = new ArrayList<>();
        int allocations = r.nextInt(2 * n + 1);
        for (int i = 0; i < allocations; i++) {
            List<String> on = new ArrayList<>();
            int k = r.nextInt(5) == 0 ? 2 : 1;
            for (int j = 0; j < k; j++) {
                on.add("n" + r.nextInt(n));
            }
            int cpus = 1 + r.nextInt(4);
            long seconds = r.nextInt(20) == 0 ? -5 : r.nextInt(30) == 0 ? 1_000_000_000_000L : 1 + r.nextInt(400);
            running.add(new Allocation(id(100_000 + i), on, cpus, r.nextInt(3), 0, NOW.plusSeconds(seconds)));
        }
        List<QueuedJob> queue = new ArrayList<>();
        long[] durations = {1, 5, 10, 10, 30, 60, 60, 100, 250};
        for (int i = 0; i < jobs; i++) {
            int k = r.nextInt(4) == 0 ? 2 + r.nextInt(5) : r.nextInt(60) == 0 ? r.nextInt(3) * 40 : 1;
            int cpus = r.nextInt(15) == 0 ? 64 : r.nextInt(20) == 0 ? 0 : 1 + r.nextInt(8);
            Duration d = r.nextInt(50) == 0 ? Duration.ZERO : r.nextInt(60) == 0 ? Duration.ofDays(365L * 300)
                    : Duration.ofSeconds(durations[r.nextInt(durations.length)] * (1 + r.nextInt(3)));
            queue.add(new QueuedJob(id(i), k, cpus, r.nextInt(4 * Math.max(1, cpus) + 1), r.nextInt(5) == 0 ? 1 : 0,
                    d, r.nextInt(3), "acct" + r.nextInt(3), NOW));
        }
        // A third of the cases can grow: flavors with tied prices, some too small for the largest jobs.
        List<FlavorView> flavors = new ArrayList<>();
        for (int i = r.nextInt(3) == 0 ? 1 + r.nextInt(4) : 0; i > 0; i--) {
            int cpus = new int[] {8, 16, 64}[r.nextInt(3)];
            flavors.add(new FlavorView("f" + r.nextInt(6), cpus, cpus * 4L, r.nextInt(2), r.nextInt(3)));
        }
        return new Workload(new ClusterView(nodes, running, modes, flavors, Map.of("acct1", 3.0)), queue);
    }

    static JobId id(int i) {
        return new JobId(new UUID(11, i));
    }
}
