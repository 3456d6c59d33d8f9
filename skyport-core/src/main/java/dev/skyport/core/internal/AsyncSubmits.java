package dev.skyport.core.internal;

import dev.skyport.api.StorageException;

import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The bookkeeping of {@link dev.skyport.api.Jobs#submitAsync}: how many submissions are in flight (queued for the
 * store's group commit, not yet registered), the bound on them, and the one thread that registers committed jobs.
 *
 * <p>The bound makes a caller that submits faster than the disk commits wait instead of filling memory: a caller
 * that keeps many submissions in flight is paced by the commits, and one that does not never waits. Waiting rather
 * than failing was chosen because the caller can do nothing useful with a refusal but retry at once, and the wait
 * is short (a commit of one batch, milliseconds).
 */
final class AsyncSubmits {
    /** Two batches of the store's group commit (4,096 writes each): one committing while the next one fills. */
    static final int MAX_IN_FLIGHT = 8192;

    private final Semaphore permits = new Semaphore(MAX_IN_FLIGHT);
    /**
     * One thread over a {@link LinkedTransferQueue}: the store's writer hands it every committed job, and this queue
     * takes one without a lock and wakes the thread only when it waits, where a single-thread executor's
     * LinkedBlockingQueue takes a lock and signals per job.
     */
    private final ExecutorService completer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new LinkedTransferQueue<>(), r -> {
        Thread t = new Thread(r, "skyport-submit-completer");
        t.setDaemon(true);
        return t;
    });

    /** Takes a place, waiting while {@link #MAX_IN_FLIGHT} submissions are in flight. */
    void enter() {
        // Uninterruptible like the blocking submit's wait for its commit: the wait is for commits that will end.
        permits.acquireUninterruptibly();
    }

    void leave() {
        permits.release();
    }

    /** Runs completions one at a time in the order their commits ended. */
    Executor completer() {
        return completer;
    }

    /** Waits (at most {@code timeout}) until no submission is in flight, then stops the completer thread. */
    void close(Duration timeout) {
        try {
            if (permits.tryAcquire(MAX_IN_FLIGHT, timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                permits.release(MAX_IN_FLIGHT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        completer.shutdown();
    }

    static RuntimeException unwrap(Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof RuntimeException r) {
            return r;
        }
        return new StorageException("write failed: " + cause.getMessage(), cause);
    }
}
