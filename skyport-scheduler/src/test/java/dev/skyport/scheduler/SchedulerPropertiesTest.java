package dev.skyport.scheduler;

import dev.skyport.api.NodeState;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Invariants of every policy on seeded random workloads, and FCFS against a naive reference. */
class SchedulerPropertiesTest {
    static Stream<Arguments> cases() {
        return LongStream.range(0, 300).boxed().flatMap(seed -> Stream.of(NodeMode.values())
                .flatMap(mode -> Stream.of("fcfs", "backfill", "fair-share")
                        .map(policy -> Arguments.of(policy, mode, seed))));
    }

    @ParameterizedTest(name = "{0} {1} seed {2}")
    @MethodSource("cases")
    void everyPlanIsAValidFullTimetable(String policy, NodeMode mode, long seed) {
        Workloads.Case c = Workloads.random(seed, mode, seed % 2 == 0);
        Plan plan = Workloads.scheduler(policy).plan(c.cluster(), c.queue(), Workloads.NOW);
        PlanChecks.check(c.cluster(), c.queue(), plan);
        assertThat(Workloads.scheduler(policy).plan(c.cluster(), c.queue(), Workloads.NOW))
                .as("same input, same plan").isEqualTo(plan);
    }

    static Stream<Long> seeds() {
        return LongStream.range(0, 500).boxed();
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void fcfsEqualsTheNaiveReferenceInExclusiveMode(long seed) {
        Workloads.Case c = Workloads.random(seed, NodeMode.EXCLUSIVE, seed % 2 == 0);
        Plan plan = Workloads.scheduler("fcfs").plan(c.cluster(), c.queue(), Workloads.NOW);
        Map<Object, Plan.Placement> placed = new HashMap<>(PlanChecks.placements(plan));
        List<NodeView> nodes = c.cluster().nodes();
        long[] free = new long[nodes.size()];
        for (Allocation a : c.cluster().running()) {
            for (String name : a.nodes()) {
                int j = indexOf(nodes, name);
                free[j] = Math.max(free[j], Duration.between(Workloads.NOW, a.expectedEnd()).toMillis());
            }
        }
        for (QueuedJob job : c.queue()) {
            List<Integer> fitting = new ArrayList<>();
            for (int j = 0; j < nodes.size(); j++) {
                NodeView n = nodes.get(j);
                if (n.state() == NodeState.UP && n.cpus() >= job.cpus() && n.memoryBytes() >= job.memoryBytes()
                        && n.gpus() >= job.gpus()) {
                    fitting.add(j);
                }
            }
            if (fitting.size() < job.nodes()) {
                assertThat(placed).doesNotContainKey(job.id());
                continue;
            }
            fitting.sort(Comparator.<Integer>comparingLong(j -> free[j]).thenComparingInt(j -> j));
            List<Integer> chosen = fitting.subList(0, job.nodes());
            long start = chosen.stream().mapToLong(j -> free[j]).max().orElseThrow();
            List<String> names = chosen.stream().sorted().map(j -> nodes.get(j).name()).toList();
            for (int j : chosen) {
                free[j] = start + job.expectedDuration().toMillis();
            }
            Plan.Placement p = placed.get(job.id());
            assertThat(p.start()).as("start of %s", job.id()).isEqualTo(Workloads.NOW.plusMillis(start));
            assertThat(p.nodes()).as("nodes of %s", job.id()).isEqualTo(names);
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void backfillNeverStartsAJobLaterThanFcfsWouldGivenTheSameEarlierJobs(long seed) {
        Workloads.Case c = Workloads.random(seed, NodeMode.EXCLUSIVE, seed % 2 == 0);
        Plan plan = Workloads.scheduler("backfill").plan(c.cluster(), c.queue(), Workloads.NOW);
        Map<Object, Plan.Placement> placed = new HashMap<>(PlanChecks.placements(plan));
        List<NodeView> nodes = c.cluster().nodes();
        long[] free = new long[nodes.size()]; // end of the last job placed on the node: fcfs's notion of free
        for (Allocation a : c.cluster().running()) {
            for (String name : a.nodes()) {
                int j = indexOf(nodes, name);
                free[j] = Math.max(free[j], Duration.between(Workloads.NOW, a.expectedEnd()).toMillis());
            }
        }
        for (QueuedJob job : c.queue()) {
            Plan.Placement p = placed.get(job.id());
            if (p == null) {
                continue;
            }
            long fcfsStart = LongStream.range(0, nodes.size()).mapToInt(j -> (int) j)
                    .filter(j -> nodes.get(j).state() == NodeState.UP && nodes.get(j).cpus() >= job.cpus()
                            && nodes.get(j).memoryBytes() >= job.memoryBytes() && nodes.get(j).gpus() >= job.gpus())
                    .mapToLong(j -> free[j]).sorted().skip(job.nodes() - 1).findFirst().orElseThrow();
            long start = Duration.between(Workloads.NOW, p.start()).toMillis();
            assertThat(start).as("backfill start of %s", job.id()).isLessThanOrEqualTo(fcfsStart);
            for (String name : p.nodes()) {
                int j = indexOf(nodes, name);
                free[j] = Math.max(free[j], start + job.expectedDuration().toMillis());
            }
        }
    }

    static Stream<Arguments> earliestCases() {
        return LongStream.range(0, 300).boxed().flatMap(seed -> Stream.of(NodeMode.values())
                .map(mode -> Arguments.of(mode, seed)));
    }

    /**
     * Conservative backfill's defining property, checked against a naive oracle: taking the jobs in queue order, no
     * job could have started before its planned start on any set of fitting nodes, given the running jobs and the
     * jobs planned before it. Candidate starts are now and every end of earlier work, where free capacity grows.
     */
    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("earliestCases")
    void backfillStartsEveryJobAtTheEarliestTimeTheJobsBeforeItLeave(NodeMode mode, long seed) {
        Workloads.Case c = seed % 3 == 0 ? Workloads.random(seed, mode, true) : Workloads.deep(seed, mode);
        Plan plan = Workloads.scheduler("backfill").plan(c.cluster(), c.queue(), Workloads.NOW);
        Map<Object, Plan.Placement> placed = new HashMap<>(PlanChecks.placements(plan));
        Map<String, List<PlanChecks.Use>> uses = new HashMap<>();
        for (Allocation a : c.cluster().running()) {
            long end = Math.max(1, Duration.between(Workloads.NOW, a.expectedEnd()).toMillis());
            for (String name : a.nodes()) {
                uses.computeIfAbsent(name, x -> new ArrayList<>())
                        .add(new PlanChecks.Use(a.job(), 0, end, a.cpus(), a.memoryBytes(), a.gpus()));
            }
        }
        for (QueuedJob job : c.queue()) {
            Plan.Placement p = placed.get(job.id());
            if (p == null) {
                continue;
            }
            long start = Duration.between(Workloads.NOW, p.start()).toMillis();
            long d = Math.max(1, job.expectedDuration().toMillis());
            List<Long> candidates = new ArrayList<>(List.of(0L));
            uses.values().forEach(list -> list.forEach(u -> candidates.add(u.end())));
            for (long t : candidates) {
                if (t >= start) {
                    continue;
                }
                long free = c.cluster().nodes().stream()
                        .filter(n -> fitsThroughout(c.cluster(), n, job, t, t + d, uses.getOrDefault(n.name(),
                                List.of())))
                        .count();
                assertThat(free).as("fitting nodes for %s at %d, before its start %d", job.id(), t, start)
                        .isLessThan(job.nodes());
            }
            for (String name : p.nodes()) {
                uses.computeIfAbsent(name, x -> new ArrayList<>()).add(new PlanChecks.Use(job.id(), start,
                        start + d, job.cpus(), job.memoryBytes(), job.gpus()));
            }
        }
    }

    /** Whether {@code job} fits UP node {@code n} throughout {@code [from, to)} next to {@code uses}. */
    private static boolean fitsThroughout(ClusterView cluster, NodeView n, QueuedJob job, long from, long to,
                                          List<PlanChecks.Use> uses) {
        if (n.state() != NodeState.UP || n.cpus() < job.cpus() || n.memoryBytes() < job.memoryBytes()
                || n.gpus() < job.gpus()) {
            return false;
        }
        boolean exclusive = cluster.modeOf(n.partition()) == NodeMode.EXCLUSIVE;
        // Usage only rises where some use starts, so the window's start and the starts inside it are the peaks.
        List<Long> points = new ArrayList<>(List.of(from));
        uses.forEach(u -> {
            if (u.start() > from && u.start() < to) {
                points.add(u.start());
            }
        });
        for (long t : points) {
            int count = 0;
            int cpus = job.cpus();
            long mem = job.memoryBytes();
            int gpus = job.gpus();
            for (PlanChecks.Use u : uses) {
                if (u.start() <= t && t < u.end()) {
                    count++;
                    cpus += u.cpus();
                    mem += u.mem();
                    gpus += u.gpus();
                }
            }
            if (exclusive ? count > 0 : cpus > n.cpus() || mem > n.memoryBytes() || gpus > n.gpus()) {
                return false;
            }
        }
        return true;
    }

    private static int indexOf(List<NodeView> nodes, String name) {
        for (int j = 0; j < nodes.size(); j++) {
            if (nodes.get(j).name().equals(name)) {
                return j;
            }
        }
        throw new AssertionError(name);
    }
}
