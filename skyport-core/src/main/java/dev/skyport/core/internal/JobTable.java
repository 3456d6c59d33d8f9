package dev.skyport.core.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.core.store.ActiveJob;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.StoredJob;
import dev.skyport.scheduler.Allocation;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the engine holds in memory about its jobs: one {@link Entry} per unfinished job (its lock), the queue, what
 * each placed job holds, the waiters for jobs to end, and recent snapshots. Every part of the engine reads and
 * changes jobs through this one table, under the rule in {@code docs/design-notes.md}: a change goes through the lock
 * of the job's current entry.
 */
final class JobTable {
    /**
     * Recent snapshots are bounded by what they hold rather than by count: one user's megabyte scripts must not make
     * the cache (and the heap) grow with the queue.
     */
    private static final long SNAPSHOT_CACHE_CHARS = 32L << 20;

    /** Every job that has not ended. */
    final ConcurrentHashMap<JobId, Entry> active = new ConcurrentHashMap<>();
    /** The queued ones, in submission (id) order. */
    final ConcurrentSkipListMap<JobId, Entry> queue = new ConcurrentSkipListMap<>();
    /** What each resource-holding (or just placed) job holds. */
    final ConcurrentHashMap<JobId, Allocation> allocations = new ConcurrentHashMap<>();
    /** Who waits for a job to end. */
    final ConcurrentHashMap<JobId, CompletableFuture<Job>> terminal = new ConcurrentHashMap<>();
    final AtomicInteger unfinished = new AtomicInteger();

    /**
     * Maintenance (eviction) runs on the thread that wrote, not on the common pool: with submissions streaming in, the
     * hand-off to a pool thread per few writes cost more cpu (1.1-1.5 us a submitted job) than the eviction itself.
     */
    private final Cache<JobId, StoredJob> snapshots = Caffeine.newBuilder().maximumWeight(SNAPSHOT_CACHE_CHARS)
            .weigher((JobId id, StoredJob job) -> (int) Math.min(Integer.MAX_VALUE, job.size()))
            .executor(Runnable::run).build();
    private final JobStore store;

    JobTable(JobStore store) {
        this.store = store;
    }

    /** The job as stored, from the cache or the store; {@link NoSuchJobException} for an unknown id. */
    StoredJob snapshot(JobId id) {
        StoredJob s = snapshots.get(id, k -> store.find(k).orElse(null));
        if (s == null) {
            throw new NoSuchJobException(id);
        }
        return s;
    }

    Job get(JobId id) {
        return snapshot(id).job();
    }

    Optional<StoredJob> cached(JobId id) {
        return Optional.ofNullable(snapshots.getIfPresent(id));
    }

    /** Remembers what was just stored; call under the job's lock, after the store has it. */
    void cache(StoredJob stored) {
        snapshots.put(stored.job().id(), stored);
    }

    void forget(JobId id) {
        snapshots.invalidate(id);
    }

    /**
     * The entry of {@code id}, or null when the job has ended. A job that is not terminal yet has no entry is between
     * its durable write and its registration (a submit, a requeue): wait for that, it takes microseconds.
     */
    Entry current(JobId id, Runnable checkOpen) {
        while (true) {
            Entry e = active.get(id);
            if (e != null || get(id).state().isTerminal()) {
                return e;
            }
            checkOpen.run();
            Thread.onSpinWait();
        }
    }

    /** A fresh entry for {@code job}, in the job's current state. */
    static Entry entryFor(Job job) {
        JobSpec spec = job.spec();
        return new Entry(new ActiveJob(job.id(), job.owner(), job.state(), job.submitTime(), spec.priority(),
                spec.nodes(), spec.cpus(), spec.memoryBytes(), spec.gpus(), spec.timeLimit(), spec.account().orElse(""),
                Optional.empty()));
    }
}
