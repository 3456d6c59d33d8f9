package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.core.internal.BatchSites.Run;
import dev.skyport.core.internal.BatchSites.Site;
import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.core.store.StoredBatchJob;
import dev.skyport.gate.BatchJob;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.BatchRequest;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunOutcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The way of a job to a batch site and back out of it: its inputs staged in, its submit (the gate writes the script,
 * checks the job and refuses it permanently or for now), retries of failed submits with the reason in the job's
 * details until the site's submit timeout, the backend id recorded with PROVISIONING, and cancels at the site (also of
 * a job whose submit was sent but never acknowledged). A part of {@link BatchSites}, under each job's entry lock.
 */
final class BatchSubmits extends BatchSitePart {
    private static final Logger LOG = LoggerFactory.getLogger(BatchSubmits.class);
    private final Function<JobId, Path> jobDir;

    BatchSubmits(BatchSites sites) {
        super(sites);
        this.jobDir = sites.jobDir;
    }

    /**
     * Copies the inputs to the site, then submits; the gate writes the script there itself with the submit
     * ({@link BatchQueue#submit}). Under the entry's lock.
     */
    void stageIn(Run r) {
        Entry e = r.entry;
        Instant deadline = loop.now().plus(staging.timeout());
        r.transfer = stageThen(e.id, () -> {
            Job job = table.get(e.id);
            NodeAccess files = r.site.queue.files();
            String dir = files.directoryOf(e.id, jobDir.apply(e.id));
            synchronized (e) {
                r.directory = dir;
            }
            staging.stageIn(job, files, sites.request(r, job));
        }, f -> staged(r, f));
        loop.addTimer(deadline, () -> sites.background(() -> {
            synchronized (e) {
                if (runs.get(e.id) != r || r.transfer == null || e.state != JobState.STAGING_IN) {
                    return;
                }
                r.transfer.cancel(true);
                r.transfer = null;
            }
            sites.end(r, EndReason.STAGING_FAILED, RunOutcome.lost("the copies did not end within "
                    + staging.timeout().toMinutes() + " min"), Optional.of(GateException.transientFailure(
                    "staging timed out", null, Optional.empty())));
        }));
    }

    /** The job's script, or its command as one. */
    static String scriptOf(JobSpec spec) {
        return spec.script().orElseGet(() -> "#!/bin/sh\nexec " + SshConnections.commandLine(spec.command()) + "\n");
    }

    private void staged(Run r, GateException failed) {
        Entry e = r.entry;
        synchronized (e) {
            if (runs.get(e.id) != r || r.transfer == null) {
                return; // stopped or timed out meanwhile: that ended it
            }
            r.transfer = null;
            if (e.stopIntent != null) {
                failed = null; // the stop ends it below
            }
        }
        if (failed != null) {
            sites.end(r, EndReason.STAGING_FAILED, RunOutcome.lost(failed.getMessage()), Optional.of(failed));
            return;
        }
        submit(r);
    }

    /**
     * Submits the attempt (idempotent by tag), then records the backend id with PROVISIONING. No {@code check} before:
     * the gate's submit checks the request against the partition itself and refuses it permanently, so a second call
     * would only cost the site a round trip per submit.
     */
    void submit(Run r) {
        Entry e = r.entry;
        BatchRequest request;
        synchronized (e) {
            if (closed.getAsBoolean() || runs.get(e.id) != r || r.backend != null || r.submitting) {
                return;
            }
            if (e.stopIntent != null) {
                sites.background(() -> stopUnrecorded(r));
                return;
            }
            r.submitting = true;
            r.submitTried = true;
            request = batchRequest(table.get(e.id), r.attempt, r.directory, r.partition);
        }
        BatchJob job = null;
        GateException failure = null;
        try {
            job = r.site.queue.submit(request);
        } catch (GateException ex) {
            failure = ex;
        } catch (RuntimeException ex) {
            failure = GateException.transientFailure("the " + r.site.gate.name() + " gate failed: " + ex, ex,
                    Optional.empty());
        }
        if (failure != null) {
            synchronized (e) {
                r.submitting = false;
            }
            submitFailed(r, failure);
            return;
        }
        submitted(r, job);
    }

