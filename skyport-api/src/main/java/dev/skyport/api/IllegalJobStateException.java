package dev.skyport.api;

/** The operation does not apply to the job in its current state, e.g. cancelling a job that already ended. */
public class IllegalJobStateException extends SkyPortException {
    private final JobId id;
    private final JobState state;

    public IllegalJobStateException(JobId id, JobState state, String operation) {
        super("cannot " + operation + " job " + id + " in state " + state);
        this.id = id;
        this.state = state;
    }

    public JobId id() {
        return id;
    }

    public JobState state() {
        return state;
    }
}
