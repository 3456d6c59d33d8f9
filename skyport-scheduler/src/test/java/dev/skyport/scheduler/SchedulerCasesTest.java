package dev.skyport.scheduler;

import dev.skyport.api.NodeState;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static dev.skyport.scheduler.Workloads.NOW;
import static dev.skyport.scheduler.Workloads.cluster;
import static dev.skyport.scheduler.Workloads.id;
import static dev.skyport.scheduler.Workloads.job;
import static dev.skyport.scheduler.Workloads.node;
import static dev.skyport.scheduler.Workloads.scheduler;
import static org.assertj.core.api.Assertions.assertThat;

/** Hand-made cases whose plans are worked out by hand. */
class SchedulerCasesTest {
    private static Plan plan(String policy, ClusterView cluster, QueuedJob... jobs) {
        Plan plan = scheduler(policy).plan(cluster, List.of(jobs), NOW);
        PlanChecks.check(cluster, List.of(jobs), plan);
        return plan;
    }

    private static Plan.Placement placement(Plan plan, int job) {
        return PlanChecks.placements(plan).get(id(job));
    }

    @ParameterizedTest
    @ValueSource(strings = {"fcfs", "backfill", "fair-share"})
    void anEmptyQueueGivesAnEmptyPlan(String policy) {
        Plan plan = plan(policy, cluster(NodeMode.SHARED, List.of(node("a", 4)), List.of()));
        assertThat(plan).isEqualTo(new Plan(List.of(), List.of(), List.of()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"fcfs", "backfill", "fair-share"})
    void onAnEmptyClusterEveryJobIsInfeasibleWithAReason(String policy) {
        Plan plan = plan(policy, cluster(NodeMode.SHARED, List.of(), List.of()), job(1, 1, 1, 10));
        assertThat(plan.infeasible()).singleElement().satisfies(i -> assertThat(i.reason()).contains("0 up node"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"fcfs", "backfill", "fair-share"})
    void anInfeasibleJobDoesNotBlockTheQueue(String policy) {
        Plan plan = plan(policy, cluster(NodeMode.EXCLUSIVE, List.of(node("a", 32)), List.of()),
                job(1, 1, 1024, 10), job(2, 1, 4, 10));
        assertThat(plan.infeasible()).extracting(Plan.Infeasible::job).containsExactly(id(1));
        assertThat(plan.startNow()).extracting(Plan.Placement::job).containsExactly(id(2));
    }

    @ParameterizedTest
    @ValueSource(strings = {"fcfs", "backfill"})
    void tiesGoToTheLowerNodeAndQueueOrderIsKept(String policy) {
        ClusterView cluster = cluster(NodeMode.EXCLUSIVE, List.of(node("a", 4), node("b", 4)), List.of());
        Plan plan = plan(policy, cluster, job(1, 1, 1, 10), job(2, 1, 1, 10), job(3, 1, 1, 10));
        assertThat(placement(plan, 1).nodes()).containsExactly("a");
        assertThat(placement(plan, 2).nodes()).containsExactly("b");
        assertThat(placement(plan, 3).nodes()).containsExactly("a");
        assertThat(placement(plan, 3).start()).isEqualTo(NOW.plusSeconds(10));
    }

    @Test
    void aJobExactlyFillingASharedNodeLeavesNoRoomUntilItEnds() {
        ClusterView cluster = cluster(NodeMode.SHARED, List.of(node("a", 8)), List.of());
        Plan plan = plan("backfill", cluster, job(1, 1, 8, 10), job(2, 1, 1, 5));
        assertThat(placement(plan, 1).start()).isEqualTo(NOW);
        assertThat(placement(plan, 2).start()).isEqualTo(NOW.plusSeconds(10));
    }

    @Test
    void sharedNodesPackJobsByCpus() {
        ClusterView cluster = cluster(NodeMode.SHARED, List.of(node("a", 8)), List.of());
        Plan plan = plan("backfill", cluster, job(1, 1, 4, 10), job(2, 1, 4, 10), job(3, 1, 1, 5));
        assertThat(plan.startNow()).extracting(Plan.Placement::job).containsExactly(id(1), id(2));
        assertThat(placement(plan, 3).start()).isEqualTo(NOW.plusSeconds(10));
    }

    @Test
    void backfillFillsTheGapFcfsLeaves() {
        // Job 1 holds a until 10 s; job 2 needs both nodes, so b idles until 10 s. A 5 s job fits that gap.
        ClusterView cluster = cluster(NodeMode.EXCLUSIVE, List.of(node("a", 4), node("b", 4)), List.of());
        QueuedJob[] jobs = {job(1, 1, 1, 10), job(2, 2, 1, 10), job(3, 1, 1, 5)};
        Plan backfill = plan("backfill", cluster, jobs);
        assertThat(placement(backfill, 3).start()).isEqualTo(NOW);
        assertThat(placement(backfill, 3).nodes()).containsExactly("b");
        assertThat(placement(backfill, 2).start()).isEqualTo(NOW.plusSeconds(10));
        Plan fcfs = plan("fcfs", cluster, jobs);
        assertThat(placement(fcfs, 3).start()).isEqualTo(NOW.plusSeconds(20));
    }

    @Test
    void backfillNeverDelaysAnEarlierReservationForAJobThatIsTooLong() {
        ClusterView cluster = cluster(NodeMode.EXCLUSIVE, List.of(node("a", 4), node("b", 4)), List.of());
        Plan plan = plan("backfill", cluster, job(1, 1, 1, 10), job(2, 2, 1, 10), job(3, 1, 1, 11));
        assertThat(placement(plan, 2).start()).isEqualTo(NOW.plusSeconds(10));
        assertThat(placement(plan, 3).start()).isEqualTo(NOW.plusSeconds(20));
    }

    @ParameterizedTest
    @ValueSource(strings = {"fcfs", "backfill", "fair-share"})
    void downAndDrainingNodesTakeNoNewWorkButTheirJobsStillCount(String policy) {
        NodeView up = node("up", 4);
        NodeView draining = new NodeView("draining", "p", 64, 1L << 40, 0, NodeState.DRAINING);
        NodeView down = new NodeView("down", "p", 64, 1L << 40, 0, NodeState.DOWN);
        Allocation onUp = new Allocation(id(100), List.of("up"), 4, 0, 0, NOW.plusSeconds(30));
        Allocation onDraining = new Allocation(id(101), List.of("draining"), 1, 0, 0, NOW.plusSeconds(5));
        ClusterView cluster = cluster(NodeMode.SHARED, List.of(up, draining, down), List.of(onUp, onDraining));
        Plan plan = plan(policy, cluster, job(1, 1, 2, 10), job(2, 1, 32, 10));
        assertThat(placement(plan, 1).nodes()).containsExactly("up");
        assertThat(placement(plan, 1).start()).isEqualTo(NOW.plusSeconds(30));
        assertThat(plan.infeasible()).extracting(Plan.Infeasible::job).containsExactly(id(2));
    }

    @Test
    void aRunningJobWithoutAnEndStillLetsTheQueueBePlanned() {
        Allocation forever = new Allocation(id(100), List.of("a"), 4, 0, 0, Instant.MAX);
        ClusterView cluster = cluster(NodeMode.EXCLUSIVE, List.of(node("a", 4)), List.of(forever));
        Plan plan = scheduler("backfill").plan(cluster, List.of(job(1, 1, 1, 10)), NOW);
        assertThat(plan.reservations()).singleElement().satisfies(p -> assertThat(p.start()).isAfter(NOW));
    }

    @Test
    void aJobNoNodeHoldsGoesToTheCheapestFittingFlavor() {
        List<FlavorView> flavors = List.of(new FlavorView("big", 128, 1L << 40, 0, 9.0),
                new FlavorView("huge", 2048, 1L << 42, 0, 20.0), new FlavorView("medium", 1024, 1L << 40, 0, 4.0),
                new FlavorView("small", 2, 1L << 30, 0, 0.1));
        ClusterView cluster = new ClusterView(List.of(node("a", 32)), List.of(), Map.of(), flavors, Map.of());
        QueuedJob wide = job(1, 2, 1024, 10);
        Plan plan = scheduler("backfill").plan(cluster, List.of(wide, job(2, 1, 4, 10)), NOW);
        assertThat(plan.cloud()).containsExactly(new Plan.CloudPlacement(id(1), "medium", 2, 4.0));
        assertThat(plan.startNow()).extracting(Plan.Placement::job).containsExactly(id(2));
        assertThat(plan.infeasible()).isEmpty();
    }

    @Test
    void fairSharePlacesHigherPriorityFirstThenTheLighterAccount() {
        ClusterView cluster = new ClusterView(List.of(node("a", 4)), List.of(),
                Map.of("p", NodeMode.EXCLUSIVE), List.of(), Map.of("heavy", 100.0, "light", 1.0));
        QueuedJob heavyLow = new QueuedJob(id(1), 1, 1, 0, 0, Duration.ofSeconds(10), 1, "heavy", NOW);
        QueuedJob heavyHigh = new QueuedJob(id(2), 1, 1, 0, 0, Duration.ofSeconds(10), 5, "heavy", NOW);
        QueuedJob light = new QueuedJob(id(3), 1, 1, 0, 0, Duration.ofSeconds(10), 1, "light", NOW);
        Plan plan = plan("fair-share", cluster, heavyLow, heavyHigh, light);
        assertThat(placement(plan, 2).start()).isEqualTo(NOW);
        assertThat(placement(plan, 3).start()).isEqualTo(NOW.plusSeconds(10));
        assertThat(placement(plan, 1).start()).isEqualTo(NOW.plusSeconds(20));
    }

    @Test
    void aPartitionNotListedIsShared() {
        ClusterView cluster = new ClusterView(List.of(node("a", 4)), List.of());
        assertThat(cluster.modeOf("anything")).isEqualTo(NodeMode.SHARED);
    }

    @org.junit.jupiter.api.Test
    void aJobAskingForNegativeResourcesIsRefusedBeforeAnyPass() {
        for (int[] bad : new int[][] {{-1, 0, 0}, {0, -1, 0}, {0, 0, -1}}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new QueuedJob(Workloads.id(1), 1, bad[0], bad[1],
                            bad[2], java.time.Duration.ofSeconds(1), 0, "a", Workloads.NOW))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
        }
    }
}
