package dev.skyport.api;

/** Whether a node takes work. */
public enum NodeState {
    /** Up and accepting jobs. */
    UP,
    /** Up, running its jobs to the end, accepting no new ones. */
    DRAINING,
    /** Not reachable or switched off. */
    DOWN
}
