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
 * its job, so a subscription of a user view drops other users' events by comparing names, without a store read.
 */
final class EventHub implements Events {
    private static final Logger LOG = LoggerFactory.getLogger(EventHub.class);
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final JobStore store;
    private final List<Sub> subscribers = new CopyOnWriteArrayList<>();

    EventHub(JobStore store) {
        this.store = store;
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
            if (closed || (owner != null && !owner.equals(eventOwner))) {
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
        throw new UnsupportedOperationException("STUB: ordered subscriptions land with the engine part of issue 12");
    }

    @Override
    public long lastSequence() {
        return store.lastSequence(); // STUB: the engine's durable watermark lands with the engine part of issue 12
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

    /** Hands {@code event}, of a job that {@code owner} owns, to every subscription that may see it. */
    void publish(SkyPortEvent event, String owner) {
        for (Sub sub : subscribers) {
            sub.deliver(event, owner);
        }
    }

    void close() {
        for (Sub sub : subscribers) {
            sub.close();
        }
    }
}
