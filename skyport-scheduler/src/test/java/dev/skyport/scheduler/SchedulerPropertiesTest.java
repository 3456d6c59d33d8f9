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

    private static int indexOf(List<NodeView> nodes, String name) {
        for (int j = 0; j < nodes.size(); j++) {
            if (nodes.get(j).name().equals(name)) {
                return j;
            }
        }
        throw new AssertionError(name);
    }
}
