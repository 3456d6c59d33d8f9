package dev.skyport.scheduler.internal;

import dev.skyport.api.NodeState;
import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.FlavorView;
import dev.skyport.scheduler.NodeMode;
import dev.skyport.scheduler.NodeView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.internal.SchedulerDifferentialTest.Shape;
import dev.skyport.scheduler.internal.SchedulerDifferentialTest.Workload;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Proves that {@link SchedulerDifferentialTest} can fail: each {@link Bug} is a small subclass of the production
 * scheduler that overrides one of its package-private seams with a deliberate mistake, and on the differential test's
 * own workloads (the random cases, then the bench-shaped ones) some case must give a plan other than the naive
 * reference's. A bug that survives every case means the differential test would not see it either.
 */
class InjectedBugsTest {

    enum Bug {
        /** A reservation ends a millisecond early: the gap after every job starts one ms before the job ends. */
        GAP_END_OFF_BY_ONE(TimetableScheduler.Policy.BACKFILL, policy -> new TimetableScheduler(policy, "bug") {
            @Override
            Request request(QueuedJob job) {
                Request r = super.request(job);
                return new Request(r.nodes(), r.cpus(), r.memoryBytes(), r.gpus(), Math.max(1, r.millis() - 1));
            }
        }),
        /** Memory is neither checked nor booked: shared nodes take more jobs than their memory holds. */
        IGNORES_MEMORY(TimetableScheduler.Policy.BACKFILL, Shape.SHARED, policy -> new TimetableScheduler(policy,
                "bug") {
            @Override
            Request request(QueuedJob job) {
                Request r = super.request(job);
                return new Request(r.nodes(), r.cpus(), 0, r.gpus(), r.millis());
            }
        }),
        /** Fair-share breaks ties of priority and usage by the later queue position instead of the earlier. */
        WRONG_TIE_ORDER(TimetableScheduler.Policy.FAIR_SHARE, policy -> new TimetableScheduler(policy, "bug") {
            @Override
            int[] order(ClusterView cluster, List<QueuedJob> queue) {
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < queue.size(); i++) {
                    order.add(i);
                }
                order.sort(Comparator.<Integer>comparingInt(i -> -queue.get(i).priority())
                        .thenComparingDouble(i -> cluster.accountUsage().getOrDefault(queue.get(i).account(), 0.0))
                        .thenComparingInt(i -> -i));
                return order.stream().mapToInt(Integer::intValue).toArray();
            }
        }),
        /** fcfs lets a later job start in a gap before the last job placed on a node. */
        FCFS_REUSES_GAPS(TimetableScheduler.Policy.FCFS, policy -> new TimetableScheduler(policy, "bug") {
            @Override
            boolean closesGaps() {
                return false;
            }
        }),
        /** DRAINING nodes are given new work. */
        DRAINING_TAKES_WORK(TimetableScheduler.Policy.BACKFILL, policy -> new TimetableScheduler(policy, "bug") {
            @Override
            boolean takesWork(NodeView node) {
                return node.state() != NodeState.DOWN;
            }
        }),
        /** A job the cluster cannot hold goes to the first flavor that fits, not the cheapest. */
        FIRST_FLAVOR_NOT_CHEAPEST(TimetableScheduler.Policy.FCFS, policy -> new TimetableScheduler(policy, "bug") {
            @Override
            FlavorView cheapestFlavor(List<FlavorView> flavors, QueuedJob job) {
                return flavors.stream().filter(f -> f.cpus() >= job.cpus() && f.memoryBytes() >= job.memoryBytes()
                        && f.gpus() >= job.gpus()).findFirst().orElse(null);
            }
        });

        final TimetableScheduler.Policy policy;
        /** The only shape of random case searched, when the bug must be caught there; null for all. */
        final Shape onlyShape;
        final Function<TimetableScheduler.Policy, TimetableScheduler> mutant;

        Bug(TimetableScheduler.Policy policy, Function<TimetableScheduler.Policy, TimetableScheduler> mutant) {
            this(policy, null, mutant);
        }

        Bug(TimetableScheduler.Policy policy, Shape onlyShape,
            Function<TimetableScheduler.Policy, TimetableScheduler> mutant) {
            this.policy = policy;
            this.onlyShape = onlyShape;
            this.mutant = mutant;
        }
    }

    @ParameterizedTest
    @EnumSource(Bug.class)
    void theDifferentialTestCatchesTheBug(Bug bug) {
        TimetableScheduler mutant = bug.mutant.apply(bug.policy);
        String caughtBy = null;
        int tried = 0;
        // The differential test's cases in its order; stop at the first that tells the mutant from the reference.
        search:
        for (long seed = 0; seed < 400; seed++) {
            for (Shape shape : Shape.values()) {
                if (bug.onlyShape != null && shape != bug.onlyShape) {
                    continue;
                }
                tried++;
                if (differs(bug, mutant, SchedulerDifferentialTest.randomCase(shape, seed))) {
                    caughtBy = bug.policy + " " + shape + " seed " + seed;
                    break search;
                }
            }
        }
        for (long seed = 0; caughtBy == null && bug.onlyShape == null && seed < 6; seed++) {
            for (NodeMode mode : NodeMode.values()) {
                tried++;
                if (differs(bug, mutant, SchedulerDifferentialTest.benchShapedCase(mode, seed))) {
                    caughtBy = bug.policy + " bench-shaped " + mode + " seed " + seed;
                    break;
                }
            }
        }
        System.out.println("injected-bug " + bug + " caught=" + (caughtBy != null) + " cases_tried=" + tried
                + (caughtBy == null ? "" : " by=" + caughtBy.replace(' ', '_')));
        assertThat(caughtBy).as("a differential case that catches %s", bug).isNotNull();
    }

    private static boolean differs(Bug bug, TimetableScheduler mutant, Workload w) {
        Plan expected = SchedulerDifferentialTest.reference(bug.policy, w);
        return !Objects.equals(SchedulerDifferentialTest.plan(mutant, w), expected);
    }
}
