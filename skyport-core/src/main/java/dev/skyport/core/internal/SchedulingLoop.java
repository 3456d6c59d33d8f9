package dev.skyport.core.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The scheduling thread with its timers: waits for work (a pass asked for, a timer due), runs due timers, then runs a
 * {@link SchedulingPass} unless a failed one is backing off. Passes are requested by events and coalesce. Timers are
 * due on the engine's {@link Clock}; the thread never sleeps longer than {@link #MAX_IDLE}, so a test clock moved by
 * hand is noticed.
 */
final class SchedulingLoop {
    private static final Logger LOG = LoggerFactory.getLogger(SchedulingLoop.class);
    /** The longest the scheduling thread sleeps with nothing to do, so a test clock moved by hand is noticed. */
    static final Duration MAX_IDLE = Duration.ofSeconds(1);
    /**
     * After this many failed passes in a row (about 1 + 2 + 4 s of back-off) the engine reports DOWN and refuses
     * submissions; a single failure only degrades it, so that a brief store hiccup does not turn clients away.
     */
    static final int PASS_FAILURES_BEFORE_DOWN = 3;

    private record Timer(Instant due, long order, Runnable action) implements Comparable<Timer> {
        @Override
        public int compareTo(Timer o) {
            int c = due.compareTo(o.due);
            return c != 0 ? c : Long.compare(order, o.order);
        }
    }

    private final Clock clock;
    private final EngineHealth health;
    private final Backoff passBackoff;
    private final EngineMeters meters;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private final AtomicLong timerOrder = new AtomicLong();
    private volatile boolean dirty = true;
    private volatile boolean stopped;
    private Thread thread;
    /** Whether the scheduling thread waits for work, with nothing dirty and no timer due when it began to. */
    private volatile boolean idle;
    /** No pass before this, after a failed one; read and written by the scheduling thread only. */
    private Instant passNotBefore = Instant.MIN;

    SchedulingLoop(Clock clock, EngineHealth health, Backoff passBackoff, EngineMeters meters) {
        this.clock = clock;
        this.meters = meters;
        this.health = health;
        this.passBackoff = passBackoff;
    }

    /** The clock's time in whole milliseconds, the precision the store keeps, so snapshots equal what is stored. */
    Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    /** Starts the thread: {@code first} once (the usage replay), then passes of {@code pass} as work comes. */
    void start(Runnable first, SchedulingPass pass, Thread.UncaughtExceptionHandler uncaught) {
        thread = new Thread(() -> run(first, pass), "skyport-scheduler");
        thread.setDaemon(true);
        thread.setUncaughtExceptionHandler(uncaught);
        thread.start();
    }

    /** Stops the thread and waits for it, up to {@code wait}. */
    void stop(Duration wait) throws InterruptedException {
        stopped = true;
        signal();
        if (thread != null) {
            thread.join(wait.toMillis());
        }
    }

    /** Asks for a scheduling pass. Requests coalesce: a burst of submissions wakes the loop once. */
    void markDirty() {
        if (dirty) {
            return; // a pass is already due and will see this change: the loop clears the flag before it plans
        }
        signal();
    }

