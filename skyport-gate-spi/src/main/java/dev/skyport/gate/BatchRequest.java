package dev.skyport.gate;

import dev.skyport.api.JobId;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One attempt of a Sky Port job handed to a {@link BatchQueue}. {@code directory} is the job's directory on the
 * site's shared file system (from {@link NodeAccess#directoryOf} of {@link BatchQueue#files()}), where the script,
 * the logs and the attempt's run directory live; {@code script} is the job's script (its {@code #SWM} lines are
 * comments to the backend: every resource comes from the fields here). {@code nodes}, {@code cpusPerNode},
 * {@code memoryPerNode} (0: the partition's default) and {@code gpusPerNode} are the job's request;
 * {@code timeLimit} its wall-clock limit (empty: none asked, the partition's own applies; the engine never invents
 * one); {@code partition} and {@code account} the site's partition and account (empty: the site's default).
 *
 * @param job the Sky Port job
 * @param attempt the attempt this request runs
 * @param name the job's name, for the backend's listings
 * @param directory the job's directory on the site's shared file system
 * @param script the job's script
 * @param workdir the directory the job runs in
 * @param env the job's environment
 * @param owner the Sky Port user the job belongs to
 * @param nodes how many nodes the job needs
 * @param cpusPerNode cpus per node
 * @param memoryPerNode memory per node, in bytes; 0: the partition's default
 * @param gpusPerNode gpus per node
 * @param timeLimit the wall-clock limit; empty: none asked
 * @param partition the backend partition to submit to; empty: the site's default
 * @param account the backend account to charge; empty: the user's default
 */
public record BatchRequest(JobId job, int attempt, String name, String directory, String script, String workdir,
                           Map<String, String> env, String owner, int nodes, int cpusPerNode, long memoryPerNode,
                           int gpusPerNode, Optional<Duration> timeLimit, Optional<String> partition, Optional<String> account) {
    /** The prefix of {@link #tag()}: what the backend's job comment or name starts with for a Sky Port job. */
    public static final String TAG_PREFIX = "skyport:";

    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param job the Sky Port job
     * @param attempt the attempt this request runs
     * @param name the job's name, for the backend's listings
     * @param directory the job's directory on the site's shared file system
     * @param script the job's script
     * @param workdir the directory the job runs in
     * @param env the job's environment
     * @param owner the Sky Port user the job belongs to
     * @param nodes how many nodes the job needs
     * @param cpusPerNode cpus per node
     * @param memoryPerNode memory per node, in bytes; 0: the partition's default
     * @param gpusPerNode gpus per node
     * @param timeLimit the wall-clock limit; empty: none asked
     * @param partition the backend partition to submit to; empty: the site's default
     * @param account the backend account to charge; empty: the user's default
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public BatchRequest {
        Objects.requireNonNull(job, "job");
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be >= 1");
        }
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(script, "script");
        Objects.requireNonNull(workdir, "workdir");
        env = Map.copyOf(env);
        Objects.requireNonNull(owner, "owner");
        if (nodes < 1 || cpusPerNode < 1) {
            throw new IllegalArgumentException("nodes and cpusPerNode must be >= 1");
        }
        if (memoryPerNode < 0 || gpusPerNode < 0) {
            throw new IllegalArgumentException("memoryPerNode and gpusPerNode must not be negative");
        }
        Objects.requireNonNull(timeLimit, "timeLimit");
        if (timeLimit.isPresent() && (timeLimit.get().isNegative() || timeLimit.get().isZero())) {
            throw new IllegalArgumentException("timeLimit must be positive");
        }
        Objects.requireNonNull(partition, "partition");
        Objects.requireNonNull(account, "account");
    }

    /** {@return {@code skyport:<job id>:<attempt>}: the tag by which {@link BatchQueue#find} finds the backend job} */
    public String tag() {
        return tag(job, attempt);
    }

    /**
     * {@return the tag that names attempt {@code attempt} of {@code job} at the backend, so a restart can find it}
     *
     * @param job the Sky Port job
     * @param attempt its attempt
     */
    public static String tag(JobId job, int attempt) {
        return TAG_PREFIX + job + ":" + attempt;
    }

    /** {@return the control directory of this attempt, where the exit-code file is written} */
    public String runDirectory() {
        return directory + "/" + DetachedRun.runDirectoryName(attempt);
    }

    /** {@return the variables the job sees, as {@link RunRequest#environment()} gives them on every gate} */
    public Map<String, String> environment() {
        return RunRequest.environment(env, job, attempt, directory, owner);
    }
}
