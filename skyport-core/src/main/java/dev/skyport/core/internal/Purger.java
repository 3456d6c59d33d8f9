package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.StoredJob;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * Deletes the jobs that ended longer than the retention ago: their rows, events and directories (and node
 * transitions as old, but each node's last), once a
 * {@link #INTERVAL}, on a worker. Each is purged under a placeholder entry, so a requeue racing with the purge either
 * finds the job (and the purge skips it: it has not ended any more) or finds it gone.
 */
final class Purger {
    private static final Logger LOG = LoggerFactory.getLogger(Purger.class);
    /** How often ended jobs past their retention are looked for. */
    static final Duration INTERVAL = Duration.ofMinutes(1);
    /** How many one look purges at most. */
    private static final int BATCH = 1000;

    private final JobStore store;
    private final JobTable table;
    private final UserQuotas quotas;
    private final SchedulingLoop loop;
    private final EngineWorkers workers;
    private final Duration retention;
    private final Function<JobId, Path> jobDir;
    private final BooleanSupplier closed;

    Purger(JobStore store, JobTable table, UserQuotas quotas, SchedulingLoop loop, EngineWorkers workers,
           Duration retention, Function<JobId, Path> jobDir, BooleanSupplier closed) {
        this.store = store;
        this.table = table;
        this.quotas = quotas;
        this.loop = loop;
        this.workers = workers;
        this.retention = retention;
        this.jobDir = jobDir;
        this.closed = closed;
    }

    /** Books the first look. */
    void start() {
        loop.addTimer(loop.now().plus(INTERVAL), this::due);
    }

    /** On the loop's timer: hands the purge to a worker and books the next one. */
    private void due() {
        if (closed.getAsBoolean()) {
            return;
        }
        workers.execute(this::purgeEnded);
        loop.addTimer(loop.now().plus(INTERVAL), this::due);
    }

    private void purgeEnded() {
        Instant before = loop.now().minus(retention);
        List<JobId> due;
        try {
            due = store.endedBefore(before, BATCH);
        } catch (RuntimeException ex) {
            LOG.warn("cannot look for ended jobs to purge: {}", ex.toString());
            return;
        }
        int purged = 0;
        for (JobId id : due) {
            if (closed.getAsBoolean()) {
                return;
            }
            if (purge(id, before)) {
                purged++;
            }
        }
        if (purged > 0) {
            LOG.info("purged {} jobs that ended before {}", purged, before);
        }
        try {
            // Node transitions are kept as long as jobs; each node's last one stays, a restart compares with it.
            store.purgeNodeEvents(before);
        } catch (RuntimeException ex) {
            LOG.warn("cannot purge old node transitions: {}", ex.toString());
        }
    }

    private boolean purge(JobId id, Instant before) {
        Job job;
        try {
            job = table.get(id);
        } catch (NoSuchJobException gone) {
            return false;
        }
        Entry placeholder = JobTable.entryFor(job);
        // Locked before it is visible: a requeue or cancel that finds it waits for the purge, then sees the job gone.
        synchronized (placeholder) {
            if (table.active.putIfAbsent(id, placeholder) != null) {
                return false; // requeued meanwhile: no longer ended
            }
            try {
                // Read again under the lock: since the look for ended jobs it may have been requeued and ended again,
                // and then it is not old enough.
                Optional<StoredJob> current = store.find(id);
                if (current.isEmpty() || !current.get().job().state().isTerminal()
                        || !current.get().job().updateTime().isBefore(before) || !store.purge(id)) {
                    return false;
                }
                table.forget(id);
                quotas.purged(job.owner(), current.get().size());
                // An await that found the placeholder registered a future no end will complete: the job is gone.
                var waiting = table.terminal.remove(id);
                if (waiting != null) {
                    waiting.completeExceptionally(new NoSuchJobException(id));
                }
            } catch (RuntimeException ex) {
                LOG.warn("cannot purge job {}: {}", id, ex.toString());
                return false;
            } finally {
                table.active.remove(id, placeholder);
            }
        }
        deleteTree(jobDir.apply(id));
        return true;
    }

    private static void deleteTree(Path dir) {
        deleteTree(dir, false);
    }

    /** {@code chmod -R u+rwx} (which follows no link): whether it succeeded. */
    private static boolean makeWritable(Path dir) {
        try {
            Process chmod = new ProcessBuilder("chmod", "-R", "u+rwx", "--", dir.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return chmod.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) && chmod.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void deleteTree(Path dir, boolean retried) {
        try {
            FileTrees.delete(dir);
        } catch (IOException | UncheckedIOException ex) {
            // A job running as the engine's own uid may have taken the permissions off a directory of its own.
            if (!retried && makeWritable(dir)) {
                deleteTree(dir, true);
                return;
            }
            LOG.warn("cannot delete the directory of a purged job, {}: {}", dir, ex.toString());
        }
    }
}
