package dev.skyport.scheduler;

import dev.skyport.api.JobId;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a running job holds: on each of {@code nodes}, {@code cpus}, {@code memoryBytes} and {@code gpus}, until
 * {@code expectedEnd} (its start plus time limit; far in the future when it has none).
 *
 * @param job the running job
 * @param nodes the names of the nodes it runs on
 * @param cpus cpus it holds on each node
 * @param memoryBytes memory it holds on each node, in bytes
 * @param gpus gpus it holds on each node
 * @param expectedEnd when its nodes are expected to be free again
 */
public record Allocation(JobId job, List<String> nodes, int cpus, long memoryBytes, int gpus, Instant expectedEnd) {
    /**
     * Rejects null components and copies the node list, so an instance never changes.
     *
     * @param job the running job
     * @param nodes the names of the nodes it runs on
     * @param cpus cpus it holds on each node
     * @param memoryBytes memory it holds on each node, in bytes
     * @param gpus gpus it holds on each node
     * @param expectedEnd when its nodes are expected to be free again
     */
    public Allocation {
        Objects.requireNonNull(job, "job");
        nodes = List.copyOf(nodes);
        Objects.requireNonNull(expectedEnd, "expectedEnd");
    }
}
