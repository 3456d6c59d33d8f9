package dev.skyport.core.internal;

import dev.skyport.api.EmbeddedBuilder;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.PartitionPolicy;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.skyport.api.JobId;
import dev.skyport.gate.loopback.LoopbackGate;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole cloud path through the {@code loopback} test gate of the gate SPI's test-jar (its partitions are MINA SSH
 * servers on loopback with their own host keys, homes and generated client keys): create, connect with pinned host keys,
 * stage in, run, stage out, delete; and a creation fault ending with nothing left.
 */
class LoopbackCloudTest {
    private static final Duration WAIT = Duration.ofSeconds(90);

    @TempDir
    Path data;
    @TempDir
    Path files;

    private SkyPort start(Map<String, String> options) {
        return start(options, Duration.ofSeconds(30));
    }

    private SkyPort start(Map<String, String> options, Duration readyTimeout) {
        EmbeddedBuilder b = SkyPort.embedded().dataDir(data).localCpus(2).jobIsolation(JobIsolation.NONE)
                .cloudGate("loopback").partitionPolicy(PartitionPolicy.defaults()
                        .withReadyTimeout(readyTimeout));
        options.forEach(b::cloudGateOption);
        return b.start();
    }

    @Test
    void aJobOnALoopbackPartitionStagesRunsStagesOutAndThePartitionIsDeleted() throws Exception {
        Path input = files.resolve("in.txt");
        Files.writeString(input, "42\n");
        try (SkyPort sky = start(Map.of())) {
            assertThat(sky.flavors()).anyMatch(f -> f.name().equals("small"));
            Job job = sky.jobs().submit(JobSpec.builder().script("#!/bin/sh\nexpr $(cat in.txt) + 1 > out.txt\n")
                    .flavor("small").nodes(2).inputFile(input.toString()).outputFile("out.txt")
                    .retryPolicy(RetryPolicy.none()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.events().history(job.id()).stream().map(JobTransitioned::to)).containsSubsequence(
                    JobState.PROVISIONING, JobState.STAGING_IN, JobState.RUNNING, JobState.STAGING_OUT,
                    JobState.SUCCEEDED);
            assertThat(data.resolve("jobs").resolve(job.id().toString()).resolve("out.txt")).hasContent("43");
            assertThat(done.attempts().get(0).nodes()).hasSize(2);
            CloudPartitionsTest.poll("no partition left", () -> sky.partitions().stream()
                    .noneMatch(p -> p.name().startsWith("swm-"))
                    && ((Engine) sky).store().partitions().isEmpty());
        }
    }

    @Test
    void theHeadOfAMultiNodePartitionHoldsThePartitionKeyOwnerOnly() throws Exception {
        try (SkyPort sky = start(Map.of())) {
            String key = "$HOME/.ssh/" + dev.skyport.gate.loopback.LoopbackGate.CLIENT_KEY_FILE;
            Job job = sky.jobs().submit(JobSpec.builder().script("#!/bin/sh\n{ stat -c %a " + key + "; stat -c %a "
                    + "$HOME/.ssh; head -1 " + key + "; } > key.txt\n").flavor("small").nodes(2)
                    .outputFile("key.txt").retryPolicy(RetryPolicy.none()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(Files.readAllLines(data.resolve("jobs").resolve(job.id().toString()).resolve("key.txt")))
                    .containsExactly("600", "700", "-----BEGIN OPENSSH PRIVATE KEY-----");
        }
    }

    @Test
    void aQuotaFaultFailsTheJobWithItsReasonAndLeavesNothing() throws Exception {
        try (SkyPort sky = start(Map.of("fail-create", "quota"))) {
            Job job = sky.jobs().submit(JobSpec.builder().script("#!/bin/sh\ntrue\n").flavor("small")
                    .retryPolicy(RetryPolicy.none()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.QUOTA_EXCEEDED);
            assertThat(done.stateDetails()).contains("quota exceeded");
            CloudPartitionsTest.poll("no partition left", () -> sky.partitions().stream()
                    .noneMatch(p -> p.name().startsWith("swm-"))
                    && ((Engine) sky).store().partitions().isEmpty());
        }
    }

    /** The loopback gate's partitions in the engine's work directory: what a cloud would still bill. */
    private List<Path> partitionDirs() throws IOException {
        Path root = data.resolve("gates").resolve(LoopbackGate.NAME).resolve("partitions");
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.toList();
        }
    }

    private void nothingLeft(SkyPort sky) throws InterruptedException {
        CloudPartitionsTest.poll("no partition left", () -> {
            try {
                return partitionDirs().isEmpty() && ((Engine) sky).store().partitions().isEmpty()
                        && sky.partitions().stream().noneMatch(p -> p.name().startsWith("swm-"));
            } catch (IOException e) {
                return false;
            }
        });
    }

    @Test
    void nodesThatNeverAnswerFailTheJobAfterTheReadyTimeoutAndLeaveNothing() throws Exception {
        LoopbackGate.resetCounters();
        try (SkyPort sky = start(Map.of("unreachable-nodes", "true"), Duration.ofSeconds(2))) {
            Job job = sky.jobs().submit(JobSpec.builder().script("#!/bin/sh\ntrue\n").flavor("small").nodes(2)
                    .retryPolicy(RetryPolicy.none()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.PARTITION_FAILED);
            assertThat(done.stateDetails()).contains("did not answer over SSH");
            nothingLeft(sky);
            LoopbackGate.Counters c = LoopbackGate.counters();
            assertThat(c.partitionsCreated()).isEqualTo(1);
            assertThat(c.partitionsDeleted()).isEqualTo(1);
            assertThat(c.inFlight()).isZero();
        }
    }

    @Test
    void anEngineThatDiesMidCreateResumesTheCreationAfterARestartAndLeavesNothing() throws Exception {
        LoopbackGate.resetCounters();
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx256m", LoopbackChildEngine.class.getName(),
                data.toString(), "2", "crash-mid-create=true"));
        Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String ack;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            ack = in.lines().filter(l -> l.startsWith("ACK ")).findFirst().orElseThrow().substring(4);
        } finally {
            if (!child.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
                child.destroyForcibly();
            }
        }
        assertThat(child.exitValue()).as("halted mid-create").isEqualTo(LoopbackGate.CRASH_STATUS);
        JobId id = JobId.parse(ack);
        assertThat(partitionDirs()).as("half a partition left by the crash").hasSize(1);

        try (SkyPort sky = LoopbackChildEngine.engine(data).start()) {
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
            assertThat(done.attempts().get(0).nodes()).hasSize(2);
            assertThat(sky.jobs().stdout(id)).isEqualTo("survived\n");
            nothingLeft(sky);
            LoopbackGate.Counters c = LoopbackGate.counters();
            assertThat(c.partitionsCreated()).as("the creation resumed, not redone").isEqualTo(1);
            assertThat(c.partitionsDeleted()).isEqualTo(1);
        }
    }
}
