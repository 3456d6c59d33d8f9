package dev.skyport.core.store;

/** Why the engine is stopping a job's process, persisted so a restart finishes what was asked. */
public enum StopIntent {
    /** The user canceled: end CANCELED. */
    CANCEL,
    /** The user requeued: back to QUEUED with fresh placement. */
    REQUEUE,
    /** The attempt ran past its time limit: it ends TIME_LIMIT (retried only if the policy retries user failures). */
    TIME_LIMIT
}
