package dev.skyport.api;

/** {@link Jobs#await} gave up: the job had not ended when the timeout ran out. {@link #last()} is its state then. */
public class AwaitTimeoutException extends SkyPortException {
    private final transient Job last;

    public AwaitTimeoutException(Job last) {
        super("job " + last.id() + " still " + last.state() + " when the wait ran out");
        this.last = last;
    }

    public Job last() {
        return last;
    }
}
