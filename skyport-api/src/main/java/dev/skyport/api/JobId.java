package dev.skyport.api;

import java.util.Objects;
import java.util.UUID;

/**
 * A job's identity: a UUID, written as the 36-character text the upstream clients expect. The engine issues
 * time-ordered (version 7) UUIDs so that the store's index stays append-mostly.
 *
 * @param value the UUID
 */
public record JobId(UUID value) implements Comparable<JobId> {
    /**
     * Rejects null components.
     *
     * @param value the UUID
     */
    public JobId {
        Objects.requireNonNull(value, "value");
    }

    /**
     * Parses the 36-character form.
     *
     * @param text the 36-character form
     * @return the id
     * @throws InvalidJobSpecException with field {@code id} when the text is not a UUID
     */
    public static JobId parse(String text) {
        Objects.requireNonNull(text, "text");
        if (text.length() != 36) {
            throw new InvalidJobSpecException("id", "not a 36-character UUID: '" + Text.abbreviate(text) + "'");
        }
        try {
            return new JobId(UUID.fromString(text));
        } catch (IllegalArgumentException e) {
            throw new InvalidJobSpecException("id", "not a UUID: '" + Text.abbreviate(text) + "'");
        }
    }

    /** The order of the 36-character texts: unsigned, so time-ordered ids sort by time. */
    @Override
    public int compareTo(JobId other) {
        int c = Long.compareUnsigned(value.getMostSignificantBits(), other.value.getMostSignificantBits());
        return c != 0 ? c : Long.compareUnsigned(value.getLeastSignificantBits(), other.value.getLeastSignificantBits());
    }

    @Override
    public String toString() {
        return value.toString();
    }
}
