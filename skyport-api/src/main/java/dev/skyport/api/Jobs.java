package dev.skyport.api;

import java.io.InputStream;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Submitting and managing jobs. Thread-safe. Every method that changes a job returns only once the change is durable.
 */
public interface Jobs {
    /**
     * Queues a job. Returns once it is durable: a job returned here survives a crash of the process.
     *
     * @param spec what to run
     * @return the job as stored, QUEUED
     * @throws InvalidJobSpecException when the spec can never run here (unknown flavor, larger than any node, ...);
     *                                 nothing is stored then
     */
    Job submit(JobSpec spec);

    /**
     * As {@link #submit}, without blocking until the job is durable: one thread can keep many submissions in flight,
     * and they share commits. The future completes only once the job is durable (a job it returns survives a crash
     * of the process, as one {@link #submit} returns does), or exceptionally with the exception {@link #submit} would
     * throw ({@link InvalidJobSpecException}, {@link QueueFullException}, {@link QuotaExceededException},
     * {@link EngineUnavailableException}, ...); a spec refused is refused before anything is queued and nothing is
     * stored then. Jobs submitted from one thread get ids, and complete, in the order of the calls.
     *
     * <p>Back-pressure: while the engine has many submissions in flight (thousands: several group commits' worth),
     * this call waits until commits end before it queues another, so a caller submitting faster than the disk can
     * commit is paced by it rather than filling memory. A spec with an {@linkplain JobSpec#idempotencyKey()
     * idempotency key} is submitted as {@link #submit} does, on the calling thread, and the future is already
     * complete when returned.
     *
     * <p>This default submits on the calling thread and returns a completed future; the embedded engine overrides it.
     *
     * @param spec what to run
     * @return completes with the job as stored once it is durable
     */
    default CompletableFuture<Job> submitAsync(JobSpec spec) {
        java.util.Objects.requireNonNull(spec, "spec");
        try {
            return CompletableFuture.completedFuture(submit(spec));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Queues several jobs in one durable write: all are stored or none. Faster than one {@link #submit} per job when
     * a program has many jobs at hand (a parameter sweep, an array job).
     *
     * @param specs what to run, one job per spec
     * @return the jobs as stored, in the order of {@code specs}
     * @throws InvalidJobSpecException for the first spec that cannot run here; nothing is stored then
     */
    List<Job> submitAll(List<JobSpec> specs);

    /**
     * {@return the job's current snapshot}
     *
     * @param id the job
     * @throws NoSuchJobException when there is none
     */
    Job get(JobId id);

    /**
     * {@return jobs matching {@code query}, in submission order}
     *
     * @param query filters and page
     */
    Page<Job> list(JobQuery query);

    /**
     * Cancels a job that has not ended: a running process gets SIGTERM, then SIGKILL after the grace period.
     * Returns the snapshot after the cancel was recorded (CANCELING or CANCELED).
     *
     * @param id the job
     * @return the job after the cancel was recorded
     * @throws IllegalJobStateException when the job already ended
     */
    Job cancel(JobId id);

    /**
     * Puts a job back in the queue with fresh placement: a running job is stopped first, a terminal one starts a new
     * attempt. Returns the snapshot after the requeue was recorded.
     *
     * @param id the job
     * @return the job after the requeue was recorded
     * @throws IllegalJobStateException when the job is already queued or being canceled
     */
    Job requeue(JobId id);

    /**
     * Waits until the job is terminal and returns its final snapshot.
     *
     * @param id the job
     * @param timeout the longest wait
     * @return the job's final snapshot
     * @throws AwaitTimeoutException when {@code timeout} passes first
     * @throws InterruptedException  when the waiting thread is interrupted
     */
    Job await(JobId id, Duration timeout) throws InterruptedException;

    /**
     * {@return a future of the job's final snapshot, for code that must not block a thread while a job runs (an event
     * loop, a chain of {@code thenApply}, a stream of many jobs joined with {@link CompletableFuture#allOf})} Each call
     * returns a new future: completing or cancelling it affects no one else's wait, and the job keeps running.
     *
     * @param id the job
     * @throws NoSuchJobException when there is no such job (or the caller may not see it); checked at the call, not
     *                            later in the future
     */
    CompletableFuture<Job> onTerminal(JobId id);

    /**
     * Waits until every one of {@code ids} is terminal and returns their final snapshots in the order of {@code ids}.
     * One deadline covers them all. Every id is checked before waiting starts.
     *
     * @param ids the jobs
     * @param timeout the longest wait for all of them
     * @return their final snapshots, in the order of {@code ids}
     * @throws NoSuchJobException    for the first id there is no such job for (or the caller may not see)
     * @throws AwaitTimeoutException when {@code timeout} passes first; {@link AwaitTimeoutException#notEnded()} lists
     *                               the jobs that had not ended then
     * @throws InterruptedException  when the waiting thread is interrupted, as {@link #await}
     */
    default List<Job> awaitAll(Collection<JobId> ids, Duration timeout) throws InterruptedException {
        return AwaitAll.await(this, ids, timeout);
    }

    /**
     * {@return the job's standard output so far (empty before it ran)}
     *
     * @param id the job
     */
    String stdout(JobId id);

    /**
     * {@return the job's standard error so far}
     *
     * @param id the job
     */
    String stderr(JobId id);

    /**
     * {@return the job's standard output so far as raw bytes, without decoding and without following: the stream ends
     * where the file ended when it was opened or later} Empty before the job ran. The caller closes it.
     *
     * @param id the job
     * @throws NoSuchJobException when there is no such job (or the caller may not see it)
     */
    InputStream openStdout(JobId id);

    /**
     * As {@link #openStdout} for standard error.
     *
     * @param id the job
     * @return the job's standard error so far, as raw bytes
     */
    InputStream openStderr(JobId id);

    /**
     * {@return a stream of the job's standard output that follows the file as it grows and ends when the job has ended
     * and all of it was read} Close it to stop following.
     *
     * @param id the job
     */
    InputStream followStdout(JobId id);

    /**
     * As {@link #followStdout} for standard error.
     *
     * @param id the job
     * @return a stream of the job's standard error that follows the file until the job has ended
     */
    InputStream followStderr(JobId id);
}
