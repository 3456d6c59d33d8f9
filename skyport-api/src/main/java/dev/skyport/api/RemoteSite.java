package dev.skyport.api;

import java.util.Objects;

/**
 * A place a gate creates resources in: a cloud account and location, or an on-prem site.
 *
 * @param name the site's name, as jobs ask for it
 * @param gate the gate that creates resources there
 * @param location the cloud location or on-prem place
 */
public record RemoteSite(String name, String gate, String location) {
    /**
     * Rejects null components.
     *
     * @param name the site's name, as jobs ask for it
     * @param gate the gate that creates resources there
     * @param location the cloud location or on-prem place
     */
    public RemoteSite {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(gate, "gate");
        Objects.requireNonNull(location, "location");
    }
}
