package dev.skyport.core.internal;

import dev.skyport.api.Attempt;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.core.store.StopIntent;
import dev.skyport.core.store.StoredJob;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;
import dev.skyport.gate.StepLayout;
import dev.skyport.scheduler.Allocation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The runs of placed jobs: launches an attempt, follows it to its end, enforces its time limit, stops it on a cancel
 * or requeue, records how it ended (success, failure, retry, cancel, requeue) and re-attaches runs found after a
 * restart. Every change to a job goes through {@link Transitions} under the lock of its entry.
 */
final class RunSupervisor {
    private static final Logger LOG = LoggerFactory.getLogger(RunSupervisor.class);
    /** How soon a failed recording of a run's end is tried again. */
    static final Duration FINISH_RETRY = Duration.ofSeconds(1);

    private final EngineGate gate;
    /** Told when a job lets go of its partition; set once, before any job is placed. */
    private volatile PartitionLifecycle partitions = PartitionLifecycle.NONE;
    private final JobTable table;
    private final Transitions transitions;
    private final SchedulingLoop loop;
    private final EngineWorkers workers;
    private final RetryDecisions retries;
    private final AccountUsage usage;
    private final Duration killGracePeriod;
    private final Function<dev.skyport.api.JobId, Path> jobDir;
    private final BooleanSupplier closed;
    private final PortForwards ports;
    private final Staging staging;

    RunSupervisor(EngineGate gate, JobTable table, Transitions transitions, SchedulingLoop loop, EngineWorkers workers,
                  RetryDecisions retries, AccountUsage usage, Duration killGracePeriod,
                  Function<dev.skyport.api.JobId, Path> jobDir, BooleanSupplier closed, Staging staging,
                  java.util.function.IntPredicate outPortsAllowed) {
        this.gate = gate;
        this.table = table;
        this.transitions = transitions;
        this.loop = loop;
        this.workers = workers;
        this.retries = retries;
        this.usage = usage;
        this.killGracePeriod = killGracePeriod;
        this.jobDir = jobDir;
        this.closed = closed;
        this.ports = new PortForwards(workers, id -> table.get(id).spec().ports(),
                PortForwards.onJobs(table, transitions), outPortsAllowed);
        this.staging = staging;
    }

    /**
     * Launches {@code e}; if anything escapes before the run is recorded, frees the placement for a pass a little
     * later (not the very next one, which would place it again at once and spin on a failure that lasts).
     */
    void launchOrRelease(Entry e) {
        try {
            launch(e);
        } catch (Throwable t) {
            synchronized (e) {
                if (e.placing) {
                    releaseForLater(e);
                }
            }
            throw t;
        }
    }

    /**
     * Frees the placement of {@code e}, whose start could not be recorded, for a pass {@link #FINISH_RETRY} from now:
     * the pass its release asks for would otherwise place it again at once, and again, for as long as the cause lasts
     * (a store that refuses writes). Call under {@code e}'s lock.
     */
    private void releaseForLater(Entry e) {
        backOff(e, loop);
        release(e);
    }

    /**
     * Keeps {@code e} out of the passes for {@link #FINISH_RETRY} on the engine's clock (a later back-off it has stays)
     * and frees its placement, in that order: a pass running meanwhile must not see it free without its back-off. Call
     * under {@code e}'s lock.
     */
    static void backOff(Entry e, SchedulingLoop loop) {
        Instant now = loop.now();
        if (e.notBefore == null || !e.notBefore.isAfter(now)) {
            e.notBefore = now.plus(FINISH_RETRY);
            loop.addTimer(e.notBefore, loop::markDirty);
        }
        e.placing = false;
    }

    private void launch(Entry e) {
        NodeAccess node;
        int number;
        Started started;
        synchronized (e) {
            if (closed.getAsBoolean() || !e.placing || e.state != JobState.QUEUED) {
                release(e);
                return;
            }
            Instant now = loop.now();
            JobTransitioned event;
            boolean stageIn;
            try {
                Job job = table.get(e.id);
                number = job.attempts().size() + 1;
                stageIn = staging.needsStageIn(job.spec());
                Attempt attempt = new Attempt(number, e.allocatedNodes, Optional.empty(), now, Optional.empty(),
                        OptionalInt.empty(), OptionalInt.empty(), Optional.empty());
                // With inputs, the attempt opens with its nodes as STAGING_IN; RUNNING comes once they are there.
                event = transitions.transition(e, stageIn ? JobState.STAGING_IN : JobState.RUNNING, Optional.empty(),
                        stageIn ? "Staging in" : "Running", j -> Transitions.withAttempt(j, attempt),
                        Optional.empty(), Optional.empty());
            } catch (RuntimeException ex) {
                LOG.error("cannot record the start of job {}; it is placed again in {} s", e.id,
                        FINISH_RETRY.toSeconds(), ex);
                releaseForLater(e);
                return;
            }
            table.queue.remove(e.id, e);
            e.placing = false;
            e.attempt = number;
            e.attemptStart = now;
            e.request = null;
            e.infeasibleReason = null;
            e.waitReason = null;
            allocate(e);
            node = access(e);
            if (stageIn) {
                startStageIn(e, node);
                transitions.settle(e, event);
                return;
            }
            started = startRun(e, node, number);
            transitions.settle(e, event);
        }
        followOrEnd(e, node, number, started);
    }

