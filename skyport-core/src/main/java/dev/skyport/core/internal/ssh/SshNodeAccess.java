package dev.skyport.core.internal.ssh;

import dev.skyport.api.JobId;
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
import net.schmizz.sshj.SSHClient;
import net.schmizz.sshj.sftp.FileAttributes;
import net.schmizz.sshj.sftp.FileMode;
import net.schmizz.sshj.sftp.OpenMode;
import net.schmizz.sshj.sftp.RemoteFile;
import net.schmizz.sshj.sftp.SFTPClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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
    static final String PART_SUFFIX = ".skyport-part";

    private static final int TRANSFER_ATTEMPTS = 4;
    private static final Duration RETRY_PAUSE = Duration.ofMillis(250);
    private static final int CHUNK = 256 * 1024;

    /** Prints "exit" and the exit-code file, or "alive", or "gone". $1 run directory, $2 process group. */
    private static final String STATUS = String.join("\n",
            "r=$1; p=$2",
            "st() { [ -s \"$r/" + DetachedRun.EXIT_CODE + "\" ] && { echo exit; cat \"$r/" + DetachedRun.EXIT_CODE
                    + "\"; exit 0; }; }",
            "st",
            "if [ -r /proc/$p/stat ]; then s=$(cat /proc/$p/stat 2>/dev/null); s=${s##*) }",
            "  case \"$s\" in Z*|'') ;; *) echo alive; exit 0;; esac",
            "elif kill -0 \"$p\" 2>/dev/null; then echo alive; exit 0; fi",
            // The wrapper writes the exit code and then exits: read again after seeing it gone.
            "st; echo gone", "");

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

    private static final long POLL_MILLIS = 250;

    private final String node;
    private final SshTarget target;
    private final SshConnections connections;
    private final Map<RunHandle, CompletableFuture<RunOutcome>> watched = new ConcurrentHashMap<>();
    private final ScheduledExecutorService poller;
    private final Optional<ContainerRuntime> containers;
    /** The container runtime found on the node, once looked for with success. */
    private volatile String runtimePath;

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
        this.node = node;
        this.target = target;
        this.connections = connections;
        this.containers = containers;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "skyport-ssh-poller-" + node);
            t.setDaemon(true);
            return t;
        });
        poller.scheduleWithFixedDelay(this::poll, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
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
        Optional<String> runtime = request.containerImage().isPresent() ? Optional.of(runtime()) : Optional.empty();
        check(connections.exec(target, script(PREPARE, request.directory(), request.runDirectory())),
                "prepare " + request.directory());
        if (request.script().isPresent()) {
            writeSmallFile(request.directory() + "/" + DetachedRun.SCRIPT,
                    request.script().get().getBytes(StandardCharsets.UTF_8));
        }
        List<String> argv = new ArrayList<>();
        if (runtime.isPresent()) {
            // The client runs as the node's user outside any sandbox: the job's variables reach the container only,
            // through a file of the owner's, never the client's environment nor a command line.
            writeSmallFile(request.runDirectory() + "/" + ContainerRun.ENV_FILE,
                    ContainerRun.envFile(request).getBytes(StandardCharsets.UTF_8));
        } else {
            Map<String, String> env = new LinkedHashMap<>(request.env());
            env.put("SKYPORT_JOB_ID", request.job().toString());
            env.put("SWM_JOB_ID", request.job().toString());
            env.put("SKYPORT_ATTEMPT", Integer.toString(request.attempt()));
            env.put("SKYPORT_JOB_DIR", request.directory());
            env.put("USER", request.owner());
            env.put("LOGNAME", request.owner());
            argv.add("env");
            for (Map.Entry<String, String> e : env.entrySet()) {
                if (!e.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    throw GateException.permanent("not an environment variable name: " + e.getKey());
                }
                argv.add(e.getKey() + "=" + e.getValue());
            }
        }
        argv.addAll(DetachedRun.command(request, runtime.isPresent()
                ? ContainerRun.program(request, runtime.get(), containers.orElseThrow(), RunIsolation.none())
                : DetachedRun.program(request)));
        // The mark goes first: a stop or a probe after a restart must know the run is a container.
        String mark = runtime.isEmpty() ? "" : "printf '%s\\n' " + SshConnections.quote(ContainerRun.name(
                request.job(), request.attempt())) + " > " + SshConnections.quote(request.runDirectory() + "/"
                + ContainerRun.MARK) + " && ";
        // In the background of a shell without job control, setsid needs no fork: $! is the wrapper, the group's
        // leader. Its descriptors leave the channel so the session ends now, not when the job does.
        String line = mark + "cd " + SshConnections.quote(request.directory()) + " && " + SshConnections.commandLine(argv)
                + " </dev/null >/dev/null 2>&1 & echo $!";
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
        return watched.computeIfAbsent(handle, h -> {
            CompletableFuture<RunOutcome> f = new CompletableFuture<>();
            // Completed from outside (the ssh gate declares the node lost): stop polling the run.
            f.whenComplete((o, t) -> watched.remove(h, f));
            return f;
        });
    }

    private void poll() {
        for (Map.Entry<RunHandle, CompletableFuture<RunOutcome>> e : watched.entrySet()) {
            RunHandle h = e.getKey();
            try {
                SshConnections.Result r = connections.exec(target, script(STATUS,
                        h.directory() + "/" + DetachedRun.runDirectoryName(h.attempt()),
                        Long.toString(h.processGroup())));
                String first = firstLine(r.stdout());
                if (first.equals("exit")) {
                    watched.remove(h);
                    e.getValue().complete(outcome(rest(r.stdout())));
                } else if (first.equals("gone")) {
                    watched.remove(h);
                    e.getValue().complete(RunOutcome.lost("the process ended without recording an exit code"));
                }
            } catch (RuntimeException unreachable) {
                // The node may come back; whether it is lost is the gate's call (health probing), not the watch's.
                LOG.debug("polling run of {} on {} failed: {}", h.job(), node, unreachable.getMessage());
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
        try {
            commands = ContainerRun.stopCommands(runtime(), name, signal);
        } catch (GateException e) {
            LOG.warn("cannot stop container {} on {}: {}", name, node, e.getMessage());
            return;
        }
        StringBuilder line = new StringBuilder("if [ -e ").append(SshConnections.quote(directory + "/"
                + DetachedRun.runDirectoryName(attempt) + "/" + ContainerRun.MARK)).append(" ]; then ");
        for (List<String> command : commands) {
            line.append(SshConnections.commandLine(command)).append(" >/dev/null 2>&1; ");
        }
        connections.exec(target, line.append("fi; true").toString());
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
        if (!Files.isRegularFile(local)) {
            throw GateException.permanent("no such file: " + local);
        }
        retrying("upload " + local + " to " + node + ":" + remotePath, sftp -> uploadOnce(sftp, local, remotePath));
    }

    @Override
    public void download(String remotePath, Path local) {
        retrying("download " + node + ":" + remotePath + " to " + local, sftp -> downloadOnce(sftp, remotePath, local));
    }

    private interface Transfer {
        void run(SFTPClient sftp) throws IOException;
    }

    private void retrying(String what, Transfer transfer) {
        IOException last = null;
        for (int attempt = 1; attempt <= TRANSFER_ATTEMPTS; attempt++) {
            SSHClient c;
            try {
                c = connections.client(target);
            } catch (GateException e) {
                if (!e.isTransient() || attempt == TRANSFER_ATTEMPTS) {
                    throw e;
                }
                pause(attempt);
                continue;
            }
            SFTPClient sftp = null;
            try {
                sftp = c.newSFTPClient();
                transfer.run(sftp);
                return;
            } catch (NoSuchFileException e) {
                throw GateException.permanent("cannot " + what + ": no such file " + e.getMessage());
            } catch (ChecksumMismatch e) {
                last = e;
            } catch (GateException e) {
                // a command of the transfer (checksum, rename) failed over the same connection
                if (!e.isTransient()) {
                    throw e;
                }
                last = new IOException(e.getMessage(), e);
            } catch (IOException e) {
                if (isNoSuchFile(e)) {
                    throw GateException.permanent("cannot " + what + ": no such file", e);
                }
                last = e;
                connections.invalidate(target, c);
            } finally {
                closeQuietly(sftp);
            }
            LOG.debug("{} failed (attempt {}): {}", what, attempt, last.getMessage());
            if (attempt < TRANSFER_ATTEMPTS) {
                pause(attempt);
            }
        }
        throw GateException.transientFailure("cannot " + what + ": " + last.getMessage(), last, Optional.empty());
    }

    private static boolean isNoSuchFile(IOException e) {
        return e instanceof net.schmizz.sshj.sftp.SFTPException s
                && s.getStatusCode() == net.schmizz.sshj.sftp.Response.StatusCode.NO_SUCH_FILE;
    }

    private static void pause(int attempt) {
        try {
            Thread.sleep(RETRY_PAUSE.toMillis() * attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw GateException.transientFailure("interrupted", e, Optional.empty());
        }
    }

    /** The part written so far is kept and resumed; a checksum mismatch discards it. */
    private void uploadOnce(SFTPClient sftp, Path local, String remotePath) throws IOException {
        String part = remotePath + PART_SUFFIX;
        String parent = parentOf(remotePath);
        if (!parent.isEmpty()) {
            sftp.mkdirs(parent);
        }
        long size = Files.size(local);
        FileAttributes existing = sftp.statExistence(part);
        long offset = existing != null && existing.getSize() <= size ? existing.getSize() : 0;
        EnumSet<OpenMode> modes = offset == 0 ? EnumSet.of(OpenMode.WRITE, OpenMode.CREAT, OpenMode.TRUNC)
                : EnumSet.of(OpenMode.WRITE, OpenMode.CREAT);
        // No try-with-resources: after a dropped connection SSHJ's close rethrows the very exception the copy
        // failed with, and adding it to itself as suppressed would replace it with an IllegalArgumentException.
        RemoteFile f = sftp.open(part, modes);
        try (InputStream in = Files.newInputStream(local)) {
            OutputStream out = f.new RemoteFileOutputStream(offset, 16);
            in.skipNBytes(offset);
            in.transferTo(out);
            out.close();
        } finally {
            closeQuietly(f);
        }
        long written = sftp.size(part);
        String expected = HexFormat.of().formatHex(digest(local));
        if (written != size || !remoteSha256(part).equals(expected)) {
            sftp.rm(part);
            throw new ChecksumMismatch("upload of " + local + " arrived as " + written + " bytes of " + size
                    + " or with another SHA-256");
        }
        check(connections.exec(target, SshConnections.commandLine(List.of("mv", "-f", "--", part, remotePath))),
                "rename " + part);
    }

    private void downloadOnce(SFTPClient sftp, String remotePath, Path local) throws IOException {
        long size = sftp.size(remotePath);
        Path target = local.toAbsolutePath();
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling(target.getFileName() + PART_SUFFIX);
        long offset = Files.isRegularFile(part) && Files.size(part) <= size ? Files.size(part) : 0;
        RemoteFile f = sftp.open(remotePath, EnumSet.of(OpenMode.READ));
        try (OutputStream out = offset == 0
                     ? Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                             StandardOpenOption.WRITE)
                     : Files.newOutputStream(part, StandardOpenOption.APPEND)) {
            f.new ReadAheadRemoteFileInputStream(16, offset).transferTo(out);
        } finally {
            closeQuietly(f);
        }
        if (Files.size(part) != size
                || !HexFormat.of().formatHex(digest(part)).equals(remoteSha256(remotePath))) {
            Files.deleteIfExists(part);
            throw new ChecksumMismatch("download of " + remotePath + " does not match its size or SHA-256");
        }
        Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static byte[] digest(Path file) throws IOException {
        MessageDigest sha = sha256();
        byte[] buf = new byte[CHUNK];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
        }
        return sha.digest();
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // the transfer's own outcome is what counts; a failed close adds nothing to it
        }
    }

    private static String parentOf(String path) {
        int i = path.lastIndexOf('/');
        return i <= 0 ? (i == 0 ? "/" : "") : path.substring(0, i);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The remote file's SHA-256 in hex, computed on the node. */
    private String remoteSha256(String path) throws IOException {
        SshConnections.Result r = connections.exec(target, "sha256sum -- " + SshConnections.quote(path));
        String word = r.stdout().strip().split("\\s+", 2)[0];
        if (r.status() != 0 || word.length() != 64) {
            throw new IOException("sha256sum failed on " + node + ": " + r.stderr().strip());
        }
        return word;
    }

    private static final class ChecksumMismatch extends IOException {
        ChecksumMismatch(String message) {
            super(message);
        }
    }

    private void writeSmallFile(String path, byte[] content) {
        retrying("write " + node + ":" + path, sftp -> {
            FileAttributes attrs = new FileAttributes.Builder().withPermissions(0600).build();
            try (RemoteFile f = sftp.open(path, EnumSet.of(OpenMode.WRITE, OpenMode.CREAT, OpenMode.TRUNC), attrs)) {
                f.write(0, content, 0, content.length);
            }
        });
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
        // Runs are detached on purpose: they outlive this access and are probed again later.
        poller.shutdownNow();
    }
}
