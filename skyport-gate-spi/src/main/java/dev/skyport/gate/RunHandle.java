package dev.skyport.gate;

import dev.skyport.api.JobId;

import java.util.Objects;

/**
 * A detached run that was started: its job, attempt, directory on the node and process group id.
 *
 * @param job the job
 * @param attempt the attempt
 * @param directory the job's directory on the node
 * @param processGroup the id of the run's process group
 */
public record RunHandle(JobId job, int attempt, String directory, long processGroup) {
    /**
     * Rejects null components.
     *
     * @param job the job
     * @param attempt the attempt
     * @param directory the job's directory on the node
     * @param processGroup the id of the run's process group
     */
    public RunHandle {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(directory, "directory");
    }
}
