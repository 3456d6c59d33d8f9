package dev.skyport.gate;

import java.util.ArrayList;
import java.util.List;
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
 *   <li>{@code pid}: the process group id (the wrapper is a session leader), written right after the claim.</li>
 *   <li>{@code exitcode}: the job's exit status, written when it ends on its own.</li>
 * </ul>
 * stdout and stderr go to {@code stdout.log} and {@code stderr.log} in the job directory.
 *
 * <p>A SIGTERM sent to the group reaches the job with its default action, while the wrapper traps it and stays to
 * record how the job ended: a job that ignores SIGTERM keeps its run (and its node) until the SIGKILL that follows,
 * instead of outliving a wrapper that died first.
 *
 * <p>The wrapper runs as {@code setsid /bin/sh -c WRAPPER skyport-run <job dir> <attempt> <workdir> <program...>};
 * only shell built-ins run before the job, so a start costs two process creations.
 */
public final class DetachedRun {
    /** The wrapper script; see the class comment for its arguments. */
    public static final String WRAPPER = String.join("\n",
            "d=$1; r=$1/run.$2; w=$3; shift 3",
            "set -C",
            "{ : > \"$r/claim\"; } 2>/dev/null || exit 0",
            "set +C",
            "echo $$ > \"$r/pid\"",
            "exec </dev/null >\"$d/stdout.log\" 2>\"$d/stderr.log\"",
            "trap : TERM INT HUP",
            "if cd \"$w\"; then \"$@\"; rc=$?; else rc=200; fi",
            "echo \"$rc\" > \"$r/exitcode\"",
            "");

    /** The status recorded when the work directory does not exist. */
    public static final int NO_WORKDIR_STATUS = 200;

    private DetachedRun() {
    }

    /** The argument vector that starts {@code request} detached, given the program that runs the job. */
    public static List<String> command(RunRequest request, List<String> program) {
        List<String> argv = new ArrayList<>(List.of("setsid", "/bin/sh", "-c", WRAPPER, "skyport-run",
                request.directory(), Integer.toString(request.attempt()), request.workdir()));
        argv.addAll(program);
        return argv;
    }

    /**
     * The program for a request: its command, or its script file ({@code <dir>/script}) run by the interpreter its
     * {@code #!} line names (with the line's one optional argument, as the kernel reads it), else by {@code /bin/sh},
     * as upstream does. The script is never executed itself: exec of a file just written fails with ETXTBSY when
     * another thread's fork still holds the writer's descriptor.
     */
    public static List<String> program(RunRequest request) {
        if (request.script().isEmpty()) {
            return request.command();
        }
        String path = request.directory() + "/script";
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

    /** Parses the content of an {@code exitcode} file; empty when it is empty or partial. */
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
