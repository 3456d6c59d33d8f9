package dev.skyport.api;

import java.time.Duration;
import java.util.Optional;

/**
 * Where an embedded engine reports what it measures: submissions, transitions, scheduling passes and gate calls, and
 * the size of its queue per state. Given to {@link EmbeddedBuilder#metrics}; the engine calls nothing else of it.
 * {@code skyport-core} has the adapter to Micrometer ({@code dev.skyport.core.micrometer.MicrometerMetrics}, with
 * Micrometer an optional dependency): implement this interface to report to anything else.
 *
 * <p>Every method has an empty default, so an implementation takes only what it wants. The engine calls them from many
 * threads at once, some of them while it holds a job's lock: an implementation must be thread-safe and quick and must
 * not call back into the engine. What one throws is logged once and otherwise ignored; it never fails the engine's
 * work. One instance serves one engine.
 */
public interface EngineMetrics {
    /** Reports nothing: the default. */
    EngineMetrics NONE = new EngineMetrics() {
        @Override
        public String toString() {
            return "EngineMetrics.NONE";
        }
    };

    /**
     * The engine has started; {@code queue} counts its unfinished jobs per state whenever asked (a gauge's sample),
     * until {@link #closed()}. Each call walks the engine's in-memory index of unfinished jobs (about a millisecond per
     * 100,000 jobs), never the store.
     *
     * @param queue the live count of unfinished jobs per state, to sample until {@link #closed()}
     */
    default void started(QueueDepth queue) {
    }

    /**
     * {@code jobs} jobs were submitted in one call (one, or a batch of {@link Jobs#submitAll}) and are durable;
     * {@code took} is the call's time from its start until the jobs were stored and queued.
     *
     * @param jobs how many jobs the call submitted, at least one
     * @param took the call's time until they were durable and queued
     */
    default void submitted(int jobs, Duration took) {
    }

    /**
     * A job moved to {@code to} after its submission, for {@code reason} when it ended (or stopped a try that is
     * retried). Moves from a state to itself (a retried partition creation, a stop intent) are not reported.
     *
     * @param to the state the job moved to
     * @param reason why the job ended or its try stopped; empty for any other move
     */
    default void transitioned(JobState to, Optional<EndReason> reason) {
    }

    /**
     * One scheduling pass took {@code took}: building the scheduler's view, planning, and acting on the plan.
     *
     * @param took the pass's time, from building the view to the last action
     */
    default void schedulingPass(Duration took) {
    }

    /**
     * A call of the engine to a gate (or to a node or batch queue of a gate) returned or failed.
     *
     * @param gate      the gate's name ({@code local}, {@code ssh}, {@code azure}, {@code slurm}, ...)
     * @param operation the call: the method of the gate SPI ({@code nodes}, {@code createPartition}, {@code launch},
     *                  {@code upload}, {@code submit}, ...)
     * @param took      how long the call took
     * @param outcome   whether it succeeded, and how it failed
     */
    default void gateCall(String gate, String operation, Duration took, GateOutcome outcome) {
    }

    /** The engine has closed: stop sampling the {@link QueueDepth} it gave {@link #started}. */
    default void closed() {
    }

    /** The engine's unfinished jobs per state; thread-safe. */
    @FunctionalInterface
    interface QueueDepth {
        /**
         * {@return how many unfinished jobs are in {@code state} now; 0 for a terminal state}
         *
         * @param state the state to count
         */
        long jobs(JobState state);
    }

    /** How a gate call ended. */
    enum GateOutcome {
        /** The call returned normally. */
        SUCCESS,
        /** The gate said the failure is transient: the engine retries. */
        TRANSIENT_ERROR,
        /** The gate said the failure is permanent. */
        PERMANENT_ERROR,
        /** The gate failed with something other than a gate exception (a bug or an unclassified error). */
        UNEXPECTED_ERROR;

        /** {@return the lower-case name used as a tag: {@code success}, {@code transient-error}, ...} */
        public String tag() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }
}
