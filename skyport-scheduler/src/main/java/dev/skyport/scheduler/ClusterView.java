package dev.skyport.scheduler;

import java.util.List;

/** The nodes and the running allocations at the time of a scheduling pass. */
public record ClusterView(List<NodeView> nodes, List<Allocation> running) {
    public ClusterView {
        nodes = List.copyOf(nodes);
        running = List.copyOf(running);
    }
}
