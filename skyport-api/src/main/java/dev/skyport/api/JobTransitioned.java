package dev.skyport.api;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A job moved from one state to another (for a new job, {@code from} is empty and {@code to} is QUEUED).
 * Published only after the transition is durable.
 */
public record JobTransitioned(long sequence, Instant time, JobId jobId, Optional<JobState> from, JobState to,
                              Optional<EndReason> endReason, String details) implements SkyPortEvent {
    /** Rejects null components. */
    public JobTransitioned {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(endReason, "endReason");
        Objects.requireNonNull(details, "details");
    }
}
