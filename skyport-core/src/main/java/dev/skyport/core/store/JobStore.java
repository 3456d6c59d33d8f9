package dev.skyport.core.store;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Page;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where the engine keeps jobs and their transitions. Implementations are thread-safe; every write returns only once
 * it is durable (it survives a crash of the process), and a job row and its event are written atomically. Writers
 * that call at the same time may share one commit. Failures are {@link dev.skyport.api.StorageException}s.
 * Instants are kept to the millisecond; the engine stamps whole milliseconds, so what it stores comes back equal.
 *
 * <p>Prove an implementation with {@code JobStoreContractTest} from the {@code skyport-core} test-jar.
 */
public interface JobStore extends AutoCloseable {
    /**
     * Stores a new job with its first event.
     *
     * @throws IllegalArgumentException when a job with that id exists; nothing is written then
     */
    void insert(StoredJob job, JobTransitioned event);

    /**
     * Stores several new jobs with their first events in one atomic write.
     *
     * @throws IllegalArgumentException when any id exists; nothing is written then
     */
    void insertAll(List<StoredJob> jobs, List<JobTransitioned> events);

    /**
     * Replaces a job's row and appends its event.
     *
     * @throws IllegalArgumentException when there is no such job; nothing is written then
     */
    void update(StoredJob job, JobTransitioned event);

    Optional<StoredJob> find(JobId id);

    /** Jobs matching the query in submission (id) order, a page at a time. */
    Page<Job> list(JobQuery query);

    /** Every job that is not terminal, in submission order. */
    List<ActiveJob> active();

    /** A job's events, oldest first; empty for an unknown id. */
    List<JobTransitioned> history(JobId id);

    /**
     * Deletes an ended job with its events (and whatever else the store keeps of it). A job that is not there or has
     * not ended is left alone.
     *
     * @return whether the job was deleted
     */
    boolean purge(JobId id);

    /** Up to {@code max} ended jobs whose last change was before {@code before}, the longest-ended first. */
    List<JobId> endedBefore(Instant before, int max);

    /** Per owner id: how many jobs have not ended, and the total {@linkplain StoredJob#size() size} of their jobs. */
    Map<String, OwnerUsage> usageByOwner();

    /** The highest event sequence stored, 0 for an empty store. */
    long lastSequence();

    @Override
    void close();
}
