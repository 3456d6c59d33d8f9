package dev.skyport.gate.loopback;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.RemoteSite;
import dev.skyport.gate.BatchPartition;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A tiny batch system on this machine, standing in for a Slurm cluster in tests: a gate whose {@link #batchQueue()}
 * queues jobs, places them on the nodes of their partition when there is room, runs them as detached processes and
 * reports them as Slurm would. Registered for tests only, as provider {@code loopback-batch}.
 *
 * <p><b>Nodes and partitions.</b> Option {@code partitions} lists them as {@code
 * name:maxNodes:cpus:memoryMiB:maxMinutes[:gpus]}, comma-separated, the first being the default (default {@value
 * LoopbackBatchSettings#DEFAULT_PARTITIONS}). A partition has {@code maxNodes} nodes of its own, named {@code
 * <partition>-n1}, {@code -n2}... each with those cpus, memory and gpus; {@link #nodes()} lists them (UP, or DOWN once
 * {@link #nodeDown} set them so) and {@link #flavors()} lists one flavor per partition (price 0). A job takes {@code
 * nodes} nodes of its partition, each with its cpus, memory (0 asks for the node's share per cpu, as Slurm's {@code
 * DefMemPerCPU}) and gpus free; a job that does not fit now pends with reason {@code Resources} and, as expected start,
 * the earliest time limit of the partition's running jobs. Pending jobs start oldest first where they fit (a small job
 * passes a big one, as backfill lets it).
 *
 * <p><b>Refusals.</b> {@code check} and {@code submit} refuse, permanently, an unknown partition (naming the
 * partitions) and a job beyond its partition's nodes, cpus, memory, gpus or time (naming the partition's limits with
 * {@link BatchPartition#describe()}). Option {@code accounts} (comma-separated) makes {@code submit} refuse any other
 * account permanently with Slurm's message for its error 2045 ("Invalid account or account/partition combination
 * specified"), as a dbd-less site's job_submit.lua does; like such a site, {@code check} cannot know the accounts and
 * lets them pass, and the partitions list no allowed accounts. Without the option every account is accepted.
 *
 * <p><b>Runs.</b> {@code submit} writes the script to {@code <directory>/script} (sbatch keeps its copy too) and the
 * job runs through {@link dev.skyport.gate.DetachedRun#command} in its own session: stdout.log, stderr.log and {@code
 * run.<attempt>/exitcode} land in its directory; its environment is PATH, HOME, {@code BatchRequest.environment()} and
 * {@code SKYPORT_BATCH_JOB_ID}, {@code SKYPORT_BATCH_PARTITION}, {@code SKYPORT_BATCH_NODES}. Exit 0 is COMPLETED,
 * another status FAILED ({@code NonZeroExitCode}; above 128 also the signal), processes gone without an exit status
 * NODE_FAIL. Cancel reports CANCELLED at once, sends SIGTERM to the job's process group and SIGKILL after {@code
 * kill-wait} (default 2s), and returns once the group's leader is gone (scancel returns at once; this lets a test
 * delete the job's directory right after). A timed-out job is signalled the same way by the scheduling pass; its nodes
 * stay taken until its processes are gone. A job past its time limit (exact, not rounded to minutes as Slurm's are) is
 * TIMEOUT. An ended job is reported for {@code min-job-age} (default 5m, Slurm's MinJobAge) and then GONE, with the
 * exit code of its exit-code file.
 *
 * <p><b>State on disk.</b> The queue lives in {@code queue-dir} (default {@code <workDir>/queue}): one properties file
 * per job under {@code jobs/} keyed by its numeric id (1, 2, ...), {@code tags/} mapping each tag ({@code
 * skyport:<job>:<attempt>}) to its id, and the shared file system under {@code shared/} ({@link #files()}: local copies
 * to a temporary name and an atomic rename; {@code directoryOf} answers {@code <queue-dir>/shared/<job id>}). Every
 * call and a 100 ms timer run a scheduling pass under the queue's lock (a lock in this JVM plus a file lock), so any
 * number of gates, in this JVM or others, over one directory share one queue: a gate created after an engine's {@code
 * kill -9} finds, follows and cancels the jobs of the earlier one, whose processes went on running. While no gate is
 * open the queue stands still (no job starts, no time limit is enforced) and catches up on the next pass.
 *
 * <p><b>Faults.</b> {@code unreachable=true}, or the file {@value #UNREACHABLE_FILE} in the queue directory ({@link
 * #unreachable(boolean)}, {@link #unreachable(Path, boolean)}, seen by every gate over it at once), makes every call of
 * the queue (partitions, check, submit, find, status, cancel) a transient error, as slurmrestd down does; jobs go on
 * running and the shared files stay reachable. {@code fail-submit=transient:<n>} makes the first n submits of this gate
 * transient errors that queue nothing; {@code fail-submit=lost-reply:<n>} queues the job and then throws a transient
 * error, as a reply lost on its way back does (a retried submit must find it, not queue it twice: {@link
 * #submittedCount()} counts every job ever queued). {@link #nodeDown} sets a node down as {@code scontrol} does: its
 * running jobs end as NODE_FAIL and are killed, and nothing starts there until it is up again. Option {@code remote}
 * names the remote site (default {@code loopback-batch}). Unknown options are a permanent error naming the key.
 *
 * <p><b>Test hooks</b> (files in the queue directory, seen by every gate over it, in any JVM): {@link #hold} keeps
 * pending jobs pending with a reason (as {@code scontrol hold}); {@link #partitionDown} lists a partition as down, and
 * its pending jobs wait with reason {@code PartitionDown}; {@link #refuseCancel} makes cancel a permanent error;
 * {@link #haltAfterSubmit} halts the JVM right after a submit queued its job (a crash between the site's reply and the
 * submitter's record of it); {@link #calls} reads the log of every call of the queue ({@code partitions}, {@code check
 * <tag>}, {@code submit <tag>}, {@code find <tag>}, {@code status <number of jobs>}, {@code cancel <id>}); {@link
 * #cancelAll} cancels every job, for a test's clean-up. A pending job whose partition the gate's options no longer
 * list ends FAILED with reason {@code PartitionConfig...} and no exit code, as a job that would never start.
 */
public final class LoopbackBatchGate implements Gate {
    public static final String NAME = "loopback-batch";
    /** In the queue directory: while it exists, the queue cannot be reached. */
    public static final String UNREACHABLE_FILE = "unreachable";
    /** In the queue directory: a file named after each node that is down. */
    public static final String DOWN_DIRECTORY = "down";
    /** In the queue directory: a file named after each partition that is down. */
    static final String DOWN_PARTITIONS_DIRECTORY = "down-partitions";
    static final String CALL_LOG = "calls.log";
    static final String HOLD_FILE = "hold";
    static final String REFUSE_CANCEL_FILE = "refuse-cancel";
    static final String HALT_AFTER_SUBMIT_FILE = "halt-after-submit";

    private final LoopbackBatchSettings settings;
    private final Path sharedRoot;
    private final LoopbackBatchQueue queue;

    /**
     * Creates the gate over its queue directory, which may hold the jobs of earlier gates.
     *
     * @throws GateException permanent, naming the option, when an option is unknown or bad
     */
    public LoopbackBatchGate(GateConfig config) {
        this.settings = LoopbackBatchSettings.from(config);
        this.sharedRoot = settings.queueDir().resolve("shared");
        try {
            Files.createDirectories(sharedRoot);
        } catch (IOException e) {
            throw GateException.permanent("loopback-batch: cannot use queue directory " + settings.queueDir() + ": "
                    + e, e);
        }
        this.queue = new LoopbackBatchQueue(settings, config.clock(), new SharedFiles(NAME + "-login", sharedRoot));
    }

    /** Where the queue keeps its jobs and shared files. */
    public Path queueDirectory() {
        return settings.queueDir();
    }

    /** Makes the queue at {@code queueDirectory} unreachable (or reachable again) for every gate over it. */
    public static void unreachable(Path queueDirectory, boolean unreachable) {
        Path marker = queueDirectory.resolve(UNREACHABLE_FILE);
        try {
            if (unreachable) {
                Files.writeString(marker, "injected by a test\n");
            } else {
                Files.deleteIfExists(marker);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Sets node {@code node} of the queue at {@code queueDirectory} down (or up again), as {@code scontrol update
     * NodeName=... State=DOWN} does: the jobs running on it end as NODE_FAIL (reason {@code NodeFail}) and their
     * processes are killed, no job starts there, and {@link #nodes()} shows it DOWN.
     */
    public static void nodeDown(Path queueDirectory, String node, boolean down) {
        Path marker = queueDirectory.resolve(DOWN_DIRECTORY).resolve(node);
        try {
            if (down) {
                Files.createDirectories(marker.getParent());
                Files.writeString(marker, "set down by a test\n");
            } else {
                Files.deleteIfExists(marker);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Lists partition {@code partition} as down (or up again): its pending jobs wait with reason PartitionDown. */
    public static void partitionDown(Path queueDirectory, String partition, boolean down) {
        mark(queueDirectory.resolve(DOWN_PARTITIONS_DIRECTORY).resolve(partition), down ? Optional.of("down")
                : Optional.empty());
    }

    /** Keeps every pending job pending with {@code reason} (Slurm's {@code JobHeldAdmin}...); empty releases them. */
    public static void hold(Path queueDirectory, Optional<String> reason) {
        mark(queueDirectory.resolve(HOLD_FILE), reason);
    }

    /** Makes every cancel a permanent error with {@code message}; empty lets cancels through again. */
    public static void refuseCancel(Path queueDirectory, Optional<String> message) {
        mark(queueDirectory.resolve(REFUSE_CANCEL_FILE), message);
    }

    /** While on, the JVM of any gate over the queue halts (exit 137) right after a submit queued its job. */
    public static void haltAfterSubmit(Path queueDirectory, boolean halt) {
        mark(queueDirectory.resolve(HALT_AFTER_SUBMIT_FILE), halt ? Optional.of("halt") : Optional.empty());
    }

    /** Every call made to the queue at {@code queueDirectory} so far, oldest first, by every gate over it. */
    public static List<String> calls(Path queueDirectory) {
        Path log = queueDirectory.resolve(CALL_LOG);
        try {
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Cancels every job of the queue at {@code queueDirectory} that has not ended, and waits until its processes are
     * gone: a test's clean-up, so that a failed test leaves no process behind. Works while the queue is unreachable.
     */
    public static void cancelAll(Path queueDirectory) {
        if (!Files.isDirectory(queueDirectory)) {
            return;
        }
        LoopbackBatchGate g = new LoopbackBatchGate(new GateConfig(queueDirectory, Map.of(
                LoopbackBatchSettings.QUEUE_DIR, queueDirectory.toString()), java.time.Clock.systemUTC()));
        try {
            g.queue.cancelAll();
        } finally {
            g.close();
        }
    }

    private static void mark(Path marker, Optional<String> content) {
        try {
            if (content.isPresent()) {
                Files.createDirectories(marker.getParent());
                Files.writeString(marker, content.get() + "\n");
            } else {
                Files.deleteIfExists(marker);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** {@link #nodeDown(Path, String, boolean)} for this gate's queue. */
    public void nodeDown(String node, boolean down) {
        access(node); // refuses a node the site does not have
        nodeDown(settings.queueDir(), node, down);
    }

    /** {@link #unreachable(Path, boolean)} for this gate's queue. */
    public void unreachable(boolean unreachable) {
        unreachable(settings.queueDir(), unreachable);
    }

    /** How many jobs were ever queued in this gate's queue directory, by any gate. */
    public long submittedCount() {
        return queue.submittedCount();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Node> nodes() {
        List<Node> out = new ArrayList<>();
        java.util.Set<String> down = queue.downNodes();
        for (BatchPartition p : settings.partitions()) {
            for (String n : p.nodes()) {
                out.add(new Node(n, p.name(), p.maxCpusPerNode(), p.maxMemoryPerNode(), p.maxGpusPerNode(),
                        down.contains(n) ? NodeState.DOWN : NodeState.UP, Map.of("site", settings.remote())));
            }
        }
        return out;
    }

    @Override
    public List<Flavor> flavors() {
        return settings.partitions().stream().map(p -> new Flavor(p.name(), settings.remote(), p.maxCpusPerNode(),
                p.maxMemoryPerNode(), 0, p.maxGpusPerNode(), 0.0, LoopbackSettings.CURRENCY)).toList();
    }

    @Override
    public List<Image> images() {
        return List.of();
    }

    @Override
    public List<RemoteSite> remotes() {
        return List.of(new RemoteSite(settings.remote(), NAME, "127.0.0.1"));
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        throw GateException.permanent("loopback-batch: a batch site has fixed nodes; it creates no partition "
                + "(asked for " + spec.name() + ")");
    }

    @Override
    public void deletePartition(String name) {
        // it never creates one, so there is none to delete
    }

    /** The site's files as seen from the named node (all nodes share them); it runs nothing. */
    @Override
    public NodeAccess access(String nodeName) {
        boolean known = settings.partitions().stream().anyMatch(p -> p.nodes().contains(nodeName));
        if (!known) {
            throw GateException.permanent("loopback-batch: no node '" + nodeName + "' (nodes: " + String.join(", ",
                    settings.partitions().stream().flatMap(p -> p.nodes().stream()).toList()) + ")");
        }
        return new SharedFiles(nodeName, sharedRoot);
    }

    @Override
    public Optional<BatchQueue> batchQueue() {
        return Optional.of(queue);
    }

    /** The site's shared file system, as {@link BatchQueue#files()} gives it. */
    public NodeAccess files() {
        return queue.files();
    }

    /** Stops this gate's timer; its jobs run on and a later gate over the same directory follows them. */
    @Override
    public void close() {
        queue.close();
    }
}
