package dev.skyport.api;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** {@link Jobs#awaitAll} in terms of {@link Jobs#onTerminal}, so that every implementation waits the same way. */
final class AwaitAll {
    private AwaitAll() {
    }

    static List<Job> await(Jobs jobs, Collection<JobId> ids, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(timeout, "timeout");
        List<JobId> order = List.copyOf(ids);
        List<CompletableFuture<Job>> futures = new ArrayList<>(order.size());
        for (JobId id : order) {
            futures.add(jobs.onTerminal(Objects.requireNonNull(id, "id")));
        }
        try {
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(nanos(timeout), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            List<Job> notEnded = new ArrayList<>();
            for (int i = 0; i < order.size(); i++) {
                if (!futures.get(i).isDone()) {
                    notEnded.add(jobs.get(order.get(i)));
                }
            }
            if (notEnded.isEmpty()) { // every job ended between the timeout and the look
                return futures.stream().map(CompletableFuture::join).toList();
            }
            futures.forEach(f -> f.cancel(false)); // a copy each: the jobs and other waiters are untouched
            throw new AwaitTimeoutException(notEnded);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException("waiting for jobs failed", e.getCause());
        }
        return futures.stream().map(CompletableFuture::join).toList();
    }

    private static long nanos(Duration timeout) {
        try {
            return Math.max(0, timeout.toNanos());
        } catch (ArithmeticException forever) {
            return Long.MAX_VALUE;
        }
    }
}