    private void signal() {
        lock.lock();
        try {
            dirty = true;
            wake.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code action} on the scheduling thread once the clock reaches {@code due}; returns a handle to cancel. */
    Object addTimer(Instant due, Runnable action) {
        Timer timer = new Timer(due, timerOrder.incrementAndGet(), action);
        lock.lock();
        try {
            timers.add(timer);
            wake.signal();
        } finally {
            lock.unlock();
        }
        return timer;
    }

    /** Drops a timer that is no longer needed, so ended runs do not pile up in the timer queue. */
    void cancelTimer(Object timer) {
        lock.lock();
        try {
            timers.remove(timer);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The scheduling thread. Nothing a step throws ends it, apart from an error that says the JVM itself is broken
     * (then the engine reports DOWN and refuses submissions): an engine that takes jobs must have a loop to run them.
     */
    private void run(Runnable first, SchedulingPass pass) {
        boolean firstDone = false;
        while (!stopped) {
            try {
                if (!firstDone) {
                    // Before the first pass, so that it already orders by the usage history; submissions are taken
                    // meanwhile. A failed replay is retried on a worker, not here.
                    firstDone = true;
                    first.run();
                }
                step(pass);
                health.recovered("scheduler-loop");
            } catch (Throwable t) {
                if (EngineHealth.isFatal(t)) {
                    health.failed("scheduler-loop", "the scheduling thread", t, 1, Optional.empty());
                    throw t;
                }
                Duration wait = passBackoff.next();
                health.failed("scheduler-loop", "the scheduling thread", t, PASS_FAILURES_BEFORE_DOWN,
                        Optional.of(now().plus(wait)));
                pauseAfterFailure(wait);
            }
        }
    }

    /** Waits {@code wait} of real time, or until stopped: after a failure outside a pass, so the loop cannot spin. */
    private void pauseAfterFailure(Duration wait) {
        lock.lock();
        try {
            if (!stopped) {
                wake.awaitNanos(wait.toNanos());
            }
        } catch (InterruptedException ie) {
            // Only stop() ends the loop; the interrupt is noted by the next wait.
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    /** One round: wait for work or a timer, run due timers, and plan a pass unless a failed one is backing off. */
    private void step(SchedulingPass pass) {
        List<Runnable> due = new ArrayList<>();
        boolean work = awaitWork(due);
        if (stopped) {
            return;
        }
        for (Runnable action : due) {
            runTimer(action);
        }
        if (!work && !pass.nodesChanged()) {
            return; // woke up idle: nothing was submitted, ended or changed
        }
        if (now().isBefore(passNotBefore)) {
            return; // a failed pass is backing off; its timer asks for the next pass
        }
        long started = meters.start();
        try {
            pass.run();
        } catch (Throwable t) {
            if (EngineHealth.isFatal(t)) {
                throw t;
            }
            Duration wait = passBackoff.next();
            passNotBefore = now().plus(wait);
            health.failed("scheduler", "the scheduling pass", t, PASS_FAILURES_BEFORE_DOWN,
                    Optional.of(passNotBefore));
            addTimer(passNotBefore, this::markDirty);
            return;
        }
        meters.pass(started);
        if (passNotBefore != Instant.MIN) {
            passNotBefore = Instant.MIN;
            passBackoff.reset();
        }
        health.recovered("scheduler");
    }

    /** Waits at most {@link #MAX_IDLE} for work; moves due timers' actions to {@code due}; says if there is work. */
    private boolean awaitWork(List<Runnable> due) {
        lock.lock();
        try {
            if (!stopped && !dirty && !timerDue()) {
                Duration wait = MAX_IDLE;
                Timer next = timers.peek();
                if (next != null) {
                    Duration untilNext = Duration.between(now(), next.due);
                    wait = untilNext.compareTo(wait) < 0 ? untilNext : wait;
                }
                if (!wait.isNegative() && !wait.isZero()) {
                    try {
                        idle = true;
                        wake.awaitNanos(wait.toNanos());
                    } catch (InterruptedException ie) {
                        // Nobody but stop() may end the loop, and stop() does not interrupt: carry on.
                        LOG.debug("the scheduling thread was interrupted; it stops only when the engine closes");
                    } finally {
                        idle = false;
                    }
                }
            }
            Instant now = now();
            while (!timers.isEmpty() && !timers.peek().due.isAfter(now)) {
                due.add(timers.poll().action);
            }
            boolean work = dirty || !due.isEmpty();
            dirty = false;
            return work;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether the scheduling thread waits with nothing to do: no pass asked for and no timer due on the clock. For a
     * simulation that moves a test clock by hand and must know when the engine has acted on the last move.
     */
    boolean idle() {
        lock.lock();
        try {
            return idle && !dirty && !timerDue();
        } finally {
            lock.unlock();
        }
    }

    /** {@return when the next timer is due} For a simulation that moves a test clock from event to event. */
    Optional<Instant> nextTimer() {
        lock.lock();
        try {
            Timer next = timers.peek();
            return next == null ? Optional.empty() : Optional.of(next.due);
        } finally {
            lock.unlock();
        }
    }

    /** Wakes the scheduling thread to look at its timers again, after a test clock was moved by hand. */
    void clockMoved() {
        lock.lock();
        try {
            wake.signal();
        } finally {
            lock.unlock();
        }
    }

    private boolean timerDue() {
        Timer next = timers.peek();
        return next != null && !next.due.isAfter(now());
    }

    private void runTimer(Runnable action) {
        try {
            action.run();
            health.recovered("timers");
        } catch (Throwable t) {
            if (EngineHealth.isFatal(t)) {
                throw t;
            }
            health.failed("timers", "a timer action (time limit, retry, kill after the grace period)", t, 0,
                    Optional.empty());
        }
    }
}