    void partitions(PartitionLifecycle partitions) {
        this.partitions = partitions;
    }

    /**
     * Starts attempt {@code number} of {@code e}, PROVISIONING until now, on the nodes of its partition ({@code nodes},
     * the head first: the run starts there): STAGING_IN or RUNNING, as {@link #launch} does for a placed job.
     *
     * @return false when the job no longer waits for this partition (stopped, or ended meanwhile)
     */
    boolean launchProvisioned(Entry e, int number, List<String> nodes) {
        NodeAccess node;
        Started started;
        synchronized (e) {
            if (closed.getAsBoolean() || table.active.get(e.id) != e || e.state != JobState.PROVISIONING
                    || e.attempt != number || e.stopIntent != null) {
                return false;
            }
            Instant now = loop.now();
            JobTransitioned event;
            boolean stageIn;
            try {
                Job job = table.get(e.id);
                stageIn = staging.needsStageIn(job.spec());
                event = transitions.transition(e, stageIn ? JobState.STAGING_IN : JobState.RUNNING, Optional.empty(),
                        stageIn ? "Staging in" : "Running", j -> withLastAttemptNodes(j, nodes), Optional.empty(),
                        Optional.empty());
            } catch (RuntimeException ex) {
                LOG.error("cannot record the start of job {} on its partition", e.id, ex);
                return false;
            }
            e.provisioning = false;
            e.attemptStart = now;
            e.request = null;
            e.allocatedNodes = List.copyOf(nodes);
            allocate(e);
            node = access(e);
            if (stageIn) {
                startStageIn(e, node);
                transitions.settle(e, event);
                return true;
            }
            started = startRun(e, node, number);
            transitions.settle(e, event);
        }
        followOrEnd(e, node, number, started);
        return true;
    }

    private static Job withLastAttemptNodes(Job job, List<String> nodes) {
        List<Attempt> attempts = new java.util.ArrayList<>(job.attempts());
        Attempt a = attempts.get(attempts.size() - 1);
        attempts.set(attempts.size() - 1, new Attempt(a.number(), List.copyOf(nodes), a.partition(), a.startTime(),
                a.endTime(), a.exitCode(), a.signal(), a.endReason()));
        return new Job(job.id(), job.owner(), job.ownerName(), job.spec(), job.state(), job.stateDetails(),
                job.endReason(), job.submitTime(), job.updateTime(), attempts);
    }

    /**
     * Ends attempt {@code number} of {@code e}, PROVISIONING, because its partition could not be made: {@code reason}
     * with the gate's {@code message}; the job's retry policy decides what comes next. Its partition is let go (and
     * deleted) with the attempt.
     */
    void partitionFailed(Entry e, int number, EndReason reason, String message) {
        finishOrRetry(e, number, RunOutcome.lost(message), reason, Optional.empty());
    }

    /** How {@link #startRun} went: the run, or why there is none. */
    private record Started(RunHandle handle, Optional<GateException> refused, EndReason reason, String why) {
    }

    /**
     * Starts the run of attempt {@code number} of {@code e} (its state is recorded as RUNNING) with the request of
     * {@link #requestOf}. Call under the entry's lock; then {@link #followOrEnd} outside it.
     */
    private Started startRun(Entry e, NodeAccess node, int number) {
        RunRequest request;
        try {
            request = requestOf(e, node, number);
        } catch (RuntimeException ex) {
            return unknownDirectory(e, node, ex);
        }
        try {
            RunHandle handle = node.launch(request);
            e.run = handle;
            return new Started(handle, Optional.empty(), null, null);
        } catch (GateException ex) {
            // The gate says whether trying again can help, and when: the attempt's end keeps its word.
            LOG.warn("the {} gate could not start job {} ({}): {}", gate.name(), e.id,
                    ex.isTransient() ? "transient" : "permanent", ex.getMessage());
            e.run = null;
            return new Started(null, Optional.of(ex), EndReason.SYSTEM_ERROR, ex.getMessage());
        } catch (RuntimeException | LinkageError | StackOverflowError | OutOfMemoryError ex) {
            // Whatever the cause, the attempt is recorded as RUNNING: end it, or the job would hold its node.
            LOG.warn("cannot start job {}: {}", e.id, ex.toString());
            e.run = null;
            return new Started(null, Optional.empty(), EndReason.SYSTEM_ERROR, "the run could not be started");
        }
    }

