package dev.skyport.scheduler;

import java.time.Instant;
import java.util.List;

/**
 * A scheduling policy: a pure function from the cluster and the queue to a {@link Plan}. Implementations do no I/O,
 * read no clock (time is {@code now}), start no threads, and may be called from any thread; the same input gives the
 * same plan.
 */
public interface Scheduler {
    /** {@return the name the engine configuration selects it by, e.g. {@code fcfs}} */
    String name();

    /**
     * Plans the queue on the cluster.
     *
     * @param cluster the nodes and what runs on them now
     * @param queue   the jobs waiting, in queue (submission) order
     * @param now     the current time
     * @return jobs to start now, reservations for the others that fit, and the ones that never fit
     */
    Plan plan(ClusterView cluster, List<QueuedJob> queue, Instant now);
}
