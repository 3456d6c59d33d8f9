package dev.skyport.scheduler;

import dev.skyport.api.JobId;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The result of a pass: {@code startNow} are placed on free nodes now; {@code reservations} are future starts of other
 * feasible jobs (a policy may leave them empty); {@code infeasible} jobs can never run on this cluster, with why.
 */
public record Plan(List<Placement> startNow, List<Placement> reservations, List<Infeasible> infeasible) {
    public Plan {
        startNow = List.copyOf(startNow);
        reservations = List.copyOf(reservations);
        infeasible = List.copyOf(infeasible);
    }

    /** A job on its nodes from {@code start}. */
    public record Placement(JobId job, Instant start, List<String> nodes) {
        public Placement {
            Objects.requireNonNull(job, "job");
            Objects.requireNonNull(start, "start");
            nodes = List.copyOf(nodes);
        }
    }

    /** A job no node set of the cluster can ever hold. */
    public record Infeasible(JobId job, String reason) {
        public Infeasible {
            Objects.requireNonNull(job, "job");
            Objects.requireNonNull(reason, "reason");
        }
    }
}
