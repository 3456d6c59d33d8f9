package dev.skyport.gate;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What a {@link BatchQueue} says of one of its jobs: its state, the backend's reason (why it pends, why it ended:
 * Slurm's {@code Resources}, {@code Priority}, {@code NodeDown}...; empty when none), when the backend expects it to
 * start (pending jobs, where the backend estimates it), the nodes it runs or ran on, and for an ended job its exit
 * code and the signal that killed it.
 *
 * @param state where the backend job is
 * @param reason the backend's reason, e.g. why it pends; empty when none
 * @param expectedStart when the backend expects it to start, where it estimates that
 * @param nodes the nodes it runs or ran on
 * @param exitCode its exit code, once it ended
 * @param signal the signal that killed it, when one did
 */
public record BatchStatus(State state, String reason, Optional<Instant> expectedStart, List<String> nodes,
                          OptionalInt exitCode, OptionalInt signal) {
    /** The backend's job states, as Slurm names them, plus {@link #GONE}. */
    public enum State {
        /** Queued at the site (also held or configuring). */
        PENDING,
        /** Running on its nodes (also completing). */
        RUNNING,
        /** Ended on its own with exit code 0 or not: see {@link BatchStatus#exitCode()}. */
        COMPLETED,
        /**
         * Ended on its own with a non-zero exit code; or, without an exit code, a job the site will never run (it
         * failed to launch, or it would pend for ever: beyond its partition's limits, an account the site does not
         * know...), which the gate has canceled at the site, with the reason saying why. The engine ends such a job
         * FAILED with that reason and does not retry it.
         */
        FAILED,
        /** Canceled by a user or an administrator at the site. */
        CANCELLED,
        /** Killed at its time limit. */
        TIMEOUT,
        /** One of its nodes failed. */
        NODE_FAIL,
        /** Preempted by a job of higher priority (and not requeued by the site). */
        PREEMPTED,
        /** Killed for using more memory than it asked for. */
        OUT_OF_MEMORY,
        /** Its nodes could not be booted. */
        BOOT_FAIL,
        /** Not started before its deadline. */
        DEADLINE,
        /** The backend does not know the job (any more); the exit code is the attempt's exit-code file's, if any. */
        GONE;

        /** {@return whether the backend job has ended, for good} */
        public boolean isTerminal() {
            return this != PENDING && this != RUNNING;
        }
    }

    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param state where the backend job is
     * @param reason the backend's reason, e.g. why it pends; empty when none
     * @param expectedStart when the backend expects it to start, where it estimates that
     * @param nodes the nodes it runs or ran on
     * @param exitCode its exit code, once it ended
     * @param signal the signal that killed it, when one did
     */
    public BatchStatus {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(expectedStart, "expectedStart");
        nodes = List.copyOf(nodes);
        Objects.requireNonNull(exitCode, "exitCode");
        Objects.requireNonNull(signal, "signal");
    }
}
