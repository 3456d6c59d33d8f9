package dev.skyport.gate.azure;

import java.util.Objects;

/**
 * A VM size the gate offers as a flavor: capacity from the region's resource SKUs, price per hour from the Retail
 * Prices API in {@code currency}. Memory and storage in bytes (the API's unit; the upstream wire keeps MB).
 */
record VmSize(String name, int cpus, long memoryBytes, long storageBytes, int gpus, double pricePerHour,
              String currency) {
    VmSize {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(currency, "currency");
    }
}
