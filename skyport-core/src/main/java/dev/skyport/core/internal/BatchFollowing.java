package dev.skyport.core.internal;

import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.core.internal.BatchSites.Run;
import dev.skyport.core.internal.BatchSites.Site;
import dev.skyport.gate.BatchJob;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.BatchStatus;
import dev.skyport.gate.GateException;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Follows the jobs at each batch site: one {@link BatchQueue#status} call per site and poll interval, PENDING with the
 * site's reason and expected start, RUNNING on the site's nodes, and an end with the outputs and logs staged out. A
 * part of {@link BatchSites}, under each job's entry lock.
 */
final class BatchFollowing extends BatchSitePart {
    private static final Logger LOG = LoggerFactory.getLogger(BatchFollowing.class);
    private final EngineHealth health;

    BatchFollowing(BatchSites sites) {
        super(sites);
        this.health = sites.health;
    }

    void schedulePoll(Site s, Duration after) {
        loop.addTimer(loop.now().plus(after), () -> sites.background(() -> poll(s)));
    }

    /** One {@link BatchQueue#status} call for every submitted job of {@code s}, each acted on. */
    private void poll(Site s) {
        if (closed.getAsBoolean()) {
            return;
        }
        List<Run> followed = runs.values().stream().filter(r -> r.site == s && r.backend != null && !r.ended)
                .toList();
        if (followed.isEmpty()) {
            schedulePoll(s, s.options.poll());
            return;
        }
        Map<BatchJob, BatchStatus> status;
        try {
            status = s.queue.status(followed.stream().map(r -> r.backend).toList());
            s.backoff.reset();
            health.recovered(s.health());
        } catch (RuntimeException ex) {
            if (closed.getAsBoolean()) {
                return; // the engine closing interrupted the call: nothing failed
            }
            Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(s.backoff::next)
                    : s.backoff.next();
            health.failed(s.health(), "asking batch site " + s.name + " for the status of its jobs", ex, 0,
                    Optional.of(loop.now().plus(wait)));
            LOG.info("cannot ask batch site {} for its jobs ({}); asking again in {}", s.name, ex.getMessage(), wait);
            schedulePoll(s, wait);
            return;
        }
        for (Run r : followed) {
            BatchStatus b = status.get(r.backend);
            if (b != null) {
                try {
                    observe(r, b);
                } catch (RuntimeException ex) {
                    LOG.error("cannot act on the status of job {} at batch site {}", r.entry.id, s.name, ex);
                }
            }
        }
        schedulePoll(s, s.options.poll());
    }

    private void observe(Run r, BatchStatus b) {
        Entry e = r.entry;
        JobTransitioned event = null;
        synchronized (e) {
            if (runs.get(e.id) != r || r.ended) {
                return;
            }
            if (b.state() == BatchStatus.State.PENDING) {
                if (e.state == JobState.PROVISIONING) {
                    String details = "pending at " + r.site.name + (b.reason().isEmpty() ? "" : ": " + b.reason())
                            + b.expectedStart().map(t -> "; expected start " + t).orElse("");
                    if (!details.equals(r.details)) {
                        event = transitions.transition(e, JobState.PROVISIONING, Optional.empty(), details,
                                UnaryOperator.identity(), Optional.empty(), Optional.empty());
                        r.details = details;
                    }
                }
            } else if (b.state() == BatchStatus.State.RUNNING) {
                if (e.state == JobState.PROVISIONING) {
                    event = running(r, b);
                }
            } else {
                r.ended = true;
                if (e.state == JobState.PROVISIONING && e.stopIntent == null
                        && (!b.nodes().isEmpty() || b.exitCode().isPresent())) {
                    // Ended between two polls: it ran, on the nodes the site names. (One that never ran, refused
                    // by the site after it queued it, goes from PROVISIONING to its end.)
                    transitions.settle(e, running(r, b));
                }
            }
            if (event != null) {
                transitions.settle(e, event);
            }
        }
        if (b.state().isTerminal()) {
            ended(r, b);
        }
    }

    /** RUNNING on the nodes the site names. Under the lock. */
    private JobTransitioned running(Run r, BatchStatus b) {
        Entry e = r.entry;
        List<String> nodes = b.nodes().stream().map(n -> r.site.name + "/" + n).toList();
        JobTransitioned event = transitions.transition(e, JobState.RUNNING, Optional.empty(),
                "Running at batch site " + r.site.name + (nodes.isEmpty() ? "" : " on " + String.join(",", nodes)),
                j -> withLastAttemptNodes(j, nodes), Optional.empty(), Optional.empty());
        e.attemptStart = loop.now();
        e.allocatedNodes = nodes;
        return event;
    }

    private static Job withLastAttemptNodes(Job job, List<String> nodes) {
        List<Attempt> attempts = new ArrayList<>(job.attempts());
        Attempt a = attempts.get(attempts.size() - 1);
        attempts.set(attempts.size() - 1, new Attempt(a.number(), List.copyOf(nodes), a.partition(), a.startTime(),
                a.endTime(), a.exitCode(), a.signal(), a.endReason()));
        return new Job(job.id(), job.owner(), job.ownerName(), job.spec(), job.state(), job.stateDetails(),
                job.endReason(), job.submitTime(), job.updateTime(), attempts);
    }

    /** The backend job ended: its outputs and logs come back (STAGING_OUT), then its end is recorded. */
    private void ended(Run r, BatchStatus b) {
        Entry e = r.entry;
        if (r.directory == null) {
            sites.directory(r); // a restart's lookup may not have answered yet: the logs are still to come back
        }
        BatchEndings.Ending ending = BatchEndings.ending(r.site.name, b);
        JobTransitioned event = null;
        synchronized (e) {
            if (runs.get(e.id) != r) {
                return;
            }
            boolean stopping = e.stopIntent != null;
            Job job = table.get(e.id);
            if (!stopping && !ending.outcome().isLost() && r.directory != null
                    && (e.state == JobState.RUNNING || e.state == JobState.STAGING_OUT)
                    && staging.needsStageOut(job, r.site.queue.files(), sites.request(r, job), ending.outcome())) {
                if (e.state == JobState.RUNNING) {
                    event = transitions.transition(e, JobState.STAGING_OUT, Optional.empty(), "Staging out from "
                            + "batch site " + r.site.name, UnaryOperator.identity(), Optional.empty(),
                            Optional.empty());
                }
                RunRequest request = sites.request(r, job);
                r.transfer = stageThen(e.id,
                        () -> staging.stageOut(job, r.site.queue.files(), request, ending.outcome()),
                        f -> stagedOut(r, ending, f));
                if (event != null) {
                    transitions.settle(e, event);
                }
                return;
            }
        }
        sites.end(r, ending.reason(), ending.outcome(), ending.refused());
    }

    private void stagedOut(Run r, BatchEndings.Ending ending, GateException failed) {
        synchronized (r.entry) {
            if (runs.get(r.entry.id) != r || r.transfer == null) {
                return;
            }
            r.transfer = null;
        }
        if (failed != null && ending.reason() == EndReason.COMPLETED) {
            sites.end(r, EndReason.STAGING_FAILED, new RunOutcome(ending.outcome().exitCode(), ending.outcome().signal(),
                    failed.getMessage()), Optional.of(failed));
            return;
        }
        sites.end(r, ending.reason(), ending.outcome(), ending.refused());
    }

}
