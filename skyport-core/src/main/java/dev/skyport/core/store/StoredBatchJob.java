package dev.skyport.core.store;

import dev.skyport.api.JobId;

import java.time.Instant;
import java.util.Objects;

/**
 * The backend job (a Slurm job) that attempt {@code attempt} of {@code job} is at batch site {@code site}, as the store
 * keeps it so that a restarted engine follows that backend job by its id instead of submitting the attempt again.
 * Written in the same atomic write as the job's move to PROVISIONING, right after the backend's reply.
 *
 * @param job       the Sky Port job, one row per job
 * @param attempt   its attempt that the backend job runs
 * @param site      the batch site's name
 * @param backendId the backend's job id
 * @param submitted when the backend accepted it
 */
public record StoredBatchJob(JobId job, int attempt, String site, String backendId, Instant submitted) {
    /**
     * Rejects null components.
     *
     * @param job the Sky Port job, one row per job
     * @param attempt its attempt that the backend job runs
     * @param site the batch site's name
     * @param backendId the backend's job id
     * @param submitted when the backend accepted it
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public StoredBatchJob {
        Objects.requireNonNull(job, "job");
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be >= 1");
        }
        Objects.requireNonNull(site, "site");
        Objects.requireNonNull(backendId, "backendId");
        Objects.requireNonNull(submitted, "submitted");
    }
}
