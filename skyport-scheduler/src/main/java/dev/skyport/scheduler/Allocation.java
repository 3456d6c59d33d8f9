package dev.skyport.scheduler;

import dev.skyport.api.JobId;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a running job holds: on each of {@code nodes}, {@code cpus}, {@code memoryBytes} and {@code gpus}, until
 * {@code expectedEnd} (its start plus time limit; far in the future when it has none).
 */
public record Allocation(JobId job, List<String> nodes, int cpus, long memoryBytes, int gpus, Instant expectedEnd) {
    /** Rejects null components and copies the node list, so an instance never changes. */
    public Allocation {
        Objects.requireNonNull(job, "job");
        nodes = List.copyOf(nodes);
        Objects.requireNonNull(expectedEnd, "expectedEnd");
    }
}
