package dev.skyport.core.internal;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

import static org.assertj.core.api.Assertions.assertThat;

class BackoffTest {
    /** A jitter source that always draws {@code pick(bound)}. */
    private static RandomGenerator fixed(java.util.function.LongUnaryOperator pick) {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                throw new UnsupportedOperationException("only bounded draws are expected");
            }

            @Override
            public long nextLong(long bound) {
                return pick.applyAsLong(bound);
            }
        };
    }

    private static List<Long> delays(Backoff b, int n) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(b.next().toMillis());
        }
        return out;
    }

    @Test
    void doublesFromOneSecondUpToThirtyWithTheHighestJitter() {
        Backoff b = new Backoff(Backoff.INITIAL, Backoff.MAX, fixed(bound -> bound - 1));
        assertThat(delays(b, 8)).containsExactly(1000L, 2000L, 4000L, 8000L, 16000L, 30000L, 30000L, 30000L);
        assertThat(b.failures()).isEqualTo(8);
    }

    @Test
    void theLowestJitterIsHalfTheStep() {
        Backoff b = new Backoff(Backoff.INITIAL, Backoff.MAX, fixed(bound -> 0));
        assertThat(delays(b, 7)).containsExactly(500L, 1000L, 2000L, 4000L, 8000L, 15000L, 15000L);
    }

    @Test
    void resetStartsOverAndManyFailuresDoNotOverflow() {
        Backoff b = new Backoff(Backoff.INITIAL, Backoff.MAX, new SplittableRandom(7));
        for (int i = 0; i < 10_000; i++) {
            assertThat(b.next()).isBetween(Duration.ofMillis(500), Backoff.MAX);
        }
        b.reset();
        assertThat(b.next()).isBetween(Duration.ofMillis(500), Duration.ofSeconds(1));
    }
}