    /** What the site is asked to run: the job as it is, no limit invented where it has none. */
    static BatchRequest batchRequest(Job job, int attempt, String directory, String partition) {
        JobSpec spec = job.spec();
        String workdir = spec.workdir().map(w -> w.startsWith("/") ? w : directory + "/" + w).orElse(directory);
        return new BatchRequest(job.id(), attempt, spec.name(), directory, scriptOf(spec), workdir, spec.env(),
                job.ownerName(), spec.nodes(), spec.cpus(), spec.memoryBytes(), spec.gpus(), spec.timeLimit(),
                Optional.of(partition), spec.account());
    }

    /**
     * A permanent failure fails the job. A transient one is tried again with back-off, the job's details saying why
     * and when; once the submits have failed for the site's {@link BatchOptions#SUBMIT_TIMEOUT}, the attempt ends
     * SYSTEM_ERROR and the job's retry policy decides.
     */
    private void submitFailed(Run r, GateException failure) {
        if (closed.getAsBoolean()) {
            return;
        }
        Entry e = r.entry;
        if (!failure.isTransient()) {
            LOG.warn("batch site {} refused job {}: {}", r.site.name, e.id, failure.getMessage());
            sites.end(r, failure.reason().orElse(EndReason.SYSTEM_ERROR), RunOutcome.lost("refused by batch site "
                    + r.site.name + ": " + failure.getMessage()), Optional.of(failure));
            return;
        }
        Instant now = loop.now();
        Duration wait = failure.retryAfter().orElseGet(r.backoff::next);
        Duration timeout = r.site.options.submitTimeout();
        JobTransitioned event = null;
        boolean expired;
        synchronized (e) {
            if (runs.get(e.id) != r) {
                return;
            }
            if (e.stopIntent != null) {
                sites.background(() -> stopUnrecorded(r));
                return;
            }
            if (r.failingSince == null) {
                r.failingSince = now;
            }
            expired = !now.isBefore(r.failingSince.plus(timeout));
            if (!expired && (e.state == JobState.STAGING_IN || e.state == JobState.PROVISIONING)) {
                try {
                    event = transitions.transition(e, e.state, Optional.empty(), "Submitting to batch site "
                            + r.site.name + " failed: " + failure.getMessage() + "; trying again at " + now.plus(wait),
                            UnaryOperator.identity(), Optional.empty(), Optional.empty());
                } catch (RuntimeException ex) {
                    LOG.warn("cannot record the failed submit of job {}: {}", e.id, ex.toString());
                }
            }
        }
        if (event != null) {
            transitions.settle(e, event);
        }
        if (expired) {
            LOG.warn("batch site {} did not take job {} within {}: {}", r.site.name, e.id, timeout,
                    failure.getMessage());
            sites.end(r, EndReason.SYSTEM_ERROR, RunOutcome.lost("batch site " + r.site.name + " did not take the job"
                    + " within " + timeout + " (" + failure.getMessage() + ")"), Optional.of(failure));
            return;
        }
        LOG.info("submitting job {} to batch site {} failed ({}); trying again in {}", e.id, r.site.name,
                failure.getMessage(), wait);
        loop.addTimer(now.plus(wait), () -> sites.background(() -> submit(r)));
    }

    /** Records the backend id and PROVISIONING in one write, or cancels the backend job when the job stopped. */
    void submitted(Run r, BatchJob job) {
        Entry e = r.entry;
        synchronized (e) {
            r.submitting = false;
            if (closed.getAsBoolean()) {
                return; // the next start finds it by its tag
            }
            if (runs.get(e.id) != r) {
                cancelOrphan(r.site, job, sites.newBackoff());
                return;
            }
            r.backoff.reset();
            r.failingSince = null;
            StoredBatchJob row = new StoredBatchJob(e.id, r.attempt, r.site.name, job.id(), loop.now());
            String details = "Submitted to batch site " + r.site.name + "/" + r.partition + " as job " + job.id();
            JobTransitioned event;
            try {
                if (e.state == JobState.CANCELING) {
                    event = transitions.transition(e, JobState.CANCELING, Optional.empty(),
                            details + "; canceling it", UnaryOperator.identity(), Optional.ofNullable(e.stopIntent),
                            Optional.empty(), Optional.of(row));
                } else {
                    event = transitions.transition(e, JobState.PROVISIONING, Optional.empty(), details,
                            UnaryOperator.identity(), Optional.empty(), Optional.empty(), Optional.of(row));
                }
            } catch (RuntimeException ex) {
                // Not recorded: the backend job is found again by its tag (submit is idempotent) on the next try.
                LOG.error("cannot record the backend id of job {}; trying again in {}", e.id,
                        RunSupervisor.FINISH_RETRY, ex);
                loop.addTimer(loop.now().plus(RunSupervisor.FINISH_RETRY), () -> sites.background(() -> submit(r)));
                return;
            }
            r.backend = job;
            r.details = details;
            if (e.state == JobState.CANCELING) {
                cancelAtSite(r, job);
            }
            transitions.settle(e, event);
        }
        LOG.info("job {}: submitted to batch site {} as {}", e.id, r.site.name, job.id());
    }