    /** Follows the run {@link #startRun} started, or ends its attempt with why there is none. */
    private void followOrEnd(Entry e, NodeAccess node, int number, Started started) {
        if (started.handle() == null) {
            finishOrRetry(e, number, RunOutcome.lost(started.why()), started.reason(), started.refused());
            return;
        }
        follow(e, node, started.handle());
    }

    /**
     * The request of attempt {@code number} of {@code e}: the one kept on the entry, or a new one, kept. Asking the
     * node for the job's directory may fail (an ssh node that is down); the caller ends the attempt then.
     */
    private RunRequest requestOf(Entry e, NodeAccess node, int number) {
        RunRequest kept = e.request;
        if (kept != null && kept.job().equals(e.id) && kept.attempt() == number) {
            return kept;
        }
        RunRequest request = runRequest(node, table.get(e.id), number);
        if (e.attempt == number) {
            e.request = request;
        }
        return request;
    }

    /** Why there is no run when the node could not say where the job's directory is: lost when it is unreachable. */
    private Started unknownDirectory(Entry e, NodeAccess node, RuntimeException ex) {
        LOG.warn("cannot find the directory of job {} on {}: {}", e.id, node.node(), ex.toString());
        Optional<GateException> gateError = ex instanceof GateException g ? Optional.of(g) : Optional.empty();
        EndReason reason = gateError.map(g -> g.isTransient() ? EndReason.NODE_LOST : EndReason.SYSTEM_ERROR)
                .orElse(EndReason.SYSTEM_ERROR);
        String why = "the directory of the job on node " + node.node() + " is unknown: "
                + gateError.map(GateException::getMessage).orElse(ex.toString());
        return new Started(null, gateError, reason, why);
    }

    /**
     * The run of {@code attempt} of {@code job} on {@code node}: in the job's directory as the node places it, in the
     * job's container image where the gate runs images (else the engine has kept the job with a warning).
     */
    private RunRequest runRequest(NodeAccess node, Job job, int attempt) {
        JobSpec spec = job.spec();
        String dir = node.directoryOf(job.id(), jobDir.apply(job.id()));
        String workdir = spec.workdir().map(w -> w.startsWith("/") ? w : dir + "/" + w).orElse(dir);
        boolean images = gate.runsContainerImagesOn(node.node());
        if (spec.containerSteps().isPresent() && !images) {
            throw GateException.permanent("node " + node.node() + " runs no container images, which a job of"
                    + " container steps needs");
        }
        Optional<String> image = images ? spec.containerImage() : Optional.empty();
        return new RunRequest(job.id(), attempt, dir, spec.script(), spec.command(), workdir, spec.env(),
                job.ownerName(), spec.cpus(), spec.memoryBytes(), image, spec.ports(), spec.containerSteps());
    }

    /**
     * {@link #finish}, and when recording the end fails (the store is briefly unavailable), tries again a little later
     * instead of leaving the job RUNNING on a node that is free.
     */
    private void finishOrRetry(Entry e, int number, RunOutcome outcome, EndReason forced,
                               Optional<GateException> refused) {
        ports.close(e.id, number);
        try {
            finish(e, number, outcome, forced, refused);
        } catch (RuntimeException ex) {
            if (closed.getAsBoolean()) {
                return;
            }
            LOG.error("cannot record the end of job {}; trying again in {}", e.id, FINISH_RETRY, ex);
            loop.addTimer(loop.now().plus(FINISH_RETRY),
                    () -> workers.execute(() -> finishOrRetry(e, number, outcome, forced, refused)));
        }
    }

    /**
     * Watches {@code handle} on {@code node} (taken under the lock where the run started: by now the run may have
     * ended and its entry released its nodes) and arms the attempt's time limit while the run is still the current.
     */
    private void follow(Entry e, NodeAccess node, RunHandle handle) {
        int number = handle.attempt();
        synchronized (e) {
            if (e.run == handle) {
                e.timeLimit().ifPresent(limit -> e.timeLimitTimer =
                        loop.addTimer(e.attemptStart.plus(limit), () -> timeLimitReached(e, number)));
                ports.open(e.id, number, node, jobDir.apply(e.id));
            }
        }
        node.watch(handle).whenCompleteAsync((outcome, error) -> {
            RunOutcome ended = outcome != null ? outcome : RunOutcome.lost("watching the run failed: " + error);
            try {
                runEnded(e, node, number, ended);
            } catch (Throwable t) {
                // Nobody sees what a completion stage throws: the attempt must end all the same.
                LOG.error("cannot settle the end of job {}", e.id, t);
                finishOrRetry(e, number, ended, EndReason.SYSTEM_ERROR, Optional.empty());
            }
        }, workers);
    }

