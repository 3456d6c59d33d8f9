package dev.skyport.api;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A node changed state (for a node seen for the first time, {@code from} is empty). {@code details} says why, e.g.
 * what a failed health probe answered. Node events are shared: every user view receives them.
 *
 * @param sequence the event's place in the engine's event order
 * @param time when the change happened
 * @param node the node's name
 * @param partition the partition it belongs to
 * @param from the state it left; empty for a node seen for the first time
 * @param to the state it entered
 * @param details why, e.g. what a failed health probe answered
 */
public record NodeTransitioned(long sequence, Instant time, String node, String partition, Optional<NodeState> from,
                               NodeState to, String details) implements SkyPortEvent {
    /**
     * Rejects null components.
     *
     * @param sequence the event's place in the engine's event order
     * @param time when the change happened
     * @param node the node's name
     * @param partition the partition it belongs to
     * @param from the state it left; empty for a node seen for the first time
     * @param to the state it entered
     * @param details why, e.g. what a failed health probe answered
     */
    public NodeTransitioned {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(partition, "partition");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(details, "details");
    }
}
