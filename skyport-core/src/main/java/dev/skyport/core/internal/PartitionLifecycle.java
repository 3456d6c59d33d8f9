package dev.skyport.core.internal;

import dev.skyport.scheduler.Plan;

/**
 * Where the cloud partition lifecycle lives: the engine hands it every job the scheduler would place on new nodes of
 * a flavor, and it creates, tracks and deletes the partitions for them. The engine does not create partitions yet;
 * {@link #NONE} declines every placement, and the job waits with the reason logged.
 */
interface PartitionLifecycle {
    /** Declines everything: no partitions are created. */
    PartitionLifecycle NONE = placement -> false;

    /**
     * Asks for the nodes {@code placement} needs. Called from the scheduling thread: must not block.
     *
     * @return whether new nodes are on their way; false leaves the job waiting, with the reason logged
     */
    boolean provide(Plan.CloudPlacement placement);

    /**
     * Job {@code e} lets go of {@code partition}: its attempt ended (or it was requeued or canceled). Called under the
     * entry's lock: must not block.
     */
    default void released(Entry e, String partition) {
    }
}
