package dev.skyport.core.store;

import dev.skyport.api.Job;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A job as the store keeps it: the public snapshot plus the engine's own bookkeeping: a stop in progress, and the
 * earliest time a queued job may be placed again (retry back-off).
 */
public record StoredJob(Job job, Optional<StopIntent> stopIntent, Optional<Instant> notBefore) {
    public StoredJob {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(stopIntent, "stopIntent");
        Objects.requireNonNull(notBefore, "notBefore");
    }

    public static StoredJob of(Job job) {
        return new StoredJob(job, Optional.empty(), Optional.empty());
    }
}