    /**
     * Cancels {@code job} of run {@code r} at its site, trying again with the run's back-off while the site cannot;
     * a permanent refusal shows in the job's details (the job stays CANCELING until the site says it ended).
     */
    void cancelAtSite(Run r, BatchJob job) {
        sites.background(() -> {
            try {
                r.site.queue.cancel(job);
            } catch (RuntimeException ex) {
                Entry e = r.entry;
                if (closed.getAsBoolean() || runs.get(e.id) != r) {
                    return;
                }
                Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(r.backoff::next)
                        : r.backoff.next();
                LOG.warn("cannot cancel job {} at batch site {} yet ({}); trying again in {}", job.id(), r.site.name,
                        ex.getMessage(), wait);
                if (ex instanceof GateException g && !g.isTransient()) {
                    cancelRefused(r, job, g, wait);
                }
                loop.addTimer(loop.now().plus(wait), () -> cancelAtSite(r, job));
            }
        });
    }

    private void cancelRefused(Run r, BatchJob job, GateException refusal, Duration wait) {
        Entry e = r.entry;
        JobTransitioned event;
        synchronized (e) {
            if (runs.get(e.id) != r || e.state != JobState.CANCELING) {
                return;
            }
            try {
                event = transitions.transition(e, JobState.CANCELING, Optional.empty(), "Batch site " + r.site.name
                                + " refuses to cancel job " + job.id() + ": " + refusal.getMessage() + "; trying again at "
                                + loop.now().plus(wait), UnaryOperator.identity(), Optional.ofNullable(e.stopIntent),
                        Optional.empty());
            } catch (RuntimeException ex) {
                LOG.warn("cannot record the refused cancel of job {}: {}", e.id, ex.toString());
                return;
            }
        }
        transitions.settle(e, event);
    }

    /** A backend job no run of this engine follows (its job stopped while the reply was on its way): canceled. */
    private void cancelOrphan(Site s, BatchJob job, Backoff backoff) {
        sites.background(() -> {
            try {
                s.queue.cancel(job);
            } catch (RuntimeException ex) {
                if (closed.getAsBoolean()) {
                    return;
                }
                Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(backoff::next)
                        : backoff.next();
                LOG.warn("cannot cancel job {} at batch site {} yet ({}); trying again in {}", job.id(), s.name,
                        ex.getMessage(), wait);
                loop.addTimer(loop.now().plus(wait), () -> cancelOrphan(s, job, backoff));
            }
        });
    }

    /**
     * Stops a run that has no backend id. When a submit was sent, the site may hold the job all the same (a reply lost
     * to a timeout): it is looked for by its tag and canceled before the attempt ends, so that no job runs at the site
     * unsupervised. Tried again with back-off while the site cannot answer.
     */
    void stopUnrecorded(Run r) {
        Entry e = r.entry;
        boolean tried;
        synchronized (e) {
            if (closed.getAsBoolean() || runs.get(e.id) != r || r.backend != null || r.submitting) {
                return;
            }
            tried = r.submitTried;
        }
        if (tried) {
            try {
                Optional<BatchJob> found = r.site.queue.find(e.id, r.attempt);
                if (found.isPresent()) {
                    LOG.info("job {}: canceling backend job {} at batch site {}, found by its tag", e.id,
                            found.get().id(), r.site.name);
                    r.site.queue.cancel(found.get());
                }
            } catch (RuntimeException ex) {
                Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(r.backoff::next)
                        : r.backoff.next();
                LOG.info("cannot look for job {} at batch site {} to cancel it ({}); trying again in {}", e.id,
                        r.site.name, ex.getMessage(), wait);
                loop.addTimer(loop.now().plus(wait), () -> sites.background(() -> stopUnrecorded(r)));
                return;
            }
        }
        sites.end(r, EndReason.CANCELED, RunOutcome.lost("stopped before it was submitted"), Optional.empty());
    }

}
