package dev.skyport.core.internal;

import dev.skyport.api.JobState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Stream;

import static dev.skyport.api.JobState.CANCELED;
import static dev.skyport.api.JobState.CANCELING;
import static dev.skyport.api.JobState.FAILED;
import static dev.skyport.api.JobState.PROVISIONING;
import static dev.skyport.api.JobState.QUEUED;
import static dev.skyport.api.JobState.RUNNING;
import static dev.skyport.api.JobState.STAGING_IN;
import static dev.skyport.api.JobState.STAGING_OUT;
import static dev.skyport.api.JobState.SUCCEEDED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Pins the whole transition table: every (from, to) pair of {@link JobState} is either in {@link #ALLOWED} or
 * rejected. A change to {@link Lifecycle} must change this list too, so the table is reviewed on purpose.
 */
class LifecycleTest {
    private record Move(JobState from, JobState to) {
        @Override
        public String toString() {
            return from + " -> " + to;
        }
    }

    private static final Set<Move> ALLOWED = Set.of(
            new Move(QUEUED, PROVISIONING),
            new Move(QUEUED, STAGING_IN),
            new Move(QUEUED, RUNNING),
            new Move(QUEUED, CANCELED),
            new Move(QUEUED, FAILED),

            new Move(PROVISIONING, STAGING_IN),
            new Move(PROVISIONING, RUNNING),
            new Move(PROVISIONING, QUEUED),
            new Move(PROVISIONING, FAILED),
            new Move(PROVISIONING, CANCELING),
            new Move(PROVISIONING, CANCELED),
            new Move(PROVISIONING, PROVISIONING),

            new Move(STAGING_IN, RUNNING),
            new Move(STAGING_IN, QUEUED),
            new Move(STAGING_IN, FAILED),
            new Move(STAGING_IN, CANCELING),
            new Move(STAGING_IN, PROVISIONING),
            new Move(STAGING_IN, STAGING_IN),

            new Move(RUNNING, STAGING_OUT),
            new Move(RUNNING, SUCCEEDED),
            new Move(RUNNING, FAILED),
            new Move(RUNNING, RUNNING),
            new Move(CANCELING, CANCELING),
            new Move(RUNNING, QUEUED),
            new Move(RUNNING, CANCELING),

            new Move(STAGING_OUT, SUCCEEDED),
            new Move(STAGING_OUT, FAILED),
            new Move(STAGING_OUT, QUEUED),
            new Move(STAGING_OUT, CANCELING),

            new Move(CANCELING, CANCELED),
            new Move(CANCELING, QUEUED),

            new Move(SUCCEEDED, QUEUED),
            new Move(FAILED, QUEUED),
            new Move(CANCELED, QUEUED));

    static Stream<Arguments> allPairs() {
        return Arrays.stream(JobState.values())
                .flatMap(from -> Arrays.stream(JobState.values()).map(to -> Arguments.of(from, to)));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("allPairs")
    void isAllowedMatchesTheTable(JobState from, JobState to) {
        assertThat(Lifecycle.isAllowed(from, to))
                .as("isAllowed(%s, %s)", from, to)
                .isEqualTo(ALLOWED.contains(new Move(from, to)));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("allPairs")
    void checkThrowsExactlyForDisallowedMoves(JobState from, JobState to) {
        if (ALLOWED.contains(new Move(from, to))) {
            assertThatCode(() -> Lifecycle.check(from, to)).doesNotThrowAnyException();
        } else {
            assertThatThrownBy(() -> Lifecycle.check(from, to))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(from.name())
                    .hasMessageContaining(to.name());
        }
    }

    @Test
    void theExpectedTableNamesEveryStateAsASource() {
        // Guards the pinned table itself: a new JobState must be given its moves here, not silently none.
        assertThat(ALLOWED.stream().map(Move::from)).containsAll(Set.of(JobState.values()));
    }

    @Test
    void aQueuedJobNeverSucceedsWithoutRunning() {
        assertThat(Lifecycle.isAllowed(QUEUED, SUCCEEDED)).isFalse();
    }

    @ParameterizedTest
    @EnumSource(value = JobState.class, names = {"SUCCEEDED", "FAILED", "CANCELED"})
    void terminalStatesMoveOnlyToQueued(JobState terminal) {
        assertThat(terminal.isTerminal()).isTrue();
        for (JobState to : JobState.values()) {
            assertThat(Lifecycle.isAllowed(terminal, to)).as("%s -> %s", terminal, to).isEqualTo(to == QUEUED);
        }
    }

    @Test
    void everyTerminalStateIsCoveredByTheTerminalTest() {
        assertThat(Arrays.stream(JobState.values()).filter(JobState::isTerminal))
                .containsExactlyInAnyOrder(SUCCEEDED, FAILED, CANCELED);
    }

    /**
     * RUNNING and CANCELING record a stop intent that way; PROVISIONING a failed try at creating its partition;
     * STAGING_IN a batch site's submit that failed for now.
     */
    @Test
    void onlyTheStatesThatRecordAStopIntentOrARetryMoveToThemselves() {
        for (JobState s : JobState.values()) {
            assertThat(Lifecycle.isAllowed(s, s)).as("%s -> %s", s, s)
                    .isEqualTo(s == RUNNING || s == CANCELING || s == PROVISIONING || s == STAGING_IN);
        }
    }
}
