package dev.skyport.scheduler;

import dev.skyport.api.JobId;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * A job waiting to be placed: {@code nodes} nodes, each with {@code cpus}, {@code memoryBytes} and {@code gpus}
 * free, for {@code expectedDuration} (its time limit, or a default when it has none).
 *
 * @param id the job
 * @param nodes how many nodes it needs
 * @param cpus cpus it needs on each node
 * @param memoryBytes memory it needs on each node, in bytes
 * @param gpus gpus it needs on each node
 * @param expectedDuration how long it is expected to hold them
 * @param priority higher goes first where a policy honours priorities
 * @param account the account its usage is charged to (fair-share)
 * @param submitTime when it was submitted; ties of priority go by it
 */
public record QueuedJob(JobId id, int nodes, int cpus, long memoryBytes, int gpus, Duration expectedDuration,
                        int priority, String account, Instant submitTime) {
    /**
     * Rejects null components.
     *
     * @param id the job
     * @param nodes how many nodes it needs
     * @param cpus cpus it needs on each node
     * @param memoryBytes memory it needs on each node, in bytes
     * @param gpus gpus it needs on each node
     * @param expectedDuration how long it is expected to hold them
     * @param priority higher goes first where a policy honours priorities
     * @param account the account its usage is charged to (fair-share)
     * @param submitTime when it was submitted; ties of priority go by it
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
