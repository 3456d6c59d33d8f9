package dev.skyport.client.internal.wire;

import java.util.Objects;

/** Who the caller is, as {@code GET /api/v1} answers: {@code {"apiVersion":"v1","user":{"id","name","admin"}}}. */
public record WireUser(String id, String name, boolean admin) {
    public WireUser {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
    }
}
