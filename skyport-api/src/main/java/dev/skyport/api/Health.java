package dev.skyport.api;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether the workload manager is doing its work, and if not, what is failing. {@link Status#UP}: nothing is
 * failing. {@link Status#DEGRADED}: jobs are taken and scheduled, but something works less well than it should (e.g.
 * fair share without the usage history, a worker task that failed); the problems say what. {@link Status#DOWN}: the
 * engine cannot schedule, so a submission would wait forever; {@link Jobs#submit} refuses with
 * {@link EngineUnavailableException} until it recovers. Every failing part is retried with back-off, and its
 * problem disappears when it works again.
 *
 * @param status   the worst of the problems, {@code UP} when there are none
 * @param problems what is failing now, one per component, oldest first; empty when {@code UP}
 */
public record Health(Status status, List<Problem> problems) {
    /** The overall state: what a load balancer or a user's form decides by. */
    public enum Status {
        /** Everything works. */
        UP,
        /** Jobs are taken and run, but some part is failing; see the problems. */
        DEGRADED,
        /** Jobs cannot be scheduled; submissions are refused. */
        DOWN
    }

    /**
     * One part of the engine that is failing.
     *
     * @param component what fails, e.g. {@code scheduler}, {@code usage-replay}, {@code workers}, {@code gate}
     * @param message   the last failure, without a stack trace (the engine's log has it, once per streak)
     * @param since     when the current streak of failures began
     * @param failures  how many times in a row it has failed, at least 1
     * @param stops     whether this problem stops scheduling ({@code DOWN}) or only degrades it
     * @param retryAt   when it is tried again, if it is retried on a timer
     */
    public record Problem(String component, String message, Instant since, int failures, boolean stops,
                          Optional<Instant> retryAt) {
        /**
         * Rejects null components.
         *
         * @param component what fails, e.g. {@code scheduler}, {@code usage-replay}, {@code workers}, {@code gate}
         * @param message the last failure, without a stack trace (the engine's log has it, once per streak)
         * @param since when the current streak of failures began
         * @param failures how many times in a row it has failed, at least 1
         * @param stops whether this problem stops scheduling ({@code DOWN}) or only degrades it
         * @param retryAt when it is tried again, if it is retried on a timer
         * @throws IllegalArgumentException when a component is out of its range (the message names it)
         */
        public Problem {
            Objects.requireNonNull(component, "component");
            Objects.requireNonNull(message, "message");
            Objects.requireNonNull(since, "since");
            Objects.requireNonNull(retryAt, "retryAt");
            if (failures < 1) {
                throw new IllegalArgumentException("failures must be at least 1, got " + failures);
            }
        }
    }

    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param status the worst of the problems, {@code UP} when there are none
     * @param problems what is failing now, one per component, oldest first; empty when {@code UP}
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public Health {
        Objects.requireNonNull(status, "status");
        problems = List.copyOf(problems);
        if (status == Status.UP != problems.isEmpty()) {
            throw new IllegalArgumentException("UP exactly when there are no problems, got " + status + " with "
                    + problems.size() + " problem(s)");
        }
    }

    /**
     * Nothing is failing.
     *
     * @return a health with status {@code UP} and no problems
     */
    public static Health up() {
        return new Health(Status.UP, List.of());
    }

    /**
     * {@return the health of these problems: {@code DOWN} if one stops scheduling, else {@code DEGRADED} if any, else
     * UP}
     *
     * @param problems what is failing now, one per component, oldest first; empty when {@code UP}
     */
    public static Health of(List<Problem> problems) {
        Status status = problems.isEmpty() ? Status.UP
                : problems.stream().anyMatch(Problem::stops) ? Status.DOWN : Status.DEGRADED;
        return new Health(status, problems);
    }

    /** {@return whether jobs are taken and scheduled: {@code UP} or {@code DEGRADED}} */
    public boolean isAvailable() {
        return status != Status.DOWN;
    }
}
