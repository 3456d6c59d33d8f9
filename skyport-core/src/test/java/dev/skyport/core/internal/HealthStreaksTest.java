package dev.skyport.core.internal;

import dev.skyport.api.Health;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link EngineHealth}: one streak per component, counted, DOWN after its threshold, gone when it works again. */
class HealthStreaksTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private static final class MovableClock extends Clock {
        Instant now = T0;

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void aStreakKeepsItsStartCountsItsFailuresAndStopsSchedulingAtItsThreshold() {
        MovableClock clock = new MovableClock();
        EngineHealth health = new EngineHealth(clock);
        assertThat(health.view()).isEqualTo(Health.up());
        for (int i = 1; i <= 3; i++) {
            health.failed("scheduler", "the scheduling pass", new IllegalStateException("fail " + i), 3,
                    Optional.of(clock.now.plusSeconds(1)));
            assertThat(health.isDown()).as("after %d failure(s)", i).isEqualTo(i >= 3);
            clock.now = clock.now.plus(Duration.ofSeconds(1));
        }
        health.failed("gate-nodes", "listing nodes", new RuntimeException("x".repeat(10_000)), 0, Optional.empty());
        Health h = health.view();
        assertThat(h.status()).isEqualTo(Health.Status.DOWN);
        assertThat(h.problems()).extracting(Health.Problem::component).containsExactly("scheduler", "gate-nodes");
        Health.Problem pass = h.problems().get(0);
        assertThat(pass.since()).isEqualTo(T0);
        assertThat(pass.failures()).isEqualTo(3);
        assertThat(pass.message()).isEqualTo("java.lang.IllegalStateException: fail 3");
        assertThat(h.problems().get(1).message()).as("cut for the view").hasSize(500).endsWith("...");

        health.recovered("scheduler");
        assertThat(health.isDown()).isFalse();
        assertThat(health.view().status()).isEqualTo(Health.Status.DEGRADED);
        health.recovered("gate-nodes");
        health.recovered("never-failed");
        assertThat(health.view()).isEqualTo(Health.up());

        health.failed("scheduler", "the scheduling pass", new IllegalStateException("again"), 3, Optional.empty());
        assertThat(health.view().problems().get(0).failures()).as("a new streak").isEqualTo(1);
    }

    @Test
    void onlyErrorsThatSayTheJvmIsBrokenAreFatal() {
        assertThat(EngineHealth.isFatal(new InternalError())).isTrue();
        assertThat(EngineHealth.isFatal(new UnknownError())).isTrue();
        assertThat(EngineHealth.isFatal(new OutOfMemoryError())).isFalse();
        assertThat(EngineHealth.isFatal(new StackOverflowError())).isFalse();
        assertThat(EngineHealth.isFatal(new AssertionError())).isFalse();
        assertThat(EngineHealth.isFatal(new IllegalStateException())).isFalse();
    }
}
