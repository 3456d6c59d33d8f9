package dev.skyport.core.store;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.Page;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Where the engine keeps jobs and their transitions. Implementations are thread-safe; every write returns only once
 * it is durable (it survives a crash of the process), and a job row and its event are written atomically. Writers
 * that call at the same time may share one commit. Failures are {@link dev.skyport.api.StorageException}s.
 * Instants are kept to the millisecond; the engine stamps whole milliseconds, so what it stores comes back equal.
 * Job and node events share one sequence space, which the engine allocates.
 *
 * <p>Prove an implementation with {@code JobStoreContractTest} from the {@code skyport-core} test-jar.
 */
public interface JobStore extends AutoCloseable {
    /**
     * Stores a new job with its first event. A job whose spec has an
     * {@linkplain dev.skyport.api.JobSpec#idempotencyKey() idempotency key} is found by it
     * ({@link #findByIdempotencyKey}) from the moment this returns, in the same atomic write, until the job is purged.
     *
     * @param job the new job, in its first state
     * @param event the transition that created it
     * @throws IllegalArgumentException when a job with that id exists, or its owner already has a stored job with
     *                                  its idempotency key; nothing is written then
     */
    void insert(StoredJob job, JobTransitioned event);

    /**
     * Stores several new jobs with their first events in one atomic write, with their idempotency keys as
     * {@link #insert} does.
     *
     * @param jobs the new jobs, in their first state
     * @param events their creating transitions, one per job in the same order
     * @throws IllegalArgumentException when any id exists, or any (owner, idempotency key) is taken, also by two
     *                                  jobs of the batch; nothing is written then
     */
    void insertAll(List<StoredJob> jobs, List<JobTransitioned> events);

    /**
     * As {@link #insert}, without blocking the caller: the future completes once the job is durable, or exceptionally
     * with what {@link #insert} would throw. Inserts queued from one thread commit in the order they were queued. A
     * store with a group commit lets one thread keep many inserts in flight this way; the default just inserts.
     *
     * @param job the new job, in its first state
     * @param event the transition that created it
     * @return completes when the job is durable
     */
    default CompletableFuture<Void> insertAsync(StoredJob job, JobTransitioned event) {
        try {
            insert(job, event);
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * {@return the stored job that {@code owner} submitted with idempotency key {@code key}; empty once it is purged}
     *
     * @param owner the owner's stable id
     * @param key the key the owner chose
     */
    Optional<JobId> findByIdempotencyKey(String owner, String key);

    /**
     * Replaces a job's row and appends its event.
     *
     * @param job the job as it is now
     * @param event the transition that made it so
     * @throws IllegalArgumentException when there is no such job; nothing is written then
     */
    void update(StoredJob job, JobTransitioned event);

    /**
     * As {@link #update(StoredJob, JobTransitioned)}, storing (inserting or replacing) the job's batch row in the same
     * atomic write: a restarted engine sees both the transition and the backend id, or neither.
     *
     * @param job the job as it is now
     * @param event the transition that made it so
     * @param batch the job's row at its batch site
     * @throws IllegalArgumentException when there is no such job; nothing is written then
     */
    void update(StoredJob job, JobTransitioned event, StoredBatchJob batch);

    /** {@return every stored batch row, one per job, in job id order} */
    List<StoredBatchJob> batchJobs();

    /**
     * Deletes the batch row of {@code job}; deleting a row that is not there is no error.
     *
     * @param job the job whose batch row goes
     */
    void deleteBatchJob(JobId job);

    /**
     * The job with its stop intent and back-off, as last stored.
     *
     * @param id the job
     * @return the stored job; empty when there is none
     */
    Optional<StoredJob> find(JobId id);

    /**
     * {@return jobs matching the query in submission (id) order, a page at a time}
     *
     * @param query filters, page size and page token
     */
    Page<Job> list(JobQuery query);

    /** {@return every job that is not terminal, in submission order} */
    List<ActiveJob> active();

    /**
     * {@return a job's events, oldest first; empty for an unknown id}
     *
     * @param id the job
     */
    List<JobTransitioned> history(JobId id);

    /**
     * Deletes an ended job with its events (and whatever else the store keeps of it). A job that is not there or has
     * not ended is left alone.
     *
     * @param id the job
     * @return whether the job was deleted
     */
    boolean purge(JobId id);

    /**
     * {@return up to {@code max} ended jobs whose last change was before {@code before}, the longest-ended first}
     *
     * @param before the instant the last change must precede
     * @param max the most ids returned
     */
    List<JobId> endedBefore(Instant before, int max);

    /**
     * {@return per owner id: how many jobs have not ended, and the total {@linkplain StoredJob#size() size} of their
     * jobs}
     */
    Map<String, OwnerUsage> usageByOwner();

    /**
     * Stores a node's transition; its sequence comes from the same space as the job events'.
     *
     * @param event the node's transition
     */
    void insertNodeEvent(NodeTransitioned event);

    /** {@return the last stored transition of each node that has one, by node name} */
    Map<String, NodeTransitioned> lastNodeEvents();

    /**
     * Node transitions older than {@code before} that are not their node's last one are deleted (the last is what
     * a restart compares the gate's nodes with).
     *
     * @param before the instant older transitions are deleted before
     * @return how many were deleted
     */
    int purgeNodeEvents(Instant before);

    /**
     * {@return up to {@code max} stored events, job and node events alike, whose sequence is greater than {@code after}
     * and at most {@code upTo}, in increasing sequence order; each job event comes with its job's owner} Events of
     * purged jobs are gone.
     *
     * @param after the sequence the events must follow
     * @param upTo the last sequence returned
     * @param max the most events returned
     */
    List<StoredEvent> eventsAfter(long after, long upTo, int max);

    /**
     * {@return the highest event sequence the store has held, job or node event, including those of jobs purged since;
     * 0 for an empty store} An engine continues from here, so a sequence is never handed out twice.
     */
    long lastSequence();

    /**
     * Stores (inserts or replaces) the row of a partition the engine manages.
     *
     * @param partition the partition's row
     */
    void putPartition(StoredPartition partition);

    /**
     * Deletes the row of partition {@code name}; deleting a row that is not there is no error.
     *
     * @param name the partition's name
     */
    void deletePartition(String name);

    /** {@return every stored partition row, by name} */
    List<StoredPartition> partitions();

    @Override
    void close();
}
