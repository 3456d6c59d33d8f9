package dev.skyport.scheduler;

import java.util.Objects;

/**
 * A machine size new cloud nodes can be created with: capacity per node and the price of one node per hour (in the
 * gate's currency; only the order of prices matters to a scheduler).
 */
public record FlavorView(String name, int cpus, long memoryBytes, int gpus, double pricePerHour) {
    /**
     * Rejects null components.
     *
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public FlavorView {
        Objects.requireNonNull(name, "name");
        if (cpus < 0 || memoryBytes < 0 || gpus < 0 || !(pricePerHour >= 0)) {
            throw new IllegalArgumentException("flavor " + name + ": capacity and price must not be negative");
        }
    }
}
