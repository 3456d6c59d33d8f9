package dev.skyport.gate;

import dev.skyport.api.JobId;
import dev.skyport.api.PortSpec;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A detached run inside a container image, for every POSIX gate whose node has podman or docker. The container is the
 * program {@link DetachedRun#command} runs, so the detached-run protocol holds unchanged: the wrapper claims the run,
 * records its pid, sends the client's output (the container's main process's) to {@code stdout.log} and
 * {@code stderr.log}, and records its exit status, which {@code run} returns as the container's.
 *
 * <p>The container is {@code skyport-<job id>-<attempt>} ({@link #name}), started with {@code --rm} and
 * {@code --init} (so that the job gets a SIGTERM with its default action: a shell as PID 1 of a namespace ignores
 * it). The job directory is mounted at the same path, with the run directory and the logs read-only over it as in the
 * bubblewrap sandbox; the work directory is the container's; the job's variables are passed in a file
 * ({@link #ENV_FILE}: their values stay off the command line, and the client, which runs as the gate's user outside any
 * sandbox, does not get them); all capabilities are dropped, no privileges can be gained and the processes are limited
 * ({@link #PIDS_LIMIT}); cpus and memory become {@code --cpus} and {@code --memory}; {@code in} ports are published on
 * the node ({@code -p port:port}); a job with {@code out} ports gets the node's network ({@code --network host}),
 * because the forward that carries an {@code out} port listens on the node's loopback, which a container's own network
 * cannot reach.
 *
 * <p>Stopping: a SIGTERM to the run's process group reaches the runtime's client, which passes it to the container
 * (its signal proxy), exactly once. A SIGKILL kills the client with the group, so the gate also kills and removes the
 * container by name ({@link #stopCommands}). A small shell between the wrapper and the client removes the container
 * when the client ends any other way, so a container never outlives its run. A file {@link #MARK} in the run
 * directory, written before the start, tells a gate (also after a restart) that the run is a container.
 */
public final class ContainerRun {
    /** In the run directory: present when the run is a container; holds its name. */
    public static final String MARK = "container";

    /**
     * In the run directory: the job's variables and the gate's for the container, one {@code NAME=value} a line, the
     * owner's only. The runtime's client reads it ({@code --env-file}); the values never reach a command line, and the
     * client itself runs with none of them.
     */
    public static final String ENV_FILE = "container.env";

    /** What an image reference may be: no option, no blank (it is one word of the client's command line). */
    public static final String IMAGE_PATTERN = "[A-Za-z0-9][A-Za-z0-9._/:@-]*";

    /** The most processes a container may have, against a fork bomb on the node. */
    public static final int PIDS_LIMIT = 4096;

    /** How long a runtime may take to show it works ({@code podman info}, {@code docker version}). */
    public static final Duration CHECK_TIMEOUT = Duration.ofSeconds(15);

    /**
     * Looks for a working runtime; $1 the timeout in seconds, then the candidates. Prints {@code found <path>}, or per
     * candidate {@code missing <name>}, {@code hung <name> <check> <seconds>} or {@code broken <name> <check>
     * <message>}.
     */
    public static final String DISCOVER = String.join("\n",
            "t=$1; shift",
            "for c in \"$@\"; do",
            "  p=$(command -v \"$c\" 2>/dev/null) || { echo \"missing $c\"; continue; }",
            "  case \"${c##*/}\" in docker*) s=version;; *) s=info;; esac",
            "  e=$(timeout \"$t\" \"$p\" \"$s\" 2>&1 >/dev/null); rc=$?",
            "  [ $rc -eq 0 ] && { echo \"found $p\"; exit 0; }",
            "  [ $rc -eq 124 ] && { echo \"hung $c $s $t\"; continue; }",
            "  echo \"broken $c $s $(printf '%s' \"$e\" | tr '\\n' ' ' | cut -c1-300)\"",
            "done", "");

    /**
     * Between the wrapper and the runtime's client; $1 the runtime, $2 the container, then the client's command. It
     * outlives a SIGTERM (the client passes it on and the container decides), and removes a container the client
     * left behind (a client that died) before it returns the client's status.
     */
    public static final String CLIENT = String.join("\n",
            "rt=$1; n=$2; shift 2",
            "trap : TERM INT HUP",
            "\"$@\"; rc=$?",
            "if \"$rt\" inspect --format x \"$n\" >/dev/null 2>&1; then",
            "  \"$rt\" kill --signal KILL \"$n\" >/dev/null 2>&1; \"$rt\" rm -f \"$n\" >/dev/null 2>&1",
            "fi",
            "exit $rc", "");

    private ContainerRun() {
    }

    /**
     * {@return the container of attempt {@code attempt} of {@code job}: {@code skyport-<job id>-<attempt>}}
     *
     * @param job the job
     * @param attempt the attempt
     */
    public static String name(JobId job, int attempt) {
        return "skyport-" + job + "-" + attempt;
    }

    /**
     * {@return the command that runs {@link #DISCOVER} for {@code runtime}'s candidates}
     *
     * @param runtime the runtimes to look for
     */
    public static List<String> discoverCommand(ContainerRuntime runtime) {
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", DISCOVER, "skyport-discover",
                Long.toString(CHECK_TIMEOUT.toSeconds())));
        argv.addAll(runtime.candidates());
        return argv;
    }

    /**
     * {@return the runtime {@link #DISCOVER} found, from what it printed on {@code node}}
     *
     * @param node the node's name, for the message
     * @param runtime the runtimes looked for
     * @param output what the discovery command printed
     * @throws GateException permanent, naming the node and why each candidate failed, when none works
     */
    public static String discovered(String node, ContainerRuntime runtime, String output) {
        List<String> reasons = new ArrayList<>();
        for (String line : output.split("\n")) {
            String[] w = line.strip().split(" ", 4);
            switch (w[0]) {
                case "found" -> {
                    if (w.length > 1 && !w[1].isEmpty()) {
                        return line.strip().substring("found ".length());
                    }
                }
                case "missing" -> reasons.add((w.length > 1 ? w[1] : "?") + " not found");
                case "hung" -> reasons.add(w.length > 3 ? w[1] + " " + w[2] + " did not answer in " + w[3].strip()
                        + " s" : line.strip());
                case "broken" -> reasons.add(w.length > 2 ? w[1] + " " + w[2] + " failed"
                        + (w.length > 3 && !w[3].isBlank() ? ": " + w[3].strip() : "") : line.strip());
                default -> {
                    // not a line of the script's (a login banner over SSH)
                }
            }
        }
        throw GateException.permanent("no container runtime (" + runtime.describe() + ") on node " + node
                + (reasons.isEmpty() ? "" : ": " + String.join("; ", reasons)));
    }

    /**
     * {@return the program that runs {@code request} in its image with {@code runtimePath} (what {@link #discovered}
     * found), to be started by {@link DetachedRun#command(RunRequest, List, RunIsolation, Optional)} with no sandbox of
     * its own: the container is the sandbox} With {@link RunIsolation.Mode#ACCOUNT} the container runs as that account.
     * *
     *
     * @param request the run
     * @param runtimePath the runtime's path on the node
     * @param runtime the runtime's settings
     * @param isolation how the run is fenced off
     * @throws GateException permanent when the request has no image or a path cannot be mounted
     */
    public static List<String> program(RunRequest request, String runtimePath, ContainerRuntime runtime,
                                       RunIsolation isolation) {
        return program(request, runtimePath, runtime, isolation, Optional.empty());
    }

    /**
     * {@return {@link #program(RunRequest, String, ContainerRuntime, RunIsolation)}, and where no account mapping names
     * the user, a docker container runs as {@code gateUser} ({@code uid:gid}, the user the gate runs the client as)
     * rather than as root: docker's root is the host's} Podman's root is already the client's user when it runs
     * rootless.
     *
     * @param request the run
     * @param runtimePath the runtime's path on the node
     * @param runtime the runtime's settings
     * @param isolation how the run is fenced off
     * @param gateUser the account the gate runs as on the node
     */
    public static List<String> program(RunRequest request, String runtimePath, ContainerRuntime runtime,
                                       RunIsolation isolation, Optional<String> gateUser) {
        String image = request.containerImage().orElseThrow(() ->
                GateException.permanent("job " + request.job() + " has no container image"));
        if (!image.matches(IMAGE_PATTERN)) {
            // Checked at submit; again here, as the image is a word of a command line that also takes options.
            throw GateException.permanent("'" + image + "' is not a container image reference");
        }
        String dir = request.directory();
        for (String path : List.of(dir, request.workdir())) {
            if (path.indexOf(':') >= 0 || path.indexOf(',') >= 0) {
                throw GateException.permanent("cannot mount " + path + " into a container: ':' and ',' are not "
                        + "allowed in its path");
            }
        }
        String name = name(request.job(), request.attempt());
        List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", CLIENT, "skyport-container", runtimePath, name,
                runtimePath, "run", "--rm", "--init", "--name", name, "--log-driver", "none",
                "--security-opt", "no-new-privileges", "--cap-drop=ALL",
                "--pids-limit", Integer.toString(PIDS_LIMIT),
                "--label", "skyport-job=" + request.job(), "--label", "skyport-attempt=" + request.attempt()));
        a.addAll(runtime.runArguments());
        String run = request.runDirectory();
        String out = dir + "/" + DetachedRun.STDOUT;
        String err = dir + "/" + DetachedRun.STDERR;
        a.addAll(List.of("-v", dir + ":" + dir, "-v", run + ":" + run + ":ro", "-v", out + ":" + out + ":ro",
                "-v", err + ":" + err + ":ro", "-w", request.workdir()));
        a.addAll(List.of("--env-file", run + "/" + ENV_FILE));
        a.addAll(userArguments(runtimePath, isolation, gateUser));
        a.addAll(List.of("--cpus", Integer.toString(request.cpus())));
        if (request.memoryBytes() > 0) {
            a.addAll(List.of("--memory", Long.toString(request.memoryBytes())));
        }
        if (request.ports().stream().anyMatch(p -> p.direction() == PortSpec.Direction.OUT)) {
            a.addAll(List.of("--network", "host"));
        } else {
            for (PortSpec p : request.ports()) {
                a.addAll(List.of("-p", p.port() + ":" + p.port() + "/" + p.protocol()));
            }
        }
        a.add(image);
        a.addAll(DetachedRun.program(request));
        return a;
    }

    /**
     * {@return the content of {@link #ENV_FILE} for {@code request}: the job's variables, then those every gate sets
     * ({@code SKYPORT_JOB_ID}, {@code SWM_JOB_ID}, {@code SKYPORT_ATTEMPT}, {@code SKYPORT_JOB_DIR}, {@code USER},
     * {@code LOGNAME}), and {@code HOME} (the job's directory) unless the job sets it}
     *
     * @param request the run
     * @throws GateException permanent for a name that is not one or a value with a line break, which the file cannot
     *                        hold
     */
    public static String envFile(RunRequest request) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("HOME", request.directory());
        env.putAll(request.environment());
        return envLines(env);
    }

    /** The {@code --user} of a container: the account's, else docker's {@code gateUser}; see {@link #program}. */
    static List<String> userArguments(String runtimePath, RunIsolation isolation, Optional<String> gateUser) {
        if (isolation.mode() == RunIsolation.Mode.ACCOUNT) {
            return List.of("--user", isolation.uid() + ":" + isolation.gid());
        }
        if (gateUser.isPresent() && runtimePath.substring(runtimePath.lastIndexOf('/') + 1).startsWith("docker")) {
            return List.of("--user", gateUser.get());
        }
        return List.of();
    }

    /**
     * {@code env} as an environment file, one {@code NAME=value} a line.
     *
     * @throws GateException permanent for a name that is not one or a value with a line break
     */
    static String envLines(Map<String, String> env) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (!e.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw GateException.permanent("not an environment variable name: " + e.getKey());
            }
            String v = e.getValue();
            if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\0') >= 0) {
                throw GateException.permanent("the value of " + e.getKey() + " has a line break, which a container's "
                        + "environment file cannot hold");
            }
            b.append(e.getKey()).append('=').append(v).append('\n');
        }
        return b.toString();
    }

    /**
     * {@return what a gate runs besides signalling the run's process group, for a run that {@link #MARK} shows to be a
     * container: nothing for SIGTERM (the client passes it on), a kill and a removal by name for SIGKILL (the client
     * dies with the group and passes nothing)} A failure of these commands means the container is gone already.
     *
     * @param runtimePath the runtime's path on the node
     * @param name the container's name
     * @param signal what to send
     */
    public static List<List<String>> stopCommands(String runtimePath, String name, RunSignal signal) {
        if (signal != RunSignal.KILL) {
            return List.of();
        }
        return List.of(List.of(runtimePath, "kill", "--signal", "KILL", name), List.of(runtimePath, "rm", "-f", name));
    }
}
