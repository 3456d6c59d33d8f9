package dev.skyport.gate;

import dev.skyport.api.JobId;

import java.util.Objects;

/** A detached run that was started: its job, attempt, directory on the node and process group id. */
public record RunHandle(JobId job, int attempt, String directory, long processGroup) {
    /** Rejects null components. */
    public RunHandle {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(directory, "directory");
    }
}
