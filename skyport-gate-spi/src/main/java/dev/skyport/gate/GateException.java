package dev.skyport.gate;

import dev.skyport.api.EndReason;
import dev.skyport.api.SkyPortException;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A gate could not do what was asked. {@link #isTransient()} says whether the same call may succeed later (a timeout,
 * throttling, capacity); {@link #retryAfter()} says when, if the gate knows. Permanent errors fail the attempt with a
 * clear reason.
 */
public class GateException extends SkyPortException {
    /** Whether trying again may succeed. */
    private final boolean transientError;
    private final transient Optional<Duration> retryAfter;
    private final transient Optional<EndReason> reason;

    private GateException(String message, Throwable cause, boolean transientError, Optional<Duration> retryAfter,
                          Optional<EndReason> reason) {
        super(message, cause);
        this.transientError = transientError;
        this.retryAfter = Objects.requireNonNull(retryAfter, "retryAfter");
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /**
     * {@return a failure that may go away, of a known kind: {@link EndReason#NO_CAPACITY} (the cloud has no machines of
     * that size now), {@link EndReason#PARTITION_FAILED}}
     *
     * @param message what failed
     * @param cause the exception behind it
     * @param retryAfter when the backend said to try again, if it did
     * @param reason the end reason for the attempt, when the gate knows it
     */
    public static GateException transientFailure(String message, Throwable cause, Optional<Duration> retryAfter,
                                                 EndReason reason) {
        return new GateException(message, cause, true, retryAfter, Optional.of(reason));
    }

    /**
     * {@return a failure that will not go away, of a known kind: {@link EndReason#QUOTA_EXCEEDED} (the account's
     * quota), {@link EndReason#NO_CAPACITY} (the size is not offered there), {@link EndReason#PARTITION_FAILED}}
     *
     * @param message what failed
     * @param reason the end reason for the attempt
     */
    public static GateException permanent(String message, EndReason reason) {
        return new GateException(message, null, false, Optional.empty(), Optional.of(reason));
    }

    /**
     * {@return a failure that may go away: retry later, after {@code retryAfter} if given}
     *
     * @param message what failed
     * @param cause the exception behind it
     * @param retryAfter when the backend said to try again, if it did
     */
    public static GateException transientFailure(String message, Throwable cause, Optional<Duration> retryAfter) {
        return new GateException(message, cause, true, retryAfter, Optional.empty());
    }

    /**
     * {@return a failure that will not go away by retrying (bad request, unknown node, no such image)}
     *
     * @param message what failed
     */
    public static GateException permanent(String message) {
        return new GateException(message, null, false, Optional.empty(), Optional.empty());
    }

    /**
     * {@return a permanent failure caused by {@code cause}}
     *
     * @param message what failed
     * @param cause the exception behind it
     */
    public static GateException permanent(String message, Throwable cause) {
        return new GateException(message, cause, false, Optional.empty(), Optional.empty());
    }

    /** {@return whether trying again may succeed (throttling, a timeout, no capacity now)} */
    public boolean isTransient() {
        return transientError;
    }

    /** {@return when the backend said to try again, if it did} */
    public Optional<Duration> retryAfter() {
        return retryAfter;
    }

    /**
     * {@return why, as the end reason of the attempt it fails, when the gate knows; else the engine picks one for the
     * call}
     */
    public Optional<EndReason> reason() {
        return reason;
    }
}
