package dev.skyport.api;

import java.util.Objects;

/**
 * A machine or container image a gate can start jobs from. {@code kind} is {@code cloud} or {@code container}.
 *
 * @param name the image's name, as jobs ask for it
 * @param remoteSite the site it is available in
 * @param kind {@code cloud} or {@code container}
 */
public record Image(String name, String remoteSite, String kind) {
    /**
     * Rejects null components.
     *
     * @param name the image's name, as jobs ask for it
     * @param remoteSite the site it is available in
     * @param kind {@code cloud} or {@code container}
     */
    public Image {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(remoteSite, "remoteSite");
        Objects.requireNonNull(kind, "kind");
    }
}
