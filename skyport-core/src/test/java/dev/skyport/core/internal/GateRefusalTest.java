package dev.skyport.core.internal;

import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.gate.GateException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** A gate's refusal to start a run is taken at its word: transient ones are retried after its delay, others fail. */
class GateRefusalTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final JobSpec TRUE = JobSpec.builder().command(List.of("true")).build();

    @TempDir
    Path data;

    private SkyPort start() {
        return SkyPort.embedded().dataDir(data).gate("switchable").localCpus(2)
                .jobIsolation(JobIsolation.NONE).start();
    }

    @AfterEach
    void reset() {
        SwitchableGate.refuseNextLaunch.set(null);
    }

    @Test
    void aTransientRefusalIsRetriedAfterTheGatesDelay() throws Exception {
        // Longer than the policy's back-off before a second attempt (at most 1 s): only the gate's delay explains it.
        Duration delay = Duration.ofSeconds(3);
        SwitchableGate.refuseNextLaunch.set(GateException.transientFailure("throttled by the cloud API", null,
                Optional.of(delay)));
        try (SkyPort sky = start()) {
            Job done = sky.jobs().await(sky.jobs().submit(TRUE).id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(2);
            Attempt refused = done.attempts().get(0);
            assertThat(refused.endReason()).hasValue(EndReason.SYSTEM_ERROR);
            assertThat(Duration.between(refused.endTime().orElseThrow(), done.attempts().get(1).startTime()))
                    .isGreaterThanOrEqualTo(delay);
            assertThat(sky.events().history(done.id())).anySatisfy(e -> assertThat(e.details())
                    .contains("Retrying after System error: throttled by the cloud API"));
        }
    }

    @Test
    void aPermanentRefusalEndsTheJobWithTheGatesReason() throws Exception {
        SwitchableGate.refuseNextLaunch.set(GateException.permanent("no such image on this node"));
        try (SkyPort sky = start()) {
            Job done = sky.jobs().await(sky.jobs().submit(TRUE).id(), WAIT);
            // The default policy has attempts left: only the gate's "permanent" stops the retry.
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.attempts()).hasSize(1);
            assertThat(done.endReason()).hasValue(EndReason.SYSTEM_ERROR);
            assertThat(done.stateDetails()).isEqualTo("System error: no such image on this node");
        }
    }
}
