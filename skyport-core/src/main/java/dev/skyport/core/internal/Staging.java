package dev.skyport.core.internal;

import dev.skyport.api.ContainerSteps;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.OutputLog;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The file transfers of jobs: a job's {@code input-files} go from the engine's machine into its working directory on
 * its node before it runs, and after it exited its {@code output-files} (and, from a node that does not share the
 * engine's file system, its {@code stdout.log} and {@code stderr.log}) come back into its directory on the engine's
 * machine. Transfers run on a small pool of their own, so a slow or stuck transfer holds neither the scheduling loop
 * nor the engine's workers; {@link RunSupervisor} drives the states around them.
 *
 * <p>Inputs must lie under the engine's input root (with {@code {owner}} replaced by the owner's name) once symbolic
 * links are resolved, checked where it can be known: lexically at submit, and on the real path at staging time.
 * Errors name the path and the cause, never the file's content.
 */
final class Staging {
    private static final Logger LOG = LoggerFactory.getLogger(Staging.class);
    /** Parallel transfers of all jobs together; a transfer is I/O bound, and each one may hold a connection. */
    private static final int THREADS = 4;
    private static final String OWNER = "{owner}";
    /**
     * How long the copies of an attempt (its inputs, or its outputs) may take, by the engine's clock, before the
     * attempt ends STAGING_FAILED (transient: it is tried again by the retry policy). Generous: a stuck connection,
     * not a large file, is what it ends.
     */
    static final Duration TIMEOUT = Duration.ofHours(1);

    private final Optional<Path> inputRoot;
    private final Function<dev.skyport.api.JobId, Path> jobDir;
    private final ThreadPoolExecutor pool;
    /** The transfer of each job that is running or waiting, done once its code has returned. */
    private final java.util.concurrent.ConcurrentHashMap<dev.skyport.api.JobId,
            java.util.concurrent.CompletableFuture<Void>> running = new java.util.concurrent.ConcurrentHashMap<>();
    private final Duration timeout;

    Staging(Optional<Path> inputRoot, Function<dev.skyport.api.JobId, Path> jobDir) {
        this(inputRoot, jobDir, TIMEOUT);
    }

