package dev.skyport.gate;

import java.util.Objects;
import java.util.Set;

/**
 * One node of a partition a gate created, as the engine reaches it over SSH: {@code host} and {@code port}, the SHA-256
 * fingerprints of its host keys ({@code SHA256:...}, as {@code ssh-keygen -l} prints them) that the engine pins, and its
 * capacity. {@code role} is {@code head} (the node with the public address) or {@code compute}.
 *
 * @param name the node's name
 * @param role {@code head} or {@code compute}
 * @param host the address the engine reaches it at
 * @param port its SSH port
 * @param hostKeyFingerprints the SHA-256 fingerprints of its host keys, pinned by the engine
 * @param cpus its cpus
 * @param memoryBytes its memory, in bytes
 * @param gpus its gpus
 */
public record PartitionNode(String name, String role, String host, int port, Set<String> hostKeyFingerprints, int cpus,
                            long memoryBytes, int gpus) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param name the node's name
     * @param role {@code head} or {@code compute}
     * @param host the address the engine reaches it at
     * @param port its SSH port
     * @param hostKeyFingerprints the SHA-256 fingerprints of its host keys, pinned by the engine
     * @param cpus its cpus
     * @param memoryBytes its memory, in bytes
     * @param gpus its gpus
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public PartitionNode {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(host, "host");
        hostKeyFingerprints = Set.copyOf(hostKeyFingerprints);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("node " + name + ": port must be in 1..65535, got " + port);
        }
        if (cpus < 1 || memoryBytes < 0 || gpus < 0) {
            throw new IllegalArgumentException("node " + name + ": cpus >= 1, memoryBytes >= 0, gpus >= 0");
        }
        for (String f : hostKeyFingerprints) {
            if (!f.startsWith("SHA256:")) {
                throw new IllegalArgumentException("node " + name + ": a host key fingerprint starts with SHA256:");
            }
        }
    }
}
