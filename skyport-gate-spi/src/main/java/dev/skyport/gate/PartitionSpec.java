package dev.skyport.gate;

import dev.skyport.api.PortSpec;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A request for a partition: {@code nodeCount} nodes of {@code flavor}, booted from {@code cloudImage}, able to run
 * {@code containerImage}, with {@code ports} open, stamped with {@code tags} so they can be found and reaped.
 *
 * @param name the partition's name
 * @param flavor the size of its nodes
 * @param nodeCount how many nodes
 * @param cloudImage the image its nodes boot from
 * @param containerImage the container image its nodes must be able to run
 * @param ports the ports to open
 * @param tags the tags to stamp on its resources
 */
public record PartitionSpec(String name, Optional<String> flavor, int nodeCount, Optional<String> cloudImage,
                            Optional<String> containerImage, List<PortSpec> ports, Map<String, String> tags) {
    /** Tag naming the Sky Port user who owns the job. */
    public static final String TAG_OWNER = "skyport-owner";
    /** Tag naming the job (its full id). */
    public static final String TAG_JOB = "skyport-job";
    /** Tag naming the partition ({@code swm-} and the first 8 characters of the job id). */
    public static final String TAG_PARTITION = "skyport-partition";
    /** Tag naming the engine instance that created it, so that two engines sharing a cloud account never reap each other's. */
    public static final String TAG_ENGINE = "skyport-engine";
    /** Tag with the creation time, ISO-8601 UTC. */
    public static final String TAG_CREATED = "skyport-created";

    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param name the partition's name
     * @param flavor the size of its nodes
     * @param nodeCount how many nodes
     * @param cloudImage the image its nodes boot from
     * @param containerImage the container image its nodes must be able to run
     * @param ports the ports to open
     * @param tags the tags to stamp on its resources
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public PartitionSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(flavor, "flavor");
        if (nodeCount < 1) {
            throw new IllegalArgumentException("nodeCount must be positive");
        }
        Objects.requireNonNull(cloudImage, "cloudImage");
        Objects.requireNonNull(containerImage, "containerImage");
        ports = List.copyOf(ports);
        tags = Map.copyOf(tags);
    }
}