    /** Starts copying the inputs of {@code e}'s current attempt, then its run. Call under the entry's lock. */
    private void startStageIn(Entry e, NodeAccess node) {
        int number = e.attempt;
        Job job = table.get(e.id);
        RunRequest request;
        try {
            request = requestOf(e, node, number);
        } catch (RuntimeException ex) {
            Started none = unknownDirectory(e, node, ex);
            afterwards(e, () -> finishOrRetry(e, number, RunOutcome.lost(none.why()), none.reason(), none.refused()));
            return;
        }
        // Read before the transfer starts: a timer armed after it began must not give it more than its time.
        Instant deadline = loop.now().plus(staging.timeout());
        e.transfer = staging.submit(e.id, () -> {
            Optional<GateException> failed = transfer(() -> staging.stageIn(job, node, request));
            afterwards(e, () -> {
                if (failed.isPresent()) {
                    finishOrRetry(e, number, RunOutcome.lost(failed.get().getMessage()), EndReason.STAGING_FAILED,
                            failed);
                } else {
                    launchStaged(e, node, number);
                }
            });
        });
        armStagingTimeout(e, number, e.transfer, deadline, ex -> finishOrRetry(e, number,
                RunOutcome.lost(ex.getMessage()), EndReason.STAGING_FAILED, Optional.of(ex)));
    }

    /**
     * Ends attempt {@code number} of {@code e} through {@code timedOut} when {@code transfer} is still its transfer
     * at {@code deadline}; the transfer is interrupted.
     */
    private void armStagingTimeout(Entry e, int number, Future<?> transfer, Instant deadline,
                                   java.util.function.Consumer<GateException> timedOut) {
        loop.addTimer(deadline, () -> afterwards(e, () -> {
            synchronized (e) {
                if (e.transfer != transfer || e.attempt != number) {
                    return;
                }
                e.transfer = null;
                LOG.warn("the staging of job {} did not end within {}", e.id, staging.timeout());
                // Ended before the interrupt: the transfer's own failure then finds the attempt closed.
                timedOut.accept(GateException.transientFailure("the copies did not end within "
                        + staging.timeout().toMinutes() + " min", null, Optional.empty()));
                transfer.cancel(true);
            }
        }));
    }

    /**
     * Runs {@code next} on the engine's workers; a refusal only comes from an engine that is closing, whose next
     * start stages the job again.
     */
    private void afterwards(Entry e, Runnable next) {
        try {
            workers.execute(next);
        } catch (RuntimeException ex) {
            if (!closed.getAsBoolean()) {
                LOG.error("cannot go on with job {} after its staging", e.id, ex);
            }
        }
    }

    /**
     * Runs {@code transfer}; what went wrong, as the gate classified it, whatever was thrown (an error too: the
     * attempt must end in any case). Leaves the thread's interrupt flag clear.
     */
    private static Optional<GateException> transfer(Runnable transfer) {
        try {
            if (Thread.currentThread().isInterrupted()) {
                // stopped while it waited for an earlier transfer of the job
                return Optional.of(GateException.transientFailure("stopped before it began", null, Optional.empty()));
            }
            transfer.run();
            return Optional.empty();
        } catch (GateException ex) {
            return Optional.of(ex);
        } catch (Throwable ex) {
            return Optional.of(GateException.transientFailure("staging failed: " + ex, ex, Optional.empty()));
        } finally {
            Thread.interrupted(); // a stop's interrupt is for the transfer only; the pool's thread goes on
        }
    }

    /** After its inputs are in place: RUNNING, and the run of attempt {@code number} of {@code e} starts. */
    private void launchStaged(Entry e, NodeAccess node, int number) {
        Started started;
        synchronized (e) {
            if (closed.getAsBoolean() || table.active.get(e.id) != e || e.attempt != number) {
                return; // an old attempt: what ended it settled it
            }
            if (e.state != JobState.STAGING_IN && e.stopIntent == null) {
                return; // started already
            }
            if (e.stopIntent != null) {
                // Stopped meanwhile. The stop ends the attempt if it found the transfer; it may have come when the
                // transfer was done and not yet cleared, so end it here too (an attempt is ended once).
                e.transfer = null;
                afterwards(e, () -> finishOrRetry(e, number, RunOutcome.lost("stopped while its files were copied"),
                        EndReason.CANCELED, Optional.empty()));
                return;
            }
            JobTransitioned event;
            try {
                event = transitions.transition(e, JobState.RUNNING, Optional.empty(), "Running",
                        UnaryOperator.identity(), Optional.empty(), Optional.empty());
            } catch (RuntimeException ex) {
                // The transfer stays on the entry until RUNNING is recorded: a stop meanwhile still ends the attempt.
                LOG.error("cannot record the start of job {}; trying again in {}", e.id, FINISH_RETRY, ex);
                loop.addTimer(loop.now().plus(FINISH_RETRY),
                        () -> workers.execute(() -> launchStaged(e, node, number)));
                return;
            }
            e.transfer = null;
            // The time limit is the run's: it counts from here, not from the start of the staging.
            e.attemptStart = loop.now();
            allocate(e);
            started = startRun(e, node, number);
            transitions.settle(e, event);
        }
        followOrEnd(e, node, number, started);
    }

