package dev.skyport.api;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TesStatesTest {
    /** The task's table written out case by case, as the oracle for every state and reason. */
    private static String expected(JobState state, Optional<EndReason> reason) {
        if (state == JobState.QUEUED) {
            return "QUEUED";
        }
        if (state == JobState.PROVISIONING || state == JobState.STAGING_IN) {
            return "INITIALIZING";
        }
        if (state == JobState.RUNNING || state == JobState.STAGING_OUT) {
            return "RUNNING";
        }
        if (state == JobState.CANCELING) {
            return "CANCELING";
        }
        if (state == JobState.CANCELED) {
            return "CANCELED";
        }
        if (state == JobState.SUCCEEDED) {
            return "COMPLETE";
        }
        if (reason.isPresent() && reason.get() == EndReason.PREEMPTED) {
            return "PREEMPTED";
        }
        if (reason.isPresent() && List.of(EndReason.NON_ZERO_EXIT, EndReason.SIGNALED, EndReason.TIME_LIMIT)
                .contains(reason.get())) {
            return "EXECUTOR_ERROR";
        }
        return "SYSTEM_ERROR";
    }

    private static List<Optional<EndReason>> reasons() {
        List<Optional<EndReason>> all = new ArrayList<>();
        all.add(Optional.empty());
        for (EndReason r : EndReason.values()) {
            all.add(Optional.of(r));
        }
        return all;
    }

    @Test
    void everyStateAndReasonMapsAsTheTableSays() {
        for (JobState s : JobState.values()) {
            for (Optional<EndReason> r : reasons()) {
                assertThat(TesStates.of(s, r)).as(s + " " + r).isEqualTo(expected(s, r));
            }
        }
    }

    @Test
    void theReverseTableHoldsEveryJobThatShowsAState() {
        for (JobState s : JobState.values()) {
            for (Optional<EndReason> r : reasons()) {
                String tes = TesStates.of(s, r);
                assertThat(TesStates.jobStates(tes)).as(tes).contains(s);
                assertThat(TesStates.ALL).contains(tes);
                assertThat(TesStates.isTerminal(tes)).as(tes).isEqualTo(s.isTerminal());
            }
        }
        assertThat(TesStates.jobStates("UNKNOWN")).isEmpty();
        assertThat(TesStates.jobStates("PAUSED")).isEmpty();
        assertThatThrownBy(() -> TesStates.jobStates("queued")).isInstanceOf(IllegalArgumentException.class);
    }

    /** TES clients read CANCELING as the end of their task; a requeue goes on, so the task still runs. */
    @Test
    void aRequeueShowsRunningAndACancelCanceling() {
        Instant now = Instant.now();
        Job requeue = new Job(new JobId(UUID.randomUUID()), "u", "u", JobSpec.command("true"), JobState.CANCELING,
                UpstreamStates.REQUEUE_REQUESTED, Optional.empty(), now, now, List.of());
        Job cancel = new Job(requeue.id(), "u", "u", JobSpec.command("true"), JobState.CANCELING,
                "Cancel requested", Optional.empty(), now, now, List.of());
        assertThat(TesStates.of(requeue)).isEqualTo("RUNNING");
        assertThat(TesStates.of(cancel)).isEqualTo("CANCELING");
    }
}
