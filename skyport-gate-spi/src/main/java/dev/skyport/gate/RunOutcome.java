package dev.skyport.gate;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * How a run ended: with an exit code (and, when the shell reported death by a signal, that signal), or lost: the
 * process is gone and left no exit code.
 *
 * @param exitCode the exit code; empty for a lost run
 * @param signal the signal that ended it, when the shell reported one
 * @param detail what happened, for the job's state details
 */
public record RunOutcome(OptionalInt exitCode, OptionalInt signal, String detail) {
    /**
     * Rejects null components.
     *
     * @param exitCode the exit code; empty for a lost run
     * @param signal the signal that ended it, when the shell reported one
     * @param detail what happened, for the job's state details
     */
    public RunOutcome {
        Objects.requireNonNull(exitCode, "exitCode");
        Objects.requireNonNull(signal, "signal");
        Objects.requireNonNull(detail, "detail");
    }

    /**
     * {@return the outcome for a shell exit status: above 128 (and up to 128+64) means killed by signal
     * {@code status-128}}
     *
     * @param status the exit status as the shell reported it
     */
    public static RunOutcome exited(int status) {
        if (status > 128 && status <= 128 + 64) {
            return new RunOutcome(OptionalInt.of(status), OptionalInt.of(status - 128), "killed by signal " + (status - 128));
        }
        return new RunOutcome(OptionalInt.of(status), OptionalInt.empty(), "exited with " + status);
    }

    /**
     * {@return the process disappeared without an exit code}
     *
     * @param why what is known of the loss
     */
    public static RunOutcome lost(String why) {
        return new RunOutcome(OptionalInt.empty(), OptionalInt.empty(), why);
    }

    /** {@return whether the run left no exit code} */
    public boolean isLost() {
        return exitCode.isEmpty();
    }
}
