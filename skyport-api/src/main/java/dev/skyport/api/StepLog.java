package dev.skyport.api;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What one {@link ContainerStep} of an attempt did: when it started and ended, its exit status, and the last
 * {@link #MAX_TAIL_BYTES} bytes of its standard output and error (UTF-8, a broken character at the cut replaced).
 * {@code exitCode} is present once the step ended; a step killed by a signal has 128 + the signal's number, as a shell
 * reports it. Steps after the one that ended the job have no log.
 *
 * @param startTime when the step started
 * @param endTime when it ended; empty while it runs
 * @param exitCode its exit status, once it ended
 * @param stdoutTail the end of its standard output
 * @param stderrTail the end of its standard error
 */
public record StepLog(Instant startTime, Optional<Instant> endTime, OptionalInt exitCode, String stdoutTail,
                      String stderrTail) {
    /** How much of each stream a step log keeps, from its end. */
    public static final int MAX_TAIL_BYTES = 16 * 1024;

    /**
     * Rejects null components.
     *
     * @param startTime when the step started
     * @param endTime when it ended; empty while it runs
     * @param exitCode its exit status, once it ended
     * @param stdoutTail the end of its standard output
     * @param stderrTail the end of its standard error
     */
    public StepLog {
        Objects.requireNonNull(startTime, "startTime");
        Objects.requireNonNull(endTime, "endTime");
        Objects.requireNonNull(exitCode, "exitCode");
        Objects.requireNonNull(stdoutTail, "stdoutTail");
        Objects.requireNonNull(stderrTail, "stderrTail");
    }
}
