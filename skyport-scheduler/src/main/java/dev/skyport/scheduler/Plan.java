package dev.skyport.scheduler;

import dev.skyport.api.JobId;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The result of a pass, a full timetable: {@code startNow} are placed on nodes from now; {@code reservations} are the
 * future starts of every other job that fits the cluster; {@code cloud} are jobs no existing node set can hold but new
 * cloud nodes of a flavor can; {@code infeasible} jobs can run neither way, with why. Each queued job is in exactly one
 * list.
 *
 * @param startNow the jobs to start now, with their nodes
 * @param reservations the future starts of the other jobs that fit
 * @param infeasible the jobs that can run neither on the cluster nor on new nodes, with why
 * @param cloud the jobs to run on new cloud nodes
 */
public record Plan(List<Placement> startNow, List<Placement> reservations, List<Infeasible> infeasible,
                   List<CloudPlacement> cloud) {
    /**
     * Copies the lists, so an instance never changes.
     *
     * @param startNow the jobs to start now, with their nodes
     * @param reservations the future starts of the other jobs that fit
     * @param infeasible the jobs that can run neither on the cluster nor on new nodes, with why
     * @param cloud the jobs to run on new cloud nodes
     */
    public Plan {
        startNow = List.copyOf(startNow);
        reservations = List.copyOf(reservations);
        infeasible = List.copyOf(infeasible);
        cloud = List.copyOf(cloud);
    }

    /**
     * A plan for a cluster that cannot grow.
     *
     * @param startNow the jobs to start now, with their nodes
     * @param reservations the jobs held back for later, with the nodes and start they are promised
     * @param infeasible the jobs no node set can hold
     */
    public Plan(List<Placement> startNow, List<Placement> reservations, List<Infeasible> infeasible) {
        this(startNow, reservations, infeasible, List.of());
    }

    /**
     * A job on its nodes from {@code start}.
     *
     * @param job the job
     * @param start when it starts: now for {@code startNow}, later for a reservation
     * @param nodes the names of its nodes
     */
    public record Placement(JobId job, Instant start, List<String> nodes) {
        /**
         * Rejects null components and copies the node list.
         *
         * @param job the job
         * @param start when it starts: now for {@code startNow}, later for a reservation
         * @param nodes the names of its nodes
         */
        public Placement {
            Objects.requireNonNull(job, "job");
            Objects.requireNonNull(start, "start");
            nodes = List.copyOf(nodes);
        }
    }

    /**
     * A job to run now on {@code nodes} new nodes of {@code flavor}, the cheapest flavor that fits it.
     *
     * @param job the job
     * @param flavor the flavor of the new nodes
     * @param nodes how many new nodes
     * @param pricePerHour the price of one such node for an hour
     */
    public record CloudPlacement(JobId job, String flavor, int nodes, double pricePerHour) {
        /**
         * Rejects null components.
         *
         * @param job the job
         * @param flavor the flavor of the new nodes
         * @param nodes how many new nodes
         * @param pricePerHour the price of one such node for an hour
         */
        public CloudPlacement {
            Objects.requireNonNull(job, "job");
            Objects.requireNonNull(flavor, "flavor");
        }
    }

    /**
     * A job no node set of the cluster (nor any flavor) can hold, with why.
     *
     * @param job the job
     * @param reason why nothing can hold it, for the user to read
     */
    public record Infeasible(JobId job, String reason) {
        /**
         * Rejects null components.
         *
         * @param job the job
         * @param reason why nothing can hold it, for the user to read
         */
        public Infeasible {
            Objects.requireNonNull(job, "job");
            Objects.requireNonNull(reason, "reason");
        }
    }
}
