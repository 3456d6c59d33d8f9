package dev.skyport.core.internal;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * How long to wait before trying a failing part of the engine again: doubling from {@code initial} up to {@code max}
 * with each failure in a row, jittered to [d/2, d] so that parts failing together do not retry in step. The jitter
 * comes from the given source, so a test can fix it; the time the delay is added to comes from the engine's clock.
 * Thread-safe.
 */
final class Backoff {
    /** The first retry of a failing pass or replay. */
    static final Duration INITIAL = Duration.ofSeconds(1);
    /** The longest wait between retries: a part that recovers is noticed within it. */
    static final Duration MAX = Duration.ofSeconds(30);

    private final Duration initial;
    private final Duration max;
    private final RandomGenerator random;
    private int failures;

    Backoff(Duration initial, Duration max, RandomGenerator random) {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("need 0 < initial <= max, got " + initial + " and " + max);
        }
        this.initial = initial;
        this.max = max;
        this.random = Objects.requireNonNull(random, "random");
    }

    /** Counts one more failure and returns the wait before the next try. */
    synchronized Duration next() {
        failures++;
        long ceiling = initial.toMillis();
        for (int i = 1; i < failures && ceiling < max.toMillis(); i++) {
            ceiling *= 2;
        }
        ceiling = Math.min(ceiling, max.toMillis());
        long half = ceiling / 2;
        return Duration.ofMillis(half + random.nextLong(ceiling - half + 1));
    }

    /** The part works again: the next failure waits {@code initial} (jittered) again. */
    synchronized void reset() {
        failures = 0;
    }

    /** Failures in a row since the last {@link #reset()}. */
    synchronized int failures() {
        return failures;
    }
}
