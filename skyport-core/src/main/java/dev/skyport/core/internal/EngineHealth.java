package dev.skyport.core.internal;

import dev.skyport.api.Health;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What in the engine is failing now, one streak per component. A streak is logged when it begins (with the stack
 * trace) and when it ends, never per failure: a pass that fails every second for an hour is two log lines, and the
 * {@link Health} view says how often it failed. Thread-safe; cheap when nothing fails.
 */
final class EngineHealth {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
    /** A failure's message in the health view is cut here: it is for an operator's eye, the log has the rest. */
    private static final int MAX_MESSAGE = 500;

    private final Clock clock;
    private final ConcurrentHashMap<String, Streak> streaks = new ConcurrentHashMap<>();

    private record Streak(String what, Instant since, int failures, String message, boolean stops,
                          Optional<Instant> retryAt) {
    }

    EngineHealth(Clock clock) {
        this.clock = clock;
    }

    /**
     * Records a failure of {@code component} while doing {@code what}. It stops scheduling (DOWN) once it has failed
     * {@code stopsAfter} times in a row; 0 means it never does, it only degrades.
     */
    void failed(String component, String what, Throwable failure, int stopsAfter, Optional<Instant> retryAt) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        String message = message(failure);
        Streak s = streaks.compute(component, (k, old) -> {
            int failures = old == null ? 1 : old.failures + 1;
            return new Streak(what, old == null ? now : old.since, failures, message,
                    stopsAfter > 0 && failures >= stopsAfter, retryAt);
        });
        if (s.failures == 1) {
            LOG.error("{} failed ({}); {}. Further failures are not logged until it works again", what, component,
                    retryAt.map(at -> "retrying with back-off, next at " + at).orElse("not retried on a timer"),
                    failure);
        } else if (s.stops && s.failures == stopsAfter) {
            LOG.error("{} has failed {} times in a row since {}: the engine cannot schedule and refuses submissions"
                    + " until it works again; last failure: {}", what, s.failures, s.since, message);
        } else {
            LOG.debug("{} failed again ({} in a row): {}", what, s.failures, message);
        }
    }

    /** {@code component} worked: ends its streak, if it had one, with one log line. */
    void recovered(String component) {
        if (streaks.isEmpty()) {
            return;
        }
        Streak s = streaks.remove(component);
        if (s != null) {
            Duration down = Duration.between(s.since, clock.instant());
            LOG.info("{} works again after {} failure(s) over {} s", s.what, s.failures,
                    Math.max(0, down.toMillis()) / 1000.0);
        }
    }

    Health view() {
        if (streaks.isEmpty()) {
            return Health.up();
        }
        List<Health.Problem> problems = new ArrayList<>();
        streaks.forEach((component, s) -> problems.add(
                new Health.Problem(component, s.message, s.since, s.failures, s.stops, s.retryAt)));
        problems.sort(Comparator.comparing(Health.Problem::since).thenComparing(Health.Problem::component));
        return Health.of(problems);
    }

    /** Whether scheduling is stopped: the fast check of every submission. */
    boolean isDown() {
        if (streaks.isEmpty()) {
            return false;
        }
        for (Streak s : streaks.values()) {
            if (s.stops) {
                return true;
            }
        }
        return false;
    }

    private static String message(Throwable t) {
        String m = t.toString();
        return m.length() <= MAX_MESSAGE ? m : m.substring(0, MAX_MESSAGE - 3) + "...";
    }

    /**
     * Whether {@code t} means the JVM itself is broken ({@link InternalError}, {@link UnknownError}), so that
     * retrying is pointless and it must propagate. An {@link OutOfMemoryError} or {@link StackOverflowError} is
     * not: the allocation or recursion that failed is unwound with the stack, and the next try may well work (the
     * usage replay that ran out of heap on a history of 1 MiB accounts left the heap free when it failed).
     */
    static boolean isFatal(Throwable t) {
        return t instanceof InternalError || t instanceof UnknownError;
    }
}
