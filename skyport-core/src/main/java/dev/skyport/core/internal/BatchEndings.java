package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.gate.BatchStatus;
import dev.skyport.gate.GateException;
import dev.skyport.gate.RunOutcome;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * What the end of a batch site's job means to Sky Port: its {@link EndReason} and {@link RunOutcome}, from the state
 * the site reports. Exit statuses are read as on every other gate ({@link RunOutcome#exited}: above 128 is death by a
 * signal), because a site's wrapper exits 128+N when the script dies by signal N and the site then reports no signal.
 */
final class BatchEndings {
    private BatchEndings() {
    }

    /**
     * The end of a backend job: its reason and outcome, and, for a job the site will never run (FAILED without an exit
     * status: it refused it after queueing it, e.g. beyond a partition's limits), the permanent refusal that keeps the
     * job's retry policy from trying it again.
     */
    record Ending(EndReason reason, RunOutcome outcome, Optional<GateException> refused) {
        Ending(EndReason reason, RunOutcome outcome) {
            this(reason, outcome, Optional.empty());
        }
    }

    static Ending ending(String site, BatchStatus b) {
        String why = b.reason().isEmpty() ? "" : " (" + b.reason() + ")";
        OptionalInt exit = b.exitCode();
        return switch (b.state()) {
            case COMPLETED, FAILED, GONE -> exit.isPresent() ? exited(site, b, exit.getAsInt(), why)
                    : b.state() == BatchStatus.State.FAILED ? refused(site, b)
                    : b.state() == BatchStatus.State.GONE ? new Ending(EndReason.NODE_LOST, RunOutcome.lost(
                    "batch site " + site + " no longer knows the job and it left no exit code"))
                    : new Ending(EndReason.SYSTEM_ERROR, RunOutcome.lost("batch site " + site + " says "
                    + b.state() + why + " without an exit code"));
            case TIMEOUT -> new Ending(EndReason.TIME_LIMIT, new RunOutcome(exit.isPresent() ? exit
                    : OptionalInt.of(-1), b.signal(), "killed at its time limit by batch site " + site));
            case NODE_FAIL, BOOT_FAIL -> new Ending(EndReason.NODE_LOST, RunOutcome.lost("a node failed at batch site "
                    + site + ": " + b.state() + why));
            case PREEMPTED -> new Ending(EndReason.PREEMPTED, RunOutcome.lost("preempted at batch site " + site + why));
            case OUT_OF_MEMORY -> new Ending(EndReason.SIGNALED, new RunOutcome(exit.isPresent() ? exit
                    : OptionalInt.of(128 + 9), OptionalInt.of(b.signal().orElse(9)), "out of memory at batch site "
                    + site + why));
            case CANCELLED -> new Ending(EndReason.SIGNALED, new RunOutcome(exit.isPresent() ? exit
                    : OptionalInt.of(128 + 15), OptionalInt.of(b.signal().orElse(15)), "canceled at batch site "
                    + site + why));
            case DEADLINE -> new Ending(EndReason.NO_CAPACITY, RunOutcome.lost("not started before its deadline at"
                    + " batch site " + site + why));
            case PENDING, RUNNING -> throw new IllegalArgumentException("not ended: " + b.state());
        };
    }

    /** An exit status, read as every gate reads one; a signal the site names wins over the status's. */
    private static Ending exited(String site, BatchStatus b, int status, String why) {
        RunOutcome read = RunOutcome.exited(status);
        if (b.signal().isPresent()) {
            read = new RunOutcome(read.exitCode(), b.signal(), "killed by signal " + b.signal().getAsInt()
                    + " at batch site " + site + why);
        }
        if (read.signal().isPresent()) {
            return new Ending(EndReason.SIGNALED, read);
        }
        return new Ending(status == 0 ? EndReason.COMPLETED : EndReason.NON_ZERO_EXIT, read);
    }

    /** FAILED without an exit status: the site will never run it; its reason says why. Not retried. */
    private static Ending refused(String site, BatchStatus b) {
        String reason = b.reason().isEmpty() ? "it failed before it ran" : b.reason();
        String message = "refused by batch site " + site + ": " + reason;
        return new Ending(EndReason.SYSTEM_ERROR, RunOutcome.lost(message),
                Optional.of(GateException.permanent(message)));
    }
}
