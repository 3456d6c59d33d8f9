package dev.skyport.core.internal;

import dev.skyport.api.JobId;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.core.internal.SimulatedReplay.SimJob;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Passes for events plan the head of the queue ({@link SchedulingPass#PLANNING_WINDOW}); a whole-queue pass, at most
 * every max(1 s, 4 x its duration), plans the rest. On a {@link SimulatedCluster} with a clock moved by hand.
 */
class WholeQueuePassTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final long GIB = 1L << 30;

    @TempDir
    Path data;

    private static List<Node> nodes(int count, int cpus) {
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            nodes.add(new Node("node-" + i, "part", cpus, 8 * GIB, 0, NodeState.UP, Map.of()));
        }
        return nodes;
    }

    /**
     * One job holds a cpu of a 2-cpu node for 100 s; {@link SchedulingPass#PLANNING_WINDOW} jobs of both cpus queue
     * behind it; the job after them, 1 cpu for 50 s, fits in the gap now. With {@code wholeQueue} false the engine runs
     * no whole-queue pass; the replay goes up to the end of the first job, when the gap is gone either way.
     */
    private double waitOfTheJobBehindTheWindow(Path dir, boolean wholeQueue) throws Exception {
        List<SimJob> jobs = new ArrayList<>();
        jobs.add(new SimJob(1, 1, GIB, Duration.ofSeconds(100)));
        for (int i = 0; i < SchedulingPass.PLANNING_WINDOW; i++) {
            jobs.add(new SimJob(1, 2, GIB, Duration.ofSeconds(10)));
        }
        jobs.add(new SimJob(1, 1, GIB, Duration.ofSeconds(50)));
        String property = "skyport.scheduler.queue-depth";
        String before = System.getProperty(property);
        if (!wholeQueue) {
            System.setProperty(property, Integer.toString(SchedulingPass.PLANNING_WINDOW));
        }
        try (SimulatedReplay replay = new SimulatedReplay(dir, nodes(1, 2), T0, "backfill")) {
            List<JobId> ids = replay.submit(jobs);
            JobId behind = ids.get(ids.size() - 1);
            while (replay.waits(List.of(behind))[0] < 0
                    && replay.nextEvent().map(t -> t.isBefore(T0.plusSeconds(100))).orElse(false)) {
                replay.advanceTo(replay.nextEvent().get());
            }
            return replay.waits(List.of(behind))[0];
        } finally {
            if (before == null) {
                System.clearProperty(property);
            } else {
                System.setProperty(property, before);
            }
        }
    }

    @Test
    void aJobBehindTheWindowStartsInAGapThatOnlyTheWholeQueuePlanSees() throws Exception {
        assertThat(waitOfTheJobBehindTheWindow(data.resolve("whole"), true))
                .as("the job at position %d starts at once, in the gap beside the first job",
                        SchedulingPass.PLANNING_WINDOW + 2)
                .isEqualTo(0.0);
        assertThat(waitOfTheJobBehindTheWindow(data.resolve("window"), false))
                .as("with event passes alone it has not started while the gap was there").isEqualTo(-1.0);
    }

    @Test
    void aJobInTheWindowStartsOnTheEventWithoutWaitingForTheNextWholeQueuePass() throws Exception {
        List<SimJob> jobs = new ArrayList<>();
        // Its time limit is later than its end: both at 0.3 s, the limit could end it first, on a path that waits for
        // the loop's lock the replay holds, and the replay would go on out of lock-step (seen on a loaded machine).
        jobs.add(new SimJob(1, 4, GIB, Duration.ofMillis(300), Duration.ofSeconds(10)));
        for (int i = 0; i < 1_200; i++) {
            jobs.add(new SimJob(1, 4, GIB, Duration.ofSeconds(10)));
        }
        try (SimulatedReplay replay = new SimulatedReplay(data, nodes(1, 4), T0, "backfill")) {
            List<JobId> ids = replay.submit(jobs);
            assertThat(replay.waits(ids.subList(0, 2))).containsExactly(0.0, -1.0);
            // The queue is deeper than the window, so the pass at t0 planned all of it and the next whole-queue pass is
            // at least a second away. The first job's end at 0.3 s is an event: the head job starts then.
            replay.advanceTo(T0.plusMillis(300));
            assertThat(replay.clock().instant()).isBefore(T0.plusSeconds(1));
            assertThat(replay.waits(ids.subList(1, 3))).containsExactly(0.3, -1.0);
            assertThat(replay.nextEvent()).as("the whole-queue pass is due later, on a timer")
                    .hasValueSatisfying(t -> assertThat(t).isAfter(T0.plusMillis(300)));
        }
    }

    @Test
    void aReplayOfTheSameWorkloadStartsEveryJobAtTheSameTime() throws Exception {
        Random random = new Random(17);
        List<SimJob> jobs = new ArrayList<>();
        // Deeper than the window for the first few hundred simulated seconds, so both kinds of pass plan.
        for (int i = 0; i < 1_050; i++) {
            jobs.add(new SimJob(1 + (random.nextInt(10) == 0 ? 1 : 0), 1 + random.nextInt(4),
                    (1 + random.nextInt(4)) * GIB, Duration.ofSeconds(1 + random.nextInt(20))));
        }
        double[] first;
        double[] second;
        try (SimulatedReplay replay = new SimulatedReplay(data.resolve("a"), nodes(16, 4), T0, "backfill")) {
            List<JobId> ids = replay.submit(jobs);
            replay.runToEnd();
            first = replay.waits(ids);
        }
        try (SimulatedReplay replay = new SimulatedReplay(data.resolve("b"), nodes(16, 4), T0, "backfill")) {
            List<JobId> ids = replay.submit(jobs);
            replay.runToEnd();
            second = replay.waits(ids);
        }
        assertThat(first).doesNotContain(-1.0);
        assertThat(second).containsExactly(first);
    }

    @Test
    void theQueueDepthPropertyIsBoundedToTheWindowAndTheCapAndRefusesWhatIsNotANumber() {
        assertThat(SchedulingPass.queueDepth(null)).isEqualTo(SchedulingPass.QUEUE_DEPTH);
        assertThat(SchedulingPass.queueDepth("5000")).isEqualTo(5000);
        assertThat(SchedulingPass.queueDepth("10")).isEqualTo(SchedulingPass.PLANNING_WINDOW);
        assertThat(SchedulingPass.queueDepth("10000000")).isEqualTo(SchedulingPass.QUEUE_DEPTH);
        assertThatThrownBy(() -> SchedulingPass.queueDepth("100k"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("skyport.scheduler.queue-depth");
    }
}
