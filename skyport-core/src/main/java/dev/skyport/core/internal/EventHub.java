package dev.skyport.core.internal;

import dev.skyport.api.Events;
import dev.skyport.api.JobId;
import dev.skyport.api.JobTransitioned;
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
import java.util.function.Consumer;

/**
 * Delivers durable events to subscribers. Each subscription has its own thread, so a slow or failing listener delays
 * only itself; events reach it in the order they were published.
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
        private final ExecutorService thread;

        Sub(Consumer<? super SkyPortEvent> listener) {
            this.listener = listener;
            String name = "skyport-events-" + COUNTER.incrementAndGet();
            this.thread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
        }

        void deliver(SkyPortEvent event) {
            if (thread.isShutdown()) {
                return;
            }
            try {
                thread.execute(() -> {
                    try {
                        listener.accept(event);
                    } catch (RuntimeException e) {
                        LOG.warn("event listener failed on event {}", event.sequence(), e);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException closedMeanwhile) {
                // the subscription was closed while the event was being published
            }
        }

        @Override
        public void close() {
            subscribers.remove(this);
            thread.shutdown();
        }
    }

    @Override
    public Subscription subscribe(Consumer<? super SkyPortEvent> listener) {
        Sub sub = new Sub(Objects.requireNonNull(listener, "listener"));
        subscribers.add(sub);
        return sub;
    }

    @Override
    public List<JobTransitioned> history(JobId id) {
        return store.history(id);
    }

    void publish(SkyPortEvent event) {
        for (Sub sub : subscribers) {
            sub.deliver(event);
        }
    }

    void close() {
        for (Sub sub : subscribers) {
            sub.close();
        }
    }
}
