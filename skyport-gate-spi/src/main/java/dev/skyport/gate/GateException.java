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
     */
    public static GateException transientFailure(String message, Throwable cause, Optional<Duration> retryAfter,
                                                 EndReason reason) {
        return new GateException(message, cause, true, retryAfter, Optional.of(reason));
    }

    /**
     * {@return a failure that will not go away, of a known kind: {@link EndReason#QUOTA_EXCEEDED} (the account's
     * quota), {@link EndReason#NO_CAPACITY} (the size is not offered there), {@link EndReason#PARTITION_FAILED}}
     */
    public static GateException permanent(String message, EndReason reason) {
        return new GateException(message, null, false, Optional.empty(), Optional.of(reason));
    }

    /** {@return a failure that may go away: retry later, after {@code retryAfter} if given} */
    public static GateException transientFailure(String message, Throwable cause, Optional<Duration> retryAfter) {
        return new GateException(message, cause, true, retryAfter, Optional.empty());
    }

    /** {@return a failure that will not go away by retrying (bad request, unknown node, no such image)} */
    public static GateException permanent(String message) {
        return new GateException(message, null, false, Optional.empty(), Optional.empty());
    }

    /** {@return a permanent failure caused by {@code cause}} */
    public static GateException permanent(String message, Throwable cause) {
        return new GateException(message, cause, false, Optional.empty(), Optional.empty());
    }

    public boolean isTransient() {
        return transientError;
    }

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
