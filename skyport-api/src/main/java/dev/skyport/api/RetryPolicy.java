package dev.skyport.api;

import java.time.Duration;
import java.util.Objects;

/**
 * How a job is retried. Infrastructure failures (node lost, partition failed, no capacity...) are retried up to
 * {@code maxAttempts} attempts in all, with jittered exponential back-off from {@code initialBackoff} to
 * {@code maxBackoff}, and never after {@code deadline} has passed since submission. User failures (non-zero exit,
 * signal, time limit) are retried only when {@code retryUserFailures} is set.
 *
 * <p>Default: 3 attempts, 1 s initial back-off doubling up to 1 min, 1 h deadline, user failures not retried.
 *
 * @param maxAttempts attempts in all, the first included
 * @param initialBackoff the wait before the first retry
 * @param maxBackoff the longest wait between two attempts
 * @param deadline the time after submission past which no retry starts
 * @param retryUserFailures whether user failures are retried too
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration deadline,
                          boolean retryUserFailures) {
    private static final RetryPolicy DEFAULT =
            new RetryPolicy(3, Duration.ofSeconds(1), Duration.ofMinutes(1), Duration.ofHours(1), false);
    private static final RetryPolicy NONE =
            new RetryPolicy(1, Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofHours(1), false);

    /**
     * Rejects null components.
     *
     * @param maxAttempts attempts in all, the first included
     * @param initialBackoff the wait before the first retry
     * @param maxBackoff the longest wait between two attempts
     * @param deadline the time after submission past which no retry starts
     * @param retryUserFailures whether user failures are retried too
     * @throws InvalidJobSpecException when a component is out of its range (the message names it)
     */
    public RetryPolicy {
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        Objects.requireNonNull(deadline, "deadline");
        if (maxAttempts < 1) {
            throw new InvalidJobSpecException("retryPolicy.maxAttempts", "must be at least 1, got " + maxAttempts);
        }
        if (initialBackoff.isNegative() || initialBackoff.isZero()) {
            throw new InvalidJobSpecException("retryPolicy.initialBackoff", "must be positive");
        }
        if (maxBackoff.compareTo(initialBackoff) < 0) {
            throw new InvalidJobSpecException("retryPolicy.maxBackoff", "must not be shorter than initialBackoff");
        }
        if (deadline.isNegative() || deadline.isZero()) {
            throw new InvalidJobSpecException("retryPolicy.deadline", "must be positive");
        }
    }

    /** {@return 3 attempts for infrastructure failures; see the class comment} */
    public static RetryPolicy defaults() {
        return DEFAULT;
    }

    /** {@return one attempt only: any failure ends the job} */
    public static RetryPolicy none() {
        return NONE;
    }

    /**
     * {@return the same policy with {@code n} attempts in all}
     *
     * @param n attempts in all, at least 1
     */
    public RetryPolicy withMaxAttempts(int n) {
        return new RetryPolicy(n, initialBackoff, maxBackoff, deadline, retryUserFailures);
    }

    /**
     * {@return the same policy with other back-off bounds}
     *
     * @param initial the wait before the first retry
     * @param max the longest wait
     */
    public RetryPolicy withBackoff(Duration initial, Duration max) {
        return new RetryPolicy(maxAttempts, initial, max, deadline, retryUserFailures);
    }

    /**
     * {@return the same policy with another overall deadline, counted from submission}
     *
     * @param d the deadline, from submission
     */
    public RetryPolicy withDeadline(Duration d) {
        return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff, d, retryUserFailures);
    }

    /**
     * {@return the same policy, also retrying user failures when {@code retry} is true}
     *
     * @param retry true to retry user failures too
     */
    public RetryPolicy withRetryUserFailures(boolean retry) {
        return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff, deadline, retry);
    }

    /**
     * {@return the back-off before attempt {@code nextAttempt} (2 for the first retry), without jitter:
     * {@code initialBackoff 2^(nextAttempt-2)}, capped at {@code maxBackoff}}
     *
     * @param nextAttempt the number of the attempt about to start, from 2
     */
    public Duration backoffBefore(int nextAttempt) {
        int exponent = Math.max(0, Math.min(30, nextAttempt - 2));
        Duration d = initialBackoff.multipliedBy(1L << exponent);
        return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
    }
}
