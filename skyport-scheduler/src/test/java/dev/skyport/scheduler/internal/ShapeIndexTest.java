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
            Reservation made = reserveAtRandom(r, table, notBefore, requests, durations, 3_000);
            if (made == null) {
                continue;
            }
            made.noteIn(masked);
            made.noteIn(stepwise);
            assertSameFacts(masked, stepwise, shapes, n, durations, step);
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
            Reservation made = reserveAtRandom(r, table, notBefore, requests, durations, 2_000);
            if (made == null) {
                continue;
            }
            made.noteIn(index);
            ShapeIndex fresh = new ShapeIndex(table, notBefore, shortest);
            for (int p = 0; p < requests.length; p++) {
                assertThat(fresh.shape(requests[p][0], requests[p][1], requests[p][2])).isEqualTo(shapes[p]);
            }
            assertSameFacts(fresh, index, shapes, n, durations, step);
        }
    }

    /** A reservation {@link #reserveAtRandom} added to a timetable, to be noted in indexes over it. */
    private record Reservation(int node, long start, long end, int[] request) {
        void noteIn(ShapeIndex index) {
            index.reserved(node, start, end, request[0], request[1], request[2]);
        }
    }

    /**
     * Draws one of {@code requests}, a node and a duration; when the node can hold the request, adds it to
     * {@code table} at its earliest start from a random time before {@code latest} and, one time in four, raises the
     * node's fcfs notBefore (when there is one) to that start. Null when the node cannot hold it.
     */
    private static Reservation reserveAtRandom(Random r, Timetable table, long[] notBefore, int[][] requests,
                                               long[] durations, int latest) {
        int[] q = requests[r.nextInt(requests.length)];
        int j = r.nextInt(table.nodeCount);
        if (!table.canHold(j, q[0], q[1], q[2])) {
            return null;
        }
        long millis = durations[r.nextInt(durations.length)];
        long start = table.earliestFrom(j, q[0], q[1], q[2], millis, r.nextInt(latest), Timetable.NONE);
        table.add(j, start, start + millis, q[0], q[1], q[2]);
        if (notBefore != null && r.nextInt(4) == 0) {
            notBefore[j] = Math.max(notBefore[j], start);
        }
        return new Reservation(j, start, start + millis, q);
    }

    /** {@code actual} knows, for each shape, node and duration, what {@code expected} knows after {@code step}. */
    private static void assertSameFacts(ShapeIndex expected, ShapeIndex actual, int[] shapes, int nodes,
                                        long[] durations, int step) {
        for (int p : shapes) {
            for (int node = 0; node < nodes; node++) {
                for (long d : durations) {
                    assertThat(actual.lowerBound(p, node, d)).as("shape %d node %d %d ms after %d reservations",
                            p, node, d, step + 1).isEqualTo(expected.lowerBound(p, node, d));
                    assertThat(actual.hasGap(p, node, d)).as("gap of shape %d node %d %d ms after %d reservations",
                            p, node, d, step + 1).isEqualTo(expected.hasGap(p, node, d));
                }
            }
        }
    }
}
