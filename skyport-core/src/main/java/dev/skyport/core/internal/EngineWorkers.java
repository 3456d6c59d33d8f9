package dev.skyport.core.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pool that starts runs, records their ends and re-attaches them. A task that fails is recorded in the health
 * view (and logged once per streak) instead of ending its thread with a stack trace on stderr.
 */
final class EngineWorkers implements Executor {
    private static final Logger LOG = LoggerFactory.getLogger(EngineWorkers.class);
    private static final int THREADS = 16;

    private final EngineHealth health;
    private final ThreadPoolExecutor pool;

    EngineWorkers(EngineHealth health) {
        this.health = health;
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "skyport-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            t.setUncaughtExceptionHandler(EngineWorkers::uncaught);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
    }

    @Override
    public void execute(Runnable task) {
        pool.execute(() -> {
            try {
                task.run();
                health.recovered("workers");
            } catch (Throwable t) {
                boolean fatal = EngineHealth.isFatal(t);
                health.failed("workers", "a worker task (start, end or re-attach of a run)", t, fatal ? 1 : 0,
                        Optional.empty());
                if (fatal) {
                    throw t;
                }
            }
        });
    }

    /** Lets the queued tasks finish, waiting up to {@code wait}; takes no new ones. */
    void shutdown(java.time.Duration wait) {
        pool.shutdown();
        try {
            pool.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Only errors that say the JVM is broken get here; the loop and the workers record everything else, and the
     * health view has logged this one with its stack trace already.
     */
    static void uncaught(Thread thread, Throwable t) {
        LOG.error("{} ended: {}", thread.getName(), t.toString());
    }
}
