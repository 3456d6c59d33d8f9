package dev.skyport.api;

/**
 * Why an attempt or a job ended. Each reason has a {@link Cause}: user failures are not retried unless the job's
 * {@link RetryPolicy} says so; infrastructure failures are retried with back-off.
 */
public enum EndReason {
    /** Exit code 0. */
    COMPLETED(Cause.NONE),
    /** The job's process exited with a non-zero code. */
    NON_ZERO_EXIT(Cause.USER),
    /** The job's process was killed by a signal it did not get from Sky Port. */
    SIGNALED(Cause.USER),
    /** The job ran past its time limit and was killed. */
    TIME_LIMIT(Cause.USER),
    /** No node or cloud capacity could be had. */
    NO_CAPACITY(Cause.INFRASTRUCTURE),
    /** A cloud quota was exceeded. */
    QUOTA_EXCEEDED(Cause.INFRASTRUCTURE),
    /** Creating or preparing the job's partition failed. */
    PARTITION_FAILED(Cause.INFRASTRUCTURE),
    /**
     * Moving the job's {@code input-files} to its node or its {@code output-files} back failed (a missing source, a
     * transfer cut off, a checksum mismatch). Retried by policy when the failure may go away.
     */
    STAGING_FAILED(Cause.INFRASTRUCTURE),
    /** The job's node or process disappeared without leaving an exit code. */
    NODE_LOST(Cause.INFRASTRUCTURE),
    /** The job's resources were taken away (e.g. a spot VM evicted). */
    PREEMPTED(Cause.INFRASTRUCTURE),
    /** Sky Port itself failed to start, follow or finish the job. */
    SYSTEM_ERROR(Cause.INFRASTRUCTURE),
    /** A user canceled it. */
    CANCELED(Cause.CANCEL);

    /** Who is to blame, which decides whether a retry may help. */
    public enum Cause {
        /** The job succeeded: nobody is to blame. */
        NONE,
        /** The job's own doing (exit code, signal, time limit): retried only when its policy says so. */
        USER,
        /** The machinery failed (node, partition, capacity, engine): retried with back-off. */
        INFRASTRUCTURE,
        /** Someone canceled the job: never retried. */
        CANCEL
    }

    private final Cause cause;

    EndReason(Cause cause) {
        this.cause = cause;
    }

    /**
     * Who is to blame for this reason, which decides whether a retry may help.
     *
     * @return the reason's cause
     */
    public Cause cause() {
        return cause;
    }
}
