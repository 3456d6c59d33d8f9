package dev.skyport.core.internal;

import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.Subscription;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.StoredEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A subscription that delivers in sequence order after a cursor ({@link dev.skyport.api.Events#subscribeAfter}): one
 * thread of its own walks from the cursor to the {@link EventSequence#watermark() watermark}, through the sequence's
 * ring of recent events while it keeps up and through the store when it has fallen behind the ring (or starts from
 * further back), then parks until the watermark moves. Wake-ups coalesce: a burst of events unparks it once.
 */
final class OrderedSubscription implements Subscription {
    private static final Logger LOG = LoggerFactory.getLogger(OrderedSubscription.class);
    private static final AtomicInteger COUNTER = new AtomicInteger();
    /** Events read at once, from the ring or the store. */
    static final int BATCH = 512;
    /** The pause before reading the store again after it failed (a subscription must not spin on a broken store). */
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final EventSequence sequence;
    private final JobStore store;
    private final Consumer<? super SkyPortEvent> listener;
    /** The only owner whose job events this subscription gets (node events go to all); null for every owner's. */
    private final String owner;
    private final Runnable onClose;
    private final Thread thread;
    private final AtomicBoolean signalled = new AtomicBoolean();
    private final Runnable wake = this::wake;
    /** Held while the listener runs, so that close() can wait for a delivery in progress. */
    private final ReentrantLock delivering = new ReentrantLock();
    private volatile boolean closed;
    /** Every event up to here has been handled (delivered or not this subscriber's); read by its thread only. */
    private long cursor;

    OrderedSubscription(EventSequence sequence, JobStore store, long after, String owner,
                        Consumer<? super SkyPortEvent> listener, Runnable onClose) {
        this.sequence = sequence;
        this.store = store;
        this.cursor = after;
        this.owner = owner;
        this.listener = listener;
        this.onClose = onClose;
        this.thread = new Thread(this::run, "skyport-events-ordered-" + COUNTER.incrementAndGet());
        this.thread.setDaemon(true);
    }

    /** Starts delivering; separate from the constructor so the owner can register the subscription first. */
    void start() {
        sequence.onAdvance(wake);
        thread.start();
    }

    private void wake() {
        if (signalled.compareAndSet(false, true)) {
            LockSupport.unpark(thread);
        }
    }

    private void run() {
        boolean failing = false;
        while (!closed) {
            // Cleared before the watermark is read: a move after this read unparks the park below.
            signalled.set(false);
            long watermark = sequence.watermark();
            if (watermark <= cursor) {
                LockSupport.park(this);
                continue;
            }
            try {
                deliver(next(watermark));
                if (failing) {
                    failing = false;
                    LOG.info("event subscription {} reads the store again", thread.getName());
                }
            } catch (RuntimeException e) {
                if (closed) {
                    return; // the engine closed its store under us
                }
                if (!failing) {
                    failing = true;
                    LOG.warn("event subscription {} cannot read events after {} from the store; retrying every"
                            + " second: {}", thread.getName(), cursor, e.toString());
                }
                LockSupport.parkNanos(this, RETRY_NANOS);
            }
        }
    }

    private EventSequence.Batch next(long watermark) {
        EventSequence.Batch recent = sequence.after(cursor, BATCH);
        if (recent != null) {
            return recent;
        }
        List<StoredEvent> stored = store.eventsAfter(cursor, watermark, BATCH);
        List<EventSequence.Released> events = new ArrayList<>(stored.size());
        for (StoredEvent e : stored) {
            events.add(new EventSequence.Released(e.event(), e.owner().orElse(null)));
        }
        long upTo = stored.size() < BATCH ? watermark : stored.get(stored.size() - 1).event().sequence();
        return new EventSequence.Batch(events, upTo);
    }

    private void deliver(EventSequence.Batch batch) {
        for (EventSequence.Released r : batch.events()) {
            if (closed) {
                return;
            }
            if (r.sequence() <= cursor) {
                continue;
            }
            if (owner == null || r.owner() == null || owner.equals(r.owner())) {
                delivering.lock();
                try {
                    if (!closed) { // nothing is delivered once close() has returned
                        listener.accept(r.event());
                    }
                } catch (RuntimeException e) {
                    LOG.warn("event listener failed on event {}", r.sequence(), e);
                } finally {
                    delivering.unlock();
                }
            }
            cursor = r.sequence();
        }
        cursor = Math.max(cursor, batch.upTo());
    }

    /**
     * No event reaches the listener once this returns: the rest are dropped, and a delivery in progress is waited
     * for, unless the listener itself closes its subscription.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        sequence.removeListener(wake);
        onClose.run();
        LockSupport.unpark(thread);
        if (Thread.currentThread() != thread) {
            delivering.lock();
            delivering.unlock();
        }
    }
}
