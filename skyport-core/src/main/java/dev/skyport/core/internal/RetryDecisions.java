package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.core.store.StopIntent;
import dev.skyport.gate.GateException;
import dev.skyport.gate.RunOutcome;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * How an attempt ended and whether the job is retried: the end reason of a run's outcome, its description, and when
 * the retry policy allows the next attempt. The jitter comes from an injected source, like the time from the clock,
 * so that a test can fix it. Thread-safe.
 */
final class RetryDecisions {
    private final RandomGenerator jitter;

    RetryDecisions(RandomGenerator jitter) {
        this.jitter = Objects.requireNonNull(jitter, "jitter");
    }

    /** Why the attempt ended, from its outcome and the stop that was asked, if any. */
    static EndReason reasonOf(StopIntent intent, RunOutcome outcome) {
        if (intent == StopIntent.TIME_LIMIT) {
            return EndReason.TIME_LIMIT;
        }
        if (outcome.isLost()) {
            return EndReason.NODE_LOST;
        }
        if (outcome.exitCode().getAsInt() == 0) {
            return EndReason.COMPLETED;
        }
        return outcome.signal().isPresent() ? EndReason.SIGNALED : EndReason.NON_ZERO_EXIT;
    }

    static String describe(EndReason reason, RunOutcome outcome) {
        return switch (reason) {
            case NON_ZERO_EXIT -> "Exited with code " + outcome.exitCode().orElse(-1);
            case SIGNALED -> "Killed by signal " + outcome.signal().orElse(0);
            case TIME_LIMIT -> "Time limit reached";
            case NODE_LOST -> "Node lost: " + outcome.detail();
            case SYSTEM_ERROR -> "System error: " + outcome.detail();
            case STAGING_FAILED -> "Staging failed: " + outcome.detail();
            case QUOTA_EXCEEDED -> "Quota exceeded: " + outcome.detail();
            case NO_CAPACITY -> "No capacity: " + outcome.detail();
            case PARTITION_FAILED -> "Partition failed: " + outcome.detail();
            default -> reason.name();
        };
    }

    /**
     * When to retry after {@code reason}, or empty when the policy says the job has failed. A gate's refusal to start
     * the run ({@code refused}) decides for itself: permanent, no retry; transient, a retry after the gate's delay
     * when it gave one (else the policy's back-off), as long as the policy has attempts and time left.
     */
    Optional<Instant> retryAt(Job job, EndReason reason, Instant now, Optional<GateException> refused) {
        if (refused.isPresent() && !refused.get().isTransient()) {
            return Optional.empty();
        }
        var policy = job.spec().retryPolicy();
        boolean retryable = reason.cause() == EndReason.Cause.INFRASTRUCTURE
                || (reason.cause() == EndReason.Cause.USER && policy.retryUserFailures());
        int next = job.attempts().size() + 1;
        if (!retryable || next > policy.maxAttempts()) {
            return Optional.empty();
        }
        Duration backoff = policy.backoffBefore(next);
        // Full jitter in [backoff/2, backoff]: spreads retries of jobs that failed together.
        long half = backoff.toMillis() / 2;
        long drawn;
        synchronized (this) { // the source need not be thread-safe (SplittableRandom is not)
            drawn = jitter.nextLong(half + 1);
        }
        Duration jittered = Duration.ofMillis(half + drawn);
        Instant at = now.plus(refused.flatMap(GateException::retryAfter).orElse(jittered));
        if (at.isAfter(job.submitTime().plus(policy.deadline()))) {
            return Optional.empty();
        }
        return Optional.of(at);
    }
}
