package dev.skyport.client.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The futures of {@link RemoteJobs#onTerminal} of one client view, served by ONE event subscription however many jobs
 * are waited for, instead of a long poll (a connection, and one of the daemon's per-user slots) per job.
 *
 * <p>No terminal transition is missed: a future is registered before the job's state is read, and the subscription
 * starts after a sequence taken before that read (or was already running then), so a transition either shows in the
 * read or arrives as an event afterwards. On the job's terminal event the final snapshot is fetched (the event does not
 * carry the job). The subscription is closed once no future is pending. When the event stream cannot be opened (the
 * daemon refuses it, e.g. the user's stream limit), the caller falls back to long polls. While a subscription runs,
 * this is among what closing the client ends: the pending futures then fail, as a long poll in flight does. Thread-safe.
 */
final class TerminalWaits implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TerminalWaits.class);

    private final RemoteSkyPort port;
    /** The snapshot of a job fetched without waiting, asynchronously. */
    private final Function<JobId, CompletableFuture<Job>> fetch;
    private final Object lock = new Object();
    /** Guarded by lock. */
    private final Map<JobId, List<CompletableFuture<Job>>> pending = new HashMap<>();
    /** Guarded by lock; null when no subscription runs. */
    private Subscription subscription;
    /** Serialises the opening of a subscription, which makes requests, without holding {@link #lock}. */
    private final Object opening = new Object();
    /** After a failed open, when to try again (System.nanoTime); until then waits go straight to long polls. */
    private volatile long retryOpenAt;
    private volatile boolean openFailed;
    /** How long a refused or failed open is believed: waiting for many jobs then costs no open attempt per job. */
    private static final long RETRY_OPEN_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

    TerminalWaits(RemoteSkyPort port, Function<JobId, CompletableFuture<Job>> fetch) {
        this.port = port;
        this.fetch = fetch;
    }

    /**
     * Registers {@code future} for {@code id} and makes sure a subscription covers everything from now on; false (and
     * nothing registered) when the event stream cannot be opened, so the caller waits another way. The caller then
     * reads the job's state and completes the future itself if it has ended already.
     */
    boolean register(JobId id, CompletableFuture<Job> future) {
        synchronized (lock) {
            pending.computeIfAbsent(id, k -> new ArrayList<>()).add(future);
        }
        future.whenComplete((job, failure) -> forget(id, future));
        synchronized (opening) {
            synchronized (lock) {
                if (subscription != null || !isPending(id, future)) {
                    return true;
                }
            }
            if (openFailed && System.nanoTime() - retryOpenAt < 0) {
                synchronized (lock) {
                    remove(id, future);
                }
                return false;
            }
            Subscription opened;
            try {
                long after = port.events().lastSequence();
                opened = EventStream.open(port, OptionalLong.of(after), this::onEvent);
            } catch (RuntimeException e) {
                LOG.debug("No event stream for waiting on jobs ({}); falling back to long polls", e.toString());
                retryOpenAt = System.nanoTime() + RETRY_OPEN_NANOS;
                openFailed = true;
                synchronized (lock) {
                    remove(id, future);
                }
                return false;
            }
            openFailed = false;
            boolean useless;
            synchronized (lock) {
                useless = pending.isEmpty();
                if (!useless) {
                    subscription = opened;
                    port.open().add(this);
                }
            }
            if (useless) {
                opened.close(); // every future ended while it opened
            }
            return true;
        }
    }

    private boolean isPending(JobId id, CompletableFuture<Job> future) {
        List<CompletableFuture<Job>> list = pending.get(id);
        return list != null && list.contains(future);
    }

    private void onEvent(SkyPortEvent event) {
        if (!(event instanceof JobTransitioned t) || !t.to().isTerminal()) {
            return;
        }
        synchronized (lock) {
            if (!pending.containsKey(t.jobId())) {
                return;
            }
        }
        fetch.apply(t.jobId()).whenComplete((job, failure) -> {
            List<CompletableFuture<Job>> waiting;
            synchronized (lock) {
                waiting = Optional.ofNullable(pending.get(t.jobId())).map(List::copyOf).orElse(List.of());
            }
            for (CompletableFuture<Job> f : waiting) {
                if (failure != null) {
                    f.completeExceptionally(failure instanceof java.util.concurrent.CompletionException c
                            && c.getCause() != null ? c.getCause() : failure);
                } else if (job.state().isTerminal()) {
                    f.complete(job);
                }
            }
        });
    }

    /** A future ended (completed, failed or cancelled by its caller): the subscription stops with the last one. */
    private void forget(JobId id, CompletableFuture<Job> future) {
        Subscription toClose = null;
        synchronized (lock) {
            remove(id, future);
            if (pending.isEmpty() && subscription != null) {
                toClose = subscription;
                subscription = null;
                port.open().remove(this);
            }
        }
        if (toClose != null) {
            // Outside the lock: closing waits for the subscription's thread, which may be waiting for the lock.
            toClose.close();
        }
    }

    private void remove(JobId id, CompletableFuture<Job> future) {
        List<CompletableFuture<Job>> list = pending.get(id);
        if (list != null) {
            list.remove(future);
            if (list.isEmpty()) {
                pending.remove(id);
            }
        }
    }

    /** The client closes: the pending futures fail, and the subscription ends. */
    @Override
    public void close() {
        List<CompletableFuture<Job>> waiting = new ArrayList<>();
        Subscription toClose;
        synchronized (lock) {
            pending.values().forEach(waiting::addAll);
            toClose = subscription;
            subscription = null;
            port.open().remove(this);
        }
        if (toClose != null) {
            toClose.close();
        }
        waiting.forEach(f -> f.completeExceptionally(new SkyPortException("the client is closed")));
    }

    /** Futures now pending (for tests). */
    int pending() {
        synchronized (lock) {
            return pending.values().stream().mapToInt(List::size).sum();
        }
    }

    /** Whether a subscription now runs (for tests). */
    boolean subscribed() {
        synchronized (lock) {
            return subscription != null;
        }
    }
}
