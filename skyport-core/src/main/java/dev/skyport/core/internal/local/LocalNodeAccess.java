package dev.skyport.core.internal.local;

import dev.skyport.api.JobId;
import dev.skyport.core.internal.FileTrees;
import dev.skyport.core.internal.NoFollow;
import dev.skyport.gate.ContainerRun;
import dev.skyport.gate.ContainerRuntime;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunIsolation;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;
import dev.skyport.gate.StepLayout;
import dev.skyport.gate.StepsRun;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs jobs on this machine as detached process groups, following the {@link DetachedRun} protocol. Runs are started
 * by the node's {@link LocalLauncher} and report their end through it; a check every {@code launcher-check-ms} finds
 * those whose wrapper was killed (a SIGKILL reaches the whole group) and requests a dead or stuck launcher had not
 * started. Without a launcher (no bash, or option {@code launcher: none}, or a request that cannot go through it)
 * a run is a process of this JVM's, watched through {@link Process#onExit()}. Runs found after a restart are no
 * children of this JVM: their end is polled, looking for the exit-code file or a process that is gone or a zombie.
 * (ProcessHandle.onExit would wait forever on a zombie, which is what an exited run becomes where PID 1 does not reap
 * orphans, as in many containers.)
 */
final class LocalNodeAccess implements NodeAccess {
    private static final Logger LOG = LoggerFactory.getLogger(LocalNodeAccess.class);
    private static final File DEV_NULL = new File("/dev/null");
    /** How long a probe waits for a run that claimed its directory to record its process id. */
    private static final Duration PID_GRACE = Duration.ofSeconds(5);

    /** How often the end of a run found after a restart is checked. */
    private static final long POLL_MILLIS = 100;
    /** How long a request may wait for the launcher to start it before the launcher is taken for stuck. */
    private static final Duration STUCK_LAUNCHER = Duration.ofSeconds(60);

    /** What an isolated job keeps of the engine's environment: the rest may hold the engine's secrets. */
    private static final List<String> KEPT_ENV = List.of("PATH", "LANG", "LANGUAGE", "TZ");
    /** Besides {@link #KEPT_ENV}, what a container runtime's client keeps of the engine's environment. */
    private static final List<String> CLIENT_ENV = List.of("HOME", "XDG_RUNTIME_DIR", "USER", "LOGNAME");
    /**
     * How a sandboxed run started as a process of this JVM's execs bubblewrap: SIGTERM ignored (see
     * {@link DetachedRun}), and the job's variables open on the descriptor bubblewrap reads its {@code --args} from.
     * A failed open ends the shell before bubblewrap, which would otherwise wait for arguments on whatever fd 9 is.
     */
    /** A job directory where jobs run as mapped accounts: the engine's, written by the account's group, sticky. */
    private static final int JOB_DIRECTORY_MODE = 01770;
    /** The paths handed over by one chown. */
    private static final int CHOWN_BATCH = 512;
    /** The engine's uid. */
    private static final int ENGINE_UID = engineUid();
    /** What the engine writes by path in a job directory and keeps its own, where jobs run as mapped accounts. */
    private static final Set<String> ENGINE_FILES = Set.of(DetachedRun.SCRIPT, DetachedRun.STDOUT,
            DetachedRun.STDERR);
    private static final String SANDBOX_START = "trap '' TERM INT HUP; exec " + LocalLauncher.SANDBOX_ARGS_FD
            + "<\"$1\" || exit 1; shift; exec \"$@\"";

    private final String node;
    private final LocalIsolation isolation;
    private final Optional<ContainerRuntime> containers;
    /** The container runtime found on this machine, once looked for with success. */
    private volatile String runtimePath;
    private final Map<RunHandle, Process> children = new ConcurrentHashMap<>();
    private final Map<RunHandle, CompletableFuture<RunOutcome>> polled = new ConcurrentHashMap<>();
    /** Runs started through the launcher whose end is not known yet. */
    private final Map<RunHandle, LocalLauncher.Run> launched = new ConcurrentHashMap<>();
    private final Optional<LocalLauncher> launcher;
    /** The engine's own directory, of which {@link #sandboxArgsDirectory} makes a private one once needed. */
    private final Path argsBase;
    /** The directory of the job directories. */
    private final Path jobs;
    private Path sandboxArgsDirectory;
    private final AtomicLong sandboxArgsTokens = new AtomicLong();
    /** How often runs started through the launcher are checked, for those that ended without a word. */
    private final Duration checkInterval;
    private ScheduledExecutorService poller;
    private boolean polling;
    private boolean checking;

    LocalNodeAccess(String node, LocalIsolation isolation, Optional<ContainerRuntime> containers) {
        this(node, isolation, containers, Optional.empty(), Duration.ofSeconds(1), Path.of("/nonexistent"),
                Path.of("/nonexistent"));
    }

    /**
     * @param bash the bash that runs the launcher; empty: every run is a process of this JVM's, as before the launcher
     * @param checkInterval how often runs started through the launcher are checked for an end nobody reported
     * @param argsBase the engine's own directory for the files of sandbox arguments, which no job may reach
     * @param jobs the directory of the job directories, which only the engine writes
     */
    LocalNodeAccess(String node, LocalIsolation isolation, Optional<ContainerRuntime> containers,
                    Optional<String> bash, Duration checkInterval, Path argsBase, Path jobs) {
        this.node = node;
        this.jobs = jobs.toAbsolutePath().normalize();
        this.isolation = isolation;
        this.containers = containers;
        this.checkInterval = checkInterval;
        this.argsBase = argsBase;
        this.launcher = bash.map(b -> new LocalLauncher(b, System.getenv(), KEPT_ENV, CLIENT_ENV, new Reports()));
        if (isolation.mode() == RunIsolation.Mode.ACCOUNT) {
            takeBackJobDirectories();
        }
    }

