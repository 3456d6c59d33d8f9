package dev.skyport.gate.slurm;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A Slurm job as Slurm reports it. {@code state} is Slurm's base job state name ({@code PENDING}, {@code RUNNING},
 * {@code COMPLETED}, {@code FAILED}, {@code CANCELLED}, {@code TIMEOUT}, {@code NODE_FAIL}, {@code PREEMPTED},
 * {@code OUT_OF_MEMORY}, {@code BOOT_FAIL}, {@code DEADLINE}, also {@code COMPLETING}, {@code CONFIGURING},
 * {@code SUSPENDED}, {@code REQUEUED}...), {@code reason} Slurm's state reason ({@code Resources}, {@code Priority},
 * {@code NonZeroExitCode}; empty for {@code None}); {@code startTime} the start, or for a pending job the start Slurm
 * expects (empty when Slurm has no estimate); {@code nodes} the nodes it was given (expanded from Slurm's hostlist);
 * {@code exitStatus} the raw wait status of the batch script ({@code exit code << 8 | signal}, as slurmrestd reports it
 * and as {@code ExitCode=3:0} of {@code scontrol} means 768), empty while the job has not ended; {@code restarts}
 * how often Slurm requeued it ({@code Restarts=} of {@code scontrol show job}, {@code restart_cnt} over REST).
 */
record SlurmJob(String id, String name, String comment, String state, String reason, Optional<Instant> startTime,
                List<String> nodes, OptionalInt exitStatus, int restarts) {
    SlurmJob {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(comment, "comment");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(startTime, "startTime");
        nodes = List.copyOf(nodes);
        Objects.requireNonNull(exitStatus, "exitStatus");
        if (restarts < 0) {
            throw new IllegalArgumentException("restarts must not be negative");
        }
    }

    /** A job Slurm never requeued. */
    SlurmJob(String id, String name, String comment, String state, String reason, Optional<Instant> startTime,
             List<String> nodes, OptionalInt exitStatus) {
        this(id, name, comment, state, reason, startTime, nodes, exitStatus, 0);
    }

    /** Whether the job carries {@code tag} in its comment or its job name. */
    boolean isTagged(String tag) {
        return tag.equals(comment) || tag.equals(name);
    }
}
