package dev.skyport.core.internal;

import dev.skyport.api.Attempt;
import dev.skyport.api.Job;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.Page;
import dev.skyport.core.store.JobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * Replays the attempts that ended before the engine started into the fair-share usage. Attempts older than ten
 * half-lives count for less than a thousandth and are skipped. The replay fills a usage of its own, merged only when
 * it is complete, so that a replay that fails half-way and is tried again charges nothing twice.
 *
 * <p>A failure (the store, or the heap: the history once held 1 MiB accounts) must not stop scheduling: the engine
 * schedules without the history (fair share orders by the usage since the start), reports DEGRADED, and tries again
 * in the background with back-off.
 */
final class UsageReplay {
    private static final Logger LOG = LoggerFactory.getLogger(UsageReplay.class);
    /** How fast an account's past use stops counting for fair share (Slurm's default PriorityDecayHalfLife). */
    static final Duration HALF_LIFE = Duration.ofDays(7);
    /** Past usage is read in pages this small, so that jobs with large scripts cannot fill the heap while replaying. */
    private static final int PAGE = 10;

    private final JobStore store;
    private final AccountUsage usage;
    private final EngineHealth health;
    private final Backoff backoff;
    private final SchedulingLoop loop;
    private final EngineWorkers workers;
    private final BooleanSupplier closed;

    UsageReplay(JobStore store, AccountUsage usage, EngineHealth health, Backoff backoff, SchedulingLoop loop,
                EngineWorkers workers, BooleanSupplier closed) {
        this.store = store;
        this.usage = usage;
        this.health = health;
        this.backoff = backoff;
        this.loop = loop;
        this.workers = workers;
        this.closed = closed;
    }

    /** Charges the usage with the attempts that ended before {@code before}; on failure, books a retry. */
    void replay(Instant before) {
        if (closed.getAsBoolean()) {
            return;
        }
        try {
            AccountUsage replayed = new AccountUsage(HALF_LIFE);
            int charged = load(before, replayed);
            replayed.snapshot(before).forEach((account, cpuSeconds) -> usage.charge(account, cpuSeconds, before));
            backoff.reset();
            health.recovered("usage-replay");
            LOG.debug("fair-share usage loaded from {} past attempts", charged);
        } catch (Throwable t) {
            if (closed.getAsBoolean()) {
                return; // the store was closed under the replay; nothing to report
            }
            if (EngineHealth.isFatal(t)) {
                throw t;
            }
            Instant retry = loop.now().plus(backoff.next());
            health.failed("usage-replay", "replaying past usage for fair share (scheduling goes on without it)", t,
                    0, Optional.of(retry));
            loop.addTimer(retry, () -> workers.execute(() -> replay(before)));
        }
    }

    /** Charges {@code into} with the attempts that ended before {@code before}; returns how many. */
    private int load(Instant before, AccountUsage into) {
        Instant horizon = before.minus(HALF_LIFE.multipliedBy(10));
        int charged = 0;
        JobQuery query = JobQuery.all().withLimit(PAGE).withoutScripts();
        while (!closed.getAsBoolean()) {
            Page<Job> page = store.list(query);
            for (Job job : page.items()) {
                String account = job.spec().account().orElse("");
                if (account.length() > JobSpec.MAX_ACCOUNT_LENGTH) {
                    continue; // stored before accounts were bounded; no job can be submitted to it any more
                }
                for (Attempt a : job.attempts()) {
                    Optional<Instant> end = a.endTime();
                    if (end.isPresent() && end.get().isBefore(before) && end.get().isAfter(horizon)) {
                        into.charge(account, cpuSeconds(job.spec().cpus(), a, end.get()), end.get());
                        charged++;
                    }
                }
            }
            if (page.nextPageToken().isEmpty()) {
                break;
            }
            query = query.after(page);
        }
        return charged;
    }

    /** What an attempt used: cpus per node × nodes × seconds. */
    static double cpuSeconds(int cpusPerNode, Attempt a, Instant end) {
        return (double) cpusPerNode * a.nodes().size() * Math.max(0, Duration.between(a.startTime(), end).toMillis())
                / 1000.0;
    }
}
