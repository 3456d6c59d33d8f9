package dev.skyport.core.internal;

import dev.skyport.api.Limits;
import dev.skyport.api.QuotaExceededException;
import dev.skyport.core.store.OwnerUsage;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What each user holds (jobs not yet ended, stored bytes) against their {@link Limits}, so one user's load cannot
 * take the engine's memory or disk from the others. A submission reserves before it is stored and gives the
 * reservation back if the store refuses it. Seeded from the store at start; thread-safe.
 */
final class UserQuotas {
    private static final class Load {
        long active;
        long bytes;
    }

    private final Limits limits;
    private final Map<String, Load> loads = new ConcurrentHashMap<>();

    UserQuotas(Limits limits, Map<String, OwnerUsage> stored) {
        this.limits = limits;
        stored.forEach((owner, usage) -> {
            Load load = new Load();
            load.active = usage.activeJobs();
            load.bytes = usage.storedBytes();
            loads.put(owner, load);
        });
    }

    /**
     * Reserves {@code jobs} more unfinished jobs and {@code bytes} more stored bytes for {@code owner}.
     *
     * @throws QuotaExceededException when either would pass the owner's limit; nothing is reserved then
     */
    void reserve(String owner, int jobs, long bytes) {
        Load load = loads.computeIfAbsent(owner, k -> new Load());
        synchronized (load) {
            if (load.active + jobs > limits.maxActiveJobsPerUser()) {
                throw new QuotaExceededException("maxActiveJobsPerUser", "you have " + load.active
                        + " jobs that have not ended; the limit per user is " + limits.maxActiveJobsPerUser()
                        + ". Wait for some to end or cancel some.");
            }
            if (load.bytes + bytes > limits.maxStoredBytesPerUser()) {
                throw new QuotaExceededException("maxStoredBytesPerUser", "your stored jobs hold "
                        + Sizes.human(load.bytes) + "; " + Sizes.human(bytes) + " more would pass the limit per user of "
                        + Sizes.human(limits.maxStoredBytesPerUser()) + ". Ended jobs are purged "
                        + limits.jobRetention().toHours() + " hours after they end.");
            }
            load.active += jobs;
            load.bytes += bytes;
        }
    }

    /** Gives back what {@link #reserve} took, when the store did not take the jobs. */
    void release(String owner, int jobs, long bytes) {
        change(owner, -jobs, -bytes);
    }

    /** One of the owner's jobs ended. */
    void ended(String owner) {
        change(owner, -1, 0);
    }

    /** One of the owner's ended jobs was requeued: it counts again until it ends. */
    void requeued(String owner) {
        change(owner, 1, 0);
    }

    /** One of the owner's ended jobs was purged. */
    void purged(String owner, long bytes) {
        change(owner, 0, -bytes);
    }

    private void change(String owner, long jobs, long bytes) {
        Load load = loads.computeIfAbsent(owner, k -> new Load());
        synchronized (load) {
            load.active = Math.max(0, load.active + jobs);
            load.bytes = Math.max(0, load.bytes + bytes);
        }
    }
}
