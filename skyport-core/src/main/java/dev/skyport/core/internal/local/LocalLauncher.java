package dev.skyport.core.internal.local;

import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateException;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * One long-lived bash process that starts the local gate's detached runs on request, so that a run costs the engine
 * no process start of its own (a JVM's {@code posix_spawn}, {@code jspawnhelper}, {@code setsid} and a new shell: about
 * half of a trivial job's cpu, measured).
 *
 * <p>The engine sends a run's request, a few lines of sh, over the launcher's standard input, the only way requests
 * reach it: a line with its length, then the request. Neither a file in the run directory (in account mode the job's
 * account could put a request of its own in its place before the launcher, root there, reads it) nor one in a directory
 * of the engine's: a file a run costs an inode's creation and removal, which on ext4 without a journal after many
 * deletions was 12 % of the engine's cpu samples on trivial jobs (profiled). Every user-controlled string in a request
 * is quoted, in printable ASCII only, so it reaches the run byte for byte, is never interpreted, and its length in
 * bytes is its length in characters whatever the locale (bash's {@code read -N} counts characters). The launcher forks
 * a subshell per request that evaluates it and runs {@link #SCRIPT}'s {@code skyport_run}: the {@link DetachedRun}
 * protocol of the ssh gate's wrapper (claim with O_EXCL, pid, logs, exit code), with these differences: bash's job
 * control ({@code set -m}) gives the run a process group of its own in the launcher's session (the launcher is started
 * through {@code setsid}), where the wrapper calls {@code setsid} itself; the engine creates the run's cgroup (with its
 * limits) before the request and removes it after the end, where the wrapper spawns {@code mkdir} and {@code rmdir};
 * and the wrapper ignores SIGTERM, SIGINT and SIGHUP itself before it execs bubblewrap, where the ssh gate's runs exec
 * a shell to do that. A run tells the launcher's standard output {@code E <token>} when its exit code is written and
 * {@code F <token>} when a probe fenced it off first; the engine reads those lines instead of polling. The job itself
 * does not get that descriptor.
 *
 * <p>Runs are independent of the launcher: they keep running and write their exit code when it dies (they hold the
 * reading end's pipe open, so their lines still arrive), and the launcher exits, leaving them, when the engine's end of
 * its standard input closes. When the launcher dies, the requests it was sent and had not started yet are lost: the
 * gate settles each through the claim, as a probe after a restart does ({@link Listener#launcherGone}), and the next
 * request starts a new launcher. Requests go to the pipe from a thread of their own, so a launcher that stops reading
 * never blocks the engine, in writes of at most {@code PIPE_BUF} bytes where they fit: such a write reaches the
 * launcher whole or, when it is gone, not at all, so what it did not take goes to the next one. A longer request is
 * written alone: when that write fails the launcher got no whole request of it (one cut short is not run), so it too
 * goes to the next one.
 */
final class LocalLauncher {
    private static final Logger LOG = LoggerFactory.getLogger(LocalLauncher.class);

    /** The descriptor a sandboxed run's bubblewrap reads the job's variables from ({@code --args}). */
    static final int SANDBOX_ARGS_FD = 9;

    /** A write of at most PIPE_BUF bytes to a pipe is atomic: it arrives whole or, when the reader is gone, not at all. */
    private static final int PIPE_BUF = 4096;

    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /** The prefix of the script's own variables. */
    private static final String OWN_PREFIX = "skyport_";

    /** The first bash whose {@code read} has {@code -N}. */
    private static final String MIN_BASH = "4.1";

    /** Per bash: whether its {@code read} has {@code -N}, once known. */
    private static final Map<String, Boolean> BASH_CHECKED = new ConcurrentHashMap<>();

    /**
     * What bash reads from its environment to change how it runs, and names it keeps read-only: never passed to the
     * launcher, and never set for a job through the launcher (such a request starts as before, on a process of its own).
     */
    private static final Set<String> SHELL_VARIABLES = Set.of("BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "CDPATH",
            "GLOBIGNORE", "IFS", "PS4", "BASH_XTRACEFD", "POSIXLY_CORRECT", "BASH_COMPAT", "EXECIGNORE", "FUNCNEST",
            "TMOUT", "BASH_VERSINFO", "EUID", "UID", "PPID", "BASHPID", "SHLVL", "PWD", "OLDPWD", "_");

    /** The launcher; see the class comment. The functions {@code skyport_*_env} are appended per engine. */
    static final String SCRIPT = String.join("\n",
            "set -m",
            // Runs tell the engine through fd 3; nothing else may write there.
            "exec 3>&1 1>/dev/null",
            // A write to an engine that is gone must not kill the run (SIGPIPE); the job gets SIGPIPE's default back.
            "skyport_tell() { trap '' PIPE; echo \"$1 $2\" >&3 2>/dev/null; trap - PIPE; }",
            "skyport_run() {",
            "  set +m",
            "  skyport_t=$1 skyport_d=$2 skyport_r=$2/run.$3 skyport_w=$4 skyport_cg=$5 skyport_sb=$6; shift 6",
            "  set -C",
            "  { : > \"$skyport_r/claim\"; } 2>/dev/null || { skyport_tell F \"$skyport_t\"; exit 0; }",
            "  set +C",
            // The logs before the pid: a probe that finds the pid knows the run by its standard output, which until
            // this exec is the launcher's (its arguments are the launcher's too, so it would be taken for another).
            "  exec </dev/null >\"$skyport_d/stdout.log\" 2>\"$skyport_d/stderr.log\"",
            "  echo \"$BASHPID\" > \"$skyport_r/pid\"",
            "  trap : TERM INT HUP",
            "  if cd \"$skyport_w\"; then",
            "    ( if [ -n \"$skyport_cg\" ] && ! echo 0 > \"$skyport_cg/cgroup.procs\"; then",
            "        echo \"skyport: cannot enter cgroup $skyport_cg\" >&2",
            "        exit " + DetachedRun.NO_CGROUP_STATUS + "; fi",
            "      exec 3>&-",
            // Ignored dispositions survive exec: bubblewrap must outlive a group-wide SIGTERM (DetachedRun).
            "      if [ -n \"$skyport_sb\" ]; then trap '' TERM INT HUP; fi",
            "      skyport_env",
            "      exec \"$@\" ); skyport_rc=$?",
            "  else skyport_rc=" + DetachedRun.NO_WORKDIR_STATUS + "; fi",
            "  if [ -n \"$skyport_cg\" ]; then",
            "    echo 1 > \"$skyport_cg/cgroup.kill\" 2>/dev/null ||",
            "      kill -KILL $(cat \"$skyport_cg/cgroup.procs\") 2>/dev/null",
            "  fi",
            "  echo \"$skyport_rc\" > \"$skyport_r/exitcode\"",
            "  skyport_tell E \"$skyport_t\"",
            "}",
            "");

    private static final String LOOP = String.join("\n",
            // The length's line is read a byte at a time, the request in reads of up to 4 KiB (bash reads -N from a
            // pipe in bulk, never past what it was asked for). A request cut short by the end of the input is not run.
            "while IFS= read -r skyport_n && IFS= read -r -N \"$skyport_n\" skyport_q; do",
            "  ( eval \"$skyport_q\" ) & disown",
            "done",
            "");

    /** What the gate does when the launcher reports. Called from the launcher's reader threads. */
    interface Listener {
        /** The run wrote its exit code. */
        void ended(Run run);

        /** The run found its claim taken: it never starts. */
        void fenced(Run run);

        /** The launcher died after these runs' requests were sent to it; each may or may not have started. */
        void launcherGone(Collection<Run> sent);

        /** No launcher could be started for the run. */
        void failed(Run run, IOException why);
    }

    /** A run sent through the launcher, until its end is known. */
    static final class Run {
        final long token;
        final RunHandle handle;
        final RunRequest request;
        final Path runDir;
        final Optional<Path> cgroup;
        /**
         * Its sandbox's {@code --setenv} arguments, NUL-separated (a sandboxed run's only: a shell variable cannot hold
         * a NUL), in a directory of the engine's.
         */
        final Optional<Path> sandboxArgsFile;
        final CompletableFuture<RunOutcome> end = new CompletableFuture<>();
        final long queuedNanos = System.nanoTime();
        /** What goes to the launcher: the length's line and the request; null once written. */
        volatile byte[] message;
        /** How many bytes {@link #message} had when it was made (tests). */
        volatile int messageLength;

        /** Whether the gate was asked to watch it. */
        volatile boolean watched;
        /** Its process group, once known; 0 before. */
        volatile long pid;
        /** The launcher it was last written to; null before, and after a write that did not reach it. */
        volatile Generation sentTo;
        /**
         * When it was last written to a launcher ({@link System#nanoTime}), set before {@link #sentTo}: how long that
         * launcher has had it. Its queueing time would count the time a stuck predecessor held it too.
         */
        volatile long sentNanos;

        Run(long token, RunHandle handle, RunRequest request, Optional<Path> cgroup, Optional<Path> sandboxArgsFile) {
            this.token = token;
            this.sandboxArgsFile = sandboxArgsFile;
            this.handle = handle;
            this.request = request;
            this.runDir = Path.of(request.runDirectory());
            this.cgroup = cgroup;
        }
    }

    /** One launcher process, and what was sent to it. */
    static final class Generation {
        final Process process;
        final OutputStream requests;
        final Set<Run> sent = ConcurrentHashMap.newKeySet();
        boolean dead;

        Generation(Process process) {
            this.process = process;
            this.requests = process.getOutputStream();
        }
    }

    private final String bash;
    private final Map<String, String> environment;
    private final String script;
    private final Listener listener;
    private final Map<Long, Run> runs = new ConcurrentHashMap<>();
    private final AtomicLong tokens = new AtomicLong();
    private final LinkedBlockingDeque<Run> queue = new LinkedBlockingDeque<>();
    private final Object lock = new Object();
    private Generation current;
    private Thread writer;
    private volatile boolean closed;
    private final CountDownLatch drained = new CountDownLatch(1);
    private static final long CLOSE_WAIT_SECONDS = 10;
    /** How long closing waits for the runs the launcher was sent to claim their run directories. */
    private static final long CLAIM_WAIT_MILLIS = 5_000;

    /**
     * @param bash the bash program
     * @param engineEnvironment the engine's environment, from which the launcher's is made
     * @param keptIsolated what an isolated job keeps of it (besides {@code LC_*})
     * @param keptClient what a container runtime's client keeps of it (besides {@code LC_*})
     */
    LocalLauncher(String bash, Map<String, String> engineEnvironment, List<String> keptIsolated,
                  List<String> keptClient, Listener listener) {
        this.bash = bash;
        this.listener = listener;
        Map<String, String> env = new TreeMap<>();
        engineEnvironment.forEach((k, v) -> {
            if (NAME.matcher(k).matches() && !SHELL_VARIABLES.contains(k) && v.indexOf('\0') < 0) {
                env.put(k, v);
            }
        });
        // The script's own variables are skyport_*: one exported from here would reach plain jobs with the launcher's
        // value (a variable the script sets keeps the export attribute the environment gave it, a local one too).
        // Such engine variables are not passed to the launcher; skyport_plain_env gives plain jobs their values back.
        Map<String, String> own = new TreeMap<>();
        env.keySet().removeIf(k -> {
            if (k.startsWith(OWN_PREFIX)) {
                own.put(k, env.get(k));
                return true;
            }
            return false;
        });
        this.environment = Map.copyOf(env);
        StringBuilder s = new StringBuilder(SCRIPT);
        // What bash itself sets (SHLVL, PWD, OLDPWD) goes back to what the engine had, as a process of its own got.
        s.append("skyport_plain_env() {\n  unset -v SHLVL PWD OLDPWD\n");
        for (String k : List.of("SHLVL", "PWD", "OLDPWD")) {
            String v = engineEnvironment.get(k);
            if (v != null && v.indexOf('\0') < 0) {
                s.append("  export ").append(k).append('=').append(quote(v)).append('\n');
            }
        }
        own.forEach((k, v) -> s.append("  export ").append(k).append('=').append(quote(v)).append('\n'));
        s.append("}\n");
        s.append("skyport_isolated_env() {\n").append(unsetAllBut(env.keySet(), keptIsolated)).append("}\n");
        List<String> client = new ArrayList<>(keptIsolated);
        client.addAll(keptClient);
        s.append("skyport_client_env() {\n").append(unsetAllBut(env.keySet(), client)).append("}\n");
        s.append(LOOP);
        this.script = s.toString();
    }

    private static String unsetAllBut(Collection<String> names, List<String> kept) {
        StringBuilder b = new StringBuilder("  unset -v SHLVL PWD OLDPWD");
        for (String n : names) {
            if (!kept.contains(n) && !n.startsWith("LC_")) {
                b.append(' ').append(n);
            }
        }
        return b.append('\n').toString();
    }

    /** {@return whether {@code name}, a job's variable, can be set through the launcher} */
    static boolean canSet(String name) {
        return NAME.matcher(name).matches() && !SHELL_VARIABLES.contains(name);
    }

    /** {@return whether {@code s} can go in a request; a NUL cannot} */
    static boolean canQuote(String s) {
        return s.indexOf('\0') < 0;
    }

    /**
     * {@code s} quoted for bash in printable ASCII: nothing in it is interpreted. Single quotes when it is printable
     * ASCII already; else ANSI-C quotes, with every other byte of its UTF-8 form as an octal escape, which bash turns
     * back into that byte in any locale.
     */
    static String quote(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        boolean printable = true;
        for (byte b : bytes) {
            printable &= b >= 0x20 && b < 0x7f;
        }
        if (printable) {
            return "'" + s.replace("'", "'\\''") + "'";
        }
        StringBuilder q = new StringBuilder(bytes.length + 16).append("$'");
        for (byte b : bytes) {
            int c = b & 0xff;
            if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
                q.append((char) c);
            } else {
                q.append('\\').append((char) ('0' + (c >> 6))).append((char) ('0' + ((c >> 3) & 7)))
                        .append((char) ('0' + (c & 7)));
            }
        }
        return q.append('\'').toString();
    }

    /**
     * A new run, not yet sent. {@code sandboxArgs}: the file of its sandbox's arguments, written; a sandboxed run's only.
     * Its writer deletes it once the run's end is known.
     */
    Run newRun(RunHandle handle, RunRequest request, Optional<Path> cgroup, Optional<Path> sandboxArgs) {
        Run run = new Run(tokens.incrementAndGet(), handle, request, cgroup, sandboxArgs);
        runs.put(run.token, run);
        run.end.whenComplete((o, e) -> {
            runs.remove(run.token);
            run.message = null;
            Generation g = run.sentTo;
            if (g != null) {
                g.sent.remove(run);
            }
        });
        return run;
    }

    /**
     * The request of {@code run}: {@code skyport_env} (the job's variables: {@code envMode} is {@code plain},
     * {@code isolated} or {@code client}) and the call of {@code skyport_run}; printable ASCII and newlines only.
     */
    static String request(Run run, String envMode, Map<String, String> exports, String workdir,
                          Optional<Path> cgroup, List<String> program) {
        StringBuilder b = new StringBuilder(256);
        b.append("skyport_env() {\n  skyport_").append(envMode).append("_env\n");
        run.sandboxArgsFile.ifPresent(args ->
                // Only the job's own variables are in it: that the job inherits the descriptor gives it nothing.
                b.append("  exec ").append(SANDBOX_ARGS_FD).append('<').append(quote(args.toString())).append('\n'));
        for (Map.Entry<String, String> e : exports.entrySet()) {
            b.append("  export ").append(e.getKey()).append('=').append(quote(e.getValue())).append('\n');
        }
        b.append("}\nskyport_run ").append(run.token).append(' ').append(quote(run.request.directory())).append(' ')
                .append(run.request.attempt()).append(' ').append(quote(workdir)).append(' ')
                .append(quote(cgroup.map(Path::toString).orElse(""))).append(' ')
                .append(run.sandboxArgsFile.isPresent() ? "1" : "''");
        for (String arg : program) {
            b.append(' ').append(quote(arg));
        }
        return b.append('\n').toString();
    }

    /** Queues {@code request}, made by {@link #request}, for the launcher to start {@code run} with. */
    void send(Run run, String request) {
        byte[] body = request.getBytes(StandardCharsets.US_ASCII);
        byte[] length = (body.length + "\n").getBytes(StandardCharsets.US_ASCII);
        byte[] message = new byte[length.length + body.length];
        System.arraycopy(length, 0, message, 0, length.length);
        System.arraycopy(body, 0, message, length.length, body.length);
        run.message = message;
        run.messageLength = message.length;
        queue.add(run);
        synchronized (lock) {
            if (writer == null) {
                writer = new Thread(this::writeLoop, "skyport-local-launch");
                writer.setDaemon(true);
                writer.start();
            }
        }
    }

    /** Ends the current launcher (it is restarted for the next request): for one that stopped reading. */
    void restart() {
        Generation g;
        synchronized (lock) {
            g = current;
        }
        if (g != null) {
            LOG.warn("the local launcher (pid {}) has not started a run it was sent long ago; starting a new one",
                    g.process.pid());
            g.process.destroyForcibly();
        }
    }

    /** The launcher's pid, when one runs (tests). */
    Optional<Long> pid() {
        synchronized (lock) {
            return current == null || current.dead ? Optional.empty() : Optional.of(current.process.pid());
        }
    }

    private void writeLoop() {
        List<Run> batch = new ArrayList<>();
        byte[] buffer = new byte[PIPE_BUF];
        while (true) {
            Run first;
            try {
                // Once closed, what was queued still goes out: those runs were reported started.
                first = closed ? queue.poll() : queue.take();
            } catch (InterruptedException e) {
                continue;
            }
            if (first == null) {
                drained.countDown();
                return;
            }
            byte[] bytes = first.message;
            if (bytes == null) {
                // settled before it was sent (its end was known: a stop before the start)
                continue;
            }
            batch.add(first);
            int length = bytes.length;
            // Several requests go in one write only while it stays atomic: a write that fails part way may have given
            // the launcher the first requests of it whole, and those it runs. A longer request is written alone.
            if (length <= PIPE_BUF) {
                System.arraycopy(bytes, 0, buffer, 0, length);
                bytes = buffer;
                // Only this thread takes from the queue: what it peeks at is what it polls.
                for (Run next = queue.peekFirst(); next != null; next = queue.peekFirst()) {
                    byte[] m = next.message;
                    if (m != null && length + m.length > PIPE_BUF) {
                        break;
                    }
                    queue.pollFirst();
                    if (m != null) {
                        System.arraycopy(m, 0, buffer, length, m.length);
                        length += m.length;
                        batch.add(next);
                    }
                }
            }
            Generation g;
            try {
                g = generation();
            } catch (IOException e) {
                if (closed) {
                    drained.countDown();
                    return;
                }
                for (Run r : batch) {
                    listener.failed(r, e);
                }
                batch.clear();
                continue;
            }
            synchronized (g) {
                boolean written = false;
                if (!g.dead) {
                    long now = System.nanoTime();
                    for (Run r : batch) {
                        r.sentNanos = now;
                        r.sentTo = g;
                        g.sent.add(r);
                    }
                    try {
                        g.requests.write(bytes, 0, length);
                        g.requests.flush();
                        written = true;
                        for (Run r : batch) {
                            r.message = null;
                            if (r.end.isDone()) {
                                // settled while it was written: its completion may have looked before sentTo was set
                                g.sent.remove(r);
                            }
                        }
                    } catch (IOException gone) {
                        // The launcher's end of the pipe is closed: it did not read all of this write. Of an atomic one
                        // it read nothing; of a longer one, one request, cut short, which it does not run. These go to
                        // the next launcher.
                        g.sent.removeAll(batch);
                        // Not sent: the check must not fence them off as requests a dead launcher had not read.
                        batch.forEach(r -> r.sentTo = null);
                        g.process.destroyForcibly();
                    }
                }
                if (!written) {
                    for (int i = batch.size() - 1; i >= 0; i--) {
                        queue.addFirst(batch.get(i));
                    }
                    gone(g);
                }
            }
            batch.clear();
        }
    }

    /** The running launcher, started when there is none. */
    private Generation generation() throws IOException {
        synchronized (lock) {
            if (current != null && !current.dead) {
                return current;
            }
            if (closed) {
                // What is still queued stays unsent: the claim is free, so the next engine's probe fences it off.
                throw new IOException("the launcher is closed");
            }
            ProcessBuilder pb = new ProcessBuilder("setsid", bash, "-c", script, "skyport-launcher")
                    .redirectInput(ProcessBuilder.Redirect.PIPE)
                    .redirectOutput(ProcessBuilder.Redirect.PIPE)
                    .redirectError(ProcessBuilder.Redirect.PIPE);
            pb.environment().clear();
            pb.environment().putAll(environment);
            Generation g = new Generation(pb.start());
            current = g;
            LOG.debug("local launcher started, pid {}", g.process.pid());
            daemon("skyport-local-launcher-" + g.process.pid(), () -> readLoop(g));
            daemon("skyport-local-launcher-err-" + g.process.pid(), () -> logErrors(g));
            g.process.onExit().thenRun(() -> gone(g));
            return g;
        }
    }

    private static void daemon(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
    }

    /** Settles what was sent to {@code g}, once, when it has died. */
    private void gone(Generation g) {
        List<Run> sent;
        synchronized (g) {
            if (g.dead && g.sent.isEmpty()) {
                return;
            }
            g.dead = true;
            sent = List.copyOf(g.sent);
            g.sent.clear();
        }
        synchronized (lock) {
            if (current == g) {
                current = null;
            }
        }
        if (!closed && g.process.isAlive()) {
            g.process.destroyForcibly();
        }
        // Once closed, the launcher exits at the end of its input, and runs it forked may not have claimed yet: they go
        // on, and the next engine's probe follows or fences each. Fencing them here would lose runs about to start.
        if (!sent.isEmpty() && !closed) {
            listener.launcherGone(sent);
        }
    }

    /** Reads what runs tell until every holder of the pipe is gone: runs outlive their launcher. */
    private void readLoop(Generation g) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(g.process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                int space = line.indexOf(' ');
                if (space != 1) {
                    continue;
                }
                Run run;
                try {
                    run = runs.get(Long.parseLong(line.substring(2)));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (run == null) {
                    continue;
                }
                try {
                    if (line.charAt(0) == 'E') {
                        listener.ended(run);
                    } else if (line.charAt(0) == 'F') {
                        listener.fenced(run);
                    }
                } catch (RuntimeException e) {
                    LOG.warn("cannot settle the end of job {}: {}", run.request.job(), e.toString());
                }
            }
        } catch (IOException e) {
            LOG.debug("the local launcher's output ended: {}", e.toString());
        }
    }

    private void logErrors(Generation g) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(g.process.getErrorStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                LOG.warn("local launcher: {}", line.length() > 500 ? line.substring(0, 500) + "..." : line);
            }
        } catch (IOException e) {
            // closed with the launcher
        }
    }

    /** Whether {@link #close} was called: runs sent to it are settled by the next engine's probe, not here. */
    boolean isClosed() {
        return closed;
    }

    /**
     * Closes the launcher's standard input: it exits, and the runs go on. Their ends are no longer read: the next
     * gate over the same directory finds them by probing.
     */
    void close() {
        Thread w;
        synchronized (lock) {
            closed = true;
            w = writer;
        }
        boolean stuck = false;
        if (w != null) {
            w.interrupt();
            try {
                if (!drained.await(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                    LOG.warn("the local launcher did not take every request in {} s; ending it", CLOSE_WAIT_SECONDS);
                    stuck = true;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stuck = true;
            }
        }
        Generation g;
        synchronized (lock) {
            g = current;
            current = null;
        }
        if (g != null) {
            if (stuck) {
                // The writer may be blocked in a write to a launcher that stopped reading, holding the stream's lock
                // that closing it takes: only the launcher's end releases it. Its runs go on; what it had not read,
                // like what was never sent, is fenced off by the next engine's probe.
                g.process.destroyForcibly();
            }
            // Taken before the launcher can exit: its exit clears what was sent to it (gone).
            List<Run> sent;
            synchronized (g) {
                g.dead = true;
                sent = List.copyOf(g.sent);
            }
            try {
                g.requests.close();
            } catch (IOException e) {
                // gone already
            }
            if (!stuck) {
                awaitClaims(g, sent);
            }
            try {
                g.process.getInputStream().close();
            } catch (IOException e) {
                // gone already
            }
        }
    }

    /**
     * Waits, for at most {@link #CLAIM_WAIT_MILLIS}, until the launcher has read its last request (it exits at the end
     * of its input) and every run sent to it has claimed its run directory or ended: a run that claimed is followed by
     * the next engine's probe; one that had not yet would be fenced off by it and retried, though it was about to start.
     */
    private static void awaitClaims(Generation g, List<Run> sent) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLAIM_WAIT_MILLIS);
        try {
            // Killed (a signal's status), it forked nothing more: what it had not started never claims.
            if (!g.process.waitFor(CLAIM_WAIT_MILLIS, TimeUnit.MILLISECONDS) || g.process.exitValue() >= 128) {
                return;
            }
            for (Run r : sent) {
                while (!r.end.isDone() && !Files.exists(r.runDir.resolve(DetachedRun.CLAIM))) {
                    if (System.nanoTime() - deadline > 0) {
                        return;
                    }
                    TimeUnit.MILLISECONDS.sleep(5);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The bash to run the launcher with: {@code option} ({@code auto}, {@code none} or a path).
     *
     * @throws GateException (permanent) naming the option when it is none of those
     */
    static Optional<String> bash(String option) {
        String o = option.strip().toLowerCase(Locale.ROOT);
        if (o.equals("none")) {
            return Optional.empty();
        }
        if (!o.equals("auto")) {
            String path = option.strip();
            if (!path.startsWith("/") || !Files.isExecutable(Path.of(path))) {
                throw GateException.permanent("gate option launcher must be auto, none or the absolute path of a bash,"
                        + " got '" + path + "'");
            }
            if (!readsByLength(path)) {
                throw GateException.permanent("gate option launcher: " + path + " has no read -N (bash " + MIN_BASH
                        + " or later has it; the launcher reads its requests by their length)");
            }
            return Optional.of(path);
        }
        for (String p : List.of("/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash")) {
            if (Files.isExecutable(Path.of(p)) && readsByLength(p)) {
                return Optional.of(p);
            }
        }
        LOG.warn("no bash {} or later in /bin, /usr/bin or /usr/local/bin: local runs start as processes of the engine",
                MIN_BASH);
        return Optional.empty();
    }

    private static boolean readsByLength(String bash) {
        Boolean known = BASH_CHECKED.get(bash);
        if (known != null) {
            return known;
        }
        try {
            ProcessBuilder pb = new ProcessBuilder(bash, "-c", "printf ab | { read -r -N 1 x && [ \"$x\" = a ]; }")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            // Nothing of the engine's environment (BASH_ENV, SHELLOPTS) may change the answer.
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/bin:/bin");
            Process p = pb.start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                // not known: asked again next time
                p.destroyForcibly();
                return false;
            }
            boolean ok = p.exitValue() == 0;
            BASH_CHECKED.put(bash, ok);
            return ok;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
