package dev.skyport.core.store;

import dev.skyport.api.JobId;

import java.time.Instant;
import java.util.Objects;

/**
 * A cloud partition the engine is creating, using or deleting for a job, as the store keeps it so that a restarted
 * engine resumes the partition's phase. {@code document} is the engine's own JSON of the request and, once created,
 * the gate's handle; the store does not read it.
 *
 * @param name     the partition's name, unique
 * @param job      the job it was created for (or, when idle and taken again, the job it now serves)
 * @param phase    the engine's phase: CREATING, CONNECTING, READY, IDLE or DELETING
 * @param document the engine's JSON of the partition
 * @param updated  when the row last changed
 */
public record StoredPartition(String name, JobId job, String phase, String document, Instant updated) {
    /**
     * Rejects null components.
     *
     * @param name the partition's name, unique
     * @param job the job it was created for (or, when idle and taken again, the job it now serves)
     * @param phase the engine's phase: CREATING, CONNECTING, READY, IDLE or DELETING
     * @param document the engine's JSON of the partition
     * @param updated when the row last changed
     */
    public StoredPartition {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(phase, "phase");
        Objects.requireNonNull(document, "document");
        Objects.requireNonNull(updated, "updated");
    }
}