    /**
     * Makes every job directory from before the engine kept them (the account's) the engine's, as a launch does: also
     * those of jobs that run now or have ended, whose run files and logs the account could otherwise still swap.
     */
    private void takeBackJobDirectories() {
        if (!Files.isDirectory(jobs)) {
            return;
        }
        try (var dirs = Files.newDirectoryStream(jobs)) {
            for (Path dir : dirs) {
                if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || ownedByUs(dir)) {
                    continue;
                }
                int gid = (Integer) Files.getAttribute(dir, "unix:gid", LinkOption.NOFOLLOW_LINKS);
                claimJobDirectory(dir, gid);
                for (String name : ENGINE_FILES) {
                    Path p = dir.resolve(name);
                    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                        Files.setAttribute(p, "unix:uid", ENGINE_UID, LinkOption.NOFOLLOW_LINKS);
                        if (!isEngines(p, false)) {
                            FileTrees.delete(p); // a link or FIFO the account put there
                        }
                    }
                }
            }
        } catch (IOException e) {
            LOG.warn("Cannot take back the job directories in {}: {}", jobs, e.getMessage());
        }
    }

    @Override
    public String node() {
        return node;
    }

    @Override
    public RunHandle launch(RunRequest request) {
        Path dir = Path.of(request.directory());
        Path runDir = Path.of(request.runDirectory());
        // Before anything is written: a machine without a runtime fails the job with a reason, and leaves nothing.
        boolean steps = request.steps().isPresent();
        Optional<String> runtime = request.containerImage().isPresent() || steps ? Optional.of(runtime())
                : Optional.empty();
        try {
            // Scripts may carry secrets (the Jupyter spawner puts the hub's API token in its script): the job
            // directory and the script are the owner's only. The script is run by its interpreter, so it needs no x bit.
            // A directory made here holds nothing yet: the checks below, a dozen system calls, are for one that was
            // there before (an earlier attempt's, or one the engine staged files into).
            RunIsolation runIsolation = isolation.forOwner(request.owner());
            boolean accounts = runIsolation.mode() == RunIsolation.Mode.ACCOUNT;
            boolean fresh = createJobDirectory(dir);
            if (accounts) {
                // Before anything in it is checked: a directory from before this layout was the account's.
                claimJobDirectory(dir, runIsolation.gid());
            }
            if (fresh) {
                Files.createDirectory(runDir);
            } else {
                // An earlier attempt of the job owned this directory: what it may have planted where the engine (root,
                // when jobs run as mapped accounts) writes next must not redirect those writes.
                for (String name : List.of(DetachedRun.SCRIPT, DetachedRun.STDOUT, DetachedRun.STDERR)) {
                    removePlantedFile(dir.resolve(name), accounts);
                }
                removePlantedDirectory(runDir);
                createRunDirectory(runDir);
                // Only a probe's claim may be there before the launch (it fences a late launch off). Anything else was
                // left by an earlier attempt of the job (in sandbox mode the job runs as the engine's uid, so ownership
                // tells nothing), perhaps links where the wrapper, outside the sandbox, writes the pid and exit code.
                try (var entries = Files.list(runDir)) {
                    for (Path entry : entries.toList()) {
                        boolean probeClaim = entry.getFileName().toString().equals(DetachedRun.CLAIM)
                                && Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS);
                        if (!probeClaim) {
                            FileTrees.delete(entry);
                        }
                    }
                }
            }
            if (request.script().isPresent()) {
                Path script = dir.resolve(DetachedRun.SCRIPT);
                createEngineFile(script, accounts);
                Files.writeString(script, request.script().get(), StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS);
            }
            if (steps) {
                // The engine has placed the inputs; a shared directory nothing was placed in may not exist yet, and
                // the runtime refuses to mount a missing path.
                for (StepLayout.Mount m : StepLayout.mounts(request.directory(), request.attempt(),
                        request.steps().get())) {
                    if (m.directory() && !m.readOnly()) {
                        NoFollow.openMaking(dir, NoFollow.names(dir, Path.of(m.host()))).close();
                    }
                }
            }
            if (accounts) {
                // The logs are made here, the engine's, before any process of the account could make them its own.
                for (String log : List.of(DetachedRun.STDOUT, DetachedRun.STDERR)) {
                    createEngineFile(dir.resolve(log), true);
                }
                List<Path> mounts = steps ? StepLayout.mounts(request.directory(), request.attempt(),
                        request.steps().get()).stream().map(m -> Path.of(m.host())).toList() : List.of();
                handOver(dir, mounts, runIsolation.uid(), runIsolation.gid());
            }
            Optional<Path> cgroup = isolation.cgroup(request.job(), request.attempt());
            if (steps) {
                Files.writeString(runDir.resolve(ContainerRun.MARK), StepsRun.mark(request),
                        StandardOpenOption.CREATE_NEW);
                for (int i = 0; i < request.steps().get().steps().size(); i++) {
                    Path envFile = runDir.resolve(StepsRun.envFileName(i));
                    createPrivate(envFile, false);
                    Files.writeString(envFile, StepsRun.envFile(request, i), StandardOpenOption.WRITE,
                            StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS);
                }
            } else if (runtime.isPresent()) {
                // The container is the job's sandbox: bubblewrap around the runtime's client would only break it.
                Files.writeString(runDir.resolve(ContainerRun.MARK),
                        ContainerRun.name(request.job(), request.attempt()) + "\n", StandardOpenOption.CREATE_NEW);
                Path envFile = runDir.resolve(ContainerRun.ENV_FILE);
                createPrivate(envFile, false);
                Files.writeString(envFile, ContainerRun.envFile(request), StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS);
            }
            Optional<RunHandle> viaLauncher = launchThroughLauncher(request, runtime, runIsolation, cgroup);
            if (viaLauncher.isPresent()) {
                return viaLauncher.get();
            }
            List<String> argv;
            Optional<Path> sandboxArgs = Optional.empty();
            if (steps) {
                argv = DetachedRun.command(request, StepsRun.program(request, runtime.get(), containers.get(),
                        runIsolation, Optional.of(engineUser())), RunIsolation.none(), cgroup.map(Path::toString));
            } else if (runtime.isPresent()) {
                argv = DetachedRun.command(request, ContainerRun.program(request, runtime.get(), containers.get(),
                        runIsolation, Optional.of(engineUser())), RunIsolation.none(), cgroup.map(Path::toString));
            } else if (runIsolation.mode() != RunIsolation.Mode.NONE) {
                // As through the launcher: setsid, the wrappers and bubblewrap run outside the sandbox as the engine
                // (root in account mode), so the job's variables (LD_PRELOAD of a .so it staged...) must not be in
                // their environment. bubblewrap sets them for the job from a private file on a descriptor, not from
                // its arguments, which every user of the machine can read.
                sandboxArgs = Optional.of(writeSandboxArgs(request));
                List<String> program = new ArrayList<>(List.of("/bin/sh", "-c", SANDBOX_START, "skyport-sandbox",
                        sandboxArgs.get().toString()));
                List<String> sandbox = new ArrayList<>(DetachedRun.sandboxProgram(request, runIsolation));
                sandbox.addAll(1, List.of("--args", Integer.toString(LocalLauncher.SANDBOX_ARGS_FD)));
                program.addAll(sandbox);
                program.addAll(DetachedRun.program(request));
                argv = DetachedRun.command(request, program, RunIsolation.none(), cgroup.map(Path::toString));
            } else {
                argv = DetachedRun.command(request, DetachedRun.program(request), runIsolation,
                        cgroup.map(Path::toString));
            }
            ProcessBuilder pb = new ProcessBuilder(argv)
                    .directory(dir.toFile())
                    .redirectInput(DEV_NULL)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD);
            Map<String, String> env = pb.environment();
            if (runtime.isPresent()) {
                // The client runs as the engine's user outside any sandbox: none of the job's variables (LD_PRELOAD,
                // PATH, DOCKER_HOST, CONTAINERS_CONF...) may reach it; the container gets them from the env file. It
                // keeps what a rootless podman needs to find its storage (HOME, XDG_RUNTIME_DIR) and its user.
                env.keySet().removeIf(k -> !KEPT_ENV.contains(k) && !CLIENT_ENV.contains(k) && !k.startsWith("LC_"));
            } else if (sandboxArgs.isPresent()) {
                // The job gets these and what is in its args file; the rest may hold the engine's secrets.
                env.keySet().removeIf(k -> !KEPT_ENV.contains(k) && !k.startsWith("LC_"));
            } else {
                env.putAll(request.environment());
            }
            Process process;
            try {
                process = pb.start();
            } catch (IOException | RuntimeException e) {
                sandboxArgs.ifPresent(LocalNodeAccess::deleteQuietly);
                throw e;
            }
            // bubblewrap has read it by the time the run ends; a killed engine leaves its few, as the launcher does.
            sandboxArgs.ifPresent(args -> process.onExit().whenComplete((p, e) -> deleteQuietly(args)));
            RunHandle handle = new RunHandle(request.job(), request.attempt(), request.directory(), process.pid());
            children.put(handle, process);
            return handle;
        } catch (IOException e) {
            throw GateException.transientFailure("cannot start job " + request.job() + ": " + e.getMessage(), e,
                    Optional.empty());
        }
    }

    /**
     * Starts {@code request} through the launcher (its directories and files are in place), unless there is no
     * launcher or the request holds what a request to it cannot carry; then empty, and the caller starts it itself.
     */
    private Optional<RunHandle> launchThroughLauncher(RunRequest request, Optional<String> runtime,
                                                      RunIsolation runIsolation, Optional<Path> cgroup)
            throws IOException {
        if (launcher.isEmpty()) {
            return Optional.empty();
        }
        List<String> program;
        String envMode;
        Map<String, String> exports = new LinkedHashMap<>();
        boolean sandboxed = false;
        if (request.steps().isPresent()) {
            program = StepsRun.program(request, runtime.get(), containers.get(), runIsolation,
                    Optional.of(engineUser()));
            envMode = "client";
        } else if (runtime.isPresent()) {
            program = ContainerRun.program(request, runtime.get(), containers.get(), runIsolation,
                    Optional.of(engineUser()));
            envMode = "client";
        } else {
            program = new ArrayList<>(DetachedRun.sandboxProgram(request, runIsolation));
            sandboxed = runIsolation.mode() != RunIsolation.Mode.NONE;
            envMode = sandboxed ? "isolated" : "plain";
            if (sandboxed) {
                // bubblewrap runs outside the sandbox, as the engine (root in account mode): the job's variables
                // (LD_PRELOAD, LD_AUDIT, GCONV_PATH...) must not be in its environment but set by it for the job. It
                // reads them from a descriptor (--args), not its arguments, which every user of the machine can read.
                program.addAll(1, List.of("--args", Integer.toString(LocalLauncher.SANDBOX_ARGS_FD)));
            } else {
                exports.putAll(request.environment());
            }
            program.addAll(DetachedRun.program(request));
        }
        boolean expressible = exports.keySet().stream().allMatch(LocalLauncher::canSet)
                && exports.values().stream().allMatch(LocalLauncher::canQuote)
                && program.stream().allMatch(LocalLauncher::canQuote)
                && LocalLauncher.canQuote(request.workdir()) && LocalLauncher.canQuote(request.directory());
        if (!expressible) {
            return Optional.empty();
        }
        if (cgroup.isPresent()) {
            // Made here rather than by a mkdir the run would spawn; removed when its end is known (ended, probe, sweep).
            CgroupHierarchy.create(cgroup.get(), request.memoryBytes(), request.cpus());
        }
        Optional<Path> sandboxArgs;
        try {
            sandboxArgs = sandboxed ? Optional.of(writeSandboxArgs(request)) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            cgroup.ifPresent(CgroupHierarchy::remove);
            throw e;
        }
        RunHandle handle = new RunHandle(request.job(), request.attempt(), request.directory(), 0);
        LocalLauncher.Run run = launcher.get().newRun(handle, request, cgroup, sandboxArgs);
        // Claimed and ended, or fenced off: nothing reads it any more.
        sandboxArgs.ifPresent(args -> run.end.whenComplete((o, e) -> deleteQuietly(args)));
        String launch = LocalLauncher.request(run, envMode, exports, request.workdir(), cgroup, program);
        launched.put(handle, run);
        // Kept until watched: a run may end before the engine asks.
        run.end.whenComplete((o, e) -> {
            if (run.watched) {
                launched.remove(handle);
            }
        });
        launcher.get().send(run, launch);
        startChecks();
        return Optional.of(handle);
    }

    /**
     * Writes the {@code --setenv} arguments of a sandboxed run (through the launcher or as a process of this JVM's) to a
     * new file of the engine's own, {@code 0600} in a {@code 0700} directory no job can reach; {@return its path}
     */
    private Path writeSandboxArgs(RunRequest request) throws IOException {
        StringBuilder args = new StringBuilder();
        Map<String, String> env = new LinkedHashMap<>();
        env.put("HOME", request.directory());
        env.putAll(request.environment());
        for (Map.Entry<String, String> e : env.entrySet()) {
            // A NUL would end an argument early and make the rest bubblewrap options of the job's choosing.
            if (e.getKey().isEmpty() || e.getKey().indexOf('=') >= 0 || e.getKey().indexOf('\0') >= 0
                    || e.getValue().indexOf('\0') >= 0) {
                throw GateException.permanent("job " + request.job() + " has a variable that cannot be set: its name "
                        + "is empty or holds '=' or a NUL, or its value holds a NUL");
            }
            args.append("--setenv\0").append(e.getKey()).append('\0').append(e.getValue()).append('\0');
        }
        Path file = sandboxArgsDirectory().resolve(sandboxArgsTokens.incrementAndGet() + ".args");
        writePrivate(file, args.toString());
        return file;
    }

    /** Of a random name: a previous engine's runs may still be reading from its own, whose names this one's repeat. */
    private synchronized Path sandboxArgsDirectory() throws IOException {
        if (sandboxArgsDirectory == null) {
            Files.createDirectories(argsBase, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            sandboxArgsDirectory = Files.createTempDirectory(argsBase, "runs-", PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        }
        return sandboxArgsDirectory;
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a few hundred bytes in the engine's own directory
        }
    }

    private static void writePrivate(Path file, String text) throws IOException {
        try (var out = Files.newByteChannel(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            out.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
        }
    }

    /** What the launcher reports, settled. */
    private final class Reports implements LocalLauncher.Listener {
        @Override
        public void ended(LocalLauncher.Run run) {
            settle(run, outcome(run.runDir));
        }

        @Override
        public void fenced(LocalLauncher.Run run) {
            // As a run of its own process that found its claim taken: it exits without an exit code.
            settle(run, RunOutcome.lost("the process ended without recording an exit code"));
        }

        @Override
        public void launcherGone(Collection<LocalLauncher.Run> sent) {
            for (LocalLauncher.Run run : sent) {
                if (!run.end.isDone()) {
                    fenceIfUnclaimed(run, "the launcher stopped before the run started; it never will");
                }
            }
        }

        @Override
        public void failed(LocalLauncher.Run run, IOException why) {
            LOG.warn("cannot start the local launcher for job {}: {}", run.request.job(), why.getMessage());
            fenceIfUnclaimed(run, "the run could not be started: " + why.getMessage());
        }
    }

    /**
     * Takes the claim of {@code run} when nobody has: it never starts, and ends lost with {@code why}. A run that was
     * claimed goes on; its end is reported or found by the checks. True when it was fenced off here.
     */
    private boolean fenceIfUnclaimed(LocalLauncher.Run run, String why) {
        try {
            Files.createFile(run.runDir.resolve(DetachedRun.CLAIM));
        } catch (FileAlreadyExistsException claimed) {
            return false;
        } catch (IOException e) {
            LOG.warn("cannot fence off the run of job {}: {}", run.request.job(), e.toString());
            return false;
        }
        settle(run, RunOutcome.lost(why));
        return true;
    }

    /** Completes {@code run} with {@code outcome}; its cgroup, emptied by the run, goes. */
    private void settle(LocalLauncher.Run run, RunOutcome outcome) {
        if (run.end.complete(outcome) && run.cgroup.isPresent() && !CgroupHierarchy.tryRemove(run.cgroup.get())) {
            // Killed members are still exiting: wait for them off the reporting thread.
            CompletableFuture.runAsync(() -> CgroupHierarchy.remove(run.cgroup.get()));
        }
    }

    /** Looks at {@code run} for an end nobody reported: a wrapper killed, a launcher gone or stuck. */
    private void check(LocalLauncher.Run run) {
        if (run.end.isDone()) {
            return;
        }
        long pid = pidOf(run);
        if (pid > 0) {
            if (!isRunning(pid)) {
                settle(run, outcome(run.runDir));
            }
            return;
        }
        long age = System.nanoTime() - run.queuedNanos;
        if (Files.exists(run.runDir.resolve(DetachedRun.CLAIM))) {
            if (age > PID_GRACE.toNanos() * 6 && pidOf(run) == 0) {
                // Claimed without a pid for long: the wrapper died right after its claim.
                settle(run, outcome(run.runDir));
            }
            return;
        }
        LocalLauncher.Generation sentTo = run.sentTo;
        if (launcher.isPresent() && launcher.get().isClosed()) {
            // Closing marks the launcher dead while it still reads what it was sent (LocalLauncher#close).
            return;
        }
        if (sentTo != null && sentTo.dead) {
            fenceIfUnclaimed(run, "the launcher stopped before the run started; it never will");
        } else if (sentTo != null && System.nanoTime() - run.sentNanos > STUCK_LAUNCHER.toNanos()) {
            launcher.ifPresent(LocalLauncher::restart);
        }
    }

    /** The process group of {@code run} from its pid file; 0 before the wrapper wrote it. */
    private static long pidOf(LocalLauncher.Run run) {
        long pid = run.pid;
        if (pid == 0) {
            try {
                String text = Files.readString(run.runDir.resolve(DetachedRun.PID));
                if (text.endsWith("\n")) {
                    pid = Long.parseLong(text.trim());
                    run.pid = pid;
                }
            } catch (IOException | NumberFormatException notYet) {
                return 0;
            }
        }
        return pid;
    }

    private synchronized void startChecks() {
        if (!checking) {
            checking = true;
            executor().scheduleWithFixedDelay(() -> {
                for (LocalLauncher.Run run : launched.values()) {
                    try {
                        check(run);
                    } catch (RuntimeException e) {
                        LOG.warn("cannot check the run of job {}: {}", run.request.job(), e.toString());
                    }
                }
            }, checkInterval.toMillis(), checkInterval.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Checks {@code run} often for a while: a SIGKILL ends its wrapper too, which then reports nothing. */
    private void checkSoon(LocalLauncher.Run run) {
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        ScheduledExecutorService ex = executor();
        Runnable[] self = new Runnable[1];
        self[0] = () -> {
            check(run);
            if (!run.end.isDone() && System.nanoTime() < until) {
                ex.schedule(self[0], 25, TimeUnit.MILLISECONDS);
            }
        };
        ex.schedule(self[0], 10, TimeUnit.MILLISECONDS);
    }

    /** Creates the job directory, the owner's only, with its parents; false when it was there already. */
    private static boolean createJobDirectory(Path dir) throws IOException {
        FileAttribute<?> owner = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
        try {
            Files.createDirectory(dir, owner);
            return true;
        } catch (FileAlreadyExistsException there) {
            return false;
        } catch (NoSuchFileException noParent) {
            Files.createDirectories(dir.getParent());
        }
        try {
            Files.createDirectory(dir, owner);
            return true;
        } catch (FileAlreadyExistsException raced) {
            // another launch of the same job created it first, with the same permissions
            return false;
        }
    }

    private static void createPrivate(Path path, boolean directory) throws IOException {
        try {
            if (directory) {
                Files.createDirectory(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            }
        } catch (FileAlreadyExistsException raced) {
            // another launch of the same job created it first, with the same permissions
        }
    }

    /**
     * Deletes {@code path} when it is a symbolic link or no regular file, or, where jobs run as mapped accounts
     * ({@code accounts}), a file someone else than Sky Port made.
     */
    private static void removePlantedFile(Path path, boolean accounts) throws IOException {
        if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) || (accounts && !ownedByUs(path))) {
            FileTrees.delete(path);
        }
    }

    /**
     * Deletes {@code path} when it is a symbolic link, no directory, or a directory someone else than Sky Port made (a
     * job running as a mapped account, forging its next run's files).
     */
    private static void removePlantedDirectory(Path path) throws IOException {
        if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS) || !ownedByUs(path)) {
            FileTrees.delete(path);
        }
    }

    /**
     * Creates a run directory (and the job directory when missing) where a planted one was just removed: a job's
     * account may make one again in between (it can write the job directory), and one it made is refused rather
     * than used.
     */
    private static void createRunDirectory(Path runDir) throws IOException {
        try {
            Files.createDirectory(runDir);
        } catch (NoSuchFileException noJobDirectory) {
            // a probe of a run whose launch never made the job directory (the engine was killed before)
            createJobDirectory(runDir.getParent());
            createRunDirectory(runDir);
        } catch (FileAlreadyExistsException there) {
            // a probe's, with its claim; or one made in between by someone else
            if (!Files.isDirectory(runDir, LinkOption.NOFOLLOW_LINKS) || !ownedByUs(runDir)) {
                throw new IOException(runDir + " was made by someone else than Sky Port");
            }
        }
    }

    /** The engine's {@code uid:gid}. */
    private static String engineUser() throws IOException {
        Path self = Path.of("/proc/self");
        return Files.getAttribute(self, "unix:uid") + ":" + Files.getAttribute(self, "unix:gid");
    }

    private static boolean ownedByUs(Path path) throws IOException {
        return ((Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS)) == ENGINE_UID;
    }

    private static int engineUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
    }

    /**
     * Makes the job directory the engine's, written by the account's group, sticky ({@code 1770}): the job creates and
     * removes its own files, but cannot rename or replace an entry it does not own, not even from outside the sandbox
     * through {@code /proc/<pid>/cwd}, where the sandbox's read-only mounts do not apply. So the run directories, the
     * script and the logs, which the wrapper (root) and the engine write and read by path, stay the engine's. Nobody
     * else in the group reaches the directory: the jobs directory is the engine's only.
     */
    private static void claimJobDirectory(Path dir, int gid) throws IOException {
        Files.setAttribute(dir, "unix:uid", ENGINE_UID, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(dir, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(dir, "unix:mode", JOB_DIRECTORY_MODE, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Makes {@code path}, a file the engine writes by path in the job directory, unless it is there, and refuses it
     * when it is not the engine's regular file: where jobs run as accounts ({@code accounts}) the account writes the
     * directory and may have made that name its own between the removal of a planted one and now.
     */
    private static void createEngineFile(Path path, boolean accounts) throws IOException {
        createPrivate(path, false);
        if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) || (accounts && !ownedByUs(path))) {
            throw new IOException(path + " was made by someone else than Sky Port");
        }
    }

    /**
     * Gives the job's account what the engine placed for it: its files and directories in the job directory besides
     * the engine's own (run directories, script and logs, which only get the account's group to be read), and the
     * mounts of a steps run ({@code mounts}), whose directories above stay the engine's. Only what the engine owns
     * changes hands ({@code chown --from}), and GNU chown walks without following links, opening nothing that could
     * block (a FIFO) and checking each entry is still the one it looked at: what a job made or swapped meanwhile
     * hands nothing outside over.
     */
    private static void handOver(Path dir, List<Path> mounts, int uid, int gid) throws IOException {
        // Only the engine's own regular files: a name the account made (a link where a command job has no script) is
        // left alone, and one of the engine's in this directory cannot be swapped between the check and the change.
        for (String name : ENGINE_FILES) {
            Path p = dir.resolve(name);
            if (isEngines(p, false)) {
                Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r-----"));
            }
        }
        // Only entries the engine owns, which the account can neither swap nor write into until chown gets to them:
        // a tree the account already owns is not walked (it could move a file of root's into it meanwhile).
        List<String> targets = new ArrayList<>();
        try (var entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (!DetachedRun.isRunDirectoryName(name) && !ENGINE_FILES.contains(name)
                        && !name.equals(StepLayout.MOUNTS) && (isEngines(entry, true) || isEngines(entry, false))) {
                    targets.add("./" + name);
                }
            }
        }
        if (!mounts.isEmpty()) {
            // chown resolves these paths by name: every directory on the way must be one the account cannot swap.
            Path top = dir.resolve(StepLayout.MOUNTS);
            if (Files.isDirectory(top, LinkOption.NOFOLLOW_LINKS) && !ownedByUs(top)) {
                // The account's, in a job directory from before this layout. Once the engine's, the account cannot
                // swap it (sticky directory): only then, checked again, does it lose the account's rights.
                Files.setAttribute(top, "unix:uid", ENGINE_UID, LinkOption.NOFOLLOW_LINKS);
                if (!isEngines(top, true)) {
                    throw new IOException(top + " was made by someone else than Sky Port");
                }
                Files.setPosixFilePermissions(top, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            for (Path m : mounts) {
                for (Path a = m.getParent(); a != null && !a.equals(dir); a = a.getParent()) {
                    if (!isEngines(a, true)) {
                        throw new IOException(a + " was made by someone else than Sky Port");
                    }
                }
                if (isEngines(m, true) || isEngines(m, false)) {
                    targets.add("./" + dir.relativize(m));
                }
            }
        }
        for (int from = 0; from < targets.size(); from += CHOWN_BATCH) {
            List<String> argv = new ArrayList<>(List.of("chown", "-R", "-P", "--from=" + ENGINE_UID,
                    uid + ":" + gid, "--"));
            argv.addAll(targets.subList(from, Math.min(targets.size(), from + CHOWN_BATCH)));
            Process p = new ProcessBuilder(argv).directory(dir.toFile()).redirectInput(DEV_NULL)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            try {
                int status = p.waitFor();
                if (status != 0) {
                    // What was handed over is; the rest stays readable to the job through the directories' modes.
                    LOG.warn("Not all of {} went to the job's account: chown exited {}", dir, status);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted handing " + dir + " over");
            }
        }
    }

    /** Whether {@code path} is a directory ({@code directory}) or regular file of the engine's, not a link. */
    private static boolean isEngines(Path path, boolean directory) throws IOException {
        try {
            return (directory ? Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)
                    : Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) && ownedByUs(path);
        } catch (NoSuchFileException gone) {
            return false; // the job removed it meanwhile
        }
    }

    @Override
    public CompletableFuture<RunOutcome> watch(RunHandle handle) {
        LocalLauncher.Run run = launched.get(handle);
        if (run != null) {
            run.watched = true;
            if (run.end.isDone()) {
                launched.remove(handle);
            }
            return run.end;
        }
        Process child = children.get(handle);
        if (child != null) {
            return child.onExit().handle((ignored, error) -> {
                children.remove(handle);
                return ended(handle);
            });
        }
        CompletableFuture<RunOutcome> ended = polled.computeIfAbsent(handle, h -> new CompletableFuture<>());
        startPoller();
        return ended;
    }

    private synchronized void startPoller() {
        if (!polling) {
            polling = true;
            executor().scheduleWithFixedDelay(this::poll, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private synchronized ScheduledExecutorService executor() {
        if (poller == null) {
            poller = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "skyport-local-poller");
                t.setDaemon(true);
                return t;
            });
        }
        return poller;
    }

    private void poll() {
        for (Map.Entry<RunHandle, CompletableFuture<RunOutcome>> e : polled.entrySet()) {
            RunHandle handle = e.getKey();
            Path runDir = runDir(handle);
            if (readStatus(runDir).isPresent() || !isRunning(handle.processGroup())) {
                polled.remove(handle);
                e.getValue().complete(ended(handle));
            }
        }
    }

    /** True when the process exists and is not a zombie. */
    static boolean isRunning(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int close = stat.lastIndexOf(')');
            return close > 0 && close + 2 < stat.length() && stat.charAt(close + 2) != 'Z';
        } catch (IOException gone) {
            return false;
        }
    }

    @Override
    public RunProbe probe(RunRequest request) {
        Path runDir = Path.of(request.runDirectory());
        OptionalInt status = readStatus(runDir);
        if (status.isPresent()) {
            // What the job left behind when its wrapper ended while the engine was down goes with it.
            isolation.cgroup(request.job(), request.attempt()).ifPresent(CgroupHierarchy::remove);
            return RunProbe.ended(RunOutcome.exited(status.getAsInt()));
        }
        try {
            removePlantedDirectory(runDir);
            createRunDirectory(runDir);
            Files.createFile(runDir.resolve(DetachedRun.CLAIM));
            // The engine makes a launcher's run's cgroup before the request, which was lost.
            isolation.cgroup(request.job(), request.attempt()).ifPresent(CgroupHierarchy::remove);
            return RunProbe.neverStarted();
        } catch (FileAlreadyExistsException claimed) {
            // The wrapper got there first: the run started.
        } catch (IOException e) {
            throw GateException.transientFailure("cannot probe " + runDir + ": " + e.getMessage(), e, Optional.empty());
        }
        OptionalInt pid = awaitPid(runDir);
        if (pid.isPresent()) {
            // The arguments name the job directory, or (a launcher's fork has the launcher's arguments) its standard
            // output is the job's log: a process that reused the pid does not pass.
            boolean ours = arguments(pid.getAsInt()).contains(request.directory())
                    || writesTo(pid.getAsInt(), Path.of(request.directory(), DetachedRun.STDOUT));
            if (ours && isRunning(pid.getAsInt())) {
                return RunProbe.running(new RunHandle(request.job(), request.attempt(), request.directory(),
                        pid.getAsInt()));
            }
        }
        // The wrapper is gone (killed while the engine was down): its job's processes must not outlive the run.
        isolation.cgroup(request.job(), request.attempt()).ifPresent(CgroupHierarchy::remove);
        if (Files.exists(runDir.resolve(ContainerRun.MARK), LinkOption.NOFOLLOW_LINKS)) {
            try {
                stopContainer(runDir, request.job(), request.attempt(), RunSignal.KILL);
            } catch (GateException e) {
                // The run is lost either way; a container left behind has its name, and the next stop finds it.
            }
        }
        return RunProbe.ended(outcome(runDir));
    }

    /**
     * The arguments of process {@code pid}, empty when it is gone. Read from {@code /proc} whole: the JDK's
     * {@code ProcessHandle.Info.arguments()} reads one page of {@code /proc/<pid>/cmdline} and gives no arguments at all
     * when they are longer, which a steps run's driver, with every step's command, is.
     */
    private static List<String> arguments(long pid) {
        try {
            String all = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                    StandardCharsets.UTF_8);
            return List.of(all.split("\0"));
        } catch (IOException gone) {
            return List.of();
        }
    }

    /** Whether the standard output of process {@code pid} is {@code file}. */
    private static boolean writesTo(long pid, Path file) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "fd", "1")).equals(file);
        } catch (IOException | UnsupportedOperationException gone) {
            return false;
        }
    }

    @Override
    public void signal(RunHandle handle, RunSignal signal) {
        LocalLauncher.Run run = launched.get(handle);
        long pid = handle.processGroup();
        if (run != null) {
            pid = pidOf(run);
            if (pid == 0 && fenceIfUnclaimed(run, "stopped before the run started")) {
                return;
            }
            if (pid == 0) {
                pid = awaitPid(run.runDir).orElse(0);
            }
            if (pid == 0) {
                // Claimed, and no pid after the grace: the wrapper is gone; the checks settle the run.
                return;
            }
            if (signal == RunSignal.KILL) {
                checkSoon(run);
            }
        }
        if (pid <= 0) {
            // A launcher's run whose end is known (its handle has no pid): no group to signal, and `kill -- -0` would
            // signal the engine's own. Its containers, if any, are stopped by name all the same.
            if (Files.exists(runDir(handle).resolve(ContainerRun.MARK), LinkOption.NOFOLLOW_LINKS)) {
                stopContainer(runDir(handle), handle.job(), handle.attempt(), signal);
            }
            return;
        }
        // The group and its leader: right after launch the leader may not have called setsid() yet, and then only
        // its pid reaches it.
        String group = Long.toString(pid);
        List<String> argv = new ArrayList<>(List.of("kill", "-s", signal.name(), "--", "-" + group, group));
        Optional<Path> cgroup = isolation.cgroup(handle.job(), handle.attempt());
        if (cgroup.isPresent()) {
            // Members that left the group (setsid) are reached through the cgroup.
            if (signal == RunSignal.KILL) {
                CgroupHierarchy.kill(cgroup.get());
            } else {
                argv.addAll(CgroupHierarchy.members(cgroup.get()));
            }
        }
        ProcessBuilder kill = new ProcessBuilder(argv)
                .redirectInput(DEV_NULL)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        try {
            // A non-zero exit means the group is gone already, which is what was wanted.
            Process p = kill.start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            throw GateException.transientFailure("cannot signal job " + handle.job() + ": " + e.getMessage(), e,
                    Optional.empty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (Files.exists(runDir(handle).resolve(ContainerRun.MARK), LinkOption.NOFOLLOW_LINKS)) {
            stopContainer(runDir(handle), handle.job(), handle.attempt(), signal);
        }
    }

    /**
     * The containers' share of a stop ({@link ContainerRun#stopCommands}, {@link StepsRun#stopCommands} when the mark
     * in {@code runDir} is a steps run's); a container already gone is no error.
     */
    private void stopContainer(Path runDir, JobId job, int attempt, RunSignal signal) {
        String name = ContainerRun.name(job, attempt);
        try {
            String mark;
            try {
                mark = Files.readString(runDir.resolve(ContainerRun.MARK));
            } catch (IOException unreadable) {
                mark = "";
            }
            List<List<String>> commands = StepsRun.isStepsMark(mark, job, attempt)
                    ? StepsRun.stopCommands(runtime(), job, attempt, signal)
                    : ContainerRun.stopCommands(runtime(), name, signal);
            for (List<String> command : commands) {
                Process p = new ProcessBuilder(command).redirectInput(DEV_NULL)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        } catch (GateException | IOException e) {
            throw GateException.transientFailure("cannot stop container " + name + " on node " + node + ": "
                    + e.getMessage(), e, Optional.empty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The container runtime of this machine, looked for the first time it is needed and kept once found.
     *
     * @throws GateException permanent, naming the node, when none works or none is configured
     */
    private String runtime() {
        String found = runtimePath;
        if (found != null) {
            return found;
        }
        ContainerRuntime wanted = containers.orElseThrow(() -> GateException.permanent("the node " + node
                + " runs no container images (gate option " + ContainerRuntime.OPTION + " is none)"));
        try {
            Process p = new ProcessBuilder(ContainerRun.discoverCommand(wanted)).redirectInput(DEV_NULL)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            // The script bounds every check; this bounds the script.
            long seconds = ContainerRun.CHECK_TIMEOUT.toSeconds() * wanted.candidates().size() + 10;
            CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    return new byte[0];
                }
            });
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw GateException.permanent("no container runtime (" + wanted.describe() + ") on node " + node
                        + ": looking for one took more than " + seconds + " s");
            }
            found = ContainerRun.discovered(node, wanted, new String(out.join(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw GateException.transientFailure("cannot look for a container runtime on node " + node + ": "
                    + e.getMessage(), e, Optional.empty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw GateException.transientFailure("interrupted", e, Optional.empty());
        }
        runtimePath = found;
        return found;
    }

    @Override
    public void upload(Path local, String remotePath) {
        copyOnThisMachine(local, Path.of(remotePath), false);
    }

    @Override
    public void download(String remotePath, Path local) {
        copyOutOfJobDirectory(remotePath, local, false);
    }

    @Override
    public void uploadTree(Path local, String remotePath) {
        copyOnThisMachine(local, Path.of(remotePath), true);
    }

    /**
     * The job directory {@code path} lies below, when it lies below one: what the engine writes there goes without
     * following links, which an earlier attempt of the job may have planted to turn the copy elsewhere.
     */
    private Optional<Path> jobDirectoryAbove(String path) {
        Path p = Path.of(path).toAbsolutePath().normalize();
        int depth = jobs.getNameCount();
        return p.startsWith(jobs) && p.getNameCount() > depth + 1
                ? Optional.of(jobs.resolve(p.getName(depth))) : Optional.empty();
    }

    @Override
    public void downloadTree(String remotePath, Path local) {
        copyOutOfJobDirectory(remotePath, local, true);
    }

    /**
     * Copies {@code remotePath} to {@code local}. From a job directory the source is read without following links
     * (a job may swap a directory on the way for a link while the engine copies), into a private directory first,
     * and from there to {@code local} as an upload goes (without following links where {@code local} lies in a job
     * directory too).
     */
    private void copyOutOfJobDirectory(String remotePath, Path local, boolean tree) {
        Path from = Path.of(remotePath);
        Optional<Path> jobDir = jobDirectoryAbove(remotePath);
        if (jobDir.isEmpty() || from.toAbsolutePath().normalize().equals(local.toAbsolutePath().normalize())) {
            // Elsewhere, or onto itself (only checked to be there)
            copyOnThisMachine(from, local, tree);
            return;
        }
        Path temp = null;
        try {
            temp = Files.createTempDirectory("skyport-copy");
            Path copy = temp.resolve("copy");
            NoFollow.copyOut(jobDir.get(), NoFollow.names(jobDir.get(), from), copy, false);
            copyOnThisMachine(copy, local, tree);
        } catch (StackOverflowError tooDeep) {
            throw GateException.permanent("cannot copy " + remotePath + ": its tree is too deep");
        } catch (NoSuchFileException e) {
            throw GateException.permanent("no such " + (tree ? "directory" : "file") + ": " + remotePath);
        } catch (NoFollow.Refused e) {
            throw GateException.permanent("cannot copy " + remotePath + ": " + e.getMessage());
        } catch (IOException e) {
            throw GateException.transientFailure("cannot copy " + remotePath + " to " + local + ": " + e.getMessage(),
                    e, Optional.empty());
        } finally {
            if (temp != null) {
                try {
                    FileTrees.delete(temp);
                } catch (IOException e) {
                    LOG.warn("cannot delete {}: {}", temp, e.getMessage());
                }
            }
        }
    }

    /** Copies the file or tree {@code from} to {@code to}, without following links where {@code to} is a job's. */
    private void copyOnThisMachine(Path from, Path to, boolean tree) {
        Optional<Path> below = jobDirectoryAbove(to.toString());
        if (tree) {
            LocalTransfer.copyTree(from, to, below);
        } else {
            LocalTransfer.copyFile(from, to, below);
        }
    }

    @Override
    public void deleteTree(String remotePath) {
        try {
            Optional<Path> jobDir = jobDirectoryAbove(remotePath);
            if (jobDir.isPresent()) {
                FileTrees.deleteBelow(jobDir.get(), Path.of(remotePath));
            } else {
                FileTrees.delete(Path.of(remotePath));
            }
        } catch (NoFollow.Refused e) {
            throw GateException.permanent("cannot delete " + remotePath + ": " + e.getMessage());
        } catch (IOException e) {
            throw GateException.transientFailure("cannot delete " + remotePath + ": " + e.getMessage(), e,
                    Optional.empty());
        }
    }

    /** The bytes a launcher run's request takes in the launcher's pipe, until the run's end is known (tests). */
    int requestBytes(RunHandle handle) {
        LocalLauncher.Run run = launched.get(handle);
        return run == null ? 0 : run.messageLength;
    }

    /** Whether the request of a run started through the launcher was written to it (tests). */
    boolean sentToLauncher(RunHandle handle) {
        LocalLauncher.Run run = launched.get(handle);
        return run != null && run.message == null && run.sentTo != null;
    }

    /** Whether the request of a run started through the launcher is being written to it, not yet whole (tests). */
    boolean beingSentToLauncher(RunHandle handle) {
        LocalLauncher.Run run = launched.get(handle);
        return run != null && run.message != null && run.sentTo != null;
    }

    /** The pid of the launcher when one runs now (tests). */
    Optional<Long> launcherPid() {
        return launcher.flatMap(LocalLauncher::pid);
    }

    synchronized void close() {
        // Runs are detached on purpose: they outlive the engine and are probed again on the next start.
        children.clear();
        launcher.ifPresent(LocalLauncher::close);
        if (poller != null) {
            poller.shutdownNow();
        }
    }

    /**
     * The outcome of a run whose wrapper has exited. The wrapper removes the cgroup itself, unless it was killed
     * (SIGKILL after a stop's grace period): then what is left of the job is killed here.
     */
    private RunOutcome ended(RunHandle handle) {
        isolation.cgroup(handle.job(), handle.attempt()).ifPresent(CgroupHierarchy::remove);
        return outcome(runDir(handle));
    }

    private static Path runDir(RunHandle handle) {
        return Path.of(handle.directory(), DetachedRun.runDirectoryName(handle.attempt()));
    }

    private static RunOutcome outcome(Path runDir) {
        OptionalInt status = readStatus(runDir);
        return status.isPresent() ? RunOutcome.exited(status.getAsInt())
                : RunOutcome.lost("the process ended without recording an exit code");
    }

    private static OptionalInt readStatus(Path runDir) {
        try {
            return DetachedRun.parseStatus(Files.readString(runDir.resolve(DetachedRun.EXIT_CODE)));
        } catch (IOException e) {
            return OptionalInt.empty();
        }
    }

    private static OptionalInt awaitPid(Path runDir) {
        long deadline = System.nanoTime() + PID_GRACE.toNanos();
        while (true) {
            try {
                String text = Files.readString(runDir.resolve(DetachedRun.PID));
                if (text.endsWith("\n")) {
                    return OptionalInt.of(Integer.parseInt(text.trim()));
                }
            } catch (IOException | NumberFormatException notYet) {
                // the wrapper is between its claim and its pid file
            }
            if (System.nanoTime() > deadline) {
                return OptionalInt.empty();
            }
            try {
                TimeUnit.MILLISECONDS.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return OptionalInt.empty();
            }
        }
    }
}
