package dev.skyport.core.store;

import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.SkyPortEvent;

import java.util.Objects;
import java.util.Optional;

/**
 * An event as {@link JobStore#eventsAfter} reads it back: a job's transition with the owner of its job (so a user's
 * view can keep its own without reading the job), or a node's transition, which belongs to no one.
 *
 * @param event the job's or the node's transition
 * @param owner the job's owner's stable id for a job event; empty for a node event
 */
public record StoredEvent(SkyPortEvent event, Optional<String> owner) {
    /**
     * Rejects null components.
     *
     * @param event the job's or the node's transition
     * @param owner the job's owner's stable id for a job event; empty for a node event
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public StoredEvent {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(owner, "owner");
        if ((event instanceof JobTransitioned) != owner.isPresent()) {
            throw new IllegalArgumentException("a job event has its job's owner, a node event has none");
        }
    }

    /**
     * A job's transition, kept with the job's owner so that a user's event stream can be filtered without the job.
     *
     * @param event the job's transition
     * @param owner the job owner's stable id
     * @return the stored event
     */
    public static StoredEvent of(JobTransitioned event, String owner) {
        return new StoredEvent(event, Optional.of(owner));
    }

    /**
     * A node's transition; node events belong to no owner.
     *
     * @param event the node's transition
     * @return the stored event
     */
    public static StoredEvent of(NodeTransitioned event) {
        return new StoredEvent(event, Optional.empty());
    }
}
