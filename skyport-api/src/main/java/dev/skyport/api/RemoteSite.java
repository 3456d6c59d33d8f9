package dev.skyport.api;

import java.util.Objects;

/** A place a gate creates resources in: a cloud account and location, or an on-prem site. */
public record RemoteSite(String name, String gate, String location) {
    /** Rejects null components. */
    public RemoteSite {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(gate, "gate");
        Objects.requireNonNull(location, "location");
    }
}
