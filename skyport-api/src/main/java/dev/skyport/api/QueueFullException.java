package dev.skyport.api;

/** The engine holds as many unfinished jobs as its {@link Limits#maxActiveJobs()} allows; nothing was stored. */
public class QueueFullException extends SkyPortException {
    public QueueFullException(int limit) {
        super("queue full: " + limit + " jobs have not ended yet");
    }
}
