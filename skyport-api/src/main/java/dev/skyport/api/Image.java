package dev.skyport.api;

import java.util.Objects;

/** A machine or container image a gate can start jobs from. {@code kind} is {@code cloud} or {@code container}. */
public record Image(String name, String remoteSite, String kind) {
    /** Rejects null components. */
    public Image {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(remoteSite, "remoteSite");
        Objects.requireNonNull(kind, "kind");
    }
}
