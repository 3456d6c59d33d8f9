package dev.skyport.core.internal;

import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.core.internal.BatchSites.Run;
import dev.skyport.core.internal.BatchSites.Site;
import dev.skyport.core.store.StopIntent;
import dev.skyport.core.store.StoredBatchJob;
import dev.skyport.gate.BatchJob;
import dev.skyport.gate.GateException;
import dev.skyport.gate.RunOutcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Takes over, after a restart, the jobs found at batch sites: those with a stored backend id are followed by it, the
 * others are looked up by their tag before anything is submitted again. A part of {@link BatchSites}.
 */
final class BatchRestart extends BatchSitePart {
    private static final Logger LOG = LoggerFactory.getLogger(BatchRestart.class);

    BatchRestart(BatchSites sites) {
        super(sites);
    }

    /**
     * Takes over the jobs a restart found at batch sites: those with a stored backend id are followed by it, the
     * others are looked up by their tag before anything is submitted again. A job at a site no longer configured goes
     * back to the queue.
     */
    void load(List<Entry> entries) {
        Map<JobId, StoredBatchJob> rows = new LinkedHashMap<>();
        for (StoredBatchJob row : store.batchJobs()) {
            rows.put(row.job(), row);
        }
        List<Runnable> next = new ArrayList<>();
        for (Entry e : entries) {
            Attempt last = table.get(e.id).lastAttempt().orElseThrow();
            String qualified = last.partition().orElseThrow();
            int slash = qualified.indexOf('/');
            Site s = sites.sites.get(qualified.substring(0, slash));
            if (s == null) {
                next.add(() -> CloudPartitions.requeue(e, transitions, table, "batch site "
                        + qualified.substring(0, slash) + " is no longer configured"));
                continue;
            }
            Run r = sites.new Run(e, s, qualified.substring(slash + 1), e.attempt);
            StoredBatchJob row = rows.remove(e.id);
            runs.put(e.id, r);
            if (row != null && row.attempt() == e.attempt && row.site().equals(s.name)) {
                r.backend = new BatchJob(row.backendId(), e.id, e.attempt);
                r.details = table.get(e.id).stateDetails();
                if (e.state == JobState.RUNNING || e.state == JobState.STAGING_OUT) {
                    e.allocatedNodes = last.nodes();
                }
                next.add(() -> sites.background(() -> {
                    sites.directory(r);
                    synchronized (e) {
                        if (e.stopIntent == StopIntent.CANCEL || e.stopIntent == StopIntent.REQUEUE) {
                            sites.submits.cancelAtSite(r, r.backend);
                        }
                    }
                }));
                LOG.info("job {}: following backend job {} at batch site {} again", e.id, row.backendId(), s.name);
            } else {
                if (row != null) {
                    rows.put(e.id, row); // an older attempt's: deleted below
                }
                next.add(() -> sites.background(() -> findOrSubmit(r)));
            }
        }
        for (StoredBatchJob stale : rows.values()) {
            Entry e = table.active.get(stale.job());
            if (e == null || e.attempt != stale.attempt()) {
                next.add(() -> sites.background(() -> {
                    try {
                        store.deleteBatchJob(stale.job());
                    } catch (RuntimeException ex) {
                        LOG.warn("cannot delete the stale batch row of job {}", stale.job(), ex);
                    }
                }));
            }
        }
        sites.deferred = next;
    }

    /**
     * A job found without a stored backend id: its attempt may have been submitted just before a crash, so the site is
     * asked for it by tag first. Found, it is recorded and followed; not found, it is staged in again (or submitted,
     * when it was past its staging) or, when it was being stopped, ended.
     */
    private void findOrSubmit(Run r) {
        if (closed.getAsBoolean()) {
            return;
        }
        Entry e = r.entry;
        sites.directory(r);
        Optional<BatchJob> found;
        try {
            found = r.site.queue.find(e.id, r.attempt);
        } catch (RuntimeException ex) {
            Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(r.backoff::next)
                    : r.backoff.next();
            LOG.info("cannot ask batch site {} for job {} yet ({}); asking again in {}", r.site.name, e.id,
                    ex.getMessage(), wait);
            loop.addTimer(loop.now().plus(wait), () -> sites.background(() -> findOrSubmit(r)));
            return;
        }
        if (found.isPresent()) {
            LOG.info("job {}: found backend job {} at batch site {} by its tag", e.id, found.get().id(), r.site.name);
            if (e.state == JobState.STAGING_IN || e.state == JobState.PROVISIONING || e.state == JobState.CANCELING) {
                sites.submits.submitted(r, found.get());
            } else {
                synchronized (e) {
                    r.backend = found.get();
                }
            }
            return;
        }
        JobState state;
        synchronized (e) {
            state = e.state;
            if (state == JobState.STAGING_IN && e.stopIntent == null) {
                sites.submits.stageIn(r);
                return;
            }
        }
        if (state == JobState.PROVISIONING) {
            sites.submits.submit(r);
        } else if (state == JobState.CANCELING) {
            sites.end(r, EndReason.CANCELED, RunOutcome.lost("stopped before it was submitted"), Optional.empty());
        } else {
            sites.end(r, EndReason.NODE_LOST, RunOutcome.lost("batch site " + r.site.name
                    + " does not know the job after a restart"), Optional.empty());
        }
    }

}