    /**
     * The run of attempt {@code number} ended with {@code outcome}: STAGING_OUT while its outputs (and a remote node's
     * logs) come back, then its end; or its end at once. A job found STAGING_OUT after a restart does the copies again.
     */
    private void runEnded(Entry e, NodeAccess node, int number, RunOutcome outcome) {
        Started unknown;
        Job stepsJob = null;
        RunRequest stepsRequest = null;
        synchronized (e) {
            if (closed.getAsBoolean()) {
                return;
            }
            boolean current = table.active.get(e.id) == e && e.attempt == number;
            boolean stopping = e.stopIntent == StopIntent.CANCEL || e.stopIntent == StopIntent.REQUEUE;
            Job job = table.get(e.id);
            RunRequest request;
            try {
                request = requestOf(e, node, number);
                unknown = null;
            } catch (RuntimeException ex) {
                request = null;
                unknown = unknownDirectory(e, node, ex);
            }
            if (request != null && job.spec().containerSteps().isPresent()) {
                stepsJob = job;
                stepsRequest = request;
            }
            if (request != null && current && !stopping && (e.state == JobState.RUNNING || e.state == JobState.STAGING_OUT)
                    && staging.needsStageOut(job, node, request, outcome)) {
                JobTransitioned event = null;
                if (e.state == JobState.RUNNING) {
                    try {
                        event = transitions.transition(e, JobState.STAGING_OUT, Optional.empty(), "Staging out",
                                UnaryOperator.identity(), Optional.ofNullable(e.stopIntent), Optional.empty());
                    } catch (RuntimeException ex) {
                        LOG.error("cannot record the stage-out of job {}; ending it without", e.id, ex);
                    }
                }
                if (event != null || e.state == JobState.STAGING_OUT) {
                    e.run = null; // ended: a stop from now on stops the transfer
                    RunRequest copied = request;
                    Instant deadline = loop.now().plus(staging.timeout());
                    if (job.spec().containerSteps().isPresent()) {
                        Staging.StepsProgress progress = new Staging.StepsProgress();
                        e.transfer = staging.submit(e.id, () -> {
                            Staging.StepsStagedOut[] found = {null};
                            Optional<GateException> failed = transfer(() -> {
                                found[0] = staging.stageOutSteps(job, node, copied, outcome, progress);
                                staging.stageOut(job, node, copied, outcome); // a remote node's stdout.log, stderr.log
                            });
                            afterwards(e, () -> stepsStagedOut(e, number, outcome, found[0], failed));
                        });
                        // Cut off: the step logs and outputs found so far are the attempt's, and a step the runtime
                        // could not start still makes it a SYSTEM_ERROR.
                        armStagingTimeout(e, number, e.transfer, deadline,
                                ex -> stepsStagedOut(e, number, outcome, progress.now(Optional.empty()),
                                        Optional.of(ex)));
                    } else {
                        e.transfer = staging.submit(e.id, () -> {
                            Optional<GateException> failed = transfer(() -> staging.stageOut(job, node, copied,
                                    outcome));
                            afterwards(e, () -> stagedOut(e, number, outcome, failed));
                        });
                        armStagingTimeout(e, number, e.transfer, deadline,
                                ex -> stagedOut(e, number, outcome, Optional.of(ex)));
                    }
                    if (event != null) {
                        transitions.settle(e, event);
                    }
                    return;
                }
            }
        }
        if (unknown != null) {
            finishOrRetry(e, number, new RunOutcome(outcome.exitCode(), outcome.signal(), unknown.why()),
                    unknown.reason(), unknown.refused());
            return;
        }
        if (stepsRequest != null && !outcome.isLost()) {
            // Stopped (or no longer current): whatever records the steps left are the attempt's log all the same.
            keepLogs(e, number, staging.stepLogs(stepsJob, node, stepsRequest), List.of());
        }
        finishOrRetry(e, number, outcome, null, Optional.empty());
    }

