package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.MutableClock;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.gate.GateException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static dev.skyport.core.internal.CrashTest.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A restart while the node of a running job cannot be reached: a transient failure of the probe is asked again with
 * back-off (on the engine's clock) until the node answers or the patience runs out; a permanent one ends the attempt.
 */
class ReattachRetryTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String WAITS_FOR_RELEASE = "#!/bin/sh\necho start\n"
            + "while [ ! -e \"$SKYPORT_JOB_DIR/release\" ]; do\n"
            // Gone with its test's directory: a run the test left must not poll for ever.
            + "[ -d \"$SKYPORT_JOB_DIR\" ] || exit 1; sleep 0.02; done\necho end\n";

    @TempDir
    Path data;

    private final MutableClock clock =
            new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

    @AfterEach
    void reset() {
        SwitchableGate.probeFailuresLeft.set(0);
        SwitchableGate.probeFails = null;
    }

    private SkyPort start() {
        return SkyPort.embedded().dataDir(data).gate("switchable").localCpus(2).clock(clock)
                .jobIsolation(JobIsolation.NONE).start();
    }

    /**
     * Submits a job that waits for its release file (not retried: a lost attempt ends the job), closes the engine
     * once the job runs; the run goes on.
     */
    private JobId runningJobOfAClosedEngine() throws Exception {
        try (SkyPort sky = start()) {
            JobId id = sky.jobs().submit(JobSpec.builder().retryPolicy(RetryPolicy.none())
                    .script(WAITS_FOR_RELEASE).build()).id();
            awaitCondition(() -> sky.jobs().get(id).state() == JobState.RUNNING, "the job runs");
            awaitCondition(() -> read(jobDir(id).resolve("stdout.log")).equals("start\n"), "the job printed start");
            return id;
        }
    }

    private Path jobDir(JobId id) {
        return data.resolve("jobs").resolve(id.toString());
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    /**
     * Waits for {@code condition}, moving the engine's clock a second at a time meanwhile: a back-off timer armed
     * just after a move is still reached, whatever the order of the move and the arming.
     */
    private void awaitAdvancing(java.util.function.BooleanSupplier condition, String what) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        while (!condition.getAsBoolean()) {
            assertThat(Instant.now()).as("waiting for %s", what).isBefore(deadline);
            clock.advance(Duration.ofSeconds(1));
            java.util.concurrent.TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    private static void probesFail(int times, boolean transientFailure) {
        SwitchableGate.probeFails = transientFailure
                ? GateException.transientFailure("injected: the node is unreachable", null, Optional.empty())
                : GateException.permanent("injected: the node refuses");
        SwitchableGate.probeFailuresLeft.set(times);
    }

    @Test
    void aNodeUnreachableForAWhileAfterARestartIsAskedAgainAndTheJobFollowedToItsEnd() throws Exception {
        JobId id = runningJobOfAClosedEngine();
        probesFail(3, true);
        int before = SwitchableGate.probes.get();
        try (SkyPort sky = start()) {
            awaitCondition(() -> SwitchableGate.probes.get() > before, "the first probe");
            assertThat(sky.jobs().get(id).state()).isEqualTo(JobState.RUNNING);
            awaitAdvancing(() -> SwitchableGate.probes.get() > before + 3, "the probe that finds the run");
            Files.createFile(jobDir(id).resolve("release"));
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
            assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
        }
    }

    @Test
    void aPermanentProbeFailureEndsTheAttemptNodeLostAtOnce() throws Exception {
        JobId id = runningJobOfAClosedEngine();
        probesFail(1, false);
        try (SkyPort sky = start()) {
            Job done = sky.jobs().await(id, WAIT); // the clock stands still: no back-off could have passed
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.NODE_LOST);
        } finally {
            Files.createFile(jobDir(id).resolve("release"));
        }
    }

    @Test
    void aNodeUnreachablePastThePatienceEndsTheAttemptNodeLost() throws Exception {
        JobId id = runningJobOfAClosedEngine();
        probesFail(Integer.MAX_VALUE, true);
        int before = SwitchableGate.probes.get();
        try (SkyPort sky = start()) {
            awaitCondition(() -> SwitchableGate.probes.get() > before, "the first probe");
            clock.advance(RunSupervisor.REATTACH_PATIENCE.minus(Backoff.MAX.multipliedBy(2)));
            awaitAdvancing(() -> SwitchableGate.probes.get() > before + 1, "a probe within the patience");
            assertThat(sky.jobs().get(id).state()).isEqualTo(JobState.RUNNING);
            awaitAdvancing(() -> sky.jobs().get(id).state().isTerminal(), "the end of the job");
            Job done = sky.jobs().get(id);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.NODE_LOST);
        } finally {
            Files.createFile(jobDir(id).resolve("release"));
        }
    }

    @Test
    void aCancelWhileTheNodeIsUnreachableIsHonouredOnceTheRunIsFound() throws Exception {
        JobId id = runningJobOfAClosedEngine();
        probesFail(1, true);
        int before = SwitchableGate.probes.get();
        try (SkyPort sky = start()) {
            awaitCondition(() -> SwitchableGate.probes.get() > before, "the first probe");
            sky.jobs().cancel(id);
            assertThat(sky.jobs().get(id).state()).isEqualTo(JobState.CANCELING);
            awaitAdvancing(() -> sky.jobs().get(id).state().isTerminal(), "the end of the job");
            Job done = sky.jobs().get(id);
            assertThat(done.state()).isEqualTo(JobState.CANCELED);
            assertThat(read(jobDir(id).resolve("stdout.log"))).isEqualTo("start\n");
        }
    }
}
