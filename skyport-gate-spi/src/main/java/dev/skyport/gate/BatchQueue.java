package dev.skyport.gate;

import dev.skyport.api.JobId;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The queue of a gate whose backend places and runs jobs itself, such as a Slurm cluster: Sky Port decides only that a
 * job goes to this site; the site's own scheduler picks its nodes and when it starts. One Sky Port job attempt is one
 * backend job. Thread-safe. Every failure is a {@link GateException} that says whether it is transient.
 *
 * <p>A backend job carries its Sky Port job and attempt in a tag ({@link BatchRequest#tag()}, e.g. Slurm's comment and
 * job name), so that an engine killed between the backend's reply to {@link #submit} and its own record of the backend
 * id finds the job again with {@link #find} instead of submitting it twice.
 */
public interface BatchQueue {
    /**
     * {@return the site's partitions (queues) with their limits as the backend reports them now}
     *
     * @throws GateException transient when the backend cannot be reached now
     */
    List<BatchPartition> partitions();

    /**
     * Checks {@code request} against the site without submitting anything: the partition and account exist and are
     * allowed, and the job fits the partition's limits (nodes, cpus, memory and gpus per node, time).
     *
     * @param request the attempt to check
     * @throws GateException permanent naming the limit, partition or account and what the site offers; transient when
     *                       the backend cannot be reached now
     */
    void check(BatchRequest request);

    /**
     * Submits {@code request} as one backend job, after checking it as {@link #check} does (the engine calls only
     * this), writing its script as {@link DetachedRun#SCRIPT} in {@code request.directory()}, its stdout and stderr
     * going to {@link DetachedRun#STDOUT} and {@link DetachedRun#STDERR} there, and its exit status recorded in the
     * attempt's {@link DetachedRun#EXIT_CODE} file (so that the outcome is known after the backend forgets the job).
     * <b>Idempotent</b>: when a backend job tagged for the same job and attempt exists, it is returned and nothing is
     * submitted.
     *
     * @param request the attempt to submit
     * @return the backend job
     * @throws GateException permanent when the backend refuses the job (invalid account or partition, limits), with
     *                       the backend's reason; transient when it could not be reached or asked to retry
     */
    BatchJob submit(BatchRequest request);

    /**
     * {@return the backend job tagged for attempt {@code attempt} of {@code job}, pending, running or ended, if the
     * backend still knows it}
     *
     * @param job the Sky Port job
     * @param attempt its attempt
     * @throws GateException transient when the backend cannot be reached now
     */
    Optional<BatchJob> find(JobId job, int attempt);

    /**
     * {@return the status of each of {@code jobs} (in one call to the backend where it can)} A job the backend no
     * longer knows is {@link BatchStatus.State#GONE}, with its exit status from the attempt's exit-code file when there
     * is one.
     *
     * @param jobs the backend jobs to ask about
     * @throws GateException transient when the backend cannot be reached now
     */
    Map<BatchJob, BatchStatus> status(Collection<BatchJob> jobs);

    /**
     * Cancels {@code job}, pending or running (the backend signals its processes and frees its nodes). Canceling a job
     * that has ended or that the backend no longer knows is not an error.
     *
     * @param job the backend job
     * @throws GateException transient when the backend cannot be reached now
     */
    void cancel(BatchJob job);

    /**
     * {@return file access to the site's shared file system (where job directories live; usually through a login node):
     * only {@link NodeAccess#upload}, {@link NodeAccess#download}, the tree variants and {@link NodeAccess#directoryOf}
     * are used; it runs nothing}
     */
    NodeAccess files();
}
