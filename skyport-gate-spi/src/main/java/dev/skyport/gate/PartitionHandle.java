package dev.skyport.gate;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a gate knows of one partition it created: its state, its nodes once {@link PartitionState#READY}, how to log in
 * to them ({@code sshUser} with the private key in the file {@code sshKey}, which the gate generated for this partition
 * and keeps in its work directory, readable by its owner only), the tags on its resources, when it was created and,
 * when it {@link PartitionState#FAILED}, why. {@link #toString()} shows no key material (there is none in it: only the
 * key's path).
 *
 * @param name the partition's name
 * @param gate the gate that created it
 * @param state its state
 * @param nodes its nodes, once it is ready
 * @param sshUser the account to log in to its nodes as
 * @param sshKey the file of the private key for that login
 * @param tags the tags on its resources
 * @param created when it was created
 * @param failure why it failed, when it did
 */
public record PartitionHandle(String name, String gate, PartitionState state, List<PartitionNode> nodes,
                              String sshUser, Optional<Path> sshKey, Map<String, String> tags, Instant created,
                              Optional<String> failure) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param name the partition's name
     * @param gate the gate that created it
     * @param state its state
     * @param nodes its nodes, once it is ready
     * @param sshUser the account to log in to its nodes as
     * @param sshKey the file of the private key for that login
     * @param tags the tags on its resources
     * @param created when it was created
     * @param failure why it failed, when it did
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public PartitionHandle {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(gate, "gate");
        Objects.requireNonNull(state, "state");
        nodes = List.copyOf(nodes);
        Objects.requireNonNull(sshUser, "sshUser");
        Objects.requireNonNull(sshKey, "sshKey");
        tags = Map.copyOf(tags);
        Objects.requireNonNull(created, "created");
        Objects.requireNonNull(failure, "failure");
        if (state == PartitionState.READY && (nodes.isEmpty() || sshKey.isEmpty() || sshUser.isBlank())) {
            throw new IllegalArgumentException("partition " + name + ": a READY partition has nodes, a user and a key");
        }
    }

    /** {@return the partition as the public API lists it} */
    public dev.skyport.api.Partition toPartition() {
        return new dev.skyport.api.Partition(name, gate, state.name().toLowerCase(java.util.Locale.ROOT),
                nodes.stream().map(PartitionNode::name).toList(), tags);
    }
}
