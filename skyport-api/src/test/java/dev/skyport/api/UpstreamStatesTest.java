package dev.skyport.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class UpstreamStatesTest {
    @Test
    void everyLiveStateHasItsLetter() {
        assertThat(UpstreamStates.letter(JobState.QUEUED, Optional.empty())).isEqualTo('Q');
        assertThat(UpstreamStates.letter(JobState.PROVISIONING, Optional.empty())).isEqualTo('W');
        assertThat(UpstreamStates.letter(JobState.STAGING_IN, Optional.empty())).isEqualTo('T');
        assertThat(UpstreamStates.letter(JobState.RUNNING, Optional.empty())).isEqualTo('R');
        assertThat(UpstreamStates.letter(JobState.STAGING_OUT, Optional.empty())).isEqualTo('T');
        assertThat(UpstreamStates.letter(JobState.CANCELING, Optional.empty())).isEqualTo('C');
    }

    /** The upstream Jupyter spawner reads C as stopped: a run stopped to be requeued is still running to it. */
    @Test
    void aJobStoppedForARequeueIsRAndOneStoppedForACancelIsC() {
        assertThat(UpstreamStates.letter(canceling("Requeue requested"))).isEqualTo('R');
        assertThat(UpstreamStates.letter(canceling("Cancel requested"))).isEqualTo('C');
    }

    private static Job canceling(String details) {
        java.time.Instant now = java.time.Instant.now();
        return new Job(new JobId(java.util.UUID.randomUUID()), "u", "u", JobSpec.command("true"), JobState.CANCELING,
                details, Optional.empty(), now, now, java.util.List.of());
    }

    @Test
    void endedJobsMapAsUpstreamDoes() {
        assertThat(UpstreamStates.letter(JobState.SUCCEEDED, Optional.of(EndReason.COMPLETED))).isEqualTo('F');
        assertThat(UpstreamStates.letter(JobState.CANCELED, Optional.of(EndReason.CANCELED))).isEqualTo('C');
        assertThat(UpstreamStates.letter(JobState.FAILED, Optional.empty())).isEqualTo('E');
    }

    /** Upstream reports F for any exit code and E when the infrastructure failed. */
    @ParameterizedTest
    @EnumSource(EndReason.class)
    void aFailedJobIsFForUserCausesAndEOtherwise(EndReason reason) {
        char expected = reason.cause() == EndReason.Cause.USER ? 'F' : 'E';
        assertThat(UpstreamStates.letter(JobState.FAILED, Optional.of(reason))).isEqualTo(expected);
    }

    @Test
    void onlyTheLettersTheClientsAcceptAreUsed() {
        Set<Character> accepted = Set.of('R', 'Q', 'W', 'F', 'E', 'T', 'C');
        for (JobState state : JobState.values()) {
            for (EndReason reason : EnumSet.allOf(EndReason.class)) {
                assertThat(accepted).contains(UpstreamStates.letter(state, Optional.of(reason)));
            }
            assertThat(accepted).contains(UpstreamStates.letter(state, Optional.empty()));
        }
    }
}
