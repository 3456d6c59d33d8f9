package dev.skyport.gate;

import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.JobId;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A detached run of a {@link RunRequest#steps()} request, for every POSIX gate whose node has podman or docker: a
 * POSIX sh driver ({@link #DRIVER}) is the program {@link DetachedRun#command} starts, exactly as a {@link ContainerRun}
 * is, so claim, pid, process group, exit status file and re-attach hold unchanged. The driver runs each step in its
 * own container, in order, and keeps the records {@link StepLayout} describes.
 *
 * <p>Step {@code i}'s container is {@code skyport-<job id>-<attempt>-<i>} ({@link #name}), labelled
 * {@code skyport-job}, {@code skyport-attempt} and {@code skyport-step}, created with the hardening of a container run
 * ({@code --init --cap-drop=ALL}, no new privileges, {@link ContainerRun#PIDS_LIMIT}, cpus and memory, the account's or
 * docker's gate user), every mount of {@link StepLayout#mounts} ({@code :ro} for inputs), the step's work directory,
 * and its variables in {@code run.<attempt>/step.<i>.env} ({@link #envFile}, 0600), then started attached
 * ({@code start -a}) and removed after it ended. The step's argv is the container's command: no shell is added. The
 * job directory itself is not mounted: a step sees its image, its mounts and nothing else.
 *
 * <p>Create, then start: a command may itself exit {@value StepLayout#RUNTIME_FAILURE}, which podman and docker pass
 * through, so that status alone does not say the runtime failed. A failed {@code create} (e.g. a missing image), or a
 * container still {@code created} after {@code start} (its process never ran), is recorded as
 * {@code end <ms> 125 nocontainer} ({@link StepLayout#NO_CONTAINER}) and ends the run even when the step ignores
 * errors.
 *
 * <p>Standard streams: stdin comes from the node path of the step's {@code stdin}, stdout and stderr go to the node
 * path of the step's {@code stdout}/{@code stderr} when it lies in a shared directory (missing directories below the
 * mount are created), else to {@link StepLayout#stdout}/{@link StepLayout#stderr} in the run directory. Paths in the
 * mounts are opened, and directories there made, by a {@code cat} or {@code mkdir} run as the job's account
 * ({@code setpriv}) where jobs run as accounts, and piped to or from the runtime's client: the mounts are the
 * account's, and any process of that account (another job of the same owner) may swap a part of such a path for a
 * link at any moment, so only the account's own rights make the open safe. The driver still refuses a path where a
 * part below the mount is a link, or an output that is no regular file, so that a step gets a clear error: a refused
 * path ends the step with {@code 125 nocontainer} and a line {@code skyport: ...} in {@link StepLayout#stderr}; the
 * container is not created.
 *
 * <p>Times: {@code date +%s%3N} gives milliseconds with GNU coreutils (Debian, Ubuntu, RHEL); a {@code date} without
 * {@code %N} (busybox, BSD) prints something else, and the driver then records whole seconds ({@code <s>000}).
 *
 * <p>Stopping: a SIGTERM to the run's group reaches the runtime's client, which passes it to the step's container (the
 * stream copies ignore it and end with the client); the driver traps it, records the step's end and starts no further step (its exit status is the step's, else 143). A
 * SIGKILL kills the driver and the client with the group, so the gate also kills and removes every container of the
 * attempt by its labels ({@link #stopCommands}); after any other end of the client the driver removes the container. The mark ({@link ContainerRun#MARK}) holds the names of all the steps' containers, one a line, and is
 * written before the start.
 */
public final class StepsRun {
    /** The status of a run whose driver was stopped with SIGTERM before any step failed (128 + 15). */
    public static final int TERMINATED_STATUS = 143;

    /**
     * The most bytes the driver's command line may have: Linux takes about 2 MiB (a quarter of the stack limit) for
     * argv and environment together, and the wrapper and the environment need their share.
     */
    public static final int MAX_COMMAND_LINE_BYTES = 1024 * 1024;

    /**
     * The driver; $1 the runtime, $2 the run directory, $3 the {@code uid:gid} owning what it creates in the mounts
     * (empty: its own user), then per step ten words and the client's command: the step's index, 1 when it ignores
     * errors (else 0), its container's name, stdin's mount and path below it, stdout's, stderr's (empty mount: none),
     * the number of words of the client's command, and those words. "$@" cannot be sliced in POSIX sh, so the words
     * reach the function {@code step} through an eval of positional references only ({@code "${1}" "${2}"...}),
     * never of their values.
     */
    public static final String DRIVER = String.join("\n",
            "rt=$1; r=$2; own=$3; shift 3",
            "stop=; final=0",
            "trap 'stop=1' TERM INT HUP",
            "now() { t=$(date +%s%3N 2>/dev/null); case $t in ''|*[!0-9]*) t=$(date +%s)000;; esac; }",
            // Runs a command as the job's account when there is one: what it opens is opened with the account's
            // rights, so a link or a swap in the mounts reaches nothing the account could not reach itself.
            "as() {",
            "  if [ -n \"$own\" ]; then setpriv --reuid=\"${own%%:*}\" --regid=\"${own#*:}\" --clear-groups -- \"$@\"",
            "  else \"$@\"; fi",
            "}",
            // Sets p to the path $2 below the mount $1; fails where a part is a link; 'mk' creates directories.
            // Runs $2... as the account in the mount $1: relative paths from there need no right on the directories
            // above it, and whatever the mount turned into, the open is checked against the account's rights.
            "at() { d=$1; shift; ( cd -- \"$d\" && as \"$@\" ) 2>>\"$r/step.$i.stderr\"; }",
            "inside() {",
            "  p=$1; q=$2; rp=",
            "  [ -L \"$p\" ] && return 1",
            "  while [ -n \"$q\" ]; do",
            "    case $q in */*) c=${q%%/*}; q=${q#*/};; *) c=$q; q=;; esac",
            "    p=$p/$c; rp=${rp:+$rp/}$c",
            "    [ -L \"$p\" ] && return 1",
            "    if [ -n \"$q\" ] && [ \"$3\" = mk ] && [ ! -d \"$p\" ]; then at \"$1\" mkdir -- \"$rp\" || return 1; fi",
            "  done",
            "  return 0",
            "}",
            // A mapped output: a regular file or none yet (a FIFO would block the driver), made by the account.
            "output() {",
            "  inside \"$1\" \"$2\" mk && { [ -f \"$p\" ] || [ ! -e \"$p\" ]; } && at \"$1\" sh -c ': > \"$1\"' skyport \"$2\"",
            "}",
            // Copies its input to the file $1, or to $3 in the mount $2 as the account (the run directory is the
            // engine's). Signals are ignored: it ends when the client closes the pipe.
            "wr() {",
            "  trap '' TERM INT HUP",
            // In the run directory (fresh each attempt) it appends: the stdin reader beside it in the pipeline may
            // already have written why it could not open the step's stdin to the same file.
            "  if [ -n \"$2\" ]; then at \"$2\" sh -c 'cat > \"$1\"' skyport \"$3\"; else cat >> \"$1\"; fi",
            "}",
            // The client attached to the created container, its status kept in $sf: it runs in a pipeline's
            // subshell, where a signal must not end the shell before the client has ended.
            // Reads stdin as the account: below its mount, or the mount itself when that is an input's file.
            "src() { if [ -n \"$ip\" ]; then at \"$ir\" cat -- \"$ip\"; else at \"${ir%/*}\" cat -- \"${ir##*/}\"; fi; }",
            "cl() {",
            "  trap : TERM INT HUP",
            "  if [ -n \"$si\" ]; then { trap '' TERM INT HUP; src; } | \"$rt\" start -a -i \"$n\"",
            "  else \"$rt\" start -a \"$n\" </dev/null; fi",
            "  echo $? > \"$sf\"",
            "}",
            "step() {",
            "  f=$r/step.$i; o=$r/step.$i.stdout; e=$r/step.$i.stderr; sf=$r/step.$i.status; si=; m=; nc=",
            "  now; echo \"start $t\" > \"$f\"",
            "  if [ -n \"$ir\" ]; then",
            "    if inside \"$ir\" \"$ip\" && [ -f \"$p\" ]; then si=$p;",
            "    else m='its stdin is not a regular file, or a part of its path is a symbolic link'; fi",
            "  fi",
            "  if [ -z \"$m\" ] && [ -n \"$om\" ]; then",
            "    if output \"$om\" \"$op\"; then o=$p;",
            "    else m='its stdout cannot be written there: not a regular file, or a part of its path is a symbolic link'; fi",
            "  fi",
            "  if [ -z \"$m\" ] && [ -n \"$em\" ]; then",
            "    if output \"$em\" \"$ep\"; then e=$p;",
            "    else m='its stderr cannot be written there: not a regular file, or a part of its path is a symbolic link'; fi",
            "  fi",
            "  if [ -n \"$m\" ]; then",
            "    echo \"skyport: step $i did not start: $m\" >> \"$r/step.$i.stderr\"; s=" + StepLayout.RUNTIME_FAILURE + "; nc=1",
            // Created first, then started: a failure of either is the runtime's, not the command's 125.
            "  elif ! \"$@\" >/dev/null 2>\"$r/step.$i.create\"; then",
            "    s=" + StepLayout.RUNTIME_FAILURE + "; nc=1; wr \"$e\" \"$em\" \"$ep\" < \"$r/step.$i.create\"",
            "  else",
            "    rm -f \"$sf\"",
            "    if [ \"$o\" = \"$e\" ]; then cl 2>&1 | wr \"$o\" \"$om\" \"$op\"",
            "    else { cl 2>&1 1>&3 3>&- | wr \"$e\" \"$em\" \"$ep\" 3>&-; } 3>&1 | wr \"$o\" \"$om\" \"$op\"; fi",
            "    s=$(cat \"$sf\" 2>/dev/null); case $s in ''|*[!0-9]*) s=" + StepLayout.RUNTIME_FAILURE + ";; esac",
            "    if [ $s -eq " + StepLayout.RUNTIME_FAILURE + " ] && [ \"$(\"$rt\" inspect --format '{{.State.Status}}' \"$n\" "
                    + "2>/dev/null)\" = created ]; then nc=1; fi",
            "    [ $s -lt " + StepLayout.RUNTIME_FAILURE + " ] || \"$rt\" kill --signal KILL \"$n\" >/dev/null 2>&1",
            "    \"$rt\" rm -f \"$n\" >/dev/null 2>&1",
            "  fi",
            "  now; echo \"end $t $s${nc:+ " + StepLayout.NO_CONTAINER + "}\" >> \"$f\"",
            "  return $s",
            "}",
            "while [ $# -gt 0 ] && [ -z \"$stop\" ]; do",
            "  i=$1; ign=$2; n=$3; ir=$4; ip=$5; om=$6; op=$7; em=$8; ep=$9; k=${10}; shift 10",
            "  w=; j=1",
            "  while [ $j -le \"$k\" ]; do w=\"$w \\\"\\${$j}\\\"\"; j=$((j+1)); done",
            "  eval \"step$w\"; s=$?",
            "  shift \"$k\"",
            "  if [ $s -ne 0 ] && { [ \"$ign\" = 0 ] || [ -n \"$stop\" ] || [ -n \"$nc\" ]; }; then final=$s; break; fi",
            "done",
            "[ -n \"$stop\" ] && [ $final -eq 0 ] && final=" + TERMINATED_STATUS,
            "exit $final",
            "");

    /**
     * Kills and removes every container of an attempt, found by its labels; $1 the runtime, $2 the job, $3 the
     * attempt. Its own failures mean there is nothing left to stop.
     */
    public static final String KILL_BY_LABEL = String.join("\n",
            "ids=$(\"$1\" ps -a -q --filter \"label=skyport-job=$2\" --filter \"label=skyport-attempt=$3\" 2>/dev/null)",
            "[ -n \"$ids\" ] || exit 0",
            "\"$1\" kill --signal KILL $ids >/dev/null 2>&1",
            "\"$1\" rm -f $ids >/dev/null 2>&1",
            "exit 0", "");

    private StepsRun() {
    }

    /**
     * {@return the container of step {@code step} (from 0) of attempt {@code attempt}:
     * {@code skyport-<job>-<attempt>-<step>}}
     *
     * @param job     the job
     * @param attempt the attempt, from 1
     * @param step    the step's index, from 0
     */
    public static String name(JobId job, int attempt, int step) {
        return ContainerRun.name(job, attempt) + "-" + step;
    }

    /**
     * {@return what {@link ContainerRun#MARK} holds for a steps run: the names of its containers, one a line}
     *
     * @param request a request with steps
     * @throws GateException permanent when the request has no steps
     */
    public static String mark(RunRequest request) {
        StringBuilder b = new StringBuilder();
        int n = steps(request).steps().size();
        for (int i = 0; i < n; i++) {
            b.append(name(request.job(), request.attempt(), i)).append('\n');
        }
        return b.toString();
    }

    /**
     * {@return whether the content of a run's {@link ContainerRun#MARK} is a steps run's ({@link #mark}), so that a
     * gate re-attaching after a restart knows which containers to stop}
     *
     * @param content the mark's content
     * @param job     the run's job
     * @param attempt the run's attempt
     */
    public static boolean isStepsMark(String content, JobId job, int attempt) {
        return content.startsWith(name(job, attempt, 0) + "\n");
    }

    /**
     * {@return the name, in the run directory, of step {@code step}'s environment file}
     *
     * @param step the step's index, from 0
     */
    public static String envFileName(int step) {
        return "step." + step + ".env";
    }

    /**
     * The content of step {@code step}'s environment file ({@link #envFileName}): the variables every gate gives a run
     * ({@link RunRequest#environment()}), then the step's own, which win. {@code HOME} is the image's: the job
     * directory is not in the container.
     *
     * @param request a request with steps
     * @param step    the step's index, from 0
     * @return the file's lines, {@code NAME=value} each
     * @throws GateException permanent for a name that is not one or a value with a line break
     */
    public static String envFile(RunRequest request, int step) {
        Map<String, String> env = new LinkedHashMap<>(request.environment());
        env.putAll(steps(request).steps().get(step).env());
        return ContainerRun.envLines(env);
    }

    /**
     * The program that runs the steps of {@code request} with {@code runtimePath} (what {@link ContainerRun#discovered}
     * found), to be started by {@link DetachedRun#command(RunRequest, List, RunIsolation, Optional)} with no sandbox of
     * its own. With {@link RunIsolation.Mode#ACCOUNT} the containers run as that account, and what the driver creates
     * in the mounts is the account's; else a docker container runs as {@code gateUser} when given (as in
     * {@link ContainerRun#program(RunRequest, String, ContainerRuntime, RunIsolation, Optional)}).
     *
     * @param request     a request with steps
     * @param runtimePath the runtime's client on the node
     * @param runtime     which runtime that is, and the arguments it needs here
     * @param isolation   how the job is isolated on the node
     * @param gateUser    the user a docker container runs as without account isolation; empty: the image's
     * @return the driver's argv
     * @throws GateException permanent when the request has no steps, an image or a path cannot be passed, or the
     *                       command line would be too long
     */
    public static List<String> program(RunRequest request, String runtimePath, ContainerRuntime runtime,
                                       RunIsolation isolation, Optional<String> gateUser) {
        ContainerSteps steps = steps(request);
        String dir = request.directory();
        if (dir.indexOf(':') >= 0 || dir.indexOf(',') >= 0) {
            throw GateException.permanent("cannot mount below " + dir + " into a container: ':' and ',' are not "
                    + "allowed in its path");
        }
        int attempt = request.attempt();
        List<StepLayout.Mount> mounts = StepLayout.mounts(dir, attempt, steps);
        String run = request.runDirectory();
        String owner = isolation.mode() == RunIsolation.Mode.ACCOUNT ? isolation.uid() + ":" + isolation.gid() : "";
        List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", DRIVER, "skyport-steps", runtimePath, run, owner));
        for (int i = 0; i < steps.steps().size(); i++) {
            ContainerStep s = steps.steps().get(i);
            if (!s.image().matches(ContainerRun.IMAGE_PATTERN)) {
                throw GateException.permanent("'" + s.image() + "' is not a container image reference");
            }
            String name = name(request.job(), request.attempt(), i);
            List<String> client = new ArrayList<>(List.of(runtimePath, "create", "--init", "--name", name,
                    "--log-driver", "none", "--security-opt", "no-new-privileges", "--cap-drop=ALL",
                    "--pids-limit", Integer.toString(ContainerRun.PIDS_LIMIT),
                    "--label", "skyport-job=" + request.job(), "--label", "skyport-attempt=" + request.attempt(),
                    "--label", "skyport-step=" + i));
            client.addAll(runtime.runArguments());
            for (StepLayout.Mount m : mounts) {
                client.addAll(List.of("-v", m.host() + ":" + m.container() + (m.readOnly() ? ":ro" : "")));
            }
            s.workdir().ifPresent(w -> client.addAll(List.of("-w", w)));
            client.addAll(List.of("--env-file", run + "/" + envFileName(i)));
            client.addAll(ContainerRun.userArguments(runtimePath, isolation, gateUser));
            client.addAll(List.of("--cpus", Integer.toString(request.cpus())));
            if (request.memoryBytes() > 0) {
                client.addAll(List.of("--memory", Long.toString(request.memoryBytes())));
            }
            if (s.stdin().isPresent()) {
                client.add("-i");
            }
            client.add(s.image());
            client.addAll(s.command());
            String[] in = split(mounts, s.stdin().flatMap(p -> StepLayout.hostPath(dir, attempt, steps, p)));
            String[] out = split(mounts, StepLayout.sharedHostPath(dir, attempt, steps, s.stdout()));
            String[] err = split(mounts, StepLayout.sharedHostPath(dir, attempt, steps, s.stderr()));
            a.addAll(List.of(Integer.toString(i), s.ignoreError() ? "1" : "0", name, in[0], in[1], out[0], out[1],
                    err[0], err[1], Integer.toString(client.size())));
            a.addAll(client);
        }
        long bytes = 0;
        for (String word : a) {
            bytes += word.getBytes(StandardCharsets.UTF_8).length + 1;
        }
        if (bytes > MAX_COMMAND_LINE_BYTES) {
            throw GateException.permanent("the steps of job " + request.job() + " make a command line of " + bytes
                    + " bytes; at most " + MAX_COMMAND_LINE_BYTES + " fit");
        }
        return a;
    }

    /**
     * What a gate runs besides signalling the run's process group, for a steps run: nothing for SIGTERM (the client
     * passes it on, and the driver starts no further step), a kill and a removal of every container of the attempt,
     * found by its labels, for SIGKILL. Also stops a {@link ContainerRun}'s container, which has the same labels.
     *
     * @param runtimePath the runtime's client on the node
     * @param job         the run's job
     * @param attempt     the run's attempt
     * @param signal      the signal sent to the run's process group
     * @return the commands to run on the node, each an argv; none for SIGTERM
     */
    public static List<List<String>> stopCommands(String runtimePath, JobId job, int attempt, RunSignal signal) {
        if (signal != RunSignal.KILL) {
            return List.of();
        }
        return List.of(List.of("/bin/sh", "-c", KILL_BY_LABEL, "skyport-stop", runtimePath, job.toString(),
                Integer.toString(attempt)));
    }

    private static ContainerSteps steps(RunRequest request) {
        return request.steps().orElseThrow(() -> GateException.permanent("job " + request.job() + " has no steps"));
    }

    /** A node path as the mount that holds it and the path below that mount; two empty words for none. */
    private static String[] split(List<StepLayout.Mount> mounts, Optional<String> hostPath) {
        if (hostPath.isEmpty()) {
            return new String[] {"", ""};
        }
        String p = hostPath.get();
        for (StepLayout.Mount m : mounts) {
            if (p.equals(m.host())) {
                return new String[] {m.host(), ""};
            }
            if (p.startsWith(m.host() + "/")) {
                return new String[] {m.host(), p.substring(m.host().length() + 1)};
            }
        }
        throw new IllegalStateException(p + " lies in no mount");
    }
}
