package dev.skyport.api;

/**
 * The disk under the data directory is full: the operation did not take effect and nothing was half-written. It
 * succeeds again once space is freed (ended jobs are purged after {@link Limits#jobRetention()}).
 */
public class StorageFullException extends StorageException {
    /**
     * The store's disk is full; nothing was written.
     *
     * @param message what the store was doing
     * @param cause the exception behind it
     */
    public StorageFullException(String message, Throwable cause) {
        super(message, cause);
    }
}
