package dev.skyport.gate.slurm;

import dev.skyport.api.NodeState;
import dev.skyport.gate.BatchStatus;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;

/** How Slurm's words map onto Sky Port's: job states, raw exit statuses, node states and gres. */
class SlurmMappingTest {
    @Test
    void jobStatesMapOntoBatchStates() {
        assertThat(SlurmStates.toBatch("PENDING")).isEqualTo(BatchStatus.State.PENDING);
        assertThat(SlurmStates.toBatch("REQUEUED")).isEqualTo(BatchStatus.State.PENDING);
        assertThat(SlurmStates.toBatch("RUNNING")).isEqualTo(BatchStatus.State.RUNNING);
        assertThat(SlurmStates.toBatch("COMPLETING")).isEqualTo(BatchStatus.State.RUNNING);
        assertThat(SlurmStates.toBatch("SUSPENDED")).isEqualTo(BatchStatus.State.RUNNING);
        assertThat(SlurmStates.toBatch("COMPLETED")).isEqualTo(BatchStatus.State.COMPLETED);
        assertThat(SlurmStates.toBatch("FAILED")).isEqualTo(BatchStatus.State.FAILED);
        assertThat(SlurmStates.toBatch("CANCELLED+")).isEqualTo(BatchStatus.State.CANCELLED);
        assertThat(SlurmStates.toBatch("timeout")).isEqualTo(BatchStatus.State.TIMEOUT);
        assertThat(SlurmStates.toBatch("NODE_FAIL")).isEqualTo(BatchStatus.State.NODE_FAIL);
        assertThat(SlurmStates.toBatch("PREEMPTED")).isEqualTo(BatchStatus.State.PREEMPTED);
        assertThat(SlurmStates.toBatch("OUT_OF_MEMORY")).isEqualTo(BatchStatus.State.OUT_OF_MEMORY);
        assertThat(SlurmStates.toBatch("BOOT_FAIL")).isEqualTo(BatchStatus.State.BOOT_FAIL);
        assertThat(SlurmStates.toBatch("DEADLINE")).isEqualTo(BatchStatus.State.DEADLINE);
        assertThat(SlurmStates.toBatch("SOMETHING_NEW")).isEqualTo(BatchStatus.State.RUNNING);
        assertThat(SlurmStates.hasEnded("SOMETHING_NEW")).isFalse();
        assertThat(SlurmStates.hasEnded("COMPLETED")).isTrue();
    }

    @Test
    void theRawExitStatusSplitsIntoExitCodeAndSignal() {
        BatchStatus three = SlurmQueue.toStatus(job("FAILED", "NonZeroExitCode", 768, 0));
        assertThat(three.exitCode()).hasValue(3);
        assertThat(three.signal()).isEmpty();
        assertThat(three.reason()).isEqualTo("NonZeroExitCode");

        // The wrapper itself killed (signal bits set): reported as every gate reports a signal, 128+N.
        BatchStatus killed = SlurmQueue.toStatus(job("CANCELLED", "", 9, 0));
        assertThat(killed.exitCode()).hasValue(137);
        assertThat(killed.signal()).hasValue(9);

        // The script killed by SIGSEGV: the wrapper exits 139 with no signal bits; a signal all the same.
        BatchStatus segfault = SlurmQueue.toStatus(job("FAILED", "NonZeroExitCode", 139 << 8, 0));
        assertThat(segfault.exitCode()).hasValue(139);
        assertThat(segfault.signal()).hasValue(11);

        // Beyond 128+64 it is an exit code, by the one rule every gate uses (RunOutcome.exited).
        BatchStatus high = SlurmQueue.toStatus(job("FAILED", "NonZeroExitCode", 200 << 8, 0));
        assertThat(high.exitCode()).hasValue(200);
        assertThat(high.signal()).isEmpty();
    }

