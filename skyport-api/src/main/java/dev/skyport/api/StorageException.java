package dev.skyport.api;

/** The durable store failed (disk full, corrupt file, I/O error). The operation did not take effect. */
public class StorageException extends SkyPortException {
    /**
     * The store failed to read or write.
     *
     * @param message what the store was doing
     * @param cause the exception behind it
     */
    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
