package dev.skyport.core.internal.ssh;

import dev.skyport.api.SkyPortException;

/** A node's host key is unknown or is not the one on record: the connection is refused. */
public final class HostKeyException extends SkyPortException {
    private final String host;
    private final String fingerprint;
    private final boolean changed;

    HostKeyException(String host, String fingerprint, boolean changed) {
        super((changed ? "host key of " + host + " has CHANGED: " : "unknown host key for " + host + ": ")
                + fingerprint);
        this.host = host;
        this.fingerprint = fingerprint;
        this.changed = changed;
    }

    public String host() {
        return host;
    }

    /** The SHA-256 fingerprint the server offered, {@code SHA256:...}. */
    public String fingerprint() {
        return fingerprint;
    }

    /** True when a different key is on record for the host; false when none is. */
    public boolean changed() {
        return changed;
    }
}
