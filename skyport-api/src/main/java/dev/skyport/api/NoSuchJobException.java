package dev.skyport.api;

/** No job with this id exists (or the caller may not see it). */
public class NoSuchJobException extends SkyPortException {
    /** The id nothing was found for. */
    private final JobId id;

    /**
     * No job has {@code id}, or the caller may not see it (the two are not told apart).
     *
     * @param id the id asked for
     */
    public NoSuchJobException(JobId id) {
        super("no such job: " + id);
        this.id = id;
    }

    /**
     * The id nothing was found for.
     *
     * @return the id
     */
    public JobId id() {
        return id;
    }
}