    /** Keeps the logs of attempt {@code number} on {@code e}, for the transition that ends the attempt. */
    private static void keepLogs(Entry e, int number, List<dev.skyport.api.StepLog> steps,
                                 List<dev.skyport.api.OutputLog> outputs) {
        synchronized (e) {
            if (e.attempt == number) {
                e.stepLogs = steps;
                e.outputLogs = outputs;
                e.logsAttempt = number;
            }
        }
    }

    /**
     * Ends attempt {@code number} of a steps job after its stage-out: a failed copy of the outputs after a success is
     * STAGING_FAILED; a step the runtime could not create or start (flagged {@value StepLayout#NO_CONTAINER}, e.g. its image
     * is missing) is SYSTEM_ERROR and not retried, since retrying does not make an image appear; otherwise the run's
     * outcome, which is that of the first failing step that does not ignore errors.
     */
    private void stepsStagedOut(Entry e, int number, RunOutcome outcome, Staging.StepsStagedOut found,
                                Optional<GateException> failed) {
        Job job = table.get(e.id);
        ContainerSteps steps = job.spec().containerSteps().orElseThrow();
        List<dev.skyport.api.StepLog> logs = found == null ? List.of() : found.steps();
        keepLogs(e, number, logs, found == null ? List.of() : found.outputs());
        Optional<GateException> problem = failed.isPresent() ? failed
                : found == null ? Optional.empty() : found.failed();
        if (outcome.exitCode().orElse(-1) == 0) {
            stagedOut(e, number, outcome, problem);
            return;
        }
        // Only the driver's flag says the runtime failed: a command may exit 125 itself. Ignoring errors does not
        // cover it: failing to obtain the image or create the container is the system's failure, not the step's.
        OptionalInt failing = found == null ? OptionalInt.empty() : found.noContainer();
        if (e.stopIntent == null && failing.isPresent() && failing.getAsInt() < logs.size()) {
            int i = failing.getAsInt();
            String why = "step " + (i + 1) + " of " + steps.steps().size() + " (image " + steps.steps().get(i).image()
                    + ") could not be started: the container runtime could not create or start its container"
                    + firstLine(logs.get(i).stderrTail()).map(l -> ": " + l).orElse("");
            finishOrRetry(e, number, new RunOutcome(outcome.exitCode(), outcome.signal(), why),
                    EndReason.SYSTEM_ERROR, Optional.of(GateException.permanent(why)));
            return;
        }
        stagedOut(e, number, outcome, problem);
    }

