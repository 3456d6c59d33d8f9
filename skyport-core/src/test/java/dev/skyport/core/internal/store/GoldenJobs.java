package dev.skyport.core.internal.store;

import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NodeState;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.core.store.StopIntent;
import dev.skyport.core.store.StoredJob;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The jobs of the golden store files, built in Java: between them every field of {@link Job}, {@link JobSpec},
 * {@link Attempt}, {@link RetryPolicy} and {@link PortSpec} has a value other than its default, and every field the
 * store keeps beside the snapshot (stop intent, not-before, events) is used. Never change a value here without
 * writing the golden files again with the version that wrote them: the files are what a released version wrote.
 * What a later schema added is added here for that schema on ({@code all(schema)}), so older files still compare.
 */
final class GoldenJobs {
    static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
    /** An owner whose stable id is not their name, as the daemon submits. */
    static final String OWNER_ID = "7b0c6f3e-2d1a-4c59-9e8f-5a4b3c2d1e0f";
    static final String OWNER_NAME = "alice";

    static final JobId FULL = JobId.parse("0190a000-0000-7000-8000-00000000000a");
    static final JobId COMMAND = JobId.parse("0190a000-0000-7000-8000-00000000000b");
    static final JobId STOPPING = JobId.parse("0190a000-0000-7000-8000-00000000000c");

    static final String FULL_SCRIPT = "#!/bin/bash\n#SWM nodes 3\n#SWM frobnicate yes\necho \"héllo\" \\\n  && exit 3\n";
    static final String STOPPING_SCRIPT = "#!/bin/sh\nsleep 600\n";
    /** The first schema that stores idempotency keys and node events. */
    static final int KEYS_AND_NODE_EVENTS = 4;
    static final String FULL_KEY = "retry-3f9c1e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

    private GoldenJobs() {
    }

    /** The golden jobs as the current schema writes them. */
    static StoredJob full() {
        return full(Schema.current());
    }

    /** A script job with every spec field set, failed after two attempts, one with every optional field present. */
    static StoredJob full(int schema) {
        JobSpec.Builder builder = JobSpec.builder()
                .name("every field — ünïcode")
                .script(FULL_SCRIPT)
                .containerImage("docker.io/library/ubuntu:24.04")
                .cloudImage("ubuntu-24.04-hpc")
                .nodes(3)
                .cpus(16)
                .memoryBytes(64L << 30)
                .gpus(2)
                .flavor("Standard_NC24ads_A100_v4")
                .remoteSite("azure-westeurope")
                .relocatable(false)
                .port(PortSpec.parse("8888/tcp/in"))
                .port(PortSpec.parse("5000/udp/out"))
                .inputFile("data/input.csv")
                .inputFile("model weights.bin")
                .outputFile("results/")
                .workdir("/scratch/run-1")
                .env("OMP_NUM_THREADS", "16")
                .env("GREETING", "hello, \"world\"\nsecond line\t\\ and a tab")
                .env("EMPTY", "")
                .account("physics")
                .priority(-5)
                .timeLimit(Duration.ofMinutes(90).plusMillis(250))
                .retryPolicy(RetryPolicy.defaults().withMaxAttempts(5)
                        .withBackoff(Duration.ofMillis(250), Duration.ofMinutes(3))
                        .withDeadline(Duration.ofHours(6))
                        .withRetryUserFailures(true))
                .tag("project", "fusion")
                .tag("cost-center", "42")
                .comment("a job with every field set; 引号 \"quoted\"")
                .submissionAddress("10.0.0.7")
                .storage("container-1")
                .warning("line 3: unknown directive '#SWM frobnicate'")
                .warning("a second warning");
        if (schema >= KEYS_AND_NODE_EVENTS) {
            builder.idempotencyKey(FULL_KEY);
        }
        JobSpec spec = builder.build();
        Instant submitted = T0;
        Attempt lost = new Attempt(1, List.of("node-1", "node-2", "node-3"), Optional.of("swm-0190a000"),
                submitted.plusSeconds(2), Optional.of(submitted.plusSeconds(65).plusNanos(123_456_789)),
                OptionalInt.of(137), OptionalInt.of(9), Optional.of(EndReason.NODE_LOST));
        Attempt failed = new Attempt(2, List.of("node-4", "node-5", "node-6"), Optional.of("swm-0190a001"),
                submitted.plusSeconds(70), Optional.of(submitted.plusSeconds(80)), OptionalInt.of(3),
                OptionalInt.empty(), Optional.of(EndReason.NON_ZERO_EXIT));
        Job job = new Job(FULL, OWNER_ID, OWNER_NAME, spec, JobState.FAILED, "exit code 3", Optional.of(
                EndReason.NON_ZERO_EXIT), submitted, submitted.plusSeconds(80).plusMillis(5), List.of(lost, failed));
        return new StoredJob(job, Optional.empty(), Optional.empty());
    }

