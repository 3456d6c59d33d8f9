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
}