    @Test
    void aRequeuedCopyThatRanItsGuardIsANodeFailureAndAPendingReasonThatNeverClearsIsNamed() {
        BatchStatus guarded = SlurmQueue.toStatus(job("FAILED", "NonZeroExitCode",
                SlurmQueue.REQUEUED_STATUS << 8, 1));
        assertThat(guarded.state()).isEqualTo(BatchStatus.State.NODE_FAIL);
        assertThat(SlurmQueue.toStatus(job("COMPLETED", "", 0, 1)).state()).isEqualTo(BatchStatus.State.COMPLETED);

        assertThat(SlurmStates.neverStarts(job("PENDING", "PartitionTimeLimit", 0, 0))).hasValue("PartitionTimeLimit");
        assertThat(SlurmStates.neverStarts(job("PENDING", "InvalidAccount", 0, 0))).hasValue("InvalidAccount");
        assertThat(SlurmStates.neverStarts(job("PENDING", "Resources", 0, 0))).isEmpty();
        assertThat(SlurmStates.neverStarts(job("RUNNING", "PartitionConfig", 0, 0))).isEmpty();
        assertThat(SlurmStates.neverStarts(job("CANCELLED", "PartitionConfig", 0, 0))).hasValue("PartitionConfig");
    }

    @Test
    void aPartitionsPerNodeLimitsBoundItsLargestNode() {
        SlurmPartition p = new SlurmPartition("capped", true, true, OptionalInt.empty(), Optional.empty(), List.of(),
                List.of("n1"), OptionalInt.of(1), java.util.OptionalLong.of(500));
        SlurmNode n1 = new SlurmNode("n1", List.of("capped"), 2, 2000, "", "idle", List.of(), "");
        var limits = SlurmQueue.toBatch(p, java.util.Map.of("n1", n1));
        assertThat(limits.maxCpusPerNode()).isEqualTo(1);
        assertThat(limits.maxMemoryPerNode()).isEqualTo(500L << 20);
    }

    @Test
    void aPendingJobShowsItsExpectedStartAndARequeuedOneIsANodeFailure() {
        BatchStatus pending = SlurmQueue.toStatus(new SlurmJob("1", "n", "c", "PENDING", "Resources",
                Optional.of(Instant.ofEpochSecond(2_000_000_000L)), List.of(), OptionalInt.empty()));
        assertThat(pending.expectedStart()).hasValue(Instant.ofEpochSecond(2_000_000_000L));
        assertThat(pending.exitCode()).isEmpty();

        BatchStatus requeued = SlurmQueue.toStatus(job("PENDING", "BeginTime", 0, 1));
        assertThat(requeued.state()).isEqualTo(BatchStatus.State.NODE_FAIL);
        assertThat(requeued.reason()).contains("requeued", "BeginTime");
    }

    @Test
    void nodeStatesAndGresMapOntoNodes() {
        assertThat(SlurmGate.state(node("idle", List.of()))).isEqualTo(NodeState.UP);
        assertThat(SlurmGate.state(node("mixed", List.of()))).isEqualTo(NodeState.UP);
        assertThat(SlurmGate.state(node("allocated", List.of("DRAIN")))).isEqualTo(NodeState.DRAINING);
        assertThat(SlurmGate.state(node("idle", List.of("DRAIN")))).isEqualTo(NodeState.DOWN);
        assertThat(SlurmGate.state(node("idle", List.of("NOT_RESPONDING")))).isEqualTo(NodeState.DOWN);
        assertThat(SlurmGate.state(node("down", List.of()))).isEqualTo(NodeState.DOWN);
        assertThat(SlurmGate.state(node("unknown", List.of()))).isEqualTo(NodeState.DOWN);

        assertThat(Gres.gpus("")).isZero();
        assertThat(Gres.gpus("gpu:4")).isEqualTo(4);
        assertThat(Gres.gpus("gpu:a100:4(S:0-1),gpu:v100:2,mps:100")).isEqualTo(6);
        assertThat(Gres.gpus("gpu:a100")).isEqualTo(1);
    }

    private static SlurmJob job(String state, String reason, int raw, int restarts) {
        return new SlurmJob("1", "n", "c", state, reason, Optional.empty(), List.of("n1"), OptionalInt.of(raw),
                restarts);
    }

    private static SlurmNode node(String state, List<String> flags) {
        return new SlurmNode("n1", List.of("debug"), 2, 2000, "", state, flags, "");
    }
}
