package dev.skyport.scheduler;

import java.util.Objects;

/**
 * A machine size new cloud nodes can be created with: capacity per node and the price of one node per hour (in the
 * gate's currency; only the order of prices matters to a scheduler).
 *
 * @param name the flavor's name, as the gate knows it
 * @param cpus cpus per node
 * @param memoryBytes memory per node, in bytes
 * @param gpus gpus per node
 * @param pricePerHour the price of one node for an hour, not negative
 */
public record FlavorView(String name, int cpus, long memoryBytes, int gpus, double pricePerHour) {
    /**
     * Rejects null components.
     *
     * @param name the flavor's name, as the gate knows it
     * @param cpus cpus per node
     * @param memoryBytes memory per node, in bytes
     * @param gpus gpus per node
     * @param pricePerHour the price of one node for an hour, not negative
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public FlavorView {
        Objects.requireNonNull(name, "name");
        if (cpus < 0 || memoryBytes < 0 || gpus < 0 || !(pricePerHour >= 0)) {
            throw new IllegalArgumentException("flavor " + name + ": capacity and price must not be negative");
        }
    }
}
