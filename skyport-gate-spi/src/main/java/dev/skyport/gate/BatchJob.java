package dev.skyport.gate;

import dev.skyport.api.JobId;

import java.util.Objects;

/**
 * A job in a {@link BatchQueue}: the backend's id (Slurm's job id) for attempt {@code attempt} of {@code job}.
 *
 * @param id the backend's job id
 * @param job the Sky Port job
 * @param attempt the attempt the backend job runs
 */
public record BatchJob(String id, JobId job, int attempt) {
    /**
     * Rejects null components.
     *
     * @param id the backend's job id
     * @param job the Sky Port job
     * @param attempt the attempt the backend job runs
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public BatchJob {
        Objects.requireNonNull(id, "id");
        if (id.isBlank()) {
            throw new IllegalArgumentException("id must not be blank");
        }
        Objects.requireNonNull(job, "job");
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be >= 1");
        }
    }
}
