package dev.skyport.api;

/**
 * What is happening to a job. Why a job ended is a separate {@link EndReason}.
 *
 * <pre>
 * QUEUED -> PROVISIONING -> STAGING_IN -> RUNNING -> STAGING_OUT -> SUCCEEDED | FAILED | CANCELED
 *                      (any non-terminal) -> CANCELING -> CANCELED
 * </pre>
 *
 * A job handed to a batch site (a Slurm cluster) stages in first and then waits in PROVISIONING while the site's own
 * scheduler finds its nodes: QUEUED -> STAGING_IN -> PROVISIONING -> RUNNING, with the site's reason and expected
 * start in {@link Job#stateDetails()}.
 */
public enum JobState {
    /** Waiting for the scheduler to place it. */
    QUEUED,
    /**
     * Placed; its partition (cloud or on-prem resources) is being created or prepared, or it waits in a batch site's
     * queue.
     */
    PROVISIONING,
    /** Input files are being copied to its nodes. */
    STAGING_IN,
    /** The job's process runs on its nodes. */
    RUNNING,
    /** The process ended; outputs and logs are being copied back. */
    STAGING_OUT,
    /** A cancel was accepted; the process and resources are being torn down. */
    CANCELING,
    /** Ended with exit code 0. Terminal. */
    SUCCEEDED,
    /** Ended for any other reason than success or cancel; see {@link EndReason}. Terminal. */
    FAILED,
    /** Canceled by a user. Terminal. */
    CANCELED;

    /** {@return true for SUCCEEDED, FAILED and CANCELED: nothing will happen to the job any more unless requeued} */
    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELED;
    }

    /** {@return true while the job holds (or is acquiring) nodes} */
    public boolean holdsResources() {
        return this == PROVISIONING || this == STAGING_IN || this == RUNNING || this == STAGING_OUT || this == CANCELING;
    }
}
