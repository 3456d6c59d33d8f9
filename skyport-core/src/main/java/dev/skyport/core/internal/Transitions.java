package dev.skyport.core.internal;

import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.StopIntent;
import dev.skyport.core.store.StoredJob;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

/**
 * Moves a job from one state to the next: checks the {@link Lifecycle} table, persists row and event, updates memory
 * and releases the event to the {@link EventSequence} (ordered subscribers), then {@link #settle settles} the indexes
 * and publishes. Every method is called under the lock of the job's current
 * entry, so one job's events are stored and delivered in order.
 */
final class Transitions {
    private final JobStore store;
    private final JobTable table;
    private final EventHub events;
    private final UserQuotas quotas;
    private final SchedulingLoop loop;
    private final EventSequence sequence;
    private final EngineMeters meters;

    Transitions(JobStore store, JobTable table, EventHub events, UserQuotas quotas, SchedulingLoop loop,
                EngineMeters meters) {
        this.store = store;
        this.table = table;
        this.events = events;
        this.quotas = quotas;
        this.loop = loop;
        this.sequence = events.sequence();
        this.meters = meters;
    }

    /**
     * Persists a transition of the job. {@code change} builds the next snapshot from the current one; the table is
     * checked first. Returns the event, which the caller settles under the same lock.
     */
    JobTransitioned transition(Entry e, JobState to, Optional<EndReason> reason, String details,
                               UnaryOperator<Job> change, Optional<StopIntent> intent, Optional<Instant> notBefore) {
        return transition(e, to, reason, details, change, intent, notBefore, Optional.empty());
    }

    /**
     * As {@link #transition(Entry, JobState, Optional, String, UnaryOperator, Optional, Optional)}, storing
     * {@code batch} (the backend job of a job at a batch site) in the same atomic write.
     */
    JobTransitioned transition(Entry e, JobState to, Optional<EndReason> reason, String details,
                               UnaryOperator<Job> change, Optional<StopIntent> intent, Optional<Instant> notBefore,
                               Optional<dev.skyport.core.store.StoredBatchJob> batch) {
        StoredJob cur = table.snapshot(e.id);
        JobState from = cur.job().state();
        Lifecycle.check(from, to);
        Instant now = loop.now();
        Job changed = change.apply(cur.job());
        Job next = new Job(changed.id(), changed.owner(), changed.ownerName(), changed.spec(), to, details, reason,
                changed.submitTime(), now, changed.attempts());
        long seq = sequence.next();
        try {
            JobTransitioned event = new JobTransitioned(seq, now, e.id, Optional.of(from), to, reason, details);
            StoredJob stored = new StoredJob(next, intent, notBefore);
            if (batch.isPresent()) {
                store.update(stored, event, batch.get());
            } else {
                store.update(stored, event);
            }
            table.cache(stored);
            e.state = to;
            e.stopIntent = intent.orElse(null);
            e.notBefore = notBefore.orElse(null);
            sequence.written(event, e.owner);
            meters.transitioned(from, to, reason);
            return event;
        } finally {
            sequence.failed(seq); // unless written: ordered subscribers must not wait for a number never stored
        }
    }

    /**
     * Persists a new stop intent without a change of state (the event goes from the state to itself, a move the
     * table allows for the states that stop), so that a restart finishes the stop the way it was meant.
     */
    JobTransitioned recordIntent(Entry e, StopIntent intent, String details) {
        StoredJob cur = table.snapshot(e.id);
        Job job = cur.job();
        JobState state = job.state();
        Lifecycle.check(state, state);
        Instant now = loop.now();
        Job next = new Job(job.id(), job.owner(), job.ownerName(), job.spec(), state, details, job.endReason(),
                job.submitTime(), now, job.attempts());
        long seq = sequence.next();
        try {
            JobTransitioned note = new JobTransitioned(seq, now, e.id, Optional.of(state), state, Optional.empty(),
                    details);
            StoredJob stored = new StoredJob(next, Optional.of(intent), cur.notBefore());
            store.update(stored, note);
            table.cache(stored);
            e.stopIntent = intent;
            sequence.written(note, e.owner);
            return note;
        } finally {
            sequence.failed(seq); // a no-op once written
        }
    }

    /**
     * After a transition, still under the entry's lock: publish, then settle the indexes and complete the waiters of
     * a terminal job. Published first: once the entry leaves {@code active} or a waiter wakes, a requeue can take a
     * fresh entry (another lock) and publish the next event of this job, which must not overtake this one.
     */
    void settle(Entry e, JobTransitioned event) {
        events.publish(event, e.owner);
        if (event.to().isTerminal()) {
            table.queue.remove(e.id, e);
            if (table.active.remove(e.id, e)) {
                table.unfinished.decrementAndGet();
                quotas.ended(e.owner);
            }
            CompletableFuture<Job> f = table.terminal.remove(e.id);
            if (f != null) {
                f.complete(table.get(e.id));
            }
        } else if (event.to() == JobState.QUEUED) {
            table.queue.put(e.id, e);
            loop.markDirty(); // only now can a pass see it
        }
    }

    /** {@code job} with a new attempt appended. */
    static Job withAttempt(Job job, Attempt attempt) {
        List<Attempt> attempts = new ArrayList<>(job.attempts());
        attempts.add(attempt);
        return new Job(job.id(), job.owner(), job.ownerName(), job.spec(), job.state(), job.stateDetails(),
                job.endReason(), job.submitTime(), job.updateTime(), attempts);
    }

    /** {@code job} with its last attempt ended at {@code end} with {@code reason}. */
    static Job withLastAttemptEnded(Job job, Instant end, OptionalInt exit, OptionalInt signal, EndReason reason) {
        return withLastAttemptEnded(job, end, exit, signal, reason, List.of(), List.of());
    }

    /** {@code job} with its last attempt ended at {@code end} with {@code reason}, the logs of its steps and outputs. */
    static Job withLastAttemptEnded(Job job, Instant end, OptionalInt exit, OptionalInt signal, EndReason reason,
                                    List<dev.skyport.api.StepLog> steps, List<dev.skyport.api.OutputLog> outputs) {
        List<Attempt> attempts = new ArrayList<>(job.attempts());
        Attempt a = attempts.get(attempts.size() - 1);
        attempts.set(attempts.size() - 1, new Attempt(a.number(), a.nodes(), a.partition(), a.startTime(),
                Optional.of(end), exit, signal, Optional.of(reason), steps, outputs));
        return new Job(job.id(), job.owner(), job.ownerName(), job.spec(), job.state(), job.stateDetails(),
                job.endReason(), job.submitTime(), job.updateTime(), attempts);
    }
}
