package dev.skyport.gate;

import dev.skyport.api.JobId;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One detached run of a job on a node. {@code directory} is the job's directory on the node: the script, the
 * {@code stdout.log} and {@code stderr.log} files and the control directory {@code run.<attempt>/} live there.
 * Exactly one of {@code script} (written to {@code directory/script} and executed) and {@code command} is given.
 */
public record RunRequest(JobId job, int attempt, String directory, Optional<String> script, List<String> command,
                         String workdir, Map<String, String> env) {
    public RunRequest {
        Objects.requireNonNull(job, "job");
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be >= 1");
        }
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(script, "script");
        command = List.copyOf(command);
        if (script.isPresent() == !command.isEmpty()) {
            throw new IllegalArgumentException("exactly one of script and command");
        }
        Objects.requireNonNull(workdir, "workdir");
        env = Map.copyOf(env);
    }

    /** The control directory of this attempt. */
    public String runDirectory() {
        return directory + "/run." + attempt;
    }
}