    /**
     * A command job with every optional spec field absent, queued again after a lost node and not to be placed
     * before its back-off ends.
     */
    static StoredJob command() {
        JobSpec spec = JobSpec.command("/usr/bin/env", "printf", "%s\\n", "two words", "ünï");
        Instant submitted = T0.plusSeconds(100);
        Attempt lost = new Attempt(1, List.of("node-1"), Optional.empty(), submitted.plusSeconds(1),
                Optional.of(submitted.plusSeconds(5)), OptionalInt.empty(), OptionalInt.empty(),
                Optional.of(EndReason.NODE_LOST));
        Job job = new Job(COMMAND, "bob", "bob", spec, JobState.QUEUED, "retrying after node lost", Optional.empty(),
                submitted, submitted.plusSeconds(5), List.of(lost));
        return new StoredJob(job, Optional.empty(), Optional.of(submitted.plusSeconds(12)));
    }

    /** A running script job being canceled: an open attempt, every optional attempt field absent. */
    static StoredJob stopping() {
        JobSpec spec = JobSpec.builder().script(STOPPING_SCRIPT).build();
        Instant submitted = T0.plusSeconds(200);
        Attempt open = new Attempt(1, List.of("node-2"), Optional.empty(), submitted.plusSeconds(1), Optional.empty(),
                OptionalInt.empty(), OptionalInt.empty(), Optional.empty());
        Job job = new Job(STOPPING, OWNER_ID, OWNER_NAME, spec, JobState.CANCELING, "canceling", Optional.empty(),
                submitted, submitted.plusSeconds(30), List.of(open));
        return new StoredJob(job, Optional.of(StopIntent.CANCEL), Optional.empty());
    }

    static List<StoredJob> all() {
        return all(Schema.current());
    }

    static List<StoredJob> all(int schema) {
        return List.of(full(schema), command(), stopping());
    }

    /** The node transitions of the golden files, written after the job events, sharing their sequence. */
    /** The first schema that stores the backend jobs of batch sites. */
    static final int BATCH_JOBS = 6;

    /** The batch rows of the golden file of {@code schema}: the stopping job's backend job at a batch site. */
    static List<dev.skyport.core.store.StoredBatchJob> batchJobs(int schema) {
        if (schema < BATCH_JOBS) {
            return List.of();
        }
        return List.of(new dev.skyport.core.store.StoredBatchJob(STOPPING, 1, "hpc", "4711",
                T0.plusSeconds(90).plusMillis(125)));
    }

    static List<NodeTransitioned> nodeEvents(int schema) {
        if (schema < KEYS_AND_NODE_EVENTS) {
            return List.of();
        }
        return List.of(
                new NodeTransitioned(10, T0.plusSeconds(300), "node-1", "local", Optional.empty(), NodeState.UP,
                        "First seen"),
                new NodeTransitioned(11, T0.plusSeconds(360).plusMillis(250), "node-1", "local",
                        Optional.of(NodeState.UP), NodeState.DOWN, "health probe: ssh timed out \"after 10 s\""),
                new NodeTransitioned(12, T0.plusSeconds(400), "gpu-7", "azure-westeurope", Optional.empty(),
                        NodeState.DRAINING, "First seen"));
    }

    /** Every event of the golden jobs, in the order they were written. */
    static List<JobTransitioned> events() {
        Job full = full().job();
        Job command = command().job();
        Job stopping = stopping().job();
        return List.of(
                event(1, full, full.submitTime(), null, JobState.QUEUED, null, "Submitted"),
                event(2, full, full.submitTime().plusSeconds(2), JobState.QUEUED, JobState.RUNNING, null, "on node-1"),
                event(3, full, full.submitTime().plusSeconds(65), JobState.RUNNING, JobState.QUEUED,
                        EndReason.NODE_LOST, "node lost; retrying"),
                event(4, full, full.submitTime().plusSeconds(70), JobState.QUEUED, JobState.RUNNING, null, "on node-4"),
                event(5, full, full.updateTime(), JobState.RUNNING, JobState.FAILED, EndReason.NON_ZERO_EXIT,
                        "exit code 3"),
                event(6, command, command.submitTime(), null, JobState.QUEUED, null, "Submitted"),
                event(7, command, command.updateTime(), JobState.RUNNING, JobState.QUEUED, EndReason.NODE_LOST,
                        "retrying after node lost"),
                event(8, stopping, stopping.submitTime(), null, JobState.QUEUED, null, "Submitted"),
                event(9, stopping, stopping.updateTime(), JobState.RUNNING, JobState.CANCELING, null, "canceling"));
    }

    private static JobTransitioned event(long seq, Job job, Instant at, JobState from, JobState to, EndReason reason,
                                         String details) {
        return new JobTransitioned(seq, at, job.id(), Optional.ofNullable(from), to, Optional.ofNullable(reason),
                details);
    }
}
