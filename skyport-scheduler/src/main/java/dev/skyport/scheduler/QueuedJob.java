package dev.skyport.scheduler;

import dev.skyport.api.JobId;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * A job waiting to be placed: {@code nodes} nodes, each with {@code cpus}, {@code memoryBytes} and {@code gpus}
 * free, for {@code expectedDuration} (its time limit, or a default when it has none).
 */
public record QueuedJob(JobId id, int nodes, int cpus, long memoryBytes, int gpus, Duration expectedDuration,
                        int priority, String account, Instant submitTime) {
    /**
     * Rejects null components.
     *
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public QueuedJob {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(expectedDuration, "expectedDuration");
        Objects.requireNonNull(account, "account");
        Objects.requireNonNull(submitTime, "submitTime");
        if (cpus < 0 || memoryBytes < 0 || gpus < 0) {
            throw new IllegalArgumentException("job " + id + ": cpus, memory and gpus must not be negative");
        }
    }
}
