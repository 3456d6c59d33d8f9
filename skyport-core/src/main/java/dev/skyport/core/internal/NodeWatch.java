package dev.skyport.core.internal;

import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.core.store.JobStore;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns what the gate says of its nodes into {@link NodeTransitioned} events: a node seen for the first time (from no
 * state), a node whose state changed, and a node the gate no longer lists (to DOWN). Each is stored, in the sequence
 * the job events use, then published to every subscriber. What was last stored of each node is where a restart
 * continues, so a node is announced again only when its state differs from that.
 *
 * <p>Fed by the scheduling thread with every listing it makes (each pass, and the idle check every
 * {@link SchedulingLoop#MAX_IDLE}), so a change is noticed with an idle queue too; one caller at a time.
 */
final class NodeWatch {
    static final String FIRST_SEEN = "First seen";
    static final String NOT_LISTED = "No longer listed by the gate";
    /** The node label in which a gate says why a node is not UP. */
    static final String STATE_REASON = "state-reason";

    private record Known(String partition, NodeState state) {
    }

    private final JobStore store;
    private final EventHub events;
    private final SchedulingLoop loop;
    private final EngineHealth health;
    private final Map<String, Known> known = new HashMap<>();
    /** The listing last handled in full: the same listing again changes nothing. */
    private List<Node> handled;

    NodeWatch(JobStore store, EventHub events, SchedulingLoop loop, EngineHealth health) {
        this.store = store;
        this.events = events;
        this.loop = loop;
        this.health = health;
        store.lastNodeEvents().forEach((name, e) -> known.put(name, new Known(e.partition(), e.to())));
    }

    /** Compares {@code nodes}, the gate's answer just now, with what was last recorded; records every change. */
    synchronized void observe(List<Node> nodes) {
        if (nodes.equals(handled)) {
            return;
        }
        try {
            Set<String> listed = new HashSet<>();
            for (Node n : nodes) {
                listed.add(n.name());
                Known k = known.get(n.name());
                if (k == null) {
                    record(n.name(), n.partition(), Optional.empty(), n.state(), FIRST_SEEN);
                } else if (k.state != n.state()) {
                    // A gate that knows why (the ssh gate's failed health probe) says so in a label.
                    String why = n.state() == NodeState.UP ? "" : n.labels().getOrDefault(STATE_REASON, "");
                    record(n.name(), n.partition(), Optional.of(k.state), n.state(), "The gate reports it " + n.state()
                            + (why.isEmpty() ? "" : ": " + why));
                }
            }
            for (Map.Entry<String, Known> e : Map.copyOf(known).entrySet()) {
                if (!listed.contains(e.getKey()) && e.getValue().state != NodeState.DOWN) {
                    record(e.getKey(), e.getValue().partition, Optional.of(e.getValue().state), NodeState.DOWN,
                            NOT_LISTED);
                }
            }
            handled = nodes;
            health.recovered("node-events");
        } catch (RuntimeException ex) {
            // Not marked handled: the next listing records what this one could not.
            health.failed("node-events", "recording a change of the gate's nodes", ex, 0, Optional.empty());
        }
    }

    private void record(String node, String partition, Optional<NodeState> from, NodeState to, String details) {
        EventSequence sequence = events.sequence();
        long seq = sequence.next();
        try {
            NodeTransitioned event = new NodeTransitioned(seq, loop.now(), node, partition, from, to, details);
            store.insertNodeEvent(event);
            known.put(node, new Known(partition, to));
            sequence.written(event, null);
            events.publish(event, null);
        } finally {
            sequence.failed(seq); // a no-op once written
        }
    }
}
