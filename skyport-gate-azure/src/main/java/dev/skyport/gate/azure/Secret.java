package dev.skyport.gate.azure;

import java.util.Objects;

/**
 * A credential value (client secret, certificate password) that must never be printed: {@link #toString()} says
 * {@code ***}, so a secret that ends up in a record's toString, a log line or an exception message by accident shows
 * nothing. Only {@link #reveal()} gives the value, and only {@link AzureClients} calls it, to hand it to the Azure
 * identity builders.
 */
final class Secret {
    private final String value;

    Secret(String value) {
        this.value = Objects.requireNonNull(value, "value");
    }

    String reveal() {
        return value;
    }

    /** Replaces every occurrence of the secret in {@code text} (a message from the identity library) with ***. */
    String scrub(String text) {
        return value.isEmpty() || text == null ? String.valueOf(text) : text.replace(value, "***");
    }

    @Override
    public String toString() {
        return "***";
    }
}