    Staging(Optional<Path> inputRoot, Function<dev.skyport.api.JobId, Path> jobDir, Duration timeout) {
        this.timeout = timeout;
        this.inputRoot = inputRoot;
        this.jobDir = jobDir;
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "skyport-staging-" + n.incrementAndGet());
            t.setDaemon(true);
            t.setUncaughtExceptionHandler(EngineWorkers::uncaught);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
    }

    /**
     * Runs {@code transfer} of {@code job} on the staging pool once the job's earlier transfer has really ended; cancel
     * the future with interruption to stop it. A stop ends its attempt at once, but a transfer that ignores the
     * interrupt may go on for a while: the next attempt's must not copy into the same directory meanwhile.
     */
    Future<?> submit(dev.skyport.api.JobId job, Runnable transfer) {
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<Void> earlier = running.put(job, done);
        return pool.submit(() -> {
            try {
                if (earlier != null) {
                    try {
                        earlier.get();
                    } catch (InterruptedException stopped) {
                        Thread.currentThread().interrupt(); // the transfer sees it and ends at once
                    } catch (java.util.concurrent.ExecutionException cannot) {
                        // completed normally only
                    }
                }
                transfer.run();
            } finally {
                done.complete(null);
                running.remove(job, done);
            }
        });
    }

    /** How long a transfer (all the inputs, or all the outputs, of an attempt) may take before it fails. */
    Duration timeout() {
        return timeout;
    }

    /** Stops every transfer; the jobs they were for are staged again on the next start. */
    void close() {
        pool.shutdownNow();
    }

    /**
     * Refuses at submit an input that lies outside the owner's input root, as far as it is knowable now: by its path,
     * without looking at the file system.
     *
     * @throws InvalidJobSpecException naming {@code inputFiles} and the path
     */
    void checkSubmission(JobSpec spec, String owner) {
        boolean steps = spec.containerSteps().isPresent() && (!spec.containerSteps().get().inputs().isEmpty()
                || !spec.containerSteps().get().outputs().isEmpty());
        if (inputRoot.isEmpty() || (spec.inputFiles().isEmpty() && !steps)) {
            return;
        }
        Path root;
        try {
            root = root(owner);
        } catch (GateException e) {
            throw new InvalidJobSpecException(spec.inputFiles().isEmpty() ? "containerSteps" : "inputFiles",
                    e.getMessage());
        }
        if (steps) {
            checkSteps(spec.containerSteps().get(), root, owner);
        }
        for (String input : spec.inputFiles()) {
            Path source = source(root, input);
            // Lexically only: where a link inside the root leads is checked at staging time, with one answer for a
            // missing file and one outside the root (else a submit would tell whether some file exists).
            boolean inside = source.startsWith(root);
            if (!inside) {
                throw new InvalidJobSpecException("inputFiles", "'" + input + "' lies outside the input directory "
                        + root + " of user " + owner);
            }
        }
    }

    /**
     * Container steps' sources and destinations lie under the owner's input root, lexically (as input-files): where
     * links lead is checked when the files are copied.
     */
    private static void checkSteps(ContainerSteps steps, Path root, String owner) {
        for (StepInput in : steps.inputs()) {
            if (in.source().isPresent() && !source(root, in.source().get()).startsWith(root)) {
                throw new InvalidJobSpecException("inputs", "the source '" + in.source().get() + "' of " + in.path()
                        + " lies outside the input directory " + root + " of user " + owner);
            }
        }
        for (StepOutput out : steps.outputs()) {
            Path d = Path.of(out.destination()).normalize();
            if (!d.startsWith(root) || d.equals(root)) {
                throw new InvalidJobSpecException("outputs", "the destination '" + out.destination() + "' of "
                        + out.path() + " lies outside the input directory " + root + " of user " + owner);
            }
        }
    }

    /** True when {@code job} has inputs to copy, or a steps job's mounts to make, before it runs. */
    boolean needsStageIn(JobSpec spec) {
        return !spec.inputFiles().isEmpty() || spec.containerSteps().isPresent();
    }

    /**
     * Copies the inputs of {@code job} into the working directory of {@code request} on {@code node}, each under its
     * base name, a directory as a tree. Blocks; interruptible where the node's transfer is.
     *
     * @throws GateException naming the input; permanent for a missing input or one outside the input root
     */
    void stageIn(Job job, NodeAccess node, RunRequest request) {
        if (job.spec().containerSteps().isPresent()) {
            StepStaging.stageIn(job.spec().containerSteps().get(), job.ownerName(), node, request,
                    realRoot(job.ownerName()), !isRemote(job, request));
            return;
        }
        Optional<Path> root = inputRoot.isEmpty() ? Optional.empty() : Optional.of(root(job.ownerName()));
        for (String input : job.spec().inputFiles()) {
            String target = request.workdir() + "/" + baseName(input);
            checkSharedPath(job, request, target, input);
            Path real;
            BasicFileAttributes attrs;
            try {
                Path source = source(root.orElse(null), input);
                real = source.toRealPath();
                if (root.isPresent() && !real.startsWith(root.get().toRealPath())) {
                    throw new NoSuchFileException(input);
                }
                attrs = Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                // One message for missing and outside: which of the two would tell whether a file the user may not
                // stage exists.
                throw GateException.permanent("input '" + input + "' does not exist"
                        + root.map(r -> " in the input directory " + r + " of user " + job.ownerName()).orElse(""));
            } catch (IOException e) {
                throw GateException.permanent("input '" + input + "' cannot be read: " + IoErrors.reason(e));
            }
            if (!attrs.isDirectory() && !attrs.isRegularFile()) {
                // Reading a FIFO blocks until someone writes it: one user could hold a staging thread of everyone's.
                throw GateException.permanent("input '" + input + "' is " + NoFollow.kind(attrs)
                        + "; only regular files and directories are staged");
            }
            try {
                if (attrs.isDirectory()) {
                    node.uploadTree(real, target);
                } else {
                    node.upload(real, target);
                }
            } catch (GateException e) {
                throw named("cannot stage in '" + input + "'", e);
            }
        }
    }

    /**
     * True when {@code outcome} of {@code job} on {@code node} has something to bring back: outputs after an exit with
     * 0, or, from a node with a directory of its own, the logs after any exit.
     */
    boolean needsStageOut(Job job, NodeAccess node, RunRequest request, RunOutcome outcome) {
        if (outcome.isLost()) {
            return false;
        }
        if (job.spec().containerSteps().isPresent()) {
            return true; // the step logs, whatever the outcome
        }
        return isRemote(job, request) || (outcome.exitCode().getAsInt() == 0 && !job.spec().outputFiles().isEmpty());
    }

    /**
     * Brings back what {@link #needsStageOut} says: first the logs of a remote node (a missing one is skipped), then,
     * after an exit with 0, every output to the same relative path of the engine's job directory. Idempotent: a
     * restart during it does it again.
     *
     * @throws GateException naming the file; permanent for an output the job did not leave
     */
    void stageOut(Job job, NodeAccess node, RunRequest request, RunOutcome outcome) {
        Path local = jobDir.apply(job.id());
        if (isRemote(job, request)) {
            for (String log : List.of(DetachedRun.STDOUT, DetachedRun.STDERR)) {
                try {
                    node.download(request.directory() + "/" + log, local.resolve(log));
                } catch (GateException e) {
                    if (e.isTransient()) {
                        throw named("cannot stage out " + log, e);
                    }
                    LOG.debug("job {} left no {} on {}: {}", job.id(), log, node.node(), e.getMessage());
                }
            }
        }
        if (outcome.exitCode().orElse(-1) != 0) {
            return;
        }
        for (String output : job.spec().outputFiles()) {
            boolean tree = output.endsWith("/");
            String file = tree ? output.substring(0, output.length() - 1) : output;
            Path relative = Path.of(file).normalize();
            if (relative.isAbsolute() || relative.startsWith("..") || relative.toString().isEmpty()) {
                throw GateException.permanent("output '" + output + "' leaves the job directory");
            }
            String remote = request.workdir() + "/" + file;
            checkSharedPath(job, request, remote, output);
            Path target = local.resolve(relative);
            // The engine writes here with its own rights: a link the job planted in its directory (on this machine
            // whatever the input root) must not take the copy elsewhere.
            checkNoLinks(local, target, output);
            try {
                if (tree) {
                    node.downloadTree(remote, target);
                } else {
                    node.download(remote, target);
                }
            } catch (GateException e) {
                throw named("cannot stage out '" + output + "'", e);
            }
        }
    }

    /**
     * On a node that shares the engine's file system: {@code path}, which the engine is about to write or read with
     * its own rights, must have no symbolic link on its way below the job's directory, whether or not an input root is
     * set. A job (of an earlier attempt, or the run that just ended) could otherwise have the engine write an input
     * through a link into any directory, or copy any file it points at into the job's directory. With an input root
     * (users are not trusted) the path must moreover lie in the job's directory. The last component is the copy's
     * business: it is replaced, never followed, or refused.
     */
    private void checkSharedPath(Job job, RunRequest request, String path, String named) {
        if (isRemote(job, request)) {
            return;
        }
        Path dir = Path.of(request.directory()).toAbsolutePath().normalize();
        Path file = Path.of(path).toAbsolutePath().normalize();
        if (!file.startsWith(dir) || file.equals(dir)) {
            if (inputRoot.isPresent()) {
                throw GateException.permanent("'" + named + "' lies outside the job's directory (its workdir is "
                        + request.workdir() + ")");
            }
            return;
        }
        checkNoLinks(dir, file, named);
    }

    /**
     * Every directory between {@code dir} and {@code file} is a directory and no symbolic link (each looked at without
     * following links); the last component is left to the copy, which replaces it without following it.
     *
     * @throws GateException permanent, naming {@code named} and the link
     */
    static void checkNoLinks(Path dir, Path file, String named) {
        Path base = dir.toAbsolutePath().normalize();
        Path target = file.toAbsolutePath().normalize();
        if (!target.startsWith(base) || target.equals(base)) {
            throw GateException.permanent("'" + named + "' lies outside the job's directory");
        }
        Path current = base;
        for (Path part : base.relativize(target.getParent())) {
            current = current.resolve(part);
            BasicFileAttributes attrs;
            try {
                attrs = Files.readAttributes(current, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException missing) {
                return; // created by the copy, which refuses a link that appears meanwhile
            } catch (IOException ex) {
                throw GateException.permanent("'" + named + "': " + base.relativize(current)
                        + " cannot be checked: " + IoErrors.reason(ex));
            }
            if (attrs.isSymbolicLink() || !attrs.isDirectory()) {
                throw GateException.permanent("'" + named + "': " + base.relativize(current)
                        + " in the job's directory is " + (attrs.isSymbolicLink() ? "a symbolic link" : "no directory"));
            }
        }
    }

    /** What the stage-out of a steps job found: the step logs, the outputs copied, and what went wrong. */
    record StepsStagedOut(List<StepLog> steps, List<OutputLog> outputs, Optional<GateException> failed,
                          OptionalInt noContainer) {
        StepsStagedOut(List<StepLog> steps, List<OutputLog> outputs, Optional<GateException> failed) {
            this(steps, outputs, failed, OptionalInt.empty());
        }
    }

    /**
     * The stage-out of a steps job: the logs of its steps (whatever the outcome), then, when the run succeeded, its
     * outputs. Never throws: a failure to copy the outputs comes back with the logs.
     */
    StepsStagedOut stageOutSteps(Job job, NodeAccess node, RunRequest request, RunOutcome outcome) {
        return stageOutSteps(job, node, request, outcome, new StepsProgress());
    }

    /**
     * What a steps stage-out has found so far, for a stage-out cut off by the staging timeout: the step logs once
     * read, and every output file already in place. Thread-safe.
     */
    static final class StepsProgress {
        private volatile List<StepLog> steps = List.of();
        private volatile OptionalInt noContainer = OptionalInt.empty();
        private final List<OutputLog> outputs = java.util.Collections.synchronizedList(new ArrayList<>());

        /** What was found until now, ended by {@code failed}. */
        StepsStagedOut now(Optional<GateException> failed) {
            synchronized (outputs) {
                return new StepsStagedOut(steps, List.copyOf(outputs), failed, noContainer);
            }
        }
    }

    /**
     * As {@link #stageOutSteps(Job, NodeAccess, RunRequest, RunOutcome)}, keeping what it finds in {@code progress}.
     */
    StepsStagedOut stageOutSteps(Job job, NodeAccess node, RunRequest request, RunOutcome outcome,
                                 StepsProgress progress) {
        ContainerSteps steps = job.spec().containerSteps().orElseThrow();
        boolean shared = !isRemote(job, request);
        Path local = jobDir.apply(job.id());
        StepStaging.StepsRead read = StepStaging.readSteps(steps, node, request, shared, local);
        progress.steps = read.logs();
        progress.noContainer = read.noContainer();
        if (outcome.isLost() || outcome.exitCode().orElse(-1) != 0) {
            return progress.now(Optional.empty());
        }
        try {
            Optional<Path> root = realRoot(job.ownerName());
            Optional<Path> lexical = root.isPresent() ? Optional.of(root(job.ownerName())) : Optional.empty();
            StepStaging.collect(steps, job.ownerName(), node, request, root, lexical, shared, local,
                    progress.outputs);
            return progress.now(Optional.empty());
        } catch (GateException e) {
            // The files copied before the failure are in the user's storage: they stay logged.
            return progress.now(Optional.of(e));
        } catch (RuntimeException e) {
            return progress.now(Optional.of(GateException.transientFailure("staging failed: " + e, e,
                    Optional.empty())));
        }
    }

    /**
     * The step logs of a run that ended without a stage-out (stopped, or its end settled at once): read where they
     * are, or none when they cannot be.
     */
    List<StepLog> stepLogs(Job job, NodeAccess node, RunRequest request) {
        if (job.spec().containerSteps().isEmpty()) {
            return List.of();
        }
        try {
            return StepStaging.readLogs(job.spec().containerSteps().get(), node, request, !isRemote(job, request),
                    jobDir.apply(job.id()));
        } catch (RuntimeException e) {
            LOG.warn("cannot read the step logs of job {}: {}", job.id(), e.toString());
            return List.of();
        }
    }

    /** The real path of {@code owner}'s input root, when there is one. */
    private Optional<Path> realRoot(String owner) {
        if (inputRoot.isEmpty()) {
            return Optional.empty();
        }
        Path root = root(owner);
        try {
            return Optional.of(root.toRealPath());
        } catch (IOException e) {
            throw GateException.permanent("the input directory " + root + " of user " + owner + " does not exist");
        }
    }

    /** The node keeps the job's directory somewhere else than the engine (a remote node): its logs come back. */
    private boolean isRemote(Job job, RunRequest request) {
        return !request.directory().equals(jobDir.apply(job.id()).toString());
    }

    /** The input root of {@code owner}; refused when the name cannot be one directory of a path. */
    private Path root(String owner) {
        Path root = inputRoot.orElseThrow();
        if (!root.toString().contains(OWNER)) {
            return root;
        }
        if (owner.isEmpty() || owner.equals(".") || owner.equals("..") || owner.contains("/")
                || owner.indexOf('\0') >= 0) {
            throw GateException.permanent("the user name '" + owner + "' cannot name an input directory");
        }
        return Path.of(root.toString().replace(OWNER, owner));
    }

    /** Where {@code input} is on the engine's machine: relative inputs are relative to the root (else to the cwd). */
    private static Path source(Path root, String input) {
        Path p = Path.of(input);
        if (p.isAbsolute()) {
            return p.normalize();
        }
        return (root != null ? root.resolve(p) : p.toAbsolutePath()).normalize();
    }

    private static String baseName(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    static GateException named(String what, GateException e) {
        String message = what + ": " + e.getMessage();
        return e.isTransient() ? GateException.transientFailure(message, e, e.retryAfter())
                : GateException.permanent(message, e);
    }
}
