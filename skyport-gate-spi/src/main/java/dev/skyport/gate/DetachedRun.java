package dev.skyport.gate;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The protocol of a detached run on a POSIX node, shared by every gate that runs jobs through a shell (local, ssh,
 * cloud VMs). The engine may die at any moment; the files below let a later engine tell what happened without ever
 * running a job twice.
 *
 * <p>In the run directory {@code <job dir>/run.<attempt>/}:
 * <ul>
 *   <li>{@code claim}: created with O_EXCL by whoever gets there first. The wrapper creates it before it runs the job;
 *       {@link NodeAccess#probe} creates it when the wrapper never started. Whoever loses backs off, so a run that
 *       a probe declared {@code NEVER_STARTED} can never start later.</li>
 *   <li>{@code pid}: the process group id (the wrapper leads its process group: a session of its own through
 *       {@code setsid}, or a group of its own in a launcher's session, as the local gate's launcher starts runs),
 *       written right after the claim.</li>
 *   <li>{@code exitcode}: the job's exit status, written when it ends on its own.</li>
 * </ul>
 * stdout and stderr go to {@code stdout.log} and {@code stderr.log} in the job directory.
 *
 * <p>A SIGTERM sent to the group reaches the job with its default action, while the wrapper traps it and stays to
 * record how the job ended: a job that ignores SIGTERM keeps its run (and its node) until the SIGKILL that follows,
 * instead of outliving a wrapper that died first.
 *
 * <p>Containment: given a cgroup (v2) directory, the wrapper creates it, writes the job's {@code memory.max} and
 * {@code cpu.max} where the node's controllers offer those files, and runs the job in it, the wrapper itself staying
 * outside. When the job's main process ends, the wrapper kills whatever is left in the cgroup ({@code cgroup.kill})
 * and removes it before it writes {@code exitcode}: children that called {@code setsid} or were left in the background
 * end with the job. A gate stopping a run signals the cgroup's members besides the group.
 *
 * <p>Isolation ({@link RunIsolation}): the job runs under bubblewrap, which sees only system paths, a private
 * {@code /tmp}, its own {@code /proc} and {@code /dev} and its job directory; {@code run.<attempt>} and the logs
 * are mounted read-only over themselves, so the job can neither write its control files nor rename or replace them.
 * bubblewrap's own process ignores SIGTERM (the job gets the default action back through {@code env --default-signal}):
 * it dies when the job does, and a group-wide SIGTERM must not kill it first, or the sandbox would take a job that
 * handles SIGTERM down with it.
 *
 * <p>The wrapper runs as {@code setsid /bin/sh -c WRAPPER skyport-run <job dir> <attempt> <workdir> <cgroup>
 * <memory.max> <cpu.max> <program...>} (the cgroup and limits may be empty); only shell built-ins run before the
 * job, so a start costs two process creations plus the sandbox's. The local gate starts its runs through a
 * long-lived launcher that follows this protocol with its own copy of the steps (no {@code setsid}, no {@code sh} exec,
 * cgroup made and removed by the engine); a change here must be made there too ({@code LocalLauncher}).
 */
public final class DetachedRun {
    /** The job's standard output, in the job directory. */
    public static final String STDOUT = "stdout.log";
    /** The job's standard error, in the job directory. */
    public static final String STDERR = "stderr.log";
    /** The job's script, in the job directory, when it has one. */
    public static final String SCRIPT = "script";
    /** In the run directory: created with O_EXCL by the wrapper or by a probe, whichever comes first. */
    public static final String CLAIM = "claim";
    /** In the run directory: the wrapper's process group id. */
    public static final String PID = "pid";
    /** In the run directory: the job's exit status, written when it ends. */
    public static final String EXIT_CODE = "exitcode";

    /**
     * {@return the name of attempt {@code attempt}'s run directory inside the job directory}
     *
     * @param attempt the attempt
     */
    public static String runDirectoryName(int attempt) {
        return RUN_DIRECTORY_PREFIX + attempt;
    }

    /**
     * {@return whether {@code name}, a name in a job directory, is one of its attempts' run directories}
     *
     * @param name a file name
     */
    public static boolean isRunDirectoryName(String name) {
        return name.startsWith(RUN_DIRECTORY_PREFIX);
    }

    private static final String RUN_DIRECTORY_PREFIX = "run.";

    /** The status recorded when the work directory does not exist. */
    public static final int NO_WORKDIR_STATUS = 200;

    /** The status recorded when the job could not be put in its cgroup (it did not run). */
    public static final int NO_CGROUP_STATUS = 201;

    /** The wrapper script; see the class comment for its arguments. Its file names are the constants above. */
    public static final String WRAPPER = String.join("\n",
            "d=$1; r=$1/run.$2; w=$3; cg=$4; mem=$5; cpu=$6; shift 6",
            "set -C",
            "{ : > \"$r/claim\"; } 2>/dev/null || exit 0",
            "set +C",
            "echo $$ > \"$r/pid\"",
            "exec </dev/null >\"$d/stdout.log\" 2>\"$d/stderr.log\"",
            "trap : TERM INT HUP",
            "if [ -n \"$cg\" ]; then",
            "  mkdir \"$cg\"",
            "  [ -z \"$mem\" ] || [ ! -e \"$cg/memory.max\" ] || echo \"$mem\" > \"$cg/memory.max\"",
            "  [ -z \"$cpu\" ] || [ ! -e \"$cg/cpu.max\" ] || echo \"$cpu\" > \"$cg/cpu.max\"",
            "fi",
            "if cd \"$w\"; then",
            // The subshell moves itself ("0" is the writer) into the cgroup, then becomes the job.
            "  ( if [ -n \"$cg\" ] && ! echo 0 > \"$cg/cgroup.procs\"; then",
            "      echo \"skyport: cannot enter cgroup $cg\" >&2; exit " + NO_CGROUP_STATUS + "; fi",
            "    exec \"$@\" ); rc=$?",
            "else rc=" + NO_WORKDIR_STATUS + "; fi",
            "if [ -n \"$cg\" ]; then",
            // cgroup.kill appeared in Linux 5.14; before it, one KILL per member is the best a shell can do.
            "  echo 1 > \"$cg/cgroup.kill\" 2>/dev/null || kill -KILL $(cat \"$cg/cgroup.procs\") 2>/dev/null",
            "  i=0; until rmdir \"$cg\" 2>/dev/null || [ $i -ge 100 ]; do i=$((i+1)); sleep 0.1; done",
            "fi",
            "echo \"$rc\" > \"$r/exitcode\"",
            "");

    /** Paths a sandboxed job sees read-only, where the node has them. */
    public static final List<String> SYSTEM_PATHS = List.of("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
            "/libx32", "/etc", "/opt");

    private static final long CPU_PERIOD_MICROS = 100_000;

    private DetachedRun() {
    }

    /**
     * {@return the argument vector that starts {@code request} detached and neither isolated nor contained}
     *
     * @param request the run
     * @param program the program the run executes
     */
    public static List<String> command(RunRequest request, List<String> program) {
        return command(request, program, RunIsolation.none(), Optional.empty());
    }

    /**
     * {@return the argument vector that starts {@code request} detached, given the program that runs the job, isolated
     * as {@code isolation} says and contained in {@code cgroup} (a directory to create in the node's cgroup v2
     * hierarchy) when given}
     *
     * @param request the run
     * @param program the program the run executes
     * @param isolation how the run is fenced off
     * @param cgroup the cgroup the run is placed in, when there is one
     */
    public static List<String> command(RunRequest request, List<String> program, RunIsolation isolation,
                                       Optional<String> cgroup) {
        String memory = request.memoryBytes() > 0 ? Long.toString(request.memoryBytes()) : "";
        String cpu = (request.cpus() * CPU_PERIOD_MICROS) + " " + CPU_PERIOD_MICROS;
        List<String> argv = new ArrayList<>(List.of("setsid", "/bin/sh", "-c", WRAPPER, "skyport-run",
                request.directory(), Integer.toString(request.attempt()), request.workdir(), cgroup.orElse(""),
                cgroup.isPresent() ? memory : "", cgroup.isPresent() ? cpu : ""));
        argv.addAll(sandbox(request, isolation));
        argv.addAll(program);
        return argv;
    }

    /** What runs before the program to isolate it; empty for {@link RunIsolation.Mode#NONE}. */
    static List<String> sandbox(RunRequest request, RunIsolation isolation) {
        if (isolation.mode() == RunIsolation.Mode.NONE) {
            return List.of();
        }
        List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", "trap '' TERM INT HUP; exec \"$@\"",
                "skyport-sandbox"));
        a.addAll(sandboxProgram(request, isolation));
        return a;
    }

    /**
     * {@return the sandbox's own argument vector (bubblewrap and what runs inside it up to the program), for a starter
     * that itself execs it with SIGTERM, SIGINT and SIGHUP ignored, as {@link #command} does through a shell (see the
     * class comment); empty for {@link RunIsolation.Mode#NONE}}
     *
     * @param request the run
     * @param isolation how the run is fenced off
     */
    public static List<String> sandboxProgram(RunRequest request, RunIsolation isolation) {
        if (isolation.mode() == RunIsolation.Mode.NONE) {
            return List.of();
        }
        List<String> a = new ArrayList<>(List.of(isolation.bwrap(), "--die-with-parent", "--unshare-pid",
                "--unshare-ipc"));
        if (isolation.mode() == RunIsolation.Mode.SANDBOX) {
            a.addAll(List.of("--unshare-user", "--cap-drop", "ALL"));
        }
        a.addAll(List.of("--ro-bind", "/usr", "/usr"));
        for (String p : SYSTEM_PATHS) {
            if (!p.equals("/usr")) {
                a.addAll(List.of("--ro-bind-try", p, p));
            }
        }
        a.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"));
        for (String hidden : isolation.hiddenPaths()) {
            if (SYSTEM_PATHS.stream().anyMatch(p -> under(hidden, p))) {
                a.addAll(List.of("--tmpfs", hidden));
            }
        }
        // bubblewrap creates the directories above the job directory 0700 (seen with 0.8 as root): an account could
        // not reach its own files by their absolute path.
        String dir = request.directory();
        for (int i = dir.indexOf('/', 1); i > 0; i = dir.indexOf('/', i + 1)) {
            a.addAll(List.of("--perms", "0711", "--dir", dir.substring(0, i)));
        }
        // The logs are mounted over themselves too: the job writes them through the descriptors the wrapper opened,
        // but cannot swap one for a symbolic link that the engine, serving the log, would follow to its own files.
        String out = dir + "/" + STDOUT;
        String err = dir + "/" + STDERR;
        a.addAll(List.of("--bind", dir, dir, "--ro-bind", request.runDirectory(), request.runDirectory(),
                "--ro-bind", out, out, "--ro-bind", err, err, "--chdir", request.workdir(), "--"));
        if (isolation.mode() == RunIsolation.Mode.ACCOUNT) {
            a.addAll(List.of("setpriv", "--reuid=" + isolation.uid(), "--regid=" + isolation.gid(),
                    "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"));
        }
        a.addAll(List.of("env", "--default-signal=TERM,INT,HUP"));
        return a;
    }

    private static boolean under(String path, String root) {
        return path.equals(root) || path.startsWith(root + "/");
    }

    /**
     * {@return the program for a request: its command, or its script file ({@code <dir>/script}) run by the interpreter
     * its {@code #!} line names (with the line's one optional argument, as the kernel reads it), else by
     * {@code /bin/sh}, as upstream does} The script is never executed itself: exec of a file just written fails with
     * ETXTBSY when another thread's fork still holds the writer's descriptor.
     *
     * @param request the run
     */
    public static List<String> program(RunRequest request) {
        if (request.script().isEmpty()) {
            return request.command();
        }
        String path = request.directory() + "/" + SCRIPT;
        String script = request.script().get();
        if (!script.startsWith("#!")) {
            return List.of("/bin/sh", path);
        }
        int end = script.indexOf('\n');
        String line = (end < 0 ? script.substring(2) : script.substring(2, end)).strip();
        if (line.isEmpty()) {
            return List.of("/bin/sh", path);
        }
        String[] parts = line.split("[ \t]+", 2);
        List<String> program = new ArrayList<>(3);
        program.add(parts[0]);
        if (parts.length > 1 && !parts[1].isBlank()) {
            program.add(parts[1].strip());
        }
        program.add(path);
        return program;
    }

    /**
     * Parses the content of an {@code exitcode} file; empty when it is empty or partial.
     *
     * @param content the file's content
     * @return the exit status
     */
    public static OptionalInt parseStatus(String content) {
        String s = content.trim();
        if (s.isEmpty() || !content.endsWith("\n")) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(Integer.parseInt(s));
        } catch (NumberFormatException e) {
            return OptionalInt.empty();
        }
    }
}
