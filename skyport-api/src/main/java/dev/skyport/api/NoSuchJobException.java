package dev.skyport.api;

/** No job with this id exists (or the caller may not see it). */
public class NoSuchJobException extends SkyPortException {
    private final JobId id;

    public NoSuchJobException(JobId id) {
        super("no such job: " + id);
        this.id = id;
    }

    public JobId id() {
        return id;
    }
}
