package dev.skyport.api;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A group of nodes a gate created or manages, e.g. the VMs of one cloud job ({@code swm-<8 chars of job id>}).
 * {@code tags} are what the gate stamped on the resources so they can be reconciled and reaped.
 *
 * @param name the partition's name
 * @param gate the gate that manages it
 * @param state its state, as the gate names it
 * @param nodes the names of its nodes
 * @param tags the tags on its resources
 */
public record Partition(String name, String gate, String state, List<String> nodes, Map<String, String> tags) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param name the partition's name
     * @param gate the gate that manages it
     * @param state its state, as the gate names it
     * @param nodes the names of its nodes
     * @param tags the tags on its resources
     */
    public Partition {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(gate, "gate");
        Objects.requireNonNull(state, "state");
        nodes = List.copyOf(nodes);
        tags = Map.copyOf(tags);
    }
}
