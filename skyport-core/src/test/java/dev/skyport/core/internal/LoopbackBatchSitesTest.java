package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.gate.loopback.LoopbackBatchGate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.skyport.core.internal.LoopbackQueues.waitFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Batch sites on the {@code loopback-batch} gate of the gate SPI's test-jar (a small queue on this machine that places
 * jobs on its partitions' nodes as Slurm would): what a site's own placement decides, the engine shows.
 */
class LoopbackBatchSitesTest {
    private static final Duration WAIT = LoopbackQueues.WAIT;

    @TempDir
    Path dir;

    private final List<SkyPort> engines = new ArrayList<>();

    /** Also when a test failed: no job of the site (some run {@code sleep 600}) outlives it. */
    @AfterEach
    void close() {
        engines.forEach(SkyPort::close);
        LoopbackBatchGate.cancelAll(queue());
    }

    private Path queue() {
        return dir.resolve("queue");
    }

    private SkyPort engine(Map<String, String> extra) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("queue-dir", queue().toString());
        options.put("poll-interval", "100ms");
        options.putAll(extra);
        SkyPort sky = SkyPort.embedded().dataDir(dir.resolve("data")).localCpus(1)
                .batchSite("hpc", LoopbackBatchGate.NAME, options).start();
        engines.add(sky);
        return sky;
    }

    private static JobSpec waiting(String site) {
        return JobSpec.builder().remoteSite(site).retryPolicy(RetryPolicy.none()).script(
                "#!/bin/sh\necho start\nwhile [ ! -e \"$SKYPORT_JOB_DIR/release\" ]; do\n"
                        + "[ -d \"$SKYPORT_JOB_DIR\" ] || exit 1; sleep 0.02; done\necho end\n").build();
    }

    private Path siteDir(JobId id) {
        return LoopbackQueues.siteDir(queue(), id);
    }

    @Test
    void aJobAtTheSiteRunsOnTheNodesItsSchedulerPicksAndItsLogComesBack() throws Exception {
        SkyPort sky = engine(Map.of());
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").nodes(2)
                .script("#!/bin/sh\necho \"on $SKYPORT_BATCH_NODES\"\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.lastAttempt().orElseThrow().nodes()).containsExactlyInAnyOrder("hpc/debug-n1", "hpc/debug-n2");
        assertThat(sky.jobs().stdout(job.id())).startsWith("on ");
        assertThat(sky.nodes()).anySatisfy(n -> assertThat(n.name()).isEqualTo("hpc/small-n1"));
    }

    /** A batch site runs scripts: container steps go neither to a site named nor to one that holds them by fit. */
    @Test
    void jobsOfContainerStepsNeverGoToABatchSite() throws Exception {
        Map<String, String> options = Map.of("queue-dir", queue().toString(), "poll-interval", "100ms");
        SkyPort sky = SkyPort.embedded().dataDir(dir.resolve("data")).localCpus(1)
                .gateOption("container-runtime", "podman").batchSite("hpc", LoopbackBatchGate.NAME, options).start();
        engines.add(sky);
        var steps = dev.skyport.api.ContainerSteps.of(dev.skyport.api.ContainerStep.of("busybox", "true"));
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc").containerSteps(steps)
                .build())).isInstanceOfSatisfying(dev.skyport.api.InvalidJobSpecException.class,
                        e -> assertThat(e.field()).isEqualTo("containerSteps"));
        // Two cpus: no node here holds it; a script goes to the site by fit, steps are refused as too big.
        Job script = sky.jobs().submit(JobSpec.builder().cpus(2).retryPolicy(RetryPolicy.none())
                .script("#!/bin/sh\ntrue\n").build());
        assertThat(sky.jobs().cancel(script.id()).id()).isEqualTo(script.id());
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().cpus(2).containerSteps(steps).build()))
                .isInstanceOfSatisfying(dev.skyport.api.InvalidJobSpecException.class,
                        e -> assertThat(e.field()).isEqualTo("cpus"));
    }

    @Test
    void aJobWaitingForResourcesAtTheSiteShowsTheSitesReasonAndExpectedStart() throws Exception {
        SkyPort sky = engine(Map.of());
        Job first = sky.jobs().submit(waiting("hpc/small"));
        waitFor(() -> sky.jobs().get(first.id()).state() == JobState.RUNNING, "the first job to run");
        Job second = sky.jobs().submit(waiting("hpc/small"));
        waitFor(() -> sky.jobs().get(second.id()).stateDetails().startsWith("pending at hpc"), "the second to pend");
        Job pending = sky.jobs().get(second.id());
        assertThat(pending.state()).isEqualTo(JobState.PROVISIONING);
        assertThat(pending.stateDetails()).startsWith("pending at hpc: Resources; expected start ");

        Files.writeString(siteDir(first.id()).resolve("release"), "");
        waitFor(() -> sky.jobs().get(second.id()).state() == JobState.RUNNING, "the second to start");
        Files.writeString(siteDir(second.id()).resolve("release"), "");
        assertThat(sky.jobs().await(second.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
    }

    @Test
    void aNodeSetDownUnderARunningJobEndsItsAttemptNodeLostAndTheJobIsRetried() throws Exception {
        SkyPort sky = engine(Map.of());
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc/small")
                .retryPolicy(RetryPolicy.defaults().withMaxAttempts(2).withBackoff(Duration.ofMillis(100),
                        Duration.ofMillis(100)))
                .script("#!/bin/sh\nif [ \"$SKYPORT_ATTEMPT\" = 1 ]; then sleep 600; fi\necho second\n").build());
        waitFor(() -> sky.jobs().get(job.id()).state() == JobState.RUNNING, "the job to run");
        LoopbackBatchGate.nodeDown(queue(), "small-n1", true);
        waitFor(() -> sky.jobs().get(job.id()).attempts().size() == 2, "a second attempt");
        assertThat(sky.jobs().get(job.id()).attempts().get(0).endReason()).contains(EndReason.NODE_LOST);
        LoopbackBatchGate.nodeDown(queue(), "small-n1", false);
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("second\n");
    }

    @Test
    void aJobKilledAtItsTimeLimitByTheSiteEndsTimeLimitAndIsNotRetried() throws Exception {
        SkyPort sky = engine(Map.of());
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").timeLimit(Duration.ofSeconds(1))
                .script("#!/bin/sh\necho begun\nsleep 600\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.endReason()).contains(EndReason.TIME_LIMIT);
        assertThat(done.attempts()).hasSize(1);
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("begun\n");
    }

    @Test
    void aReplyLostOnItsWayBackLeavesOneJobAtTheSite() throws Exception {
        SkyPort sky = engine(Map.of("fail-submit", "lost-reply:1"));
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").script("#!/bin/sh\necho once\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.attempts()).hasSize(1);
        try (var tags = Files.list(queue().resolve("jobs"))) {
            assertThat(tags.count()).as("backend jobs queued").isEqualTo(1);
        }
    }

    @Test
    void aSiteThatCannotBeReachedForAWhileDelaysItsJobsWithoutFailingThem() throws Exception {
        SkyPort sky = engine(Map.of());
        Job job = sky.jobs().submit(waiting("hpc"));
        waitFor(() -> sky.jobs().get(job.id()).state() == JobState.RUNNING, "the job to run");
        LoopbackBatchGate.unreachable(queue(), true);
        Files.writeString(siteDir(job.id()).resolve("release"), "");
        waitFor(() -> sky.health().problems().stream().anyMatch(p -> p.component().equals("batch-site-hpc")),
                "the site's failures to be told");
        assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.RUNNING);
        LoopbackBatchGate.unreachable(queue(), false);
        assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
    }

    @Test
    void anAccountTheSiteDoesNotKnowFailsTheJobWithSlurmsMessage() throws Exception {
        SkyPort sky = engine(Map.of("accounts", "physics"));
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").account("biology")
                .script("#!/bin/sh\ntrue\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.attempts()).hasSize(1);
        assertThat(done.stateDetails()).contains("Invalid account or account/partition combination specified");
    }
}
