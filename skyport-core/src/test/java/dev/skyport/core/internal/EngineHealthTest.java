package dev.skyport.core.internal;

import dev.skyport.api.EngineUnavailableException;
import dev.skyport.api.Health;
import dev.skyport.api.Job;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The engine never silently stops: a failing pass, usage replay or loop is retried with back-off and shown in
 * {@link SkyPort#health()}, and jobs start once it works again. Faults come from the {@code faulty} scheduler (the
 * real backfill scheduler after N injected failures) and from a corrupt row in the real store file.
 */
class EngineHealthTest {
    /** Generous: three back-offs of at most 1 + 2 + 4 s come before a job can start in the longest test. */
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path data;

    @BeforeEach
    @AfterEach
    void noFaults() {
        FaultyScheduler.reset();
    }

    private SkyPort start(String scheduler) {
        return SkyPort.embedded().dataDir(data).localCpus(2).scheduler(scheduler).start();
    }

    private static JobSpec quick() {
        return JobSpec.script("#!/bin/sh\necho ok\n");
    }

    @Test
    void aFailingPassIsRetriedWithBackOffAndTheJobStartsAfterIt() throws Exception {
        FaultyScheduler.failuresLeft.set(2);
        try (SkyPort sky = start("faulty")) {
            assertThat(sky.health()).isEqualTo(Health.up());
            Job job = sky.jobs().submit(quick());
            Health failing = awaitHealth(sky, h -> !h.problems().isEmpty(), "the failing pass shows");
            assertThat(failing.status()).as("one or two failures degrade, they do not stop").isEqualTo(
                    Health.Status.DEGRADED);
            Health.Problem problem = failing.problems().get(0);
            assertThat(problem.component()).isEqualTo("scheduler");
            assertThat(problem.message()).contains("injected failure");
            assertThat(problem.stops()).isFalse();
            assertThat(problem.retryAt()).isPresent();
            assertThat(problem.retryAt().get()).isAfter(problem.since());

            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(FaultyScheduler.failed).hasValue(2);
            awaitHealth(sky, h -> h.status() == Health.Status.UP, "health is UP again");
            assertThat(sky.asUser("alice").health()).isEqualTo(Health.up());
        }
    }

