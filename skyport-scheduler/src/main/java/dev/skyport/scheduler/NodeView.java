package dev.skyport.scheduler;

import dev.skyport.api.NodeState;

import java.util.Objects;

/**
 * A node as the scheduler sees it: total capacity, partition and whether it takes new work.
 *
 * @param name the node's name, unique in the cluster
 * @param partition the partition it belongs to
 * @param cpus its total cpus
 * @param memoryBytes its total memory, in bytes
 * @param gpus its total gpus
 * @param state whether it takes new work
 */
public record NodeView(String name, String partition, int cpus, long memoryBytes, int gpus, NodeState state) {
    /**
     * Rejects null components.
     *
     * @param name the node's name, unique in the cluster
     * @param partition the partition it belongs to
     * @param cpus its total cpus
     * @param memoryBytes its total memory, in bytes
     * @param gpus its total gpus
     * @param state whether it takes new work
     */
    public NodeView {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(partition, "partition");
        Objects.requireNonNull(state, "state");
    }
}
