package dev.skyport.gate.slurm;

import dev.skyport.api.JobId;
import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.gate.BatchJob;
import dev.skyport.gate.BatchPartition;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.BatchRequest;
import dev.skyport.gate.BatchStatus;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * The {@code slurm} gate's {@link BatchQueue}: one Sky Port attempt is one Slurm batch job, whose comment is the
 * attempt's tag. The batch script is a small {@code /bin/sh} wrapper that runs the job's script (kept in
 * {@code <directory>/script}) with the interpreter of its {@code #!} line, records the exit status in
 * {@code <directory>/run.<attempt>/exitcode} and exits with it; Slurm writes stdout and stderr to the job directory.
 */
final class SlurmQueue implements BatchQueue {
    private static final Logger LOG = LoggerFactory.getLogger(SlurmQueue.class);
    /** How long a partition listing is reused by {@link #submit}'s own check: limits change rarely. */
    private static final Duration SHAPE_TTL = Duration.ofSeconds(5);
    /** What the job's {@code /bin/sh} wrapper gets as PATH when the job's environment has none. */
    private static final String DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";
    /** The exit status of a requeued copy of a job, which the wrapper does not run. */
    static final int REQUEUED_STATUS = 202;

    private final SlurmBackend backend;
    private final SharedFiles files;
    private final Optional<String> defaultPartition;
    private final String site;
    private final Path scratch;
    private final Clock clock;
    private final Map<String, Object> submitting = new ConcurrentHashMap<>();
    /**
     * Slurm job ids by tag, of the jobs Slurm knew when this queue first submitted and of those it submitted since;
     * null until read (or when the backend cannot list tags at once: then every submit looks for its tag).
     */
    private volatile Map<String, String> known;
    /** Tags whose submit failed in a way that may have queued the job anyway (a timeout): looked for before the next. */
    private final java.util.Set<String> uncertain = ConcurrentHashMap.newKeySet();
    private volatile Shape shape;

    /** The partitions and nodes at one moment. */
    record Shape(List<SlurmPartition> partitions, Map<String, SlurmNode> nodes, Instant at) {
    }

    SlurmQueue(SlurmBackend backend, SharedFiles files, Optional<String> defaultPartition, String site, Path scratch,
               Clock clock) {
        this.backend = backend;
        this.files = files;
        this.defaultPartition = defaultPartition;
        this.site = site;
        this.scratch = scratch;
        this.clock = clock;
    }

    Shape shape(boolean fresh) {
        Shape s = shape;
        if (!fresh && s != null && clock.instant().isBefore(s.at.plus(SHAPE_TTL))) {
            return s;
        }
        List<SlurmPartition> partitions = backend.partitions();
        Map<String, SlurmNode> nodes = new LinkedHashMap<>();
        for (SlurmNode n : backend.nodes()) {
            nodes.put(n.name(), n);
        }
        s = new Shape(partitions, nodes, clock.instant());
        shape = s;
        return s;
    }

    @Override
    public List<BatchPartition> partitions() {
        Shape s = shape(true);
        return s.partitions.stream().map(p -> toBatch(p, s.nodes)).toList();
    }

    static BatchPartition toBatch(SlurmPartition p, Map<String, SlurmNode> nodes) {
        List<SlurmNode> members = p.nodes().stream().map(nodes::get).filter(java.util.Objects::nonNull).toList();
        int cpus = members.stream().mapToInt(SlurmNode::cpus).max().orElse(0);
        long memory = members.stream().mapToLong(SlurmNode::memoryMiB).max().orElse(0) << 20;
        int gpus = members.stream().mapToInt(n -> Gres.gpus(n.gres())).max().orElse(0);
        int maxNodes = p.maxNodes().orElse(p.nodes().size());
        return new BatchPartition(p.name(), p.isDefault(), p.up(), Math.min(maxNodes, p.nodes().size()), cpus,
                memory, gpus, p.maxTime(), p.allowedAccounts(), p.nodes());
    }

    @Override
    public void check(BatchRequest request) {
        check(request, shape(true));
    }

    private SlurmPartition check(BatchRequest request, Shape s) {
        List<String> names = s.partitions.stream().map(SlurmPartition::name).toList();
        Optional<String> asked = request.partition().or(() -> defaultPartition);
        SlurmPartition partition;
        if (asked.isPresent()) {
            partition = s.partitions.stream().filter(p -> p.name().equals(asked.get())).findFirst()
                    .orElseThrow(() -> GateException.permanent("the Slurm site " + site + " has no partition '"
                            + asked.get() + "'; its partitions are " + String.join(", ", names)));
        } else {
            partition = s.partitions.stream().filter(SlurmPartition::isDefault).findFirst()
                    .orElseThrow(() -> GateException.permanent("the Slurm site " + site + " has no default"
                            + " partition: name one of " + String.join(", ", names)));
        }
        BatchPartition limits = toBatch(partition, s.nodes);
        String ask = request.nodes() + " node" + (request.nodes() == 1 ? "" : "s") + " of " + request.cpusPerNode()
                + " cpus, " + mib(request.memoryPerNode()) + " MiB, " + request.gpusPerNode() + " gpus, "
                + minutes(request.timeLimit()) + " min";
        if (request.nodes() > limits.maxNodes()) {
            throw tooLarge(ask, "more nodes than the partition allows", limits);
        }
        long fitting = partition.nodes().stream().map(s.nodes::get).filter(java.util.Objects::nonNull)
                .filter(n -> n.cpus() >= request.cpusPerNode()
                        && (n.memoryMiB() << 20) >= request.memoryPerNode()
                        && Gres.gpus(n.gres()) >= request.gpusPerNode())
                .count();
        if (fitting < request.nodes()) {
            String what = request.cpusPerNode() > limits.maxCpusPerNode() ? "more cpus per node than its largest node"
                    : request.memoryPerNode() > limits.maxMemoryPerNode() ? "more memory per node than its largest node"
                    : request.gpusPerNode() > limits.maxGpusPerNode() ? "more gpus per node than its largest node"
                    : "only " + fitting + " of its nodes are that large";
            throw tooLarge(ask, what, limits);
        }
        if (partition.maxTime().isPresent() && minutes(request.timeLimit()) > partition.maxTime().get().toMinutes()) {
            throw tooLarge(ask, "a longer time limit than the partition's " + partition.maxTime().get().toMinutes()
                    + " min", limits);
        }
        if (!partition.allowedAccounts().isEmpty()) {
            String account = request.account().orElse("");
            if (!partition.allowedAccounts().contains(account)) {
                throw GateException.permanent("the partition " + partition.name() + " of Slurm site " + site
                        + " takes jobs of the accounts " + String.join(", ", partition.allowedAccounts()) + " only, "
                        + (account.isEmpty() ? "and the job names no account" : "not of '" + account + "'"));
            }
        }
        return partition;
    }

    private GateException tooLarge(String ask, String why, BatchPartition limits) {
        return GateException.permanent("the job asks for " + ask + ", " + why + " at Slurm site " + site
                + " (partition " + limits.describe() + ")");
    }

    @Override
    public BatchJob submit(BatchRequest request) {
        String tag = request.tag();
        Object lock = submitting.computeIfAbsent(tag, t -> new Object());
        try {
            synchronized (lock) {
                Optional<BatchJob> existing = existing(request);
                if (existing.isPresent()) {
                    LOG.debug("{} is Slurm job {} already", tag, existing.get().id());
                    return existing.get();
                }
                SlurmPartition partition = check(request, shape(false));
                uploadScript(request);
                String id;
                try {
                    id = backend.submit(submission(request, request.partition().isPresent()
                            || defaultPartition.isPresent() ? Optional.of(partition.name()) : Optional.empty()));
                } catch (GateException e) {
                    if (e.isTransient()) {
                        uncertain.add(tag);
                    }
                    throw e;
                }
                Map<String, String> k = known;
                if (k != null) {
                    k.put(tag, id);
                }
                uncertain.remove(tag);
                LOG.info("{} submitted as Slurm job {} to partition {} of {}", tag, id, partition.name(), site);
                return new BatchJob(id, request.job(), request.attempt());
            }
        } finally {
            submitting.remove(tag, lock);
        }
    }

    /** The Slurm job of {@code request}'s tag, if there is one, without listing Slurm's queue when it can. */
    private Optional<BatchJob> existing(BatchRequest request) {
        String tag = request.tag();
        Map<String, String> k = known;
        if (k == null) {
            Optional<List<SlurmJob>> all = backend.jobsTaggedWith(BatchRequest.TAG_PREFIX);
            if (all.isPresent()) {
                Map<String, String> read = new ConcurrentHashMap<>();
                for (SlurmJob j : all.get()) {
                    read.merge(j.comment(), j.id(), (a, b) -> parseId(a) > parseId(b) ? a : b);
                }
                known = read;
                k = read;
            }
        }
        if (k == null || uncertain.contains(tag)) {
            Optional<BatchJob> found = find(request.job(), request.attempt());
            if (k != null) {
                found.ifPresent(j -> known.put(tag, j.id()));
            }
            return found;
        }
        return Optional.ofNullable(k.get(tag)).map(id -> new BatchJob(id, request.job(), request.attempt()));
    }

    private void uploadScript(BatchRequest request) {
        try {
            Files.createDirectories(scratch);
            Path local = Files.createTempFile(scratch, "script-", ".tmp");
            try {
                Files.writeString(local, request.script(), StandardCharsets.UTF_8);
                files.upload(local, request.directory() + "/" + DetachedRun.SCRIPT);
            } finally {
                Files.deleteIfExists(local);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage the script of " + request.tag(), e);
        }
    }

    SlurmSubmission submission(BatchRequest request, Optional<String> partition) {
        Map<String, String> env = new LinkedHashMap<>(request.environment());
        env.putIfAbsent("PATH", DEFAULT_PATH);
        String job = request.job().toString();
        return new SlurmSubmission(wrapper(request), "skyport-" + job.substring(job.length() - 8), request.tag(),
                request.directory(), request.directory() + "/" + DetachedRun.STDOUT,
                request.directory() + "/" + DetachedRun.STDERR, env, request.nodes(), request.cpusPerNode(),
                mib(request.memoryPerNode()), request.gpusPerNode(), minutes(request.timeLimit()), partition,
                request.account());
    }

    /**
     * The batch script. Slurm starts it in the job directory (which exists: the script was staged there), so that a
     * missing work directory ends the job with {@link DetachedRun#NO_WORKDIR_STATUS}, as on every gate, rather than
     * with Slurm running it in /tmp. On cancel and at the time limit Slurm sends SIGTERM to every process of the job:
     * the wrapper traps it to stay and record how the job ended, and dies with the rest at the SIGKILL that follows
     * KillWait seconds later.
     */
    static String wrapper(BatchRequest request) {
        RunRequest run = new RunRequest(request.job(), request.attempt(), request.directory(),
                Optional.of(request.script()), List.of(), request.workdir(), request.env(),
                request.owner().isBlank() ? "nobody" : request.owner(), request.cpusPerNode(),
                request.memoryPerNode());
        String program = SshConnections.commandLine(DetachedRun.program(run));
        String r = SshConnections.quote(request.runDirectory());
        return String.join("\n",
                "#!/bin/sh",
                "# Sky Port " + request.tag() + ": runs the job's script and records its exit status.",
                // A copy Slurm requeued (see RestBackend.submit) must not run the job a second time.
                "if [ \"${SLURM_RESTART_COUNT:-0}\" != 0 ]; then",
                "  echo \"skyport: Slurm requeued this job; Sky Port retries by its own policy\" >&2; exit " + REQUEUED_STATUS,
                "fi",
                "mkdir -p " + r + " || exit 1",
                "trap : TERM INT HUP",
                "if cd " + SshConnections.quote(request.workdir()) + "; then",
                "  " + program,
                "  rc=$?",
                "else",
                "  echo \"skyport: no work directory " + request.workdir().replace("\"", "") + "\" >&2",
                "  rc=" + DetachedRun.NO_WORKDIR_STATUS,
                "fi",
                "echo \"$rc\" > " + r + "/" + DetachedRun.EXIT_CODE + ".$$ && mv -f " + r + "/" + DetachedRun.EXIT_CODE
                        + ".$$ " + r + "/" + DetachedRun.EXIT_CODE,
                "exit \"$rc\"",
                "");
    }

    @Override
    public Optional<BatchJob> find(JobId job, int attempt) {
        String tag = BatchRequest.tag(job, attempt);
        List<SlurmJob> tagged = backend.jobsTagged(tag);
        // Two jobs with one tag come only from a site's own resubmission; the live one, else the newest, is ours.
        return tagged.stream()
                .sorted(Comparator.comparing((SlurmJob j) -> SlurmStates.hasEnded(j.state()))
                        .thenComparing(j -> -parseId(j.id())))
                .findFirst().map(j -> new BatchJob(j.id(), job, attempt));
    }

    private static long parseId(String id) {
        try {
            return Long.parseLong(id);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    @Override
    public Map<BatchJob, BatchStatus> status(Collection<BatchJob> jobs) {
        if (jobs.isEmpty()) {
            return Map.of();
        }
        Map<String, SlurmJob> known = backend.jobs(jobs.stream().map(BatchJob::id).distinct().toList()).stream()
                .collect(Collectors.toMap(SlurmJob::id, j -> j, (a, b) -> a));
        Map<BatchJob, BatchStatus> out = new LinkedHashMap<>();
        for (BatchJob job : jobs) {
            SlurmJob s = known.get(job.id());
            if (s != null && s.restarts() > 0 && !SlurmStates.hasEnded(s.state())) {
                // Slurm requeued it (after a node failure; slurmrestd 22.05 ignores requeue=false): the engine, not
                // Slurm, decides whether the job runs again, so the requeued copy is canceled before it can start.
                LOG.warn("Slurm requeued job {} ({}); canceling the requeued copy", s.id(), s.comment());
                backend.cancel(s.id());
            }
            out.put(job, s == null ? gone(job) : toStatus(s));
        }
        return out;
    }

    static BatchStatus toStatus(SlurmJob job) {
        BatchStatus.State state = SlurmStates.toBatch(job.state());
        if (job.restarts() > 0 && (!state.isTerminal() || state == BatchStatus.State.CANCELLED)) {
            return new BatchStatus(BatchStatus.State.NODE_FAIL, "Slurm requeued the job (restart " + job.restarts()
                    + (job.reason().isEmpty() ? "" : ", " + job.reason()) + "); Sky Port retries it by its own policy",
                    Optional.empty(), job.nodes(), OptionalInt.empty(), OptionalInt.empty());
        }
        OptionalInt exitCode = OptionalInt.empty();
        OptionalInt signal = OptionalInt.empty();
        if (state.isTerminal() && job.exitStatus().isPresent()) {
            int raw = job.exitStatus().getAsInt();
            exitCode = OptionalInt.of((raw >> 8) & 0xff);
            if ((raw & 0x7f) != 0) {
                signal = OptionalInt.of(raw & 0x7f);
            }
        }
        Optional<Instant> expected = state == BatchStatus.State.PENDING ? job.startTime() : Optional.empty();
        return new BatchStatus(state, job.reason(), expected, job.nodes(), exitCode, signal);
    }

    /** A job Slurm has forgotten: its outcome is what its wrapper wrote, if it got that far. */
    private BatchStatus gone(BatchJob job) {
        String file = files.directoryOf(job.job()) + "/" + DetachedRun.runDirectoryName(job.attempt()) + "/"
                + DetachedRun.EXIT_CODE;
        OptionalInt status = OptionalInt.empty();
        try {
            Files.createDirectories(scratch);
            Path local = scratch.resolve("exitcode-" + java.util.UUID.randomUUID());
            try {
                files.download(file, local);
                status = DetachedRun.parseStatus(Files.readString(local));
            } finally {
                Files.deleteIfExists(local);
            }
        } catch (GateException e) {
            if (e.isTransient()) {
                throw e;
            }
            // No exit-code file: the job never ran its script to the end.
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        OptionalInt signal = status.isPresent() && status.getAsInt() > 128
                ? OptionalInt.of(status.getAsInt() - 128) : OptionalInt.empty();
        return new BatchStatus(BatchStatus.State.GONE, "Slurm no longer knows job " + job.id(), Optional.empty(),
                List.of(), status, signal);
    }

    @Override
    public void cancel(BatchJob job) {
        backend.cancel(job.id());
        LOG.info("Slurm job {} ({}) canceled", job.id(), BatchRequest.tag(job.job(), job.attempt()));
    }

    @Override
    public NodeAccess files() {
        return files;
    }

    private static long mib(long bytes) {
        return (bytes + (1L << 20) - 1) >> 20;
    }

    private static long minutes(Duration d) {
        long seconds = d.toSeconds() + (d.toNanosPart() > 0 ? 1 : 0);
        return Math.max(1, (seconds + 59) / 60);
    }

    static List<String> names(List<SlurmPartition> partitions) {
        List<String> names = new ArrayList<>();
        partitions.forEach(p -> names.add(p.name()));
        return names;
    }
}