    /** The first line of {@code text} that is not blank, cut to a length a state's details can show. */
    private static Optional<String> firstLine(String text) {
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (!l.isEmpty()) {
                return Optional.of(l.length() > 200 ? l.substring(0, 200) + "..." : l);
            }
        }
        return Optional.empty();
    }

    /**
     * Ends attempt {@code number} after its stage-out: by the run's outcome, unless a copy failed after an exit with
     * 0 (a job that failed fails for its own reason, whatever came back).
     */
    private void stagedOut(Entry e, int number, RunOutcome outcome, Optional<GateException> failed) {
        if (failed.isPresent() && outcome.exitCode().orElse(-1) == 0) {
            finishOrRetry(e, number, new RunOutcome(outcome.exitCode(), outcome.signal(), failed.get().getMessage()),
                    EndReason.STAGING_FAILED, failed);
            return;
        }
        failed.ifPresent(f -> LOG.warn("job {} failed and its files could not all be copied back: {}", e.id,
                f.getMessage()));
        finishOrRetry(e, number, outcome, null, Optional.empty());
    }

    private void timeLimitReached(Entry e, int number) {
        workers.execute(() -> {
            synchronized (e) {
                if (e.attempt != number || e.run == null || e.state != JobState.RUNNING || e.stopIntent != null) {
                    return;
                }
                LOG.info("job {} reached its time limit", e.id);
                // Persisted before the signal: a restart must still end the attempt TIME_LIMIT, not as a plain exit.
                JobTransitioned note;
                try {
                    note = transitions.recordIntent(e, StopIntent.TIME_LIMIT, "Time limit reached");
                } catch (RuntimeException ex) {
                    LOG.error("cannot record the time limit of job {}; stopping it anyway", e.id, ex);
                    e.stopIntent = StopIntent.TIME_LIMIT;
                    stop(e);
                    return;
                }
                stop(e);
                transitions.settle(e, note);
            }
        });
    }

    /**
     * Records the end of attempt {@code number}: success, failure, retry, cancel or requeue, depending on how it
     * ended and what was asked. {@code forced} overrides the reason derived from the outcome; {@code refused} is the
     * gate's refusal to start the run, whose {@link GateException#isTransient()} and retry delay decide the retry.
     */
    private void finish(Entry e, int number, RunOutcome outcome, EndReason forced, Optional<GateException> refused) {
        if (closed.getAsBoolean()) {
            return;
        }
        synchronized (e) {
            StoredJob cur = table.snapshot(e.id);
            Job job = cur.job();
            Optional<Attempt> last = job.lastAttempt();
            if (!job.state().holdsResources() || last.isEmpty() || last.get().number() != number
                    || !last.get().isOpen()) {
                return; // an old attempt, already settled
            }
            Instant now = loop.now();
            EndReason reason = forced != null ? forced : RetryDecisions.reasonOf(e.stopIntent, outcome);
            JobTransitioned event = recordEnd(e, job, number, outcome, reason, now, refused);
            usage.charge(e.account, UsageReplay.cpuSeconds(e.cpus, last.get(), now), now);
            release(e);
            transitions.settle(e, event);
        }
    }

    /** The transition that ends attempt {@code number} of {@code job}, by what was asked and how it ended. */
    private JobTransitioned recordEnd(Entry e, Job job, int number, RunOutcome outcome, EndReason reason,
                                      Instant now, Optional<GateException> refused) {
        List<dev.skyport.api.StepLog> stepLogs = e.logsAttempt == number ? e.stepLogs : List.of();
        List<dev.skyport.api.OutputLog> outputLogs = e.logsAttempt == number ? e.outputLogs : List.of();
        UnaryOperator<Job> closeAttempt = j -> Transitions.withLastAttemptEnded(j, now, outcome.exitCode(),
                outcome.signal(), reason, stepLogs, outputLogs);
        if (e.stopIntent == StopIntent.CANCEL) {
            return transitions.transition(e, JobState.CANCELED, Optional.of(EndReason.CANCELED), "Canceled",
                    closeAttempt, Optional.empty(), Optional.empty());
        }
        if (e.stopIntent == StopIntent.REQUEUE) {
            return transitions.transition(e, JobState.QUEUED, Optional.empty(), "Requeued",
                    j -> Transitions.withLastAttemptEnded(j, now, outcome.exitCode(), outcome.signal(),
                            EndReason.PREEMPTED, stepLogs, outputLogs), Optional.empty(), Optional.empty());
        }
        if (reason == EndReason.COMPLETED) {
            return transitions.transition(e, JobState.SUCCEEDED, Optional.of(reason), "Completed", closeAttempt,
                    Optional.empty(), Optional.empty());
        }
        Optional<Instant> retryAt = retries.retryAt(job, reason, now, refused);
        if (retryAt.isPresent()) {
            String details = "Retrying after " + RetryDecisions.describe(reason, outcome) + " (attempt " + (number + 1)
                    + " of " + job.spec().retryPolicy().maxAttempts() + ")";
            JobTransitioned event = transitions.transition(e, JobState.QUEUED, Optional.empty(), details,
                    closeAttempt, Optional.empty(), retryAt);
            loop.addTimer(retryAt.get(), loop::markDirty);
            return event;
        }
        return transitions.transition(e, JobState.FAILED, Optional.of(reason),
                RetryDecisions.describe(reason, outcome), closeAttempt, Optional.empty(), Optional.empty());
    }

    /**
     * Finds the run of a job that held resources when the engine last stopped, and follows or settles it. A node that
     * cannot be reached for a moment (an ssh node restarting with the engine) is asked again, with back-off, for
     * {@link #REATTACH_PATIENCE}: ending the attempt at once would retry a job whose run may well go on.
     */
    void reattach(Entry e) {
        reattach(e, loop.now().plus(REATTACH_PATIENCE), REATTACH_FIRST_RETRY);
    }

    /**
     * How long a re-attach keeps asking a node that fails transiently before its attempt ends NODE_LOST: a node down
     * longer is taken for lost, as a node that goes down while the engine runs would be.
     */
    static final Duration REATTACH_PATIENCE = Duration.ofMinutes(10);
    /** The first wait before a re-attach asks an unreachable node again; it doubles up to {@link Backoff#MAX}. */
    static final Duration REATTACH_FIRST_RETRY = Duration.ofSeconds(1);

    private void reattach(Entry e, Instant giveUpAt, Duration wait) {
        if (closed.getAsBoolean()) {
            return; // the next start re-attaches it again
        }
        RunProbe probe;
        NodeAccess node;
        synchronized (e) {
            if (table.active.get(e.id) != e || !e.state.holdsResources() || e.run != null) {
                return; // settled meanwhile
            }
            node = access(e);
            if (e.state == JobState.STAGING_IN) {
                // The run was never started (RUNNING is stored before a launch): stage again, in the same attempt.
                LOG.info("job {} was staging in; staging it again", e.id);
                startStageIn(e, node);
                return;
            }
            try {
                probe = node.probe(requestOf(e, node, e.attempt));
            } catch (GateException ex) {
                Instant now = loop.now();
                if (ex.isTransient() && now.isBefore(giveUpAt)) {
                    // A stop asked meanwhile waits for the run (stop() sees no run): honoured once it is found.
                    LOG.info("cannot reach the node of job {} yet ({}); asking again in {}", e.id, ex.getMessage(),
                            wait);
                    Duration next = wait.multipliedBy(2).compareTo(Backoff.MAX) > 0 ? Backoff.MAX
                            : wait.multipliedBy(2);
                    loop.addTimer(now.plus(wait), () -> workers.execute(() -> reattach(e, giveUpAt, next)));
                    return;
                }
                LOG.warn("cannot probe job {}: {}", e.id, ex.toString());
                probe = RunProbe.ended(RunOutcome.lost("the node could not be reached after a restart"));
            } catch (RuntimeException ex) {
                LOG.warn("cannot probe job {}: {}", e.id, ex.toString());
                probe = RunProbe.ended(RunOutcome.lost("the node could not be reached after a restart"));
            }
            if (probe.state() == RunProbe.State.RUNNING) {
                e.run = probe.handle().orElseThrow();
                if (e.stopIntent != null) {
                    stop(e);
                }
            }
        }
        switch (probe.state()) {
            case RUNNING -> {
                LOG.info("job {} is still running; following it again", e.id);
                follow(e, node, probe.handle().orElseThrow());
            }
            case ENDED -> runEnded(e, node, e.attempt, probe.outcome().orElseThrow());
            case NEVER_STARTED -> finishOrRetry(e, e.attempt,
                    RunOutcome.lost("the engine stopped before the job started"), EndReason.SYSTEM_ERROR,
                    Optional.empty());
        }
    }

    /** Asks the run to stop: SIGTERM now, SIGKILL after the grace period. Call under the entry's lock. */
    void stop(Entry e) {
        Future<?> transfer = e.transfer;
        if (transfer != null) {
            // A transfer has nothing to signal: interrupt it and end the attempt now, whenever the transfer notices.
            e.transfer = null;
            transfer.cancel(true);
            int number = e.attempt;
            workers.execute(() -> finishOrRetry(e, number, RunOutcome.lost("stopped while its files were copied"),
                    EndReason.CANCELED, Optional.empty()));
            return;
        }
        if (e.provisioning) {
            // Its partition is still being made: the attempt ends now, and with it the creation (interrupted).
            int number = e.attempt;
            workers.execute(() -> finishOrRetry(e, number, RunOutcome.lost("stopped while its partition was made"),
                    EndReason.CANCELED, Optional.empty()));
            return;
        }
        RunHandle run = e.run;
        if (run == null) {
            return; // not started yet, or being re-attached: the re-attach sees the intent
        }
        signal(e, run, RunSignal.TERM);
        loop.addTimer(loop.now().plus(killGracePeriod), () -> workers.execute(() -> {
            synchronized (e) {
                if (e.run == run) {
                    signal(e, run, RunSignal.KILL);
                }
            }
        }));
    }

    private void signal(Entry e, RunHandle run, RunSignal signal) {
        try {
            access(e).signal(run, signal);
        } catch (GateException ex) {
            LOG.warn("cannot send {} to job {}: {}", signal, e.id, ex.getMessage());
        }
    }

    private NodeAccess access(Entry e) {
        return gate.access(e.allocatedNodes.get(0));
    }

    /** Closes what runs hold on the engine's side (port forwards); the runs themselves go on. */
    void close() {
        ports.closeAll();
    }

    /** Enters what {@code e} holds (its nodes, until its time limit) in the allocation table. */
    void allocate(Entry e) {
        Instant end = e.timeLimit().map(l -> (e.attemptStart != null ? e.attemptStart : loop.now()).plus(l))
                .orElse(Instant.MAX);
        Allocation a = new Allocation(e.id, e.allocatedNodes, e.cpus, e.memoryBytes, e.gpus, end);
        e.allocation = a;
        table.allocations.put(e.id, a);
    }

    private void release(Entry e) {
        // By identity: a stale launch of an earlier entry of the same job must not free a newer placement.
        if (e.allocation != null) {
            table.allocations.remove(e.id, e.allocation);
            e.allocation = null;
        }
        if (e.timeLimitTimer != null) {
            loop.cancelTimer(e.timeLimitTimer);
            e.timeLimitTimer = null;
        }
        e.allocatedNodes = List.of();
        e.run = null;
        e.provisioning = false;
        if (e.partition != null) {
            String partition = e.partition;
            e.partition = null;
            partitions.released(e, partition);
        }
        if (e.transfer != null) {
            e.transfer.cancel(true);
            e.transfer = null;
        }
        e.placing = false;
        loop.markDirty();
    }
}
