package dev.skyport.api;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One run of a job: where it ran, when, and how it ended. Retries add attempts; they never overwrite one.
 * {@code number} starts at 1. {@code exitCode} and {@code signal} are present once the process ended on its own or
 * by a signal. {@code steps} and {@code outputs} are filled for a {@link ContainerSteps} job: a log per step that
 * started, a log per output file copied; both are empty for other jobs.
 *
 * @param number which attempt of the job this is, from 1
 * @param nodes the names of the nodes it ran on
 * @param partition the partition those nodes belong to, when a gate created one for it
 * @param startTime when it was placed
 * @param endTime when it ended; empty while it runs
 * @param exitCode the exit code of the job's process, once it exited
 * @param signal the signal that ended the process, when one did
 * @param endReason why it ended; empty while it runs
 * @param steps a log per step that started, for a container steps job
 * @param outputs a log per output file copied, for a container steps job
 */
public record Attempt(int number, List<String> nodes, Optional<String> partition, Instant startTime,
                      Optional<Instant> endTime, OptionalInt exitCode, OptionalInt signal,
                      Optional<EndReason> endReason, List<StepLog> steps, List<OutputLog> outputs) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param number which attempt of the job this is, from 1
     * @param nodes the names of the nodes it ran on
     * @param partition the partition those nodes belong to, when a gate created one for it
     * @param startTime when it was placed
     * @param endTime when it ended; empty while it runs
     * @param exitCode the exit code of the job's process, once it exited
     * @param signal the signal that ended the process, when one did
     * @param endReason why it ended; empty while it runs
     * @param steps a log per step that started, for a container steps job
     * @param outputs a log per output file copied, for a container steps job
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public Attempt {
        if (number < 1) {
            throw new IllegalArgumentException("attempt number must be >= 1");
        }
        nodes = List.copyOf(nodes);
        Objects.requireNonNull(partition, "partition");
        Objects.requireNonNull(startTime, "startTime");
        Objects.requireNonNull(endTime, "endTime");
        Objects.requireNonNull(exitCode, "exitCode");
        Objects.requireNonNull(signal, "signal");
        Objects.requireNonNull(endReason, "endReason");
        steps = List.copyOf(steps);
        outputs = List.copyOf(outputs);
    }

    /**
     * An attempt of a job without steps.
     *
     * @param endReason why it ended; empty while it runs
     * @param endTime when it ended; empty while it runs
     * @param exitCode the exit code of the job's process, once it exited
     * @param nodes the names of the nodes it ran on
     * @param number which attempt of the job this is, from 1
     * @param partition the partition those nodes belong to, when a gate created one for it
     * @param signal the signal that ended the process, when one did
     * @param startTime when it was placed
     */
    public Attempt(int number, List<String> nodes, Optional<String> partition, Instant startTime,
                   Optional<Instant> endTime, OptionalInt exitCode, OptionalInt signal,
                   Optional<EndReason> endReason) {
        this(number, nodes, partition, startTime, endTime, exitCode, signal, endReason, List.of(), List.of());
    }

    /** {@return true while this attempt has not ended} */
    public boolean isOpen() {
        return endTime.isEmpty();
    }
}
