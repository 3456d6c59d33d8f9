package dev.skyport.core.store;

import dev.skyport.api.JobId;
import dev.skyport.api.JobState;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The compact row of a job that has not ended, as loaded at start-up: enough to queue and schedule it without
 * reading its full snapshot. Kept small on purpose, since the engine holds one per unfinished job in memory.
 */
public record ActiveJob(JobId id, String owner, JobState state, Instant submitTime, int priority, int nodes, int cpus,
                        long memoryBytes, int gpus, Optional<Duration> timeLimit, String account,
                        Optional<Instant> notBefore) {
    /** Rejects null components. */
    public ActiveJob {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(submitTime, "submitTime");
        Objects.requireNonNull(timeLimit, "timeLimit");
        Objects.requireNonNull(account, "account");
        Objects.requireNonNull(notBefore, "notBefore");
    }
}
