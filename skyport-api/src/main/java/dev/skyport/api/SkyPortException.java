package dev.skyport.api;

/**
 * Base of every exception Sky Port throws on purpose. Unchecked: callers decide which failures they can act on,
 * and the subclasses say precisely what went wrong.
 */
public class SkyPortException extends RuntimeException {
    public SkyPortException(String message) {
        super(message);
    }

    public SkyPortException(String message, Throwable cause) {
        super(message, cause);
    }
}
