package dev.skyport.client.internal;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class BackoffTest {
    @Test
    void eachRetryWaitsBetweenHalfAndAllOfADoublingStepUpToTheMaximum() {
        Backoff least = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2), () -> 0.0);
        Backoff most = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2), () -> 0.999999);
        long[] steps = {100, 200, 400, 800, 1600, 2000, 2000};
        for (int retry = 0; retry < steps.length; retry++) {
            assertThat(least.delay(retry).toMillis()).as("retry %d", retry).isEqualTo(steps[retry] / 2);
            assertThat(most.delay(retry).toMillis()).as("retry %d", retry).isEqualTo(steps[retry]);
        }
        assertThat(most.delay(10_000)).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void retryAfterIsReadAsSecondsOrAnHttpDate() {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        assertThat(Backoff.retryAfter("7", now)).hasValue(Duration.ofSeconds(7));
        assertThat(Backoff.retryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).hasValue(Duration.ofSeconds(30));
        assertThat(Backoff.retryAfter("Wed, 31 Dec 2025 00:00:30 GMT", now)).hasValue(Duration.ZERO);
        assertThat(Backoff.retryAfter("soon", now)).isEmpty();
        assertThat(Backoff.retryAfter("-3", now)).isEmpty();
        assertThat(Backoff.retryAfter(null, now)).isEmpty();
    }
}
