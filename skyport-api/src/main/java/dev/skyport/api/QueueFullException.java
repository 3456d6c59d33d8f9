package dev.skyport.api;

/** The engine holds as many unfinished jobs as its {@link Limits#maxActiveJobs()} allows; nothing was stored. */
public class QueueFullException extends SkyPortException {
    /**
     * A submission refused because {@code limit} jobs have not ended yet.
     *
     * @param limit the engine's bound on unfinished jobs
     */
    public QueueFullException(int limit) {
        super("queue full: " + limit + " jobs have not ended yet");
    }
}
