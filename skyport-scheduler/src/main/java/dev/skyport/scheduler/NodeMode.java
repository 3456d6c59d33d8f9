package dev.skyport.scheduler;

/** How a partition's nodes are shared between jobs. */
public enum NodeMode {
    /** One job per node at any instant, whatever it asks for (upstream swm-sched's model). */
    EXCLUSIVE,
    /** Jobs are packed onto a node while the sums of their cpus, memory and gpus fit its capacity. */
    SHARED
}
