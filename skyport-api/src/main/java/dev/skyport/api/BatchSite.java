package dev.skyport.api;

import java.util.Map;
import java.util.Objects;

/**
 * A site whose own scheduler places and runs the jobs Sky Port hands it, such as a Slurm cluster: its name (what a
 * job's {@code remoteSite} names, e.g. {@code hpc}, or {@code hpc/gpu} for one of its partitions), the gate that
 * reaches it ({@code slurm}) and that gate's options.
 *
 * @param name what a job's {@code remoteSite} names it by
 * @param gate the gate that reaches the site, e.g. {@code slurm}
 * @param options that gate's settings
 */
public record BatchSite(String name, String gate, Map<String, String> options) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param name what a job's {@code remoteSite} names it by
     * @param gate the gate that reaches the site, e.g. {@code slurm}
     * @param options that gate's settings
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public BatchSite {
        Objects.requireNonNull(name, "name");
        if (name.isBlank() || name.contains("/") || name.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("batch site name must be non-blank, without '/' or control characters, got '"
                    + Text.abbreviate(name) + "'");
        }
        Objects.requireNonNull(gate, "gate");
        if (gate.isBlank()) {
            throw new IllegalArgumentException("batch site gate must not be blank");
        }
        options = Map.copyOf(options);
    }

    /** As a record's, with the values of secret options redacted ({@link Secrets}). */
    @Override
    public String toString() {
        return "BatchSite[name=" + name + ", gate=" + gate + ", options=" + Secrets.redacted(options) + "]";
    }
}
