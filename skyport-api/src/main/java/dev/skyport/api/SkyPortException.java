package dev.skyport.api;

/**
 * Base of every exception Sky Port throws on purpose. Unchecked: callers decide which failures they can act on,
 * and the subclasses say precisely what went wrong.
 */
public class SkyPortException extends RuntimeException {
    /**
     * A failure with a message for the user.
     *
     * @param message what went wrong
     */
    public SkyPortException(String message) {
        super(message);
    }

    /**
     * A failure with a message for the user and the exception behind it.
     *
     * @param message what went wrong
     * @param cause the exception behind it
     */
    public SkyPortException(String message, Throwable cause) {
        super(message, cause);
    }
}
