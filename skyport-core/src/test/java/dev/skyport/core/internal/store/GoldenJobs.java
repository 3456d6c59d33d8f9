package dev.skyport.core.internal.store;

import dev.skyport.api.Attempt;
import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NodeState;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.OutputLog;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;
import dev.skyport.core.store.StopIntent;
import dev.skyport.core.store.StoredJob;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
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
    static final JobId STEPS = JobId.parse("0190a000-0000-7000-8000-00000000000d");
    static final JobId STEPS_CANCELED = JobId.parse("0190a000-0000-7000-8000-00000000000e");
    /** The first schema (document format 2) that stores container steps, step logs and output logs. */
    static final int CONTAINER_STEPS = 7;

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
        if (schema >= CONTAINER_STEPS) {
            return List.of(full(schema), command(), stopping(), steps(), stepsCanceled());
        }
        return List.of(full(schema), command(), stopping());
    }

    /**
     * A job of container steps with every field of its steps, inputs and outputs set somewhere, succeeded with a
     * step log per step (one ignored a failure) and an output log per file copied.
     */
    static StoredJob steps() {
        ContainerStep first = new ContainerStep("docker.io/library/python:3.12-slim",
                List.of("python3", "-c", "import sys; print(sys.stdin.read().upper())"), Optional.of("/work"),
                Optional.of("/inputs/in.txt"), Optional.of("/outputs/out.txt"), Optional.of("/outputs/err.txt"),
                Map.of("LANG", "C.UTF-8"), true);
        ContainerStep second = ContainerStep.of("busybox:1.36", "sh", "-c", "cp /outputs/out.txt /results/");
        ContainerSteps steps = new ContainerSteps(List.of(first, second),
                List.of(StepInput.content("/inputs/in.txt", "héllo \"world\"\n"),
                        StepInput.directory("/data/reference", "/srv/skyport/carol/reference")),
                List.of(StepOutput.file("/outputs/out.txt", "/srv/skyport/carol/out.txt"),
                        new StepOutput("/outputs/*.csv", Optional.of("/outputs/"), "/srv/skyport/carol/tables",
                                false),
                        new StepOutput("/results", Optional.empty(), "/srv/skyport/carol/results", true)),
                List.of("/scratch"));
        JobSpec spec = JobSpec.builder().name("tes task").containerSteps(steps).build();
        Instant submitted = T0.plusSeconds(500);
        Attempt done = new Attempt(1, List.of("node-1"), Optional.empty(), submitted.plusSeconds(1),
                Optional.of(submitted.plusSeconds(9)), OptionalInt.of(0), OptionalInt.empty(),
                Optional.of(EndReason.COMPLETED),
                List.of(new StepLog(submitted.plusSeconds(2), Optional.of(submitted.plusSeconds(4).plusMillis(500)),
                                OptionalInt.of(3), "HÉLLO \"WORLD\"\n", "a warning\n"),
                        new StepLog(submitted.plusSeconds(5), Optional.of(submitted.plusSeconds(6)), OptionalInt.of(0),
                                "", "")),
                List.of(new OutputLog("/outputs/out.txt", "/srv/skyport/carol/out.txt", 16),
                        new OutputLog("/outputs/a.csv", "/srv/skyport/carol/tables/a.csv", 0),
                        new OutputLog("/results/out.txt", "/srv/skyport/carol/results/out.txt", 16)));
        Job job = new Job(STEPS, "carol", "carol", spec, JobState.SUCCEEDED, "Completed",
                Optional.of(EndReason.COMPLETED), submitted, submitted.plusSeconds(9), List.of(done));
        return new StoredJob(job, Optional.empty(), Optional.empty());
    }

    /** A job of one container step canceled while it ran: its step log has a start and nothing else. */
    static StoredJob stepsCanceled() {
        JobSpec spec = JobSpec.builder().containerSteps(ContainerSteps.of(ContainerStep.of("alpine", "sleep", "600")))
                .build();
        Instant submitted = T0.plusSeconds(600);
        Attempt canceled = new Attempt(1, List.of("node-2"), Optional.empty(), submitted.plusSeconds(1),
                Optional.of(submitted.plusSeconds(30)), OptionalInt.empty(), OptionalInt.of(15),
                Optional.of(EndReason.CANCELED),
                List.of(new StepLog(submitted.plusSeconds(2), Optional.empty(), OptionalInt.empty(), "", "")),
                List.of());
        Job job = new Job(STEPS_CANCELED, "carol", "carol", spec, JobState.CANCELED, "Canceled",
                Optional.of(EndReason.CANCELED), submitted, submitted.plusSeconds(30), List.of(canceled));
        return new StoredJob(job, Optional.empty(), Optional.empty());
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

    /** Every event of the golden jobs of the current schema, in the order they were written. */
    static List<JobTransitioned> events() {
        return events(Schema.current());
    }

    /**
     * Every event of the golden jobs of {@code schema}, in the order they were written; those of the jobs with steps
     * come after the node events in the sequence.
     */
    static List<JobTransitioned> events(int schema) {
        if (schema < CONTAINER_STEPS) {
            return firstEvents();
        }
        Job steps = steps().job();
        Job canceled = stepsCanceled().job();
        List<JobTransitioned> all = new java.util.ArrayList<>(firstEvents());
        all.add(event(13, steps, steps.submitTime(), null, JobState.QUEUED, null, "Submitted"));
        all.add(event(14, steps, steps.updateTime(), JobState.STAGING_OUT, JobState.SUCCEEDED, EndReason.COMPLETED,
                "Completed"));
        all.add(event(15, canceled, canceled.submitTime(), null, JobState.QUEUED, null, "Submitted"));
        all.add(event(16, canceled, canceled.updateTime(), JobState.CANCELING, JobState.CANCELED,
                EndReason.CANCELED, "Canceled"));
        return List.copyOf(all);
    }

    private static List<JobTransitioned> firstEvents() {
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
