package dev.skyport.gate.slurm;

import dev.skyport.gate.GateException;

import java.util.Collection;
import java.util.List;

/**
 * What the {@code slurm} gate needs of a Slurm cluster, in Slurm's terms: the seam between the gate (which maps Sky
 * Port's batch requests, states and limits) and the way it reaches Slurm, slurmrestd or the
 * commands {@code sbatch}/{@code squeue}/{@code scontrol}/{@code scancel} on a login node over SSH.
 *
 * <p>Every method throws {@link GateException}: transient when Slurm could not be reached or asked to retry (connection
 * refused, timeouts, 5xx, slurmctld not answering), permanent when Slurm refused the request, with Slurm's own message
 * (an invalid account or partition, a job beyond limits). Implementations are thread-safe and never put a credential in
 * a message or a log line.
 */
interface SlurmBackend extends AutoCloseable {
    /** How the gate reaches Slurm, for messages: e.g. {@code slurmrestd v0.0.38 at http://127.0.0.1:6820}. */
    String describe();

    /**
     * Checks that Slurm answers (and, for slurmrestd, serves the API version the backend speaks).
     *
     * @throws GateException permanent when the server answers but cannot be used (unsupported API version, rejected
     *                       credentials); transient when it cannot be reached now
     */
    void ping();

    /** The cluster's partitions as Slurm reports them now. */
    List<SlurmPartition> partitions();

    /** The cluster's nodes as Slurm reports them now. */
    List<SlurmNode> nodes();

    /**
     * Submits one batch job and returns Slurm's job id. Not idempotent by itself: the gate looks for the submission's
     * comment with {@link #jobsTagged} first.
     *
     * @throws GateException permanent with Slurm's message when Slurm refuses the job (nothing is queued then)
     */
    String submit(SlurmSubmission submission);

    /**
     * Submits as the Unix user {@code user} (the {@code run-as-owner} option), so that the job runs as that user.
     *
     * @throws GateException permanent when the backend cannot submit as another user
     */
    default String submitAs(String user, SlurmSubmission submission) {
        throw GateException.permanent(describe() + " cannot submit as another user (run-as-owner)");
    }

    /**
     * The jobs among {@code ids} that Slurm still knows (pending, running, or ended within its {@code MinJobAge}); an id
     * Slurm has forgotten is absent from the answer, not an error.
     */
    List<SlurmJob> jobs(Collection<String> ids);

    /** Every job Slurm knows whose comment or job name is {@code tag}, in any state. */
    List<SlurmJob> jobsTagged(String tag);

    /**
     * Every job Slurm knows whose comment starts with {@code prefix}, in one call, when the backend can list them so
     * (empty when it cannot: the queue then looks for each tag with {@link #jobsTagged} before each submit). The
     * queue reads it once, then remembers what it submits itself, so that a submit costs no listing of the whole queue.
     */
    default java.util.Optional<List<SlurmJob>> jobsTaggedWith(String prefix) {
        return java.util.Optional.empty();
    }

    /** Cancels job {@code id} (pending or running); a job that has ended or that Slurm has forgotten is not an error. */
    void cancel(String id);

    /** Releases connections; the backend is not used afterwards. */
    @Override
    void close();
}
