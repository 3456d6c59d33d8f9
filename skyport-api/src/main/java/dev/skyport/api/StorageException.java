package dev.skyport.api;

/** The durable store failed (disk full, corrupt file, I/O error). The operation did not take effect. */
public class StorageException extends SkyPortException {
    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
