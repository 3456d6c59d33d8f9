package dev.skyport.api;

import java.util.Objects;

/**
 * A size of machine a gate can create (a cloud VM size), with its price per hour in {@code currency}.
 * Memory and storage are in bytes.
 *
 * @param name the gate's name for the size, e.g. {@code Standard_D4s_v5}
 * @param remoteSite the site it is offered in
 * @param cpus cpus per machine
 * @param memoryBytes memory per machine, in bytes
 * @param storageBytes local storage per machine, in bytes
 * @param gpus gpus per machine
 * @param pricePerHour the price of one machine for an hour, in {@code currency}
 * @param currency the currency of the price, e.g. {@code USD}
 */
public record Flavor(String name, String remoteSite, int cpus, long memoryBytes, long storageBytes, int gpus,
                     double pricePerHour, String currency) {
    /**
     * Rejects null components.
     *
     * @param name the gate's name for the size, e.g. {@code Standard_D4s_v5}
     * @param remoteSite the site it is offered in
     * @param cpus cpus per machine
     * @param memoryBytes memory per machine, in bytes
     * @param storageBytes local storage per machine, in bytes
     * @param gpus gpus per machine
     * @param pricePerHour the price of one machine for an hour, in {@code currency}
     * @param currency the currency of the price, e.g. {@code USD}
     */
    public Flavor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(remoteSite, "remoteSite");
        Objects.requireNonNull(currency, "currency");
    }
}
