package dev.skyport.core.internal;

import java.util.Objects;

/**
 * Who owns a job: {@code id} is what ownership checks compare (stable across renames, new for a re-created user),
 * {@code name} is what is shown and what the job sees as {@code USER}.
 */
record Owner(String id, String name) {
    Owner {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
    }

    static Owner named(String name) {
        return new Owner(name, name);
    }
}
