package dev.skyport.api;

import java.util.Objects;

/**
 * A size of machine a gate can create (a cloud VM size), with its price per hour in {@code currency}.
 * Memory and storage are in bytes.
 */
public record Flavor(String name, String remoteSite, int cpus, long memoryBytes, long storageBytes, int gpus,
                     double pricePerHour, String currency) {
    /** Rejects null components. */
    public Flavor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(remoteSite, "remoteSite");
        Objects.requireNonNull(currency, "currency");
    }
}
