package dev.skyport.gate;

import java.util.Objects;
import java.util.Optional;

/**
 * What {@link NodeAccess#probe} found for a run after a restart: still {@code RUNNING} (with a handle to watch),
 * {@code ENDED} (with its outcome, possibly lost), or {@code NEVER_STARTED}: the run did not begin and now never will,
 * so it may be started again without running the job twice.
 *
 * @param state what was found
 * @param handle the run to watch, when it is running
 * @param outcome how it ended, when it ended
 */
public record RunProbe(State state, Optional<RunHandle> handle, Optional<RunOutcome> outcome) {
    /** What a probe found. */
    public enum State {
        /** The run is still running. */
        RUNNING,
        /** The run ended; the outcome says how. */
        ENDED,
        /** The run did not begin and now never will. */
        NEVER_STARTED
    }

    /**
     * Rejects null components.
     *
     * @param state what was found
     * @param handle the run to watch, when it is running
     * @param outcome how it ended, when it ended
     */
    public RunProbe {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(handle, "handle");
        Objects.requireNonNull(outcome, "outcome");
    }

    /**
     * {@return a probe that found the run still running}
     *
     * @param handle the run, to watch
     */
    public static RunProbe running(RunHandle handle) {
        return new RunProbe(State.RUNNING, Optional.of(handle), Optional.empty());
    }

    /**
     * {@return a probe that found the run ended}
     *
     * @param outcome how it ended
     */
    public static RunProbe ended(RunOutcome outcome) {
        return new RunProbe(State.ENDED, Optional.empty(), Optional.of(outcome));
    }

    /** {@return a probe that found the run never started} */
    public static RunProbe neverStarted() {
        return new RunProbe(State.NEVER_STARTED, Optional.empty(), Optional.empty());
    }
}
