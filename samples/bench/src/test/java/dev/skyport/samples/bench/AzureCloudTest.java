package dev.skyport.samples.bench;

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
import dev.skyport.gate.azure.FakeAzure;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole cloud path through the real Azure gate: an embedded engine with the local gate and
 * {@code cloudGate("azure")} from AzureGateProvider, against {@link FakeAzure} (fake Resource Manager on WireMock,
 * each head a real MINA SSH server on its own loopback address with the host keys its cloud-init carries).
 */
class AzureCloudTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    @TempDir
    Path data;
    @TempDir
    Path files;
    @TempDir
    Path homes;
    FakeAzure azure;

    @BeforeEach
    void fake() {
        azure = FakeAzure.start(homes).install();
    }

    @AfterEach
    void close() {
        azure.close();
    }

    private SkyPort start() {
        EmbeddedBuilder b = SkyPort.embedded().dataDir(data).localCpus(2).jobIsolation(JobIsolation.NONE)
                .cloudGate("azure").partitionPolicy(PartitionPolicy.defaults()
                        .withReadyTimeout(Duration.ofSeconds(30)));
        azure.options().forEach(b::cloudGateOption);
        return b.start();
    }

    private static JobSpec.Builder job(String script) {
        return JobSpec.builder().script(script).flavor(FakeAzure.SIZE);
    }

    @Test
    void aJobOnAnAzurePartitionStagesRunsStagesOutAndItsGroupIsDeleted() throws Exception {
        Path input = files.resolve("in.txt");
        Files.writeString(input, "41\n");
        try (SkyPort sky = start()) {
            assertThat(sky.flavors()).anyMatch(f -> f.name().equals(FakeAzure.SIZE));
            Job job = sky.jobs().submit(job("#!/bin/sh\nexpr $(cat in.txt) + 1 > out.txt\n")
                    .inputFile(input.toString()).outputFile("out.txt").retryPolicy(RetryPolicy.none()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.events().history(job.id()).stream().map(JobTransitioned::to)).containsSubsequence(
                    JobState.PROVISIONING, JobState.STAGING_IN, JobState.RUNNING, JobState.STAGING_OUT,
                    JobState.SUCCEEDED);
            assertThat(data.resolve("jobs").resolve(job.id().toString()).resolve("out.txt")).hasContent("42");
            assertThat(done.attempts().get(0).nodes()).hasSize(1);
            poll("the partition's group deleted", () -> azure.groupNames().isEmpty()
                    && azure.serversRunning() == 0);
            assertThat(azure.deletedGroups()).hasSize(1);
            assertThat(azure.serversStarted()).isEqualTo(1);
            assertThat(azure.unexpected()).isEmpty();
        }
    }

    @Test
    void aHeadShowingAnotherHostKeyFailsTheJobNamingTheHostKeyAndTheGroupIsDeleted() throws Exception {
        azure.wrongHostKeys(true);
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(job("#!/bin/sh\ntrue\n").retryPolicy(RetryPolicy.none()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.PARTITION_FAILED);
            assertThat(done.stateDetails()).containsIgnoringCase("host key");
            poll("the partition's group deleted", () -> azure.groupNames().isEmpty()
                    && azure.serversRunning() == 0);
            assertThat(azure.deletedGroups()).hasSize(1);
        }
    }

    @Test
    void aVmAllocationFailureIsRetriedAndTheFailedAttemptLeavesNothing() throws Exception {
        azure.failVmCreation(1, "AllocationFailed");
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(job("#!/bin/sh\necho ok > out.txt\n").outputFile("out.txt")
                    .retryPolicy(RetryPolicy.none()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(data.resolve("jobs").resolve(job.id().toString()).resolve("out.txt")).hasContent("ok");
            poll("every group deleted", () -> azure.groupNames().isEmpty() && azure.serversRunning() == 0);
            // the failed attempt's group was deleted before the retry made it again, and the retry's at the end
            assertThat(azure.deletedGroups()).hasSize(2);
            assertThat(azure.resourcePaths()).isEmpty();
            assertThat(azure.requests().stream().filter(r -> r.startsWith("PUT") && r.contains("/virtualMachines/")))
                    .hasSize(2);
        }
    }

    static void poll(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within " + WAIT + ": " + what);
            }
            Thread.sleep(20);
        }
    }
}
