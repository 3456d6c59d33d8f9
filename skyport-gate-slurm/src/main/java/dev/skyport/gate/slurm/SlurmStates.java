package dev.skyport.gate.slurm;

import dev.skyport.gate.BatchStatus;

import java.util.Locale;
import java.util.Set;

/** Slurm's job states onto {@link BatchStatus.State}; see docs/slurm-gate.md for the table. */
final class SlurmStates {
    private static final Set<String> QUEUED = Set.of("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
            "RESV_DEL_HOLD");
    private static final Set<String> ACTIVE = Set.of("RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "STOPPED",
            "RESIZING", "SIGNALING", "STAGE_OUT", "POWER_UP_NODE", "UPDATE_DB");

    /**
     * Pending reasons Slurm keeps for ever (measured or from Slurm's job_reason table): the job outgrows its partition
     * after a change, or its account or QOS is refused where no slurmdbd checks at submit.
     */
    private static final Set<String> NEVER_CLEAR = Set.of("PARTITIONCONFIG", "PARTITIONTIMELIMIT",
            "PARTITIONNODELIMIT", "INVALIDACCOUNT", "INVALIDQOS", "BADCONSTRAINTS", "DEPENDENCYNEVERSATISFIED");

    private SlurmStates() {
    }

    /** Why Slurm will never start the pending (or since canceled) {@code job}, if its reason says so. */
    static java.util.Optional<String> neverStarts(SlurmJob job) {
        // CANCELLED too: the gate's own cancel of such a job, seen again at a later poll, still ends it FAILED.
        BatchStatus.State state = toBatch(job.state());
        if (state != BatchStatus.State.PENDING && state != BatchStatus.State.CANCELLED || job.reason().isBlank()) {
            return java.util.Optional.empty();
        }
        String reason = job.reason().strip();
        boolean never = NEVER_CLEAR.contains(reason.toUpperCase(Locale.ROOT))
                || reason.toLowerCase(Locale.ROOT).contains("account not known");
        return never ? java.util.Optional.of(reason) : java.util.Optional.empty();
    }

    /** Whether {@code state} (Slurm's name, any case, possibly with {@code +FLAGS}) is one the job does not leave. */
    static boolean hasEnded(String state) {
        return toBatch(state).isTerminal();
    }

    /** The Sky Port state of a job Slurm reports in {@code state}; an unknown one counts as still running. */
    static BatchStatus.State toBatch(String state) {
        String base = base(state);
        if (QUEUED.contains(base)) {
            return BatchStatus.State.PENDING;
        }
        return switch (base) {
            case "COMPLETED" -> BatchStatus.State.COMPLETED;
            case "FAILED", "SPECIAL_EXIT" -> BatchStatus.State.FAILED;
            case "CANCELLED", "REVOKED" -> BatchStatus.State.CANCELLED;
            case "TIMEOUT" -> BatchStatus.State.TIMEOUT;
            case "NODE_FAIL" -> BatchStatus.State.NODE_FAIL;
            case "PREEMPTED" -> BatchStatus.State.PREEMPTED;
            case "OUT_OF_MEMORY" -> BatchStatus.State.OUT_OF_MEMORY;
            case "BOOT_FAIL" -> BatchStatus.State.BOOT_FAIL;
            case "DEADLINE" -> BatchStatus.State.DEADLINE;
            // RUNNING and its neighbours, and a state a newer Slurm adds: followed until it ends in a known one.
            default -> BatchStatus.State.RUNNING;
        };
    }

    private static String base(String state) {
        String s = state.strip().toUpperCase(Locale.ROOT);
        int plus = s.indexOf('+');
        return plus < 0 ? s : s.substring(0, plus);
    }
}
