package dev.skyport.gate;

import dev.skyport.api.ContainerSteps;
import dev.skyport.api.JobId;
import dev.skyport.api.PortSpec;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One detached run of a job on a node. {@code directory} is the job's directory on the node: the script, the
 * {@code stdout.log} and {@code stderr.log} files and the control directory {@code run.<attempt>/} live there.
 * Exactly one of {@code script} (written to {@code directory/script} and executed) and {@code command} is given.
 * {@code owner} is the Sky Port user the job belongs to (what {@code USER} and {@code LOGNAME} say in the job, and
 * whose OS account runs it where jobs run as mapped accounts); {@code cpus} and {@code memoryBytes} (0: no request)
 * are what the job asked for per node, enforced where the node can. {@code containerImage}, when given, is the image
 * the run is started in (with {@code directory} mounted at the same path), on gates whose
 * {@link Gate#runsContainerImages()} is true; {@code ports} are the job's {@code #SWM ports}, which such a run
 * publishes.
 *
 * <p>{@code steps}, instead of a script or a command, is a job of {@link ContainerSteps}: the gate runs each step in
 * its own container, in order, with the mounts {@link StepLayout} gives (the engine has placed the inputs there), and
 * records each step in the run directory as {@link StepLayout} says. Only gates whose
 * {@link Gate#runsContainerImages()} is true get such requests.
 *
 * @param job the job
 * @param attempt the attempt this run is
 * @param directory the job's directory on the node
 * @param script the script to run
 * @param command the program and arguments to run without a shell
 * @param workdir the directory the job runs in
 * @param env the job's environment
 * @param owner the Sky Port user the job belongs to
 * @param cpus cpus the job asked for per node
 * @param memoryBytes memory the job asked for per node, in bytes; 0: no request
 * @param containerImage the container image to run the job in
 * @param ports the ports the job uses
 * @param steps the container steps to run instead of a script or command
 */
public record RunRequest(JobId job, int attempt, String directory, Optional<String> script, List<String> command,
                         String workdir, Map<String, String> env, String owner, int cpus, long memoryBytes,
                         Optional<String> containerImage, List<PortSpec> ports, Optional<ContainerSteps> steps) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param job the job
     * @param attempt the attempt this run is
     * @param directory the job's directory on the node
     * @param script the script to run
     * @param command the program and arguments to run without a shell
     * @param workdir the directory the job runs in
     * @param env the job's environment
     * @param owner the Sky Port user the job belongs to
     * @param cpus cpus the job asked for per node
     * @param memoryBytes memory the job asked for per node, in bytes; 0: no request
     * @param containerImage the container image to run the job in
     * @param ports the ports the job uses
     * @param steps the container steps to run instead of a script or command
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public RunRequest {
        Objects.requireNonNull(job, "job");
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be >= 1");
        }
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(script, "script");
        command = List.copyOf(command);
        Objects.requireNonNull(steps, "steps");
        if ((script.isPresent() ? 1 : 0) + (command.isEmpty() ? 0 : 1) + (steps.isPresent() ? 1 : 0) != 1) {
            throw new IllegalArgumentException("exactly one of script, command and steps");
        }
        Objects.requireNonNull(workdir, "workdir");
        env = Map.copyOf(env);
        Objects.requireNonNull(owner, "owner");
        if (owner.isBlank()) {
            throw new IllegalArgumentException("owner must not be blank");
        }
        if (cpus < 1) {
            throw new IllegalArgumentException("cpus must be >= 1");
        }
        if (memoryBytes < 0) {
            throw new IllegalArgumentException("memoryBytes must not be negative");
        }
        Objects.requireNonNull(containerImage, "containerImage");
        ports = List.copyOf(ports);
    }

    /**
     * A run of a script or a command, in {@code containerImage} when given.
     *
     * @param attempt the attempt this run is
     * @param command the program and arguments to run without a shell
     * @param containerImage the container image to run the job in
     * @param cpus cpus the job asked for per node
     * @param directory the job's directory on the node
     * @param env the job's environment
     * @param job the job
     * @param memoryBytes memory the job asked for per node, in bytes; 0: no request
     * @param owner the Sky Port user the job belongs to
     * @param ports the ports the job uses
     * @param script the script to run
     * @param workdir the directory the job runs in
     */
    public RunRequest(JobId job, int attempt, String directory, Optional<String> script, List<String> command,
                      String workdir, Map<String, String> env, String owner, int cpus, long memoryBytes,
                      Optional<String> containerImage, List<PortSpec> ports) {
        this(job, attempt, directory, script, command, workdir, env, owner, cpus, memoryBytes, containerImage, ports,
                Optional.empty());
    }

    /**
     * A run of the script or command itself, in no container and with no ports.
     *
     * @param attempt the attempt this run is
     * @param command the program and arguments to run without a shell
     * @param cpus cpus the job asked for per node
     * @param directory the job's directory on the node
     * @param env the job's environment
     * @param job the job
     * @param memoryBytes memory the job asked for per node, in bytes; 0: no request
     * @param owner the Sky Port user the job belongs to
     * @param script the script to run
     * @param workdir the directory the job runs in
     */
    public RunRequest(JobId job, int attempt, String directory, Optional<String> script, List<String> command,
                      String workdir, Map<String, String> env, String owner, int cpus, long memoryBytes) {
        this(job, attempt, directory, script, command, workdir, env, owner, cpus, memoryBytes, Optional.empty(),
                List.of());
    }

    /**
     * A run owned by the OS user running Sky Port, asking for one cpu and no memory.
     *
     * @param attempt the attempt this run is
     * @param command the program and arguments to run without a shell
     * @param directory the job's directory on the node
     * @param env the job's environment
     * @param job the job
     * @param script the script to run
     * @param workdir the directory the job runs in
     */
    public RunRequest(JobId job, int attempt, String directory, Optional<String> script, List<String> command,
                      String workdir, Map<String, String> env) {
        this(job, attempt, directory, script, command, workdir, env, System.getProperty("user.name", "user"), 1, 0);
    }

    /**
     * {@return the variables every gate gives a run: the job's own, then {@code SKYPORT_JOB_ID}, {@code SWM_JOB_ID},
     * {@code SKYPORT_ATTEMPT}, {@code SKYPORT_JOB_DIR}, and {@code USER} and {@code LOGNAME} naming the owner (upstream
     * names the job's owner there whatever account runs it; its Jupyter spawner serves under {@code /user/$USER/})}
     */
    public Map<String, String> environment() {
        return environment(env, job, attempt, directory, owner);
    }

    /** {@link #environment()} for any request of a job: a batch site's ({@link BatchRequest}) gives the same names. */
    static Map<String, String> environment(Map<String, String> env, JobId job, int attempt, String directory,
                                           String owner) {
        Map<String, String> all = new java.util.LinkedHashMap<>(env);
        all.put("SKYPORT_JOB_ID", job.toString());
        all.put("SWM_JOB_ID", job.toString());
        all.put("SKYPORT_ATTEMPT", Integer.toString(attempt));
        all.put("SKYPORT_JOB_DIR", directory);
        all.put("USER", owner);
        all.put("LOGNAME", owner);
        return all;
    }

    /** {@return the control directory of this attempt} */
    public String runDirectory() {
        return directory + "/" + DetachedRun.runDirectoryName(attempt);
    }
}
