package dev.skyport.api;

import java.util.Map;
import java.util.Objects;

/**
 * A machine jobs run on, with its capacity. {@code partition} names the group it belongs to (a cloud partition or a
 * static pool such as {@code local}). Capacity is the total, not what is free.
 *
 * @param name the node's name, unique among the nodes
 * @param partition the group it belongs to
 * @param cpus its total cpus
 * @param memoryBytes its total memory, in bytes
 * @param gpus its total gpus
 * @param state whether it takes jobs
 * @param labels what its gate says about it, e.g. its address
 */
public record Node(String name, String partition, int cpus, long memoryBytes, int gpus, NodeState state,
                   Map<String, String> labels) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param name the node's name, unique among the nodes
     * @param partition the group it belongs to
     * @param cpus its total cpus
     * @param memoryBytes its total memory, in bytes
     * @param gpus its total gpus
     * @param state whether it takes jobs
     * @param labels what its gate says about it, e.g. its address
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
