package dev.skyport.core.internal;

import dev.skyport.api.EmbeddedBuilder;
import dev.skyport.api.EndReason;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.MutableClock;
import dev.skyport.api.PartitionPolicy;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.core.internal.ssh.FakeCloudGate;
import dev.skyport.gate.GateException;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionNode;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.PartitionState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The partition lifecycle end to end: the engine with the local gate and the {@code fakecloud} gate, whose partitions
 * are MINA SSH servers on loopback; jobs run there as real processes over SSH, files go both ways over SFTP, and every
 * fault ends with the partition deleted.
 */
class CloudPartitionsTest {
    private static final Duration WAIT = Duration.ofSeconds(90);

    @TempDir
    Path data;
    @TempDir
    Path files;

    @BeforeEach
    @AfterEach
    void reset() {
        FakeCloudGate.reset();
    }

    private SkyPort start(PartitionPolicy policy) {
        return start(policy, b -> {
        });
    }

    private SkyPort start(PartitionPolicy policy, Consumer<EmbeddedBuilder> more) {
        EmbeddedBuilder b = SkyPort.embedded().dataDir(data).localCpus(2).jobIsolation(JobIsolation.NONE)
                .cloudGate(FakeCloudGate.NAME).partitionPolicy(policy);
        more.accept(b);
        return b.start();
    }

    private static PartitionPolicy fast() {
        return PartitionPolicy.defaults().withReadyTimeout(Duration.ofSeconds(30));
    }

    private static JobSpec.Builder script(String body) {
        return JobSpec.builder().script("#!/bin/sh\n" + body + "\n").retryPolicy(RetryPolicy.none());
    }

    private static List<JobState> states(SkyPort sky, JobId id) {
        return sky.events().history(id).stream().map(JobTransitioned::to).toList();
    }

