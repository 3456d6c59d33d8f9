package dev.skyport.gate.slurm;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One batch job to submit, in Slurm's terms: {@code script} the batch script (a {@code #!/bin/sh} wrapper), {@code name}
 * the job name, {@code comment} the tag the gate finds the job by ({@link dev.skyport.gate.BatchRequest#tag()}),
 * {@code workdir} its working directory, {@code stdout}/{@code stderr} absolute paths, {@code env} the environment the
 * job sees (nothing else of the submitter's is exported), {@code nodes}, {@code cpusPerTask} (one task per node),
 * {@code memoryPerNodeMiB} (0: the partition's default), {@code gpusPerNode} (0: no gres), {@code timeLimitMinutes} (0: none asked, the partition's applies);
 * partition and account empty for the cluster's defaults. Always submitted with requeue off: the engine, not Slurm,
 * decides whether a job that lost its node runs again.
 */
record SlurmSubmission(String script, String name, String comment, String workdir, String stdout, String stderr,
                       Map<String, String> env, int nodes, int cpusPerTask, long memoryPerNodeMiB, int gpusPerNode,
                       long timeLimitMinutes, Optional<String> partition, Optional<String> account) {
    SlurmSubmission {
        Objects.requireNonNull(script, "script");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(comment, "comment");
        Objects.requireNonNull(workdir, "workdir");
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(stderr, "stderr");
        env = Map.copyOf(env);
        Objects.requireNonNull(partition, "partition");
        Objects.requireNonNull(account, "account");
    }
}
