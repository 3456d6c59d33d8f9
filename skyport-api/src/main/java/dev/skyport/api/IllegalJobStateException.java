package dev.skyport.api;

/** The operation does not apply to the job in its current state, e.g. cancelling a job that already ended. */
public class IllegalJobStateException extends SkyPortException {
    /** The job the operation was refused for. */
    private final JobId id;
    /** The state that refused it. */
    private final JobState state;

    /**
     * An operation the job's state does not allow, e.g. requeueing a job that is being canceled.
     *
     * @param id the job
     * @param state its state
     * @param operation what was refused, e.g. {@code requeue}
     */
    public IllegalJobStateException(JobId id, JobState state, String operation) {
        super("cannot " + operation + " job " + id + " in state " + state);
        this.id = id;
        this.state = state;
    }

    /**
     * The job the operation was refused for.
     *
     * @return the job's id
     */
    public JobId id() {
        return id;
    }

    /**
     * The state that refused the operation.
     *
     * @return the job's state then
     */
    public JobState state() {
        return state;
    }
}
