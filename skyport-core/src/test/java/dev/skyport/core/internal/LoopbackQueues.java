package dev.skyport.core.internal;

import dev.skyport.api.JobId;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * What the engine's tests of batch sites over the loopback batch gate share: a wait with a deadline and where the
 * queue directory keeps a job's directory at the site.
 */
final class LoopbackQueues {
    static final Duration WAIT = Duration.ofSeconds(60);

    private LoopbackQueues() {
    }

    /** Polls {@code condition} until it holds; fails after {@link #WAIT}. */
    static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    /** The directory of job {@code id} on the site's shared file system in {@code queue}. */
    static Path siteDir(Path queue, JobId id) {
        return queue.resolve("shared").resolve(id.toString());
    }
}
