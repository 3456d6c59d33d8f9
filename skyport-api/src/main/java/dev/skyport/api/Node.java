package dev.skyport.api;

import java.util.Map;
import java.util.Objects;

/**
 * A machine jobs run on, with its capacity. {@code partition} names the group it belongs to (a cloud partition or a
 * static pool such as {@code local}). Capacity is the total, not what is free.
 */
public record Node(String name, String partition, int cpus, long memoryBytes, int gpus, NodeState state,
                   Map<String, String> labels) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public Node {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(partition, "partition");
        Objects.requireNonNull(state, "state");
        if (cpus < 1 || memoryBytes < 0 || gpus < 0) {
            throw new IllegalArgumentException("node " + name + ": cpus >= 1, memoryBytes >= 0, gpus >= 0");
        }
        labels = Map.copyOf(labels);
    }
}
