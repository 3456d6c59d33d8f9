package dev.skyport.api;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A job moved from one state to another (for a new job, {@code from} is empty and {@code to} is QUEUED).
 * Published only after the transition is durable.
 *
 * @param sequence the event's place in the engine's event order
 * @param time when the transition happened
 * @param jobId the job
 * @param from the state it left; empty for a new job
 * @param to the state it entered
 * @param endReason why it ended, for a move to a terminal state
 * @param details a human-readable reason
 */
public record JobTransitioned(long sequence, Instant time, JobId jobId, Optional<JobState> from, JobState to,
                              Optional<EndReason> endReason, String details) implements SkyPortEvent {
    /**
     * Rejects null components.
     *
     * @param sequence the event's place in the engine's event order
     * @param time when the transition happened
     * @param jobId the job
     * @param from the state it left; empty for a new job
     * @param to the state it entered
     * @param endReason why it ended, for a move to a terminal state
     * @param details a human-readable reason
     */
    public JobTransitioned {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(endReason, "endReason");
        Objects.requireNonNull(details, "details");
    }
}
