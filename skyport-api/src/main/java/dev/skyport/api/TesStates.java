package dev.skyport.api;

import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The one table that maps a job's {@link JobState} and {@link EndReason} to the states of GA4GH TES 1.1
 * ({@code tesState}), and back for TES's list filter. Every front door that speaks TES uses it.
 *
 * <table>
 *   <caption>TES states</caption>
 *   <tr><th>JobState</th><th>EndReason</th><th>TES state</th></tr>
 *   <tr><td>QUEUED</td><td></td><td>QUEUED</td></tr>
 *   <tr><td>PROVISIONING, STAGING_IN</td><td></td><td>INITIALIZING</td></tr>
 *   <tr><td>RUNNING, STAGING_OUT</td><td></td><td>RUNNING</td></tr>
 *   <tr><td>CANCELING of a requeue</td><td></td><td>RUNNING</td></tr>
 *   <tr><td>CANCELING</td><td></td><td>CANCELING</td></tr>
 *   <tr><td>CANCELED</td><td></td><td>CANCELED</td></tr>
 *   <tr><td>SUCCEEDED</td><td></td><td>COMPLETE</td></tr>
 *   <tr><td>FAILED</td><td>PREEMPTED</td><td>PREEMPTED</td></tr>
 *   <tr><td>FAILED</td><td>a user cause (exit code, signal, time limit)</td><td>EXECUTOR_ERROR</td></tr>
 *   <tr><td>FAILED</td><td>any other cause, or none</td><td>SYSTEM_ERROR</td></tr>
 * </table>
 *
 * TES's output upload happens while a task is RUNNING and COMPLETE means the outputs are in place, which is what
 * STAGING_OUT and SUCCEEDED say. A requeue stops a running job through CANCELING, but the task is not being canceled:
 * it goes on with another attempt, so TES clients (which treat CANCELING as the end of their task) see RUNNING, as
 * {@link UpstreamStates} shows {@code R}. A job the engine will retry after an infrastructure failure is QUEUED again,
 * never SYSTEM_ERROR or PREEMPTED: those are only shown when no further attempt will be made. {@code UNKNOWN} and
 * {@code PAUSED} are never reported.
 */
public final class TesStates {
    /** Every TES 1.1 state, in the specification's order. */
    public static final List<String> ALL = List.of("UNKNOWN", "QUEUED", "INITIALIZING", "RUNNING", "PAUSED",
            "COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED", "CANCELING");

    private TesStates() {
    }

    /**
     * {@return the TES state of a job in {@code state} that ended (if it did) for {@code reason}}
     *
     * @param state the job's state
     * @param reason why it ended; empty while it runs or when no reason was recorded
     */
    public static String of(JobState state, Optional<EndReason> reason) {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(reason, "reason");
        return switch (state) {
            case QUEUED -> "QUEUED";
            case PROVISIONING, STAGING_IN -> "INITIALIZING";
            case RUNNING, STAGING_OUT -> "RUNNING";
            case CANCELING -> "CANCELING";
            case CANCELED -> "CANCELED";
            case SUCCEEDED -> "COMPLETE";
            case FAILED -> reason.map(r -> r == EndReason.PREEMPTED ? "PREEMPTED"
                    : r.cause() == EndReason.Cause.USER ? "EXECUTOR_ERROR" : "SYSTEM_ERROR").orElse("SYSTEM_ERROR");
        };
    }

    /**
     * {@return the TES state of a job snapshot, which unlike {@link #of(JobState, Optional)} shows a requeue in
     * progress as RUNNING}
     *
     * @param job the snapshot
     */
    public static String of(Job job) {
        if (job.state() == JobState.CANCELING && job.stateDetails().equals(UpstreamStates.REQUEUE_REQUESTED)) {
            return "RUNNING";
        }
        return of(job.state(), job.endReason());
    }

    /**
     * The job states whose jobs may show {@code tesState}: a superset to filter a listing with before checking each
     * job with {@link #of(Job)} (EXECUTOR_ERROR, SYSTEM_ERROR and PREEMPTED are all FAILED). Empty for
     * {@code UNKNOWN} and {@code PAUSED}, which no job shows.
     *
     * @param tesState a TES state, one of {@link #ALL}
     * @return the job states to filter with
     * @throws IllegalArgumentException when {@code tesState} is not one of {@link #ALL}
     */
    public static Set<JobState> jobStates(String tesState) {
        Objects.requireNonNull(tesState, "tesState");
        return switch (tesState) {
            case "UNKNOWN", "PAUSED" -> Set.of();
            case "QUEUED" -> EnumSet.of(JobState.QUEUED);
            case "INITIALIZING" -> EnumSet.of(JobState.PROVISIONING, JobState.STAGING_IN);
            case "RUNNING" -> EnumSet.of(JobState.RUNNING, JobState.STAGING_OUT, JobState.CANCELING);
            case "CANCELING" -> EnumSet.of(JobState.CANCELING);
            case "CANCELED" -> EnumSet.of(JobState.CANCELED);
            case "COMPLETE" -> EnumSet.of(JobState.SUCCEEDED);
            case "EXECUTOR_ERROR", "SYSTEM_ERROR", "PREEMPTED" -> EnumSet.of(JobState.FAILED);
            default -> throw new IllegalArgumentException("not a TES state: '" + Text.abbreviate(tesState)
                    + "'; one of " + ALL);
        };
    }

    /**
     * {@return true for the terminal TES states: COMPLETE, EXECUTOR_ERROR, SYSTEM_ERROR, CANCELED and PREEMPTED}
     *
     * @param tesState a TES state; any other string is not terminal
     */
    public static boolean isTerminal(String tesState) {
        return switch (tesState) {
            case "COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED" -> true;
            default -> false;
        };
    }
}
