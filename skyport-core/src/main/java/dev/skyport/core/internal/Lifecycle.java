package dev.skyport.core.internal;

import dev.skyport.api.JobState;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import static dev.skyport.api.JobState.CANCELED;
import static dev.skyport.api.JobState.CANCELING;
import static dev.skyport.api.JobState.FAILED;
import static dev.skyport.api.JobState.PROVISIONING;
import static dev.skyport.api.JobState.QUEUED;
import static dev.skyport.api.JobState.RUNNING;
import static dev.skyport.api.JobState.STAGING_IN;
import static dev.skyport.api.JobState.STAGING_OUT;
import static dev.skyport.api.JobState.SUCCEEDED;

/**
 * The table of allowed job transitions. The engine checks every transition against it before persisting it, so an
 * impossible move (RUNNING back to PROVISIONING, a terminal job running again without a requeue) is a bug that fails
 * loudly instead of a state that silently corrupts the store.
 */
final class Lifecycle {
    private static final Map<JobState, Set<JobState>> ALLOWED = new EnumMap<>(JobState.class);

    static {
        allow(QUEUED, PROVISIONING, STAGING_IN, RUNNING, CANCELED, FAILED);
        // PROVISIONING to itself: a failed try at creating the job's partition, recorded with when the next one comes.
        allow(PROVISIONING, STAGING_IN, RUNNING, QUEUED, FAILED, CANCELING, CANCELED, PROVISIONING);
        // PROVISIONING from STAGING_IN: a job at a batch site (Slurm) waits in the site's queue once its inputs are there.
        // STAGING_IN to itself: a batch site's submit failed for now, recorded with the error and when the next try comes.
        allow(STAGING_IN, RUNNING, QUEUED, FAILED, CANCELING, PROVISIONING, STAGING_IN);
        // QUEUED from RUNNING: an infrastructure failure being retried. RUNNING to itself: a stop intent recorded
        // without a change of state (the time limit was reached), persisted so a restart ends the attempt that way.
        allow(RUNNING, STAGING_OUT, SUCCEEDED, FAILED, QUEUED, CANCELING, RUNNING);
        allow(STAGING_OUT, SUCCEEDED, FAILED, QUEUED, CANCELING);
        // QUEUED from CANCELING: a requeue of a running job, once its process has stopped. CANCELING to itself: a
        // cancel overriding the requeue that was stopping the job.
        allow(CANCELING, CANCELED, QUEUED, CANCELING);
        // Terminal jobs only move on a requeue.
        allow(SUCCEEDED, QUEUED);
        allow(FAILED, QUEUED);
        allow(CANCELED, QUEUED);
    }

    private Lifecycle() {
    }

    private static void allow(JobState from, JobState... to) {
        ALLOWED.put(from, EnumSet.of(to[0], to));
    }

    static boolean isAllowed(JobState from, JobState to) {
        return ALLOWED.getOrDefault(from, Set.of()).contains(to);
    }

    /** @throws IllegalStateException when {@code from -> to} is not in the table */
    static void check(JobState from, JobState to) {
        if (!isAllowed(from, to)) {
            throw new IllegalStateException("transition " + from + " -> " + to + " is not allowed");
        }
    }
}
