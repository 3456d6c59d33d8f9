package dev.skyport.core.internal;

import dev.skyport.api.Events;
import dev.skyport.api.JobId;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.Subscription;
import dev.skyport.core.store.JobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Delivers durable events to subscribers. Each subscription has its own thread, so a slow or failing listener delays
 * only itself; events reach it in the order they were published. The engine publishes each event with the owner of
 * its job, so a subscription of a user view drops other users' events by comparing names, without a store read; node
 * events have no owner and reach every subscription. Ordered subscriptions ({@link #subscribeAfter}) follow the
 * {@link EventSequence} instead of what is published here.
 */
final class EventHub implements Events {
    private static final Logger LOG = LoggerFactory.getLogger(EventHub.class);
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final JobStore store;
    private final EventSequence sequence;
    private final List<Sub> subscribers = new CopyOnWriteArrayList<>();
    private final List<OrderedSubscription> ordered = new CopyOnWriteArrayList<>();

    EventHub(JobStore store) {
        this(store, EventSequence.RING_CAPACITY);
    }

    /** With a ring of {@code ringCapacity} recent events (tests make it small to send subscribers to the store). */
    EventHub(JobStore store, int ringCapacity) {
        this.store = store;
        this.sequence = new EventSequence(store.lastSequence(), ringCapacity);
    }

    /** The sequence every event takes its number from. */
    EventSequence sequence() {
        return sequence;
    }

    private final class Sub implements Subscription {
        private final Consumer<? super SkyPortEvent> listener;
        /** The only owner whose events this subscription gets; null for every owner's (the manager's own). */
        private final String owner;
        private final ExecutorService thread;
        /** Held while the listener runs, so that close() can wait for a delivery in progress. */
        private final ReentrantLock delivering = new ReentrantLock();
        private volatile boolean closed;
        private volatile Thread deliveryThread;

        Sub(Consumer<? super SkyPortEvent> listener, String owner) {
            this.listener = listener;
            this.owner = owner;
            String name = "skyport-events-" + COUNTER.incrementAndGet();
            this.thread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                deliveryThread = t;
                return t;
            });
        }

        void deliver(SkyPortEvent event, String eventOwner) {
            if (closed || (owner != null && eventOwner != null && !owner.equals(eventOwner))) {
                return;
            }
            try {
                thread.execute(() -> {
                    delivering.lock();
                    try {
                        if (!closed) { // events queued before close() are dropped, not delivered after it
                            listener.accept(event);
                        }
                    } catch (RuntimeException e) {
                        LOG.warn("event listener failed on event {}", event.sequence(), e);
                    } finally {
                        delivering.unlock();
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException closedMeanwhile) {
                // the subscription was closed while the event was being published
            }
        }

        /**
         * No event reaches the listener once this returns: queued ones are dropped, and a delivery in progress is
         * waited for, unless the listener itself closes its subscription.
         */
        @Override
        public void close() {
            closed = true;
            subscribers.remove(this);
            thread.shutdown();
            if (Thread.currentThread() != deliveryThread) {
                delivering.lock();
                delivering.unlock();
            }
        }
    }

    @Override
    public Subscription subscribe(Consumer<? super SkyPortEvent> listener) {
        return add(new Sub(Objects.requireNonNull(listener, "listener"), null));
    }

    /** Delivers from now on the events of {@code owner}'s jobs only. */
    Subscription subscribe(String owner, Consumer<? super SkyPortEvent> listener) {
        return add(new Sub(Objects.requireNonNull(listener, "listener"), Objects.requireNonNull(owner, "owner")));
    }

    @Override
    public Subscription subscribeAfter(long afterSequence, Consumer<? super SkyPortEvent> listener) {
        return subscribeAfter(afterSequence, null, listener);
    }

    /**
     * Delivers in sequence order after {@code afterSequence} the events of {@code owner}'s jobs and every node event;
     * a null owner gets every event.
     */
    Subscription subscribeAfter(long afterSequence, String owner, Consumer<? super SkyPortEvent> listener) {
        Objects.requireNonNull(listener, "listener");
        long last = sequence.watermark();
        if (afterSequence < 0 || afterSequence > last) {
            throw new IllegalArgumentException("afterSequence must be 0.." + last + " (the last sequence), got "
                    + afterSequence);
        }
        OrderedSubscription[] self = new OrderedSubscription[1];
        OrderedSubscription sub = new OrderedSubscription(sequence, store, afterSequence, owner, listener,
                () -> ordered.remove(self[0]));
        self[0] = sub;
        ordered.add(sub);
        sub.start();
        return sub;
    }

    @Override
    public long lastSequence() {
        return sequence.watermark();
    }

    private Sub add(Sub sub) {
        subscribers.add(sub);
        return sub;
    }

    @Override
    public List<JobTransitioned> history(JobId id) {
        List<JobTransitioned> history = store.history(Objects.requireNonNull(id, "id"));
        if (history.isEmpty()) { // a job is stored with its QUEUED event in one write: no event, no job
            throw new NoSuchJobException(id);
        }
        return history;
    }

    /**
     * Hands {@code event}, of a job that {@code owner} owns (null for a node event, which everyone sees), to every
     * subscription that may see it.
     */
    void publish(SkyPortEvent event, String owner) {
        for (Sub sub : subscribers) {
            sub.deliver(event, owner);
        }
    }

    void close() {
        for (Sub sub : subscribers) {
            sub.close();
        }
        for (OrderedSubscription sub : ordered) {
            sub.close();
        }
    }
}
