package dev.skyport.core.store;

import dev.skyport.api.JobId;
import dev.skyport.api.JobState;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The compact row of a job that has not ended, as loaded at start-up: enough to queue and schedule it without
 * reading its full snapshot. Kept small on purpose, since the engine holds one per unfinished job in memory.
 *
 * @param id the job
 * @param owner its owner's stable id
 * @param state its state, not a terminal one
 * @param submitTime when it was submitted
 * @param priority its priority
 * @param nodes how many nodes it needs
 * @param cpus cpus it needs on each node
 * @param memoryBytes memory it needs on each node, in bytes
 * @param gpus gpus it needs on each node
 * @param timeLimit its time limit, when it has one
 * @param account the account its usage is charged to
 * @param notBefore the earliest time it may be placed again (retry back-off)
 */
public record ActiveJob(JobId id, String owner, JobState state, Instant submitTime, int priority, int nodes, int cpus,
                        long memoryBytes, int gpus, Optional<Duration> timeLimit, String account,
                        Optional<Instant> notBefore) {
    /**
     * Rejects null components.
     *
     * @param id the job
     * @param owner its owner's stable id
     * @param state its state, not a terminal one
     * @param submitTime when it was submitted
     * @param priority its priority
     * @param nodes how many nodes it needs
     * @param cpus cpus it needs on each node
     * @param memoryBytes memory it needs on each node, in bytes
     * @param gpus gpus it needs on each node
     * @param timeLimit its time limit, when it has one
     * @param account the account its usage is charged to
     * @param notBefore the earliest time it may be placed again (retry back-off)
     */
    public ActiveJob {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(submitTime, "submitTime");
        Objects.requireNonNull(timeLimit, "timeLimit");
        Objects.requireNonNull(account, "account");
        Objects.requireNonNull(notBefore, "notBefore");
    }
}
