package dev.skyport.api;

import java.util.Objects;
import java.util.Optional;

/**
 * The one table that maps a job's {@link JobState} and {@link EndReason} to the one-letter states of the upstream
 * Sky Port API ({@code Q W T R F E C}). Every front door uses it, so the letters never disagree.
 *
 * <table>
 *   <caption>State letters</caption>
 *   <tr><th>JobState</th><th>EndReason</th><th>letter</th></tr>
 *   <tr><td>QUEUED</td><td></td><td>Q</td></tr>
 *   <tr><td>PROVISIONING</td><td></td><td>W</td></tr>
 *   <tr><td>STAGING_IN, STAGING_OUT</td><td></td><td>T</td></tr>
 *   <tr><td>RUNNING</td><td></td><td>R</td></tr>
 *   <tr><td>CANCELING of a requeue (details {@value #REQUEUE_REQUESTED})</td><td></td><td>R</td></tr>
 *   <tr><td>CANCELING, CANCELED</td><td></td><td>C</td></tr>
 *   <tr><td>SUCCEEDED</td><td></td><td>F</td></tr>
 *   <tr><td>FAILED</td><td>a user cause (exit code, signal, time limit)</td><td>F</td></tr>
 *   <tr><td>FAILED</td><td>an infrastructure cause, or none</td><td>E</td></tr>
 * </table>
 *
 * Upstream reports {@code F} for any exit code and {@code E} only when the process could not be followed or the
 * partition failed; the table keeps that meaning. Outputs are copied back before a job leaves STAGING_OUT, so
 * {@code F} is only shown once the results are on the daemon side (upstream shows it earlier).
 *
 * <p>A requeue of a running job stops the run through CANCELING; the upstream Jupyter spawner reads {@code C} (and
 * {@code Q}) as "stopped" and forgets the job, so while a requeue stops the run the job shows {@code R}: its process
 * is still there. The engine marks such a stop with the state details {@value #REQUEUE_REQUESTED}; a cancel that wins
 * over the requeue changes them, and the letter becomes {@code C}.
 */
public final class UpstreamStates {
    /** The state details of a CANCELING job whose run is being stopped to requeue it. */
    static final String REQUEUE_REQUESTED = "Requeue requested";

    private UpstreamStates() {
    }

    /**
     * {@return the upstream letter for a job in {@code state} that ended (if it did) for {@code reason}}
     *
     * @param state the job's state
     * @param reason why it ended, for a terminal state
     */
    public static char letter(JobState state, Optional<EndReason> reason) {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(reason, "reason");
        return switch (state) {
            case QUEUED -> 'Q';
            case PROVISIONING -> 'W';
            case STAGING_IN, STAGING_OUT -> 'T';
            case RUNNING -> 'R';
            case CANCELING, CANCELED -> 'C';
            case SUCCEEDED -> 'F';
            case FAILED -> reason.map(r -> r.cause() == EndReason.Cause.USER ? 'F' : 'E').orElse('E');
        };
    }

    /**
     * {@return the upstream letter of a job snapshot}
     *
     * @param job the job
     */
    public static char letter(Job job) {
        if (job.state() == JobState.CANCELING && job.stateDetails().equals(REQUEUE_REQUESTED)) {
            return 'R';
        }
        return letter(job.state(), job.endReason());
    }
}
