package dev.skyport.core.internal.ssh;

import dev.skyport.api.JobId;
import dev.skyport.gate.ContainerRun;
import dev.skyport.gate.ContainerRuntime;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PortForward;
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

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs jobs on a node over SSH following the {@link DetachedRun} protocol, with the wrapper the local gate uses, and
 * moves files over SFTP. A run's end is polled (there is no child process to wait on), looking for the exit-code file
 * or a wrapper that is gone. A transfer writes a temporary name next to its destination, resumes it after a transient
 * failure, checks size and SHA-256 and only then renames it into place, so the destination is whole or absent.
 */
public final class SshNodeAccess implements NodeAccess, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SshNodeAccess.class);

    /** Suffix of a transfer's temporary name; the destination's name before it. */
    static final String PART_SUFFIX = SftpTransfers.PART_SUFFIX;

    /** Prints "exit" and the exit-code file, or "alive", or "gone". $1 run directory, $2 process group. */
    /**
     * The state of every followed run of the node in one round trip: for each pair of arguments (run directory, process
     * group) in order, a line {@code <index> exit <status>}, {@code <index> alive} or {@code <index> gone}. One
     * command per poll, not one per run: a node running many jobs costs one login, not one each.
     */
    private static final String STATUS = String.join("\n",
            "i=0",
            "st() { [ -s \"$r/" + DetachedRun.EXIT_CODE + "\" ] && { printf '%s exit %s\\n' \"$i\" \"$(head -c 64 \"$r/"
                    + DetachedRun.EXIT_CODE + "\" | tr '\\n' ' ')\"; return 0; }; return 1; }",
            "while [ $# -ge 2 ]; do r=$1; p=$2; shift 2",
            "  if ! st; then a=",
            "    if [ -r /proc/$p/stat ]; then s=$(cat /proc/$p/stat 2>/dev/null); s=${s##*) }",
            "      case \"$s\" in Z*|'') ;; *) a=1;; esac",
            "    elif kill -0 \"$p\" 2>/dev/null; then a=1; fi",
            // The wrapper writes the exit code and then exits: read again after seeing it gone.
            "    if [ -n \"$a\" ]; then echo \"$i alive\"; elif ! st; then echo \"$i gone\"; fi",
            "  fi",
            "  i=$((i+1))",
            "done", "");
    /** Runs polled in one command at most: keeps the command line far below the node's limit. */
    private static final int POLL_BATCH = 256;

    /**
     * The probe of {@link NodeAccess#probe}, in one round trip: the exit code, else the claim (O_EXCL through
     * {@code set -C}), else the pid the wrapper records right after its claim, checked against the job directory in
     * its arguments. $1 job directory, $2 run directory.
     */
    private static final String PROBE = String.join("\n",
            "d=$1; r=$2; e=\"$r/" + DetachedRun.EXIT_CODE + "\"",
            "[ -s \"$e\" ] && { echo exit; cat \"$e\"; exit 0; }",
            "[ -d \"$r\" ] && [ ! -L \"$r\" ] || { rm -rf -- \"$r\"; mkdir -p -- \"$r\"; } || exit 3",
            "if ( set -C; : > \"$r/" + DetachedRun.CLAIM + "\" ) 2>/dev/null; then echo never; exit 0; fi",
            "i=0; until [ -s \"$r/" + DetachedRun.PID + "\" ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i+1)); done",
            "p=$(cat \"$r/" + DetachedRun.PID + "\" 2>/dev/null)",
            "if [ -n \"$p\" ] && [ -r /proc/$p/cmdline ] && tr '\\0' '\\n' < /proc/$p/cmdline | grep -qxF -- \"$d\"; then",
            "  s=$(cat /proc/$p/stat 2>/dev/null); s=${s##*) }",
            "  case \"$s\" in Z*|'') ;; *) echo running $p; exit 0;; esac",
            "fi",
            "[ -s \"$e\" ] && { echo exit; cat \"$e\"; exit 0; }",
            "echo lost", "");

    /**
     * Prepares the directories of a launch: the job directory private to its owner, the run directory emptied of all
     * but a probe's claim (which fences a late launch off). $1 job directory, $2 run directory.
     */
    private static final String PREPARE = String.join("\n",
            "d=$1; r=$2",
            "[ -d \"$d\" ] || { mkdir -p -- \"$(dirname -- \"$d\")\" && mkdir -m 700 -- \"$d\"; } || [ -d \"$d\" ] || exit 3",
            "[ -d \"$r\" ] && [ ! -L \"$r\" ] || { rm -rf -- \"$r\"; mkdir -p -- \"$r\"; } || exit 3",
            "find \"$r\" -mindepth 1 -maxdepth 1 ! \\( -name " + DetachedRun.CLAIM
                    + " -type f \\) -exec rm -rf -- {} + || exit 3", "");

    /** The status of {@link #BWRAP_PROBE} when the node's bubblewrap is missing or cannot make a sandbox. */
    private static final int BWRAP_UNUSABLE = 10;

    /**
     * Prints the absolute path of the bubblewrap $1 after a trivial sandbox of the kind jobs get worked, else why not
     * with status {@link #BWRAP_UNUSABLE}: a bwrap that exists but cannot create a user namespace would fail every job.
     */
    private static final String BWRAP_PROBE = String.join("\n",
            "p=$(command -v \"$1\" 2>/dev/null)",
            "case \"$p\" in /*) ;; *) echo \"bubblewrap ($1) is not installed there\"; exit " + BWRAP_UNUSABLE + ";; esac",
            "o=$(\"$p\" --die-with-parent --unshare-pid --unshare-user --cap-drop ALL --ro-bind / / --proc /proc"
                    + " --dev /dev -- true 2>&1 </dev/null) || { echo \"$p failed: $o\"; exit " + BWRAP_UNUSABLE + "; }",
            "echo \"$p\"", "");

    /**
     * The longest launch command line: the node's sshd hands it to the login shell as one argument, and Linux takes at
     * most 128 KiB for one (MAX_ARG_STRLEN); a longer one would fail every attempt the same way.
     */
    static final int MAX_LAUNCH_LINE = 120 * 1024;

    private static final long POLL_MILLIS = 250;
    /**
     * The poll interval during the first second of a run. Short runs (a partition's first command, a quick task) mostly
     * end then, and at 250 ms each one waited 125 ms on average for its end to be seen; a run that lasts pays for the
     * quick polls only during that second.
     */
    private static final long FAST_POLL_MILLIS = 40;
    private static final long FAST_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final String node;
    private final SshTarget target;
    private final SshConnections connections;
    private final Map<RunHandle, CompletableFuture<RunOutcome>> watched = new ConcurrentHashMap<>();
    private final ScheduledExecutorService poller;
    /** Until when (System.nanoTime) runs are polled every FAST_POLL_MILLIS: one second after the last run was watched. */
    private volatile long fastUntil;
    /** The next poll; replaced by an earlier one when a new run is watched. Guarded by {@code this}. */
    private ScheduledFuture<?> nextPoll;
    private final Optional<ContainerRuntime> containers;
    private final RunIsolation isolation;
    private final boolean sandboxRequired;
    /** The node's bubblewrap, once looked for with success. */
    private volatile String bwrapPath;
    /** The container runtime found on the node, once looked for with success. */
    private volatile String runtimePath;
    /** The login's {@code uid:gid} on the node, once asked for. */
    private volatile String loginUser;
    private final SftpTransfers transfers;
    private final SshForwards forwards;

    /** Access that runs container images with podman or docker, whichever the node has. */
    public SshNodeAccess(String node, SshTarget target, SshConnections connections) {
        this(node, target, connections, Optional.of(ContainerRuntime.auto()));
    }

    /**
     * Access that runs a request's container image with {@code containers} (found on the node when the first such run
     * starts), or refuses such runs when empty; the gate's {@code runsContainerImages()} is {@link #runsContainerImages()}.
     */
    public SshNodeAccess(String node, SshTarget target, SshConnections connections,
                         Optional<ContainerRuntime> containers) {
        this(node, target, connections, containers, RunIsolation.none(), false);
    }

    /**
     * Access that also isolates runs as {@code isolation} says ({@link RunIsolation.Mode#NONE} or
     * {@link RunIsolation.Mode#SANDBOX}); its bubblewrap program is looked for on the node when the first run starts.
     * A node without one fails runs when {@code sandboxRequired}, else runs them without isolation.
     */
    public SshNodeAccess(String node, SshTarget target, SshConnections connections,
                         Optional<ContainerRuntime> containers, RunIsolation isolation, boolean sandboxRequired) {
        this.sandboxRequired = sandboxRequired;
        if (isolation.mode() == RunIsolation.Mode.ACCOUNT) {
            throw new IllegalArgumentException("an ssh node runs jobs as its login user: no account isolation");
        }
        this.isolation = isolation;
        this.node = node;
        this.target = target;
        this.connections = connections;
        this.containers = containers;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "skyport-ssh-poller-" + node);
            t.setDaemon(true);
            return t;
        });
        this.transfers = new SftpTransfers(node, target, connections);
        this.forwards = new SshForwards(node, target, connections, poller);
        fastUntil = System.nanoTime();
        schedulePoll(POLL_MILLIS);
    }

    private synchronized void schedulePoll(long delayMillis) {
        try {
            nextPoll = poller.schedule(this::pollAndReschedule, delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closed) {
            // the access was closed: no more polls
        }
    }

    private void pollAndReschedule() {
        try {
            poll();
        } finally {
            schedulePoll(System.nanoTime() - fastUntil < 0 ? FAST_POLL_MILLIS : POLL_MILLIS);
        }
    }

    /** A run was just watched: poll soon and often for a second, instead of at the next slow tick. */
    private synchronized void hurry() {
        fastUntil = System.nanoTime() + FAST_WINDOW_NANOS;
        if (nextPoll != null && nextPoll.getDelay(TimeUnit.MILLISECONDS) > FAST_POLL_MILLIS && nextPoll.cancel(false)) {
            schedulePoll(FAST_POLL_MILLIS);
        }
    }

    @Override
    public String node() {
        return node;
    }

    /** Whether runs with a container image are started in it. */
    public boolean runsContainerImages() {
        return containers.isPresent();
    }

    @Override
    public RunHandle launch(RunRequest request) {
        // Before anything is written: a node without a runtime fails the job with a reason, and is left as it was.
        boolean steps = request.steps().isPresent();
        Optional<String> runtime = request.containerImage().isPresent() || steps ? Optional.of(runtime())
                : Optional.empty();
        // The container is the sandbox of a container run, as on the local gate.
        RunIsolation sandbox = runtime.isPresent() || isolation.mode() == RunIsolation.Mode.NONE
                ? RunIsolation.none() : bwrap().map(b -> RunIsolation.sandbox(b, isolation.hiddenPaths()))
                .orElse(RunIsolation.none());
        check(connections.exec(target, script(PREPARE, request.directory(), request.runDirectory())),
                "prepare " + request.directory());
        if (request.script().isPresent()) {
            transfers.writeSmallFile(request.directory() + "/" + DetachedRun.SCRIPT,
                    request.script().get().getBytes(StandardCharsets.UTF_8));
        }
        List<String> argv = new ArrayList<>();
        // What the launch line does before it starts the run: the mark, and for steps the shared directories the
        // engine placed nothing in (the runtime refuses to mount a missing path).
        StringBuilder before = new StringBuilder();
        if (steps) {
            for (int i = 0; i < request.steps().get().steps().size(); i++) {
                transfers.writeSmallFile(request.runDirectory() + "/" + StepsRun.envFileName(i),
                        StepsRun.envFile(request, i).getBytes(StandardCharsets.UTF_8));
            }
            for (StepLayout.Mount m : StepLayout.mounts(request.directory(), request.attempt(),
                    request.steps().get())) {
                if (m.directory() && !m.readOnly()) {
                    before.append("mkdir -p -- ").append(SshConnections.quote(m.host())).append(" && ");
                }
            }
        } else if (runtime.isPresent()) {
            // The client runs as the node's user outside any sandbox: the job's variables reach the container only,
            // through a file of the owner's, never the client's environment nor a command line.
            transfers.writeSmallFile(request.runDirectory() + "/" + ContainerRun.ENV_FILE,
                    ContainerRun.envFile(request).getBytes(StandardCharsets.UTF_8));
        } else {
            argv.add("env");
            for (Map.Entry<String, String> e : request.environment().entrySet()) {
                if (!e.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    throw GateException.permanent("not an environment variable name: " + e.getKey());
                }
                argv.add(e.getKey() + "=" + e.getValue());
            }
        }
        argv.addAll(DetachedRun.command(request, steps
                ? StepsRun.program(request, runtime.get(), containers.orElseThrow(), RunIsolation.none(),
                        gateUser(runtime.get()))
                : runtime.isPresent()
                ? ContainerRun.program(request, runtime.get(), containers.orElseThrow(), RunIsolation.none(),
                        gateUser(runtime.get()))
                : DetachedRun.program(request), sandbox, Optional.empty()));
        // The mark goes first: a stop or a probe after a restart must know the run is a container.
        String mark = runtime.isEmpty() ? "" : "printf '%s' " + SshConnections.quote(steps ? StepsRun.mark(request)
                : ContainerRun.name(request.job(), request.attempt()) + "\n") + " > "
                + SshConnections.quote(request.runDirectory() + "/" + ContainerRun.MARK) + " && ";
        mark = before + mark;
        // In the background of a shell without job control, setsid needs no fork: $! is the wrapper, the group's
        // leader. Its descriptors leave the channel so the session ends now, not when the job does.
        // The cd stays out of the background: "cd d && cmd >/dev/null &" backgrounds a subshell that keeps the
        // channel's stdout open until the job ends, and OpenSSH (unlike MINA) holds the exec open until then.
        String line = mark + "cd " + SshConnections.quote(request.directory()) + " || exit 3; "
                + SshConnections.commandLine(argv) + " </dev/null >/dev/null 2>&1 & echo $!";
        if (line.length() > MAX_LAUNCH_LINE) {
            throw GateException.permanent("job " + request.job() + " needs a command line of " + line.length()
                    + " characters on node " + node + "; at most " + MAX_LAUNCH_LINE + " pass through SSH");
        }
        SshConnections.Result r = connections.exec(target, line);
        check(r, "launch " + request.job());
        try {
            long pid = Long.parseLong(r.stdout().trim());
            return new RunHandle(request.job(), request.attempt(), request.directory(), pid);
        } catch (NumberFormatException e) {
            throw GateException.transientFailure("launch of " + request.job() + " on " + node
                    + " printed no process id", e, Optional.empty());
        }
    }

    @Override
    public CompletableFuture<RunOutcome> watch(RunHandle handle) {
        CompletableFuture<RunOutcome> existing = watched.get(handle);
        if (existing != null) {
            return existing;
        }
        CompletableFuture<RunOutcome> watch = watched.computeIfAbsent(handle, h -> {
            CompletableFuture<RunOutcome> f = new CompletableFuture<>();
            // Completed from outside (the ssh gate declares the node lost): stop polling the run.
            f.whenComplete((o, t) -> watched.remove(h, f));
            return f;
        });
        hurry();
        return watch;
    }

    private void poll() {
        List<RunHandle> runs = new ArrayList<>(watched.keySet());
        for (int from = 0; from < runs.size(); from += POLL_BATCH) {
            List<RunHandle> batch = runs.subList(from, Math.min(runs.size(), from + POLL_BATCH));
            List<String> args = new ArrayList<>(batch.size() * 2);
            for (RunHandle h : batch) {
                args.add(h.directory() + "/" + DetachedRun.runDirectoryName(h.attempt()));
                args.add(Long.toString(h.processGroup()));
            }
            SshConnections.Result r;
            try {
                r = connections.exec(target, script(STATUS, args.toArray(String[]::new)));
            } catch (RuntimeException unreachable) {
                // The node may come back; whether it is lost is the gate's call (health probing), not the watch's.
                LOG.debug("polling {} runs on {} failed: {}", batch.size(), node, unreachable.getMessage());
                return;
            }
            for (String line : r.stdout().split("\n")) {
                // Not stripped: the exit-code file's final newline comes as a trailing space, and says it is whole.
                String[] words = line.split(" ", 3);
                int index;
                try {
                    index = Integer.parseInt(words[0]);
                } catch (NumberFormatException notOurs) {
                    continue; // e.g. a login banner or a profile's output
                }
                if (index < 0 || index >= batch.size() || words.length < 2) {
                    continue;
                }
                RunHandle h = batch.get(index);
                CompletableFuture<RunOutcome> f = watched.get(h);
                if (f == null) {
                    continue;
                }
                if (words[1].equals("exit")) {
                    String code = words.length > 2 ? words[2] : "";
                    watched.remove(h);
                    f.complete(outcome(code.endsWith(" ") ? code.strip() + "\n" : code));
                } else if (words[1].equals("gone")) {
                    watched.remove(h);
                    f.complete(RunOutcome.lost("the process ended without recording an exit code"));
                }
            }
        }
    }

    @Override
    public RunProbe probe(RunRequest request) {
        SshConnections.Result r = connections.exec(target, script(PROBE, request.directory(), request.runDirectory()));
        String first = firstLine(r.stdout());
        if (first.equals("exit")) {
            return RunProbe.ended(outcome(rest(r.stdout())));
        }
        if (first.equals("never")) {
            return RunProbe.neverStarted();
        }
        if (first.startsWith("running ")) {
            long pid = Long.parseLong(first.substring("running ".length()).trim());
            return RunProbe.running(new RunHandle(request.job(), request.attempt(), request.directory(), pid));
        }
        if (first.equals("lost")) {
            try {
                stopContainer(request.job(), request.attempt(), request.directory(), RunSignal.KILL);
            } catch (RuntimeException e) {
                // The run is lost either way; a container left behind has its name, and the next stop finds it.
                LOG.debug("cannot remove the container of {} on {}: {}", request.job(), node, e.getMessage());
            }
            return RunProbe.ended(RunOutcome.lost("the process ended without recording an exit code"));
        }
        throw GateException.transientFailure("cannot probe " + request.runDirectory() + " on " + node + ": "
                + r.stderr().strip(), null, Optional.empty());
    }

    @Override
    public void signal(RunHandle handle, RunSignal signal) {
        // The group and its leader, as the local gate does: before setsid() only the pid reaches the wrapper.
        String group = Long.toString(handle.processGroup());
        connections.exec(target, SshConnections.commandLine(List.of("kill", "-s", signal.name(), "--", "-" + group,
                group)) + " 2>/dev/null; true");
        stopContainer(handle.job(), handle.attempt(), handle.directory(), signal);
    }

    /**
     * The container's share of a stop ({@link ContainerRun#stopCommands}), where the run's mark shows it is one. A node
     * whose runtime cannot be found has no container to stop.
     */
    private void stopContainer(JobId job, int attempt, String directory, RunSignal signal) {
        if (containers.isEmpty()) {
            return;
        }
        String name = ContainerRun.name(job, attempt);
        if (ContainerRun.stopCommands("", name, signal).isEmpty()) {
            return; // no need to know the runtime
        }
        List<List<String>> commands;
        List<List<String>> stepCommands;
        try {
            commands = ContainerRun.stopCommands(runtime(), name, signal);
            stepCommands = StepsRun.stopCommands(runtime(), job, attempt, signal);
        } catch (GateException e) {
            LOG.warn("cannot stop container {} on {}: {}", name, node, e.getMessage());
            return;
        }
        // The mark of a steps run names its first step's container on its first line (StepsRun.mark).
        String mark = SshConnections.quote(directory + "/" + DetachedRun.runDirectoryName(attempt) + "/"
                + ContainerRun.MARK);
        StringBuilder line = new StringBuilder("if [ -e ").append(mark).append(" ]; then if head -n 1 ").append(mark)
                .append(" | grep -qxF -- ").append(SshConnections.quote(StepsRun.name(job, attempt, 0)))
                .append("; then ");
        for (List<String> command : stepCommands) {
            line.append(SshConnections.commandLine(command)).append(" >/dev/null 2>&1; ");
        }
        line.append("else ");
        for (List<String> command : commands) {
            line.append(SshConnections.commandLine(command)).append(" >/dev/null 2>&1; ");
        }
        connections.exec(target, line.append("fi; fi; true").toString());
    }

    /**
     * The node's bubblewrap as an absolute path, found with {@code command -v} in the login's PATH and tried on a
     * trivial sandbox, once per access; empty when the node offers no sandbox and isolation is not required (one WARN,
     * as the local gate's {@code auto}). A node without a working bubblewrap fails a run that requires one with a
     * permanent error: running it unsandboxed is never an option.
     */
    private Optional<String> bwrap() {
        String found = bwrapPath;
        if (found != null) {
            return found.isEmpty() ? Optional.empty() : Optional.of(found);
        }
        SshConnections.Result r = connections.exec(target, script(BWRAP_PROBE, isolation.bwrap()));
        String out = r.stdout().strip();
        if (r.status() == 0 && out.startsWith("/")) {
            bwrapPath = out;
            return Optional.of(out);
        }
        if (r.status() != BWRAP_UNUSABLE) {
            throw GateException.transientFailure("cannot look for bubblewrap on " + node + " (status " + r.status()
                    + "): " + r.stderr().strip(), null, Optional.empty());
        }
        String why = out.length() > 300 ? out.substring(0, 300) : out;
        if (sandboxRequired) {
            throw GateException.permanent("job-isolation sandbox is not possible on node " + node + ": " + why
                    + "; install bubblewrap on the node or set job-isolation: none");
        }
        LOG.warn("Jobs on node {} run without isolation, with every right of its login user: {}", node, why);
        bwrapPath = "";
        return Optional.empty();
    }

    /**
     * The container runtime of the node, looked for the first time it is needed and kept once found.
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
        SshConnections.Result r = connections.exec(target,
                SshConnections.commandLine(ContainerRun.discoverCommand(wanted)));
        if (r.status() != 0) {
            throw GateException.transientFailure("cannot look for a container runtime on " + node + " (status "
                    + r.status() + "): " + r.stderr().strip(), null, Optional.empty());
        }
        found = ContainerRun.discovered(node, wanted, r.stdout());
        runtimePath = found;
        return found;
    }

    @Override
    public void upload(Path local, String remotePath) {
        transfers.upload(local, remotePath);
    }

    @Override
    public void download(String remotePath, Path local) {
        transfers.download(remotePath, local);
    }

    @Override
    public void uploadTree(Path local, String remotePath) {
        transfers.uploadTree(local, remotePath);
    }

    @Override
    public void downloadTree(String remotePath, Path local) {
        transfers.downloadTree(remotePath, local);
    }

    @Override
    public void deleteTree(String remotePath) {
        // rm removes a link itself and descends into no link
        check(connections.exec(target, SshConnections.commandLine(List.of("rm", "-rf", "--", remotePath))),
                "delete " + remotePath);
    }

    /** Trusts the components of {@code root}; below it no transfer follows a link (see {@link SftpTransfers}). */
    void trustBelow(java.util.function.Supplier<String> root) {
        transfers.trustBelow(root);
    }

    /**
     * The {@code uid:gid} of the node's login, which a docker container runs as (docker's daemon would run it as root,
     * and a step's files in the job's mounts would be root's: a setuid-root program left there is root on the node).
     * Podman runs rootless as the login already.
     */
    private Optional<String> gateUser(String runtimePath) {
        if (!runtimePath.substring(runtimePath.lastIndexOf('/') + 1).startsWith("docker")) {
            return Optional.empty();
        }
        String found = loginUser;
        if (found == null) {
            SshConnections.Result r = connections.exec(target, "printf '%s:%s\\n' \"$(id -u)\" \"$(id -g)\"");
            found = r.stdout().strip();
            if (r.status() != 0 || !found.matches("[0-9]+:[0-9]+")) {
                throw GateException.transientFailure("cannot find the user and group ids of " + target.user() + " on "
                        + node + ": " + r.stderr().strip(), null, Optional.empty());
            }
            loginUser = found;
        }
        return Optional.of(found);
    }

    @Override
    public PortForward forwardToNode(int remotePort) {
        return forwards.toNode(remotePort);
    }

    @Override
    public PortForward forwardFromNode(int remotePort, int localPort) {
        return forwards.fromNode(remotePort, localPort);
    }

    private static String script(String body, String... args) {
        List<String> words = new ArrayList<>(List.of("/bin/sh", "-c", body, "skyport-ssh"));
        words.addAll(List.of(args));
        return SshConnections.commandLine(words);
    }

    private void check(SshConnections.Result r, String what) {
        if (r.status() != 0) {
            throw GateException.transientFailure("cannot " + what + " on " + node + " (status " + r.status() + "): "
                    + r.stderr().strip(), null, Optional.empty());
        }
    }

    private static String firstLine(String s) {
        int i = s.indexOf('\n');
        return (i < 0 ? s : s.substring(0, i)).strip();
    }

    private static String rest(String s) {
        int i = s.indexOf('\n');
        return i < 0 ? "" : s.substring(i + 1);
    }

    private static RunOutcome outcome(String exitFile) {
        OptionalInt status = DetachedRun.parseStatus(exitFile);
        return status.isPresent() ? RunOutcome.exited(status.getAsInt())
                : RunOutcome.lost("the exit-code file is unreadable");
    }

    @Override
    public void close() {
        // Runs are detached on purpose: they outlive this access and are probed again later. Forwards are not.
        forwards.close();
        poller.shutdownNow();
    }
}
