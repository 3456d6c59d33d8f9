package dev.skyport.core.internal;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class AccountUsageTest {
    private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
    private final AccountUsage usage = new AccountUsage(Duration.ofDays(7));

    @Test
    void useHalvesEveryHalfLife() {
        usage.charge("a", 1000, T0);
        assertThat(usage.snapshot(T0).get("a")).isCloseTo(1000, within(1e-9));
        assertThat(usage.snapshot(T0.plus(Duration.ofDays(7))).get("a")).isCloseTo(500, within(1e-6));
        assertThat(usage.snapshot(T0.plus(Duration.ofDays(14))).get("a")).isCloseTo(250, within(1e-6));
        assertThat(usage.snapshot(T0.plus(Duration.ofDays(14)))).doesNotContainKey("b");
    }

    @Test
    void chargesAddUpWhateverOrderTheyArriveIn() {
        AccountUsage replayed = new AccountUsage(Duration.ofDays(7));
        usage.charge("a", 100, T0);
        usage.charge("a", 100, T0.plus(Duration.ofDays(7)));
        replayed.charge("a", 100, T0.plus(Duration.ofDays(7)));
        replayed.charge("a", 100, T0); // history replayed after a newer charge
        Instant later = T0.plus(Duration.ofDays(7));
        assertThat(usage.snapshot(later).get("a")).isCloseTo(150, within(1e-6));
        assertThat(replayed.snapshot(later).get("a")).isCloseTo(150, within(1e-6));
    }

    @Test
    void nothingUsedIsNothingCharged() {
        usage.charge("a", 0, T0);
        usage.charge("b", -5, T0);
        usage.charge("c", Double.NaN, T0);
        assertThat(usage.snapshot(T0)).isEmpty();
    }
}