    @Test
    void passesThatKeepFailingWithAnErrorTakeTheEngineDownAndSubmitsFailFastUntilItRecovers() throws Exception {
        // The reproduction's error; the loop must survive it and keep retrying.
        FaultyScheduler.fault = () -> new OutOfMemoryError("injected: Java heap space");
        FaultyScheduler.failuresLeft.set(SchedulingLoop.PASS_FAILURES_BEFORE_DOWN);
        try (SkyPort sky = start("faulty")) {
            Job first = sky.jobs().submit(quick());
            Health down = awaitHealth(sky, h -> h.status() == Health.Status.DOWN, "the engine reports DOWN");
            assertThat(down.problems()).singleElement().satisfies(p -> {
                assertThat(p.component()).isEqualTo("scheduler");
                assertThat(p.failures()).isEqualTo(SchedulingLoop.PASS_FAILURES_BEFORE_DOWN);
                assertThat(p.stops()).isTrue();
                assertThat(p.message()).contains("OutOfMemoryError");
            });

            // The next pass is at least 2 s away (the fourth back-off is jittered within 2..4 s).
            assertThatThrownBy(() -> sky.asUser("bob").jobs().submit(quick()))
                    .isInstanceOf(EngineUnavailableException.class)
                    .hasMessageContaining("scheduler")
                    .satisfies(e -> assertThat(((EngineUnavailableException) e).health().status())
                            .isEqualTo(Health.Status.DOWN));
            assertThatThrownBy(() -> sky.jobs().submitAll(java.util.List.of(quick(), quick())))
                    .isInstanceOf(EngineUnavailableException.class);
            assertThat(sky.jobs().list(JobQuery.all()).items()).as("nothing was stored")
                    .extracting(Job::id).containsExactly(first.id());

            assertThat(sky.jobs().await(first.id(), WAIT).state()).as("the job starts once passes work")
                    .isEqualTo(JobState.SUCCEEDED);
            awaitHealth(sky, h -> h.status() == Health.Status.UP, "health is UP again");
            Job after = sky.jobs().submit(quick());
            assertThat(sky.jobs().await(after.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    @Test
    void anErrorThatSaysTheJvmIsBrokenLeavesTheEngineDownAndRefusingSubmissions() throws Exception {
        FaultyScheduler.fault = () -> new InternalError("injected: the JVM is broken");
        FaultyScheduler.failuresLeft.set(1);
        try (SkyPort sky = start("faulty")) {
            Job queued = sky.jobs().submit(quick());
            Health down = awaitHealth(sky, h -> h.status() == Health.Status.DOWN, "the engine reports DOWN");
            assertThat(down.problems()).singleElement().satisfies(p -> {
                assertThat(p.component()).isEqualTo("scheduler-loop");
                assertThat(p.retryAt()).isEmpty();
            });
            assertThatThrownBy(() -> sky.jobs().submit(quick())).isInstanceOf(EngineUnavailableException.class);
            assertThat(sky.jobs().get(queued.id()).state()).isEqualTo(JobState.QUEUED);
        }
    }

    @Test
    void aUsageReplayThatFailsDegradesSchedulingWithoutStoppingItAndIsRetriedInTheBackground() throws Exception {
        Job done;
        try (SkyPort sky = start("fair-share")) {
            done = sky.jobs().await(sky.jobs().submit(JobSpec.builder().account("heavy")
                    .script("#!/bin/sh\necho used\n").build()).id(), WAIT);
        }
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        String original = jobJson(done);
        setJobJson(done, "{ not json");
        try (SkyPort sky = start("fair-share")) {
            Health degraded = awaitHealth(sky, h -> !h.problems().isEmpty(), "the failed replay shows");
            assertThat(degraded.status()).isEqualTo(Health.Status.DEGRADED);
            assertThat(degraded.problems()).singleElement().satisfies(p -> {
                assertThat(p.component()).isEqualTo("usage-replay");
                assertThat(p.stops()).isFalse();
            });
            Job job = sky.jobs().submit(quick());
            assertThat(sky.jobs().await(job.id(), WAIT).state()).as("scheduling goes on without the history")
                    .isEqualTo(JobState.SUCCEEDED);

            setJobJson(done, original);
            awaitHealth(sky, h -> h.status() == Health.Status.UP, "the retried replay succeeds");
        }
    }

    @Test
    void aGateThatCannotListItsNodesIsShownAndTheQueuedJobStartsOnceItCan() throws Exception {
        SwitchableGate.state = dev.skyport.api.NodeState.DOWN;
        try (SkyPort sky = SkyPort.embedded().dataDir(data).gate("switchable").start()) {
            Job job = sky.jobs().submit(quick());
            SwitchableGate.nodesFail = true;
            SwitchableGate.state = dev.skyport.api.NodeState.UP;
            Health failing = awaitHealth(sky, h -> h.problems().stream()
                    .anyMatch(p -> p.message().contains("cannot list its nodes")), "the gate's failure shows");
            assertThat(failing.status()).isNotEqualTo(Health.Status.UP);
            assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.QUEUED);
            // A submission meanwhile is kept, with a warning that its size was not checked against the nodes.
            Job during = sky.jobs().submit(quick());
            assertThat(during.warnings()).anyMatch(w -> w.contains("could not list its nodes"));
            SwitchableGate.nodesFail = false;
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().await(during.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            awaitHealth(sky, h -> h.status() == Health.Status.UP, "health is UP again");
        } finally {
            SwitchableGate.nodesFail = false;
            SwitchableGate.state = dev.skyport.api.NodeState.UP;
        }
    }

    private Health awaitHealth(SkyPort sky, Predicate<Health> condition, String what) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        Health h = sky.health();
        while (!condition.test(h)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out waiting until " + what + "; health: " + h);
            }
            Thread.sleep(5);
            h = sky.health();
        }
        return h;
    }

    private String jobJson(Job job) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("skyport.db"));
             PreparedStatement ps = c.prepareStatement("SELECT job_json FROM jobs WHERE id = ?")) {
            ps.setString(1, job.id().toString());
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                return rs.getString(1);
            }
        }
    }

    /** Writes a job's stored JSON behind the engine's back, as a damaged file (or a fixed one) would have it. */
    private void setJobJson(Job job, String json) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("skyport.db"));
             PreparedStatement ps = c.prepareStatement("UPDATE jobs SET job_json = ? WHERE id = ?")) {
            c.createStatement().execute("PRAGMA busy_timeout = 10000");
            ps.setString(1, json);
            ps.setString(2, job.id().toString());
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
    }
}
