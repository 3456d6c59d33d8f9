package dev.skyport.api;

/**
 * A user's submission would take them past one of their {@link Limits} (jobs not yet ended, or stored bytes);
 * nothing was stored. Other users are not affected. {@link #limit()} names the limit, as in {@link Limits}.
 */
public class QuotaExceededException extends SkyPortException {
    /** Which per-user limit was reached. */
    private final String limit;

    /**
     * A submission refused because the user reached a per-user limit.
     *
     * @param limit which limit, e.g. {@code maxActiveJobsPerUser}
     * @param message what was counted against it
     */
    public QuotaExceededException(String limit, String message) {
        super(message);
        this.limit = limit;
    }

    /** {@return the name of the limit that was reached, e.g. {@code maxActiveJobsPerUser}} */
    public String limit() {
        return limit;
    }
}
