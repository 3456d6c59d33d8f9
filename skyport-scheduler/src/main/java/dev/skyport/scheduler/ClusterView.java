package dev.skyport.scheduler;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a scheduling pass sees: the nodes, the running allocations, how each partition shares its nodes
 * ({@code partitionModes}; a partition not listed is {@link NodeMode#SHARED}), the flavors new cloud nodes can be
 * created with (empty when the cluster cannot grow), and each account's decayed past usage in any consistent unit
 * (used by {@code fair-share}; an account not listed has used nothing). Immutable; never holds {@code null}.
 *
 * @param nodes every node, whatever its state
 * @param running what the running jobs hold
 * @param partitionModes how each listed partition shares its nodes
 * @param flavors the sizes new cloud nodes can have; empty when the cluster cannot grow
 * @param accountUsage each account's decayed past usage
 */
public record ClusterView(List<NodeView> nodes, List<Allocation> running, Map<String, NodeMode> partitionModes,
                          List<FlavorView> flavors, Map<String, Double> accountUsage) {
    /**
     * Copies the collections, so an instance never changes.
     *
     * @param nodes every node, whatever its state
     * @param running what the running jobs hold
     * @param partitionModes how each listed partition shares its nodes
     * @param flavors the sizes new cloud nodes can have; empty when the cluster cannot grow
     * @param accountUsage each account's decayed past usage
     */
    public ClusterView {
        nodes = List.copyOf(nodes);
        running = List.copyOf(running);
        partitionModes = Map.copyOf(partitionModes);
        flavors = List.copyOf(flavors);
        accountUsage = Map.copyOf(accountUsage);
    }

    /**
     * A fixed cluster of shared nodes, with no flavors and no usage history.
     *
     * @param nodes the cluster's nodes
     * @param running the jobs running on them
     */
    public ClusterView(List<NodeView> nodes, List<Allocation> running) {
        this(nodes, running, Map.of(), List.of(), Map.of());
    }

    /**
     * {@return how {@code partition}'s nodes are shared: its entry in {@link #partitionModes()}, else shared}
     *
     * @param partition a partition's name
     */
    public NodeMode modeOf(String partition) {
        return partitionModes.getOrDefault(Objects.requireNonNull(partition, "partition"), NodeMode.SHARED);
    }
}
