package dev.skyport.core.internal;

import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.core.store.ActiveJob;
import dev.skyport.core.store.StopIntent;
import dev.skyport.gate.RunHandle;
import dev.skyport.scheduler.Allocation;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * The engine's in-memory record of one job that has not ended: what the scheduler needs, plus the live run. Kept
 * small (no script, no spec) because the engine holds one per unfinished job. Every field after the constants is
 * written under the entry's monitor, which is also the per-job lock that serialises transitions.
 */
final class Entry {
    final JobId id;
    /** Who submitted it: user views filter its events by this without reading the store. */
    final String owner;
    final Instant submitTime;
    final int priority;
    final int nodes;
    final int cpus;
    final long memoryBytes;
    final int gpus;
    final Duration timeLimit;
    final String account;

    // Read without the lock by the scheduling thread, hence volatile; written under the lock.
    volatile JobState state;
    /** Retry back-off: not to be placed before this. */
    volatile Instant notBefore;
    /** The scheduler placed it and a worker is starting it. */
    volatile boolean placing;
    /** What it holds in the engine's allocation table, if anything. */
    Allocation allocation;
    /** The pending time-limit timer of the current attempt. */
    Object timeLimitTimer;
    /** The nodes it holds while in a resource-holding state. */
    List<String> allocatedNodes = List.of();
    int attempt;
    Instant attemptStart;
    RunHandle run;
    /**
     * The run request of the current attempt once known (its directory may have cost the node a round trip): the
     * end of the run and its stage-out use it again rather than ask a node that may be down.
     */
    dev.skyport.gate.RunRequest request;
    /**
     * What the run of attempt {@link #logsAttempt} of a steps job left to record with the attempt's end: a log per
     * step that started, one per output file copied.
     */
    List<dev.skyport.api.StepLog> stepLogs = List.of();
    List<dev.skyport.api.OutputLog> outputLogs = List.of();
    int logsAttempt;
    /** The transfer of its files while it is STAGING_IN or STAGING_OUT; cancelled (interrupted) by a stop. */
    Future<?> transfer;
    StopIntent stopIntent;
    /** The partition made for its current attempt, while it holds one. */
    String partition;
    /** Whether its spec names a flavor, cloud image or remote site (a candidate for the cloud); null until looked at. */
    volatile Boolean namesCloudChoice;
    /** Its current attempt waits for its partition (PROVISIONING, or CANCELING from there). */
    boolean provisioning;
    /** Why the scheduler cannot place it, if it said so. */
    volatile String infeasibleReason;
    /**
     * Why the last pass left it waiting and, where the plan reserved nodes for it, when it expects to start (Slurm's
     * {@code squeue --start}); read by the API without the lock, shown as the queued job's details.
     */
    volatile Supplier<String> waitReason;

    Entry(ActiveJob row) {
        this.id = row.id();
        this.owner = row.owner();
        this.submitTime = row.submitTime();
        this.priority = row.priority();
        this.nodes = row.nodes();
        this.cpus = row.cpus();
        this.memoryBytes = row.memoryBytes();
        this.gpus = row.gpus();
        this.timeLimit = row.timeLimit().orElse(null);
        this.account = row.account();
        this.state = row.state();
        this.notBefore = row.notBefore().orElse(null);
    }

    Optional<Duration> timeLimit() {
        return Optional.ofNullable(timeLimit);
    }
}