    static void poll(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            TimeUnit.MILLISECONDS.sleep(20); // a poll's pace, not a wait for an outcome
        }
    }

    private static void deleted(String name) throws InterruptedException {
        poll("the deletion of " + name, () -> FakeCloudGate.deletes.contains(name)
                && !FakeCloudGate.live().contains(name));
    }

    @Test
    void aHeadThatStopsAnsweringEndsItsJobNodeLostAndThePartitionIsDeleted() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        Duration interval = EngineGate.healthInterval;
        EngineGate.healthInterval = Duration.ofMillis(50);
        try (SkyPort sky = start(fast(), b -> b.clock(clock))) {
            Path started = files.resolve("started"); // the node shares this machine's file system
            Job job = sky.jobs().submit(script("touch '" + started + "'; exec sleep 600")
                    .flavor(FakeCloudGate.SMALL.name()).build());
            String name = CloudPartitions.nameOf(job.id());
            poll("the job running", () -> sky.jobs().get(job.id()).state() == JobState.RUNNING
                    && Files.exists(started));
            FakeCloudGate.killNodes(name); // the VM died: nothing answers on its address any more
            // The head must fail its probes for SshGate.PARTITION_NODE_LOST_AFTER on the engine's clock; a healthy head
            // (the same clock moves in the other tests) never ends its job this way.
            poll("the job ended", () -> {
                clock.advance(Duration.ofSeconds(20));
                return sky.jobs().get(job.id()).state().isTerminal();
            });
            Job done = sky.jobs().get(job.id());
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.FAILED);
            assertThat(done.attempts().get(0).endReason()).as(done.stateDetails()).hasValue(EndReason.NODE_LOST);
            assertThat(done.stateDetails()).contains("unreachable since");
            deleted(name);
        } finally {
            EngineGate.healthInterval = interval;
        }
    }

    @Test
    void aJobNamingACloudFlavorRunsOnItsPartitionWithItsFilesAndThePartitionGoes() throws Exception {
        Path input = files.resolve("in.txt");
        Files.writeString(input, "hello from the engine\n");
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("cat in.txt > out.txt; echo on $(hostname) >> out.txt; echo ran")
                    .flavor(FakeCloudGate.SMALL.name()).nodes(2).inputFile(input.toString()).outputFile("out.txt")
                    .build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            String name = CloudPartitions.nameOf(job.id());
            assertThat(states(sky, job.id())).containsSubsequence(JobState.QUEUED, JobState.PROVISIONING,
                    JobState.STAGING_IN, JobState.RUNNING, JobState.STAGING_OUT, JobState.SUCCEEDED);
            assertThat(sky.events().history(job.id()).stream().map(JobTransitioned::details))
                    .anyMatch(d -> d.equals("Creating partition " + name + ": 2 × cloud.small at 0.096 USD/h"));
            assertThat(done.attempts()).hasSize(1);
            assertThat(done.attempts().get(0).partition()).hasValue(name);
            assertThat(done.attempts().get(0).nodes()).containsExactly(name + "-0", name + "-1");
            assertThat(data.resolve("jobs").resolve(job.id().toString()).resolve("out.txt"))
                    .content().startsWith("hello from the engine\n");
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("ran\n");
            assertThat(name).matches("swm-[0-9a-f]{8}");
            deleted(name);
            assertThat(FakeCloudGate.creates).containsExactly(name);
            poll("the row gone", () -> ((Engine) sky).store().partitions().isEmpty());
            assertThat(sky.nodes()).noneMatch(n -> n.partition().equals(name));
        }
    }

    @Test
    void theTagsNameOwnerJobPartitionEngineAndCreation() throws Exception {
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("true").cloudImage(FakeCloudGate.IMAGE.name()).build());
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            String engineId = Files.readString(data.resolve(CloudPartitions.ENGINE_ID_FILE)).trim();
            Map<String, String> tags = FakeCloudGate.tagsOf(CloudPartitions.nameOf(job.id()));
            assertThat(tags).containsEntry(PartitionSpec.TAG_JOB, job.id().toString())
                    .containsEntry(PartitionSpec.TAG_PARTITION, CloudPartitions.nameOf(job.id()))
                    .containsEntry(PartitionSpec.TAG_ENGINE, engineId)
                    .containsEntry(PartitionSpec.TAG_OWNER, job.owner())
                    .containsKey(PartitionSpec.TAG_CREATED);
        }
    }

    @Test
    void aJobTooLargeForTheLocalNodeGoesToTheCheapestFlavorThatHoldsIt() throws Exception {
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("echo big").cpus(16).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(states(sky, job.id())).contains(JobState.PROVISIONING);
            assertThat(sky.events().history(job.id()).stream().map(JobTransitioned::details))
                    .anyMatch(d -> d.contains("1 × cloud.large"));
            deleted(CloudPartitions.nameOf(job.id()));
        }
    }

    @Test
    void aJobThatFitsTheLocalNodeStaysThere() throws Exception {
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("true").build());
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(states(sky, job.id())).doesNotContain(JobState.PROVISIONING);
            assertThat(FakeCloudGate.creates).isEmpty();
        }
    }

    @Test
    void submissionsNamingWhatNoGateOffersAreRefusedWithTheChoices() {
        try (SkyPort sky = start(fast())) {
            assertThatThrownBy(() -> sky.jobs().submit(script("true").flavor("cloud.huge").build()))
                    .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                        assertThat(e.field()).isEqualTo("flavor");
                        assertThat(e.getMessage()).contains("cloud.small", "cloud.large");
                    });
            assertThatThrownBy(() -> sky.jobs().submit(script("true").cloudImage("windows-95").build()))
                    .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                        assertThat(e.field()).isEqualTo("cloudImage");
                        assertThat(e.getMessage()).contains(FakeCloudGate.IMAGE.name());
                    });
            assertThatThrownBy(() -> sky.jobs().submit(script("true").remoteSite("mars").build()))
                    .isInstanceOfSatisfying(InvalidJobSpecException.class,
                            e -> assertThat(e.field()).isEqualTo("remoteSite"));
            assertThatThrownBy(() -> sky.jobs().submit(script("true").cpus(1000).build()))
                    .isInstanceOf(InvalidJobSpecException.class);
            assertThat(sky.jobs().list(dev.skyport.api.JobQuery.all()).items()).isEmpty();
        }
    }

    @Test
    void aJobLargerThanItsNamedFlavorOrThanAPartitionIsRefusedWithTheFlavorsThatHoldIt() {
        try (SkyPort sky = start(fast())) {
            assertThatThrownBy(() -> sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).cpus(4)
                    .build())).isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                        assertThat(e.field()).isEqualTo("flavor");
                        assertThat(e.getMessage()).contains("'cloud.small' has 2 cpus", "hold it: [cloud.large]");
                    });
            assertThatThrownBy(() -> sky.jobs().submit(script("true").flavor(FakeCloudGate.LARGE.name()).gpus(1)
                    .build())).isInstanceOfSatisfying(InvalidJobSpecException.class,
                    e -> assertThat(e.getMessage()).contains("hold it: none"));
            assertThatThrownBy(() -> sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name())
                    .nodes(CloudPartitions.MAX_NODES_PER_PARTITION + 1).build()))
                    .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                        assertThat(e.field()).isEqualTo("nodes");
                        assertThat(e.getMessage()).contains("at most " + CloudPartitions.MAX_NODES_PER_PARTITION);
                    });
            assertThat(sky.jobs().list(dev.skyport.api.JobQuery.all()).items()).isEmpty();
            assertThat(FakeCloudGate.creates).isEmpty();
        }
    }

    @Test
    void transientFailuresAreRetriedAfterTheirRetryAfter() throws Exception {
        FakeCloudGate.transientFailures.set(2);
        FakeCloudGate.retryAfter = Optional.of(Duration.ofMillis(50));
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
            String name = CloudPartitions.nameOf(job.id());
            assertThat(FakeCloudGate.creates).containsExactly(name, name, name);
            // Each failed try is on the job, with when the next one comes: a user sees why it still provisions.
            List<String> tries = sky.events().history(job.id()).stream()
                    .filter(t -> t.from().equals(Optional.of(JobState.PROVISIONING)) && t.to() == JobState.PROVISIONING)
                    .map(JobTransitioned::details).toList();
            assertThat(tries).hasSize(2);
            assertThat(tries.get(0)).startsWith("Creating partition " + name + ": try 1 of 5 failed (")
                    .contains("trying again at");
            assertThat(tries.get(1)).startsWith("Creating partition " + name + ": try 2 of 5 failed (");
            deleted(name);
        }
    }

    @Test
    void transientFailuresBeyondTheAttemptsFailTheAttemptAndDeleteWhatWasMade() throws Exception {
        FakeCloudGate.transientFailures.set(10);
        FakeCloudGate.retryAfter = Optional.of(Duration.ofMillis(10));
        try (SkyPort sky = start(fast().withCreateAttempts(3))) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.PARTITION_FAILED);
            assertThat(done.stateDetails()).contains("throttled (429)");
            assertThat(FakeCloudGate.creates).hasSize(3);
            deleted(CloudPartitions.nameOf(job.id()));
        }
    }

    @Test
    void aQuotaFailureFailsAtOnceWithItsReasonAndMessage() throws Exception {
        FakeCloudGate.permanentFailure.set(FakeCloudGate.quota());
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.QUOTA_EXCEEDED);
            assertThat(done.stateDetails()).contains("quota of cores exceeded");
            assertThat(done.attempts().get(0).endReason()).hasValue(EndReason.QUOTA_EXCEEDED);
            assertThat(FakeCloudGate.creates).hasSize(1);
            deleted(CloudPartitions.nameOf(job.id()));
        }
    }

    @Test
    void anInfrastructureFailureRequeuesAJobWhoseRetryPolicyAllows() throws Exception {
        FakeCloudGate.permanentFailure.set(GateException.permanent("no such size here", EndReason.NO_CAPACITY));
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name())
                    .retryPolicy(new RetryPolicy(2, Duration.ofMillis(10), Duration.ofMillis(10), Duration.ofHours(1),
                            false)).build());
            poll("the second attempt", () -> FakeCloudGate.creates.size() == 2 && !sky.jobs().get(job.id())
                    .state().holdsResources() || sky.jobs().get(job.id()).state().isTerminal());
            FakeCloudGate.permanentFailure.set(null);
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.attempts().get(0).endReason()).hasValue(EndReason.NO_CAPACITY);
            assertThat(states(sky, job.id())).containsSubsequence(JobState.PROVISIONING, JobState.QUEUED,
                    JobState.PROVISIONING);
            poll("every partition deleted", () -> FakeCloudGate.live().isEmpty());
        }
    }

    @Test
    void aCreationPastItsDeadlineIsInterruptedAndDeleted() throws Exception {
        FakeCloudGate.hang = true;
        try (SkyPort sky = start(fast().withCreateTimeout(Duration.ofMillis(500)))) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.PARTITION_FAILED);
            assertThat(done.stateDetails()).contains("was not created within");
            deleted(CloudPartitions.nameOf(job.id()));
        }
    }

    @Test
    void aHeadNodeThatNeverAnswersFailsThePartitionAfterTheReadyTimeout() throws Exception {
        FakeCloudGate.unreachable = true;
        try (SkyPort sky = start(fast().withReadyTimeout(Duration.ofSeconds(2)))) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.PARTITION_FAILED);
            assertThat(done.stateDetails()).contains("did not answer over SSH");
            deleted(CloudPartitions.nameOf(job.id()));
        }
    }

    @Test
    void aHostKeyMismatchFailsAtOnceAndDeletes() throws Exception {
        FakeCloudGate.wrongHostKey = true;
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.PARTITION_FAILED);
            assertThat(done.stateDetails()).contains("refused").contains("host key");
            deleted(CloudPartitions.nameOf(job.id()));
        }
    }

    @Test
    void aCancelWhileProvisioningInterruptsTheCreationAndDeletes() throws Exception {
        FakeCloudGate.hang = true;
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            String name = CloudPartitions.nameOf(job.id());
            assertThat(FakeCloudGate.entered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(name);
            assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.PROVISIONING);
            sky.jobs().cancel(job.id());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.CANCELED);
            deleted(name);
        }
    }

    @Test
    void aHundredJobsEachNeedingAPartitionAreAllInFlightAtOnce() throws Exception {
        FakeCloudGate.hold = new CountDownLatch(1);
        try (SkyPort sky = start(fast())) {
            List<JobSpec> specs = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                specs.add(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            }
            List<JobId> ids = sky.jobs().submitAll(specs).stream().map(Job::id).toList();
            poll("100 creations in flight", () -> FakeCloudGate.inFlight.get() == 100);
            System.out.println("figure partitions_in_flight " + FakeCloudGate.maxInFlight.get());
            FakeCloudGate.permanentFailure.set(FakeCloudGate.quota());
            FakeCloudGate.hold.countDown();
            for (Job j : sky.jobs().awaitAll(ids, WAIT)) {
                assertThat(j.endReason()).hasValue(EndReason.QUOTA_EXCEEDED);
            }
            poll("100 deletions", () -> Set.copyOf(FakeCloudGate.deletes).size() == 100);
            assertThat(FakeCloudGate.maxInFlight.get()).isEqualTo(100);
        }
    }

    @Test
    void theReconcilerDeletesThisEnginesOrphansAfterTheGraceAndNeverAnotherEngines() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        Files.writeString(data.resolve(CloudPartitions.ENGINE_ID_FILE), "engine-a\n");
        FakeCloudGate.extra.add(handle("swm-0rphan00", "engine-a", clock.instant()));
        FakeCloudGate.extra.add(handle("swm-f0reign0", "engine-b", clock.instant().minus(Duration.ofDays(1))));
        PartitionPolicy policy = fast().withOrphanGrace(Duration.ofMinutes(15))
                .withReconcileInterval(Duration.ofMinutes(5));
        try (SkyPort sky = start(policy, b -> b.clock(clock))) {
            poll("a first listing", () -> FakeCloudGate.lists.get() >= 1);
            assertThat(FakeCloudGate.deletes).isEmpty(); // too young: its creation may be being recorded
            for (int i = 0; i < 4; i++) {
                int before = FakeCloudGate.lists.get();
                clock.advance(Duration.ofMinutes(5));
                poll("the next listing", () -> FakeCloudGate.lists.get() > before);
            }
            deleted("swm-0rphan00");
            assertThat(FakeCloudGate.deletes).doesNotContain("swm-f0reign0");
            assertThat(sky.health().problems()).noneMatch(p -> p.component().equals(CloudPartitions.RECONCILER));
        }
    }

    @Test
    void theReconcilerAndDeletionsDoNotWaitBehindCreationsHoldingEveryThread() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        Files.writeString(data.resolve(CloudPartitions.ENGINE_ID_FILE), "engine-a\n");
        FakeCloudGate.hang = true;
        PartitionPolicy policy = fast().withMaxInFlight(1).withOrphanGrace(Duration.ofMinutes(15))
                .withReconcileInterval(Duration.ofMinutes(5));
        try (SkyPort sky = start(policy, b -> b.clock(clock))) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            assertThat(FakeCloudGate.entered.poll(WAIT.toSeconds(), TimeUnit.SECONDS))
                    .isEqualTo(CloudPartitions.nameOf(job.id())); // the one creation thread is taken
            FakeCloudGate.extra.add(handle("swm-0rphan00", "engine-a", clock.instant().minus(Duration.ofHours(1))));
            int before = FakeCloudGate.lists.get();
            clock.advance(Duration.ofMinutes(5));
            poll("a listing while the creation hangs", () -> FakeCloudGate.lists.get() > before);
            deleted("swm-0rphan00");
            assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.PROVISIONING);
        }
    }

    @Test
    void aFailingListingShowsInHealthAndIsRetried() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        FakeCloudGate.listFails = true;
        try (SkyPort sky = start(fast(), b -> b.clock(clock))) {
            poll("the reconciler's problem in health", () -> sky.health().problems().stream()
                    .anyMatch(p -> p.component().equals(CloudPartitions.RECONCILER)
                            && p.message().contains("API is down")));
            FakeCloudGate.listFails = false;
            int before = FakeCloudGate.lists.get();
            clock.advance(Backoff.MAX);
            poll("a listing after the back-off", () -> FakeCloudGate.lists.get() > before);
            poll("the problem gone", () -> sky.health().problems().stream()
                    .noneMatch(p -> p.component().equals(CloudPartitions.RECONCILER)));
        }
    }

    @Test
    void aTransientFailureWithoutRetryAfterWaitsForTheJitteredBackoffOnTheEngineClock() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        FakeCloudGate.transientFailures.set(1);
        try (SkyPort sky = start(fast(), b -> b.clock(clock))) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            poll("the first try", () -> FakeCloudGate.creates.size() == 1 && FakeCloudGate.inFlight.get() == 0);
            assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.PROVISIONING);
            assertThat(FakeCloudGate.creates).hasSize(1); // the clock stands still: the back-off has not passed
            clock.advance(Backoff.INITIAL);
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(FakeCloudGate.creates).hasSize(2);
        }
    }

    @Test
    void anIdlePartitionIsTakenBySameShapeJobsAndDeletedAfterTheIdleTimeout() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        try (SkyPort sky = start(fast().withIdleTimeout(Duration.ofMinutes(10)), b -> b.clock(clock))) {
            Job first = sky.jobs().submit(script("echo one").flavor(FakeCloudGate.SMALL.name()).build());
            assertThat(sky.jobs().await(first.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            String name = CloudPartitions.nameOf(first.id());
            poll("the partition idle", () -> ((Engine) sky).store().partitions().stream()
                    .anyMatch(p -> p.name().equals(name) && p.phase().equals("IDLE")));
            Job second = sky.jobs().submit(script("echo two").flavor(FakeCloudGate.SMALL.name()).build());
            Job done = sky.jobs().await(second.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts().get(0).partition()).hasValue(name);
            assertThat(FakeCloudGate.creates).containsExactly(name);
            poll("idle again", () -> ((Engine) sky).store().partitions().stream()
                    .anyMatch(p -> p.name().equals(name) && p.phase().equals("IDLE")));
            assertThat(FakeCloudGate.deletes).isEmpty();
            clock.advance(Duration.ofMinutes(11));
            deleted(name);
        }
    }

    @Test
    void aRestartedEngineResumesACreationAndDeletesThePartitionAfterTheJob() throws Exception {
        FakeCloudGate.hang = true;
        JobId id;
        try (SkyPort sky = start(fast())) {
            id = sky.jobs().submit(script("echo resumed").flavor(FakeCloudGate.SMALL.name()).build()).id();
            assertThat(FakeCloudGate.entered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
        }
        assertThat(FakeCloudGate.deletes).as("a close deletes nothing").isEmpty();
        FakeCloudGate.hang = false;
        try (SkyPort sky = start(fast())) {
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
            assertThat(sky.jobs().stdout(id)).isEqualTo("resumed\n");
            deleted(CloudPartitions.nameOf(id));
        }
    }

    @Test
    void aNodeThatCannotBeReachedSafelyFailsThePartitionInsteadOfLeavingTheJobProvisioning() throws Exception {
        FakeCloudGate.computeWithoutHostKeys = true;
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).nodes(2).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.PARTITION_FAILED);
            assertThat(done.stateDetails()).contains("cannot be reached");
            String name = CloudPartitions.nameOf(job.id());
            deleted(name);
            Engine engine = (Engine) sky;
            assertThat(engine.gate().isPartitionNode(name + "-0")).as("nothing half registered").isFalse();
            poll("the head's SSH connection closed", () -> engine.gate().connections().size() == 0);
        }
    }

    @Test
    void theSshConnectionsOfADeletedPartitionAreClosed() throws Exception {
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).nodes(2).build());
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            deleted(CloudPartitions.nameOf(job.id()));
            poll("no SSH connection left", () -> ((Engine) sky).gate().connections().size() == 0);
        }
    }

    @Test
    void partitionNodesLeaveNoNodeEventsBehind() throws Exception {
        try (SkyPort sky = start(fast())) {
            Job job = sky.jobs().submit(script("sleep 1").flavor(FakeCloudGate.SMALL.name()).nodes(2).build());
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            String name = CloudPartitions.nameOf(job.id());
            deleted(name);
            Engine engine = (Engine) sky;
            poll("the partition's nodes unlisted", () -> sky.nodes().stream().noneMatch(n -> n.partition().equals(name)));
            Job local = sky.jobs().submit(script("true").build()); // one more pass over the gate's nodes
            assertThat(sky.jobs().await(local.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(engine.store().lastNodeEvents().keySet()).noneMatch(n -> n.startsWith(name));
            assertThat(engine.store().lastNodeEvents()).isNotEmpty(); // the local node's are there
        }
    }

    @Test
    void theApiShowsThisEnginesPartitionsFromItsRecordsWithoutListingTheCloud() throws Exception {
        FakeCloudGate.hang = true;
        FakeCloudGate.extra.add(handle("swm-f0reign0", "engine-b", Instant.now().minus(Duration.ofDays(1))));
        try (SkyPort sky = start(fast())) {
            poll("the reconciler's first listing", () -> FakeCloudGate.lists.get() >= 1);
            Job job = sky.jobs().submit(script("true").flavor(FakeCloudGate.SMALL.name()).build());
            String name = CloudPartitions.nameOf(job.id());
            assertThat(FakeCloudGate.entered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(name);
            int lists = FakeCloudGate.lists.get();
            List<dev.skyport.api.Partition> shown = sky.partitions().stream()
                    .filter(p -> p.gate().equals(FakeCloudGate.NAME)).toList();
            assertThat(shown).extracting(dev.skyport.api.Partition::name).containsExactly(name);
            assertThat(shown.get(0).state()).isEqualTo("creating");
            assertThat(shown.get(0).gate()).isEqualTo(FakeCloudGate.NAME);
            assertThat(shown.get(0).tags()).containsEntry(PartitionSpec.TAG_JOB, job.id().toString());
            assertThat(FakeCloudGate.lists.get()).as("no live listing for the API").isEqualTo(lists);
            sky.jobs().cancel(job.id());
            sky.jobs().await(job.id(), WAIT);
            deleted(name);
            poll("the partition gone from the API", () -> sky.partitions().stream()
                    .noneMatch(p -> p.gate().equals(FakeCloudGate.NAME)));
        }
    }

    @Test
    void anIdlePartitionIsNotTakenByAJobAskingOtherInPorts() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        try (SkyPort sky = start(fast().withIdleTimeout(Duration.ofMinutes(10)), b -> b.clock(clock))) {
            Job first = sky.jobs().submit(script("echo one").flavor(FakeCloudGate.SMALL.name()).build());
            assertThat(sky.jobs().await(first.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            String name = CloudPartitions.nameOf(first.id());
            poll("the partition idle", () -> ((Engine) sky).store().partitions().stream()
                    .anyMatch(p -> p.name().equals(name) && p.phase().equals("IDLE")));
            Job second = sky.jobs().submit(script("echo two").flavor(FakeCloudGate.SMALL.name())
                    .ports(List.of(dev.skyport.api.PortSpec.parse("8888/tcp/in"))).build());
            Job done = sky.jobs().await(second.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts().get(0).partition()).hasValue(CloudPartitions.nameOf(second.id()));
            assertThat(FakeCloudGate.creates).containsExactly(name, CloudPartitions.nameOf(second.id()));
        }
    }

    @Test
    void aReadyRowOfAJobBackInTheQueueIsDeletedAtRestartAndTheJobRunsAgain() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        FakeCloudGate.permanentFailure.set(GateException.permanent("no such size here", EndReason.NO_CAPACITY));
        JobId id;
        String name;
        try (SkyPort sky = start(fast(), b -> b.clock(clock))) {
            id = sky.jobs().submit(script("echo again").flavor(FakeCloudGate.SMALL.name())
                    .retryPolicy(new RetryPolicy(2, Duration.ofHours(1), Duration.ofHours(1), Duration.ofDays(1),
                            false)).build()).id();
            name = CloudPartitions.nameOf(id);
            poll("the first attempt failed and its partition gone", () -> sky.jobs().get(id).state() == JobState.QUEUED
                    && sky.jobs().get(id).attempts().size() == 1 && FakeCloudGate.deletes.contains(name)
                    && ((Engine) sky).store().partitions().isEmpty());
            // As a crash between the partition's READY row and the job's requeue would leave it.
            PartitionHandle h = handle(name, "engine-a", clock.instant());
            ((Engine) sky).store().putPartition(new dev.skyport.core.store.StoredPartition(name, id, "READY",
                    CloudPartitions.document(new CloudPartitions.Doc(new PartitionSpec(name,
                            Optional.of(FakeCloudGate.SMALL.name()), 1, Optional.empty(), Optional.empty(), List.of(),
                            h.tags()), "someone", Optional.of(h))), clock.instant()));
        }
        FakeCloudGate.permanentFailure.set(null);
        FakeCloudGate.deletes.clear();
        try (SkyPort sky = start(fast(), b -> b.clock(clock))) {
            poll("the row's partition deleted", () -> FakeCloudGate.deletes.contains(name)
                    && ((Engine) sky).store().partitions().isEmpty());
            clock.advance(Duration.ofHours(2));
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(2);
            assertThat(sky.jobs().stdout(id)).isEqualTo("again\n");
        }
    }

    @Test
    void aRowWithAnUnknownPhaseIsDeletedInsteadOfStoppingTheStart() throws Exception {
        String name = "swm-fa11ed00";
        try (SkyPort sky = start(fast())) {
            PartitionHandle h = handle(name, "engine-a", Instant.now());
            ((Engine) sky).store().putPartition(new dev.skyport.core.store.StoredPartition(name,
                    new JobId(java.util.UUID.randomUUID()), "HIBERNATING", CloudPartitions.document(
                    new CloudPartitions.Doc(null, "someone", Optional.of(h))), Instant.now()));
        }
        try (SkyPort sky = start(fast())) {
            deleted(name);
            poll("its row gone", () -> ((Engine) sky).store().partitions().isEmpty());
            Job job = sky.jobs().submit(script("true").build());
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    private static PartitionHandle handle(String name, String engine, Instant created) {
        return new PartitionHandle(name, FakeCloudGate.NAME, PartitionState.READY,
                List.of(new PartitionNode(name + "-0", "head", "127.0.0.1", 22, Set.of(FakeCloudGate.hostFingerprint()),
                        2, 1L << 30, 0)), "skyport", Optional.of(Path.of("/nonexistent")),
                Map.of(PartitionSpec.TAG_ENGINE, engine, PartitionSpec.TAG_PARTITION, name,
                        PartitionSpec.TAG_CREATED, created.toString()), created, Optional.empty());
    }
}
