package dev.skyport.scheduler.internal;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ShapeIndexTest {
    /** A shape must never ask for more than the job, and must share its cell, or bounds would not be bounds. */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2})
    void aCellsSmallestValueIsAtMostEveryValueInItAndCellsAreOrdered(int bits) {
        Random r = new Random(bits);
        for (int i = 0; i < 100_000; i++) {
            long x = i < 1_000 ? i : r.nextLong() >>> (1 + r.nextInt(62));
            long low = ShapeIndex.roundDown(x, bits);
            assertThat(low).isLessThanOrEqualTo(x);
            assertThat(x - low).isLessThanOrEqualTo(x >> bits);
            assertThat(ShapeIndex.grid(low, bits)).isEqualTo(ShapeIndex.grid(x, bits));
            if (low > 0) {
                assertThat(ShapeIndex.grid(low - 1, bits)).isEqualTo(ShapeIndex.grid(x, bits) - 1);
            }
            assertThat(ShapeIndex.grid(x, bits)).isBetween(0L, 255L);
        }
        assertThat(ShapeIndex.grid(Long.MAX_VALUE, bits)).isLessThan(256);
    }

    /**
     * A reservation over more than {@link ShapeIndex#MASKED_STEPS} steps is noted step by step, which the bench and
     * most random plans never reach: an index noting every reservation that way must know what one noting them with
     * bit masks knows, shape by shape and node by node.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6})
    void reservationsNotedStepByStepLeaveTheSameFactsAsThoseNotedWithMasks(int seed) {
        Random r = new Random(seed);
        int n = 5;
        int[] cpus = {8, 16, 16, 32, 8};
        long[] memory = {32, 64, 16, 128, 32};
        int[] gpus = {0, 2, 0, 4, 0};
        boolean[] exclusive = {false, false, false, false, seed % 3 == 0};
        Timetable table = new Timetable(cpus, memory, gpus, exclusive, false);
        // fcfs's notBefore on odd seeds, none on even ones: the index keeps final runs apart from keys only then.
        long[] notBefore = seed % 2 == 1 ? new long[n] : null;
        long shortest = 5;
        ShapeIndex masked = new ShapeIndex(table, notBefore, shortest, ShapeIndex.MASKED_STEPS);
        ShapeIndex stepwise = new ShapeIndex(table, notBefore, shortest, 0);
        int[][] requests = {{1, 1, 0}, {2, 8, 0}, {4, 4, 1}, {8, 32, 0}, {16, 16, 2}, {3, 5, 0}, {32, 64, 4}};
        int[] shapes = new int[requests.length];
        for (int q = 0; q < requests.length; q++) {
            shapes[q] = masked.shape(requests[q][0], requests[q][1], requests[q][2]);
            assertThat(stepwise.shape(requests[q][0], requests[q][1], requests[q][2])).isEqualTo(shapes[q]);
        }
        long[] durations = {1, 5, 20, 60, 200, 1_000};
        for (int step = 0; step < 600; step++) {
            int q = r.nextInt(requests.length);
            int j = r.nextInt(n);
            if (!table.canHold(j, requests[q][0], requests[q][1], requests[q][2])) {
                continue;
            }
            long millis = durations[r.nextInt(durations.length)];
            long start = table.earliestFrom(j, requests[q][0], requests[q][1], requests[q][2], millis,
                    r.nextInt(3_000), Timetable.NONE);
            table.add(j, start, start + millis, requests[q][0], requests[q][1], requests[q][2]);
            if (notBefore != null && r.nextInt(4) == 0) {
                notBefore[j] = Math.max(notBefore[j], start);
            }
            masked.reserved(j, start, start + millis, requests[q][0], requests[q][1], requests[q][2]);
            stepwise.reserved(j, start, start + millis, requests[q][0], requests[q][1], requests[q][2]);
            for (int p : shapes) {
                for (int node = 0; node < n; node++) {
                    for (long d : durations) {
                        assertThat(stepwise.lowerBound(p, node, d)).as("shape %d node %d %d ms after %d reservations",
                                p, node, d, step + 1).isEqualTo(masked.lowerBound(p, node, d));
                        assertThat(stepwise.hasGap(p, node, d)).isEqualTo(masked.hasGap(p, node, d));
                    }
                }
            }
        }
    }

    /**
     * A reservation is noted only for the shapes that one of its steps held before and holds no more, found for all
     * shapes at once from their sizes: after every reservation the index must know what an index built afresh from
     * the timetable knows, shape by shape and node by node. Random sizes on and off the shapes' grid cells, nodes
     * used to the brim, and an exclusive node on some seeds.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
    void reservationsNotedOnlyForTheShapesTheyChangeLeaveWhatAFreshIndexKnows(int seed) {
        Random r = new Random(seed);
        int n = 6;
        int[] cpus = {8, 16, 16, 32, 8, 64};
        long[] memory = {32, 64, 16, 128, 32, 256};
        int[] gpus = {0, 2, 0, 4, 0, 8};
        boolean[] exclusive = {false, false, false, false, seed % 3 == 0, false};
        Timetable table = new Timetable(cpus, memory, gpus, exclusive, false);
        long[] notBefore = seed % 2 == 1 ? new long[n] : null;
        long shortest = 3;
        ShapeIndex index = new ShapeIndex(table, notBefore, shortest);
        int[][] requests = new int[12][];
        for (int q = 0; q < requests.length; q++) {
            requests[q] = new int[] {1 + r.nextInt(q < 6 ? 8 : 40), 1 + r.nextInt(q < 6 ? 16 : 160),
                    r.nextInt(4) == 0 ? r.nextInt(6) : 0};
        }
        int[] shapes = new int[requests.length];
        for (int q = 0; q < requests.length; q++) {
            shapes[q] = index.shape(requests[q][0], requests[q][1], requests[q][2]);
        }
        long[] durations = {1, 3, 10, 40, 150, 700};
        for (int step = 0; step < 400; step++) {
            int q = r.nextInt(requests.length);
            int j = r.nextInt(n);
            if (!table.canHold(j, requests[q][0], requests[q][1], requests[q][2])) {
                continue;
            }
            long millis = durations[r.nextInt(durations.length)];
            long start = table.earliestFrom(j, requests[q][0], requests[q][1], requests[q][2], millis,
                    r.nextInt(2_000), Timetable.NONE);
            table.add(j, start, start + millis, requests[q][0], requests[q][1], requests[q][2]);
            if (notBefore != null && r.nextInt(4) == 0) {
                notBefore[j] = Math.max(notBefore[j], start);
            }
            index.reserved(j, start, start + millis, requests[q][0], requests[q][1], requests[q][2]);
            ShapeIndex fresh = new ShapeIndex(table, notBefore, shortest);
            for (int p = 0; p < requests.length; p++) {
                assertThat(fresh.shape(requests[p][0], requests[p][1], requests[p][2])).isEqualTo(shapes[p]);
            }
            for (int p : shapes) {
                for (int node = 0; node < n; node++) {
                    for (long d : durations) {
                        assertThat(index.lowerBound(p, node, d)).as("shape %d node %d %d ms after %d reservations",
                                p, node, d, step + 1).isEqualTo(fresh.lowerBound(p, node, d));
                        assertThat(index.hasGap(p, node, d)).isEqualTo(fresh.hasGap(p, node, d));
                    }
                }
            }
        }
    }
}
