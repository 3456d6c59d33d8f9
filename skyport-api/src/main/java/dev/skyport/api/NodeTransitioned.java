package dev.skyport.api;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A node changed state (for a node seen for the first time, {@code from} is empty). {@code details} says why, e.g.
 * what a failed health probe answered. Node events are shared: every user view receives them.
 */
public record NodeTransitioned(long sequence, Instant time, String node, String partition, Optional<NodeState> from,
                               NodeState to, String details) implements SkyPortEvent {
    /** Rejects null components. */
    public NodeTransitioned {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(partition, "partition");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(details, "details");
    }
}
