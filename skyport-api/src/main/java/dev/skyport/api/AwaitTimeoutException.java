package dev.skyport.api;

import java.util.List;

/**
 * {@link Jobs#await} or {@link Jobs#awaitAll} gave up: a job had not ended when the timeout ran out. {@link #last()}
 * is the state then of the (first) job that had not ended; {@link #notEnded()} every such job of the wait.
 * Unchecked, so that a wait can sit in a lambda.
 */
public class AwaitTimeoutException extends SkyPortException {
    private final transient List<Job> notEnded;

    /**
     * A wait that ran out while {@code last} had not ended.
     *
     * @param last the first job that had not ended, as it was then
     */
    public AwaitTimeoutException(Job last) {
        this(List.of(last));
    }

    /** @param notEnded the jobs that had not ended when the wait ran out, in the order they were waited for; not empty */
    public AwaitTimeoutException(List<Job> notEnded) {
        super(message(notEnded));
        this.notEnded = List.copyOf(notEnded);
    }

    private static String message(List<Job> notEnded) {
        if (notEnded.isEmpty()) {
            throw new IllegalArgumentException("a timed-out wait has at least one job that did not end");
        }
        Job first = notEnded.get(0);
        String text = "job " + first.id() + " still " + first.state() + " when the wait ran out";
        return notEnded.size() == 1 ? text : text + " (" + notEnded.size() + " jobs had not ended)";
    }

    /** {@return the first job that had not ended, as it was when the wait ran out} */
    public Job last() {
        return notEnded.get(0);
    }

    /** {@return every job of the wait that had not ended, as they were when it ran out} */
    public List<Job> notEnded() {
        return notEnded;
    }
}
