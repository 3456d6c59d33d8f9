package dev.skyport.gate.loopback;

import dev.skyport.api.JobId;
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

import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The queue of {@link LoopbackBatchGate}: job files in a directory, a scheduling pass that every call and a timer run
 * under the queue's lock (a lock within this JVM and a file lock between JVMs), and jobs run as detached processes
 * ({@link DetachedRun}), so that the jobs outlive the JVM and any gate over the same directory follows them.
 */
final class LoopbackBatchQueue implements BatchQueue {
    private static final Logger log = LoggerFactory.getLogger(LoopbackBatchQueue.class);
    /* A FileLock is held per JVM, not per thread: two gates of one JVM over one directory must also meet here. */
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();
    private static final Duration PASS_INTERVAL = Duration.ofMillis(100);

    private final LoopbackBatchSettings settings;
    private final Clock clock;
    private final Path dir;
    private final Path jobsDir;
    private final Path tagsDir;
    private final SharedFiles files;
    private final ReentrantLock jvmLock;
    private final AtomicInteger submitFaultsLeft;
    private final ScheduledExecutorService timer;

    LoopbackBatchQueue(LoopbackBatchSettings settings, Clock clock, SharedFiles files) {
        this.settings = settings;
        this.clock = clock;
        this.dir = settings.queueDir();
        this.jobsDir = dir.resolve("jobs");
        this.tagsDir = dir.resolve("tags");
        this.files = files;
        this.jvmLock = JVM_LOCKS.computeIfAbsent(dir, d -> new ReentrantLock());
        this.submitFaultsLeft = new AtomicInteger(settings.submitFault().map(
                LoopbackBatchSettings.SubmitFault::times).orElse(0));
        try {
            Files.createDirectories(jobsDir);
            Files.createDirectories(tagsDir);
        } catch (IOException e) {
            throw GateException.permanent("loopback-batch: cannot use queue directory " + dir + ": " + e, e);
        }
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "loopback-batch-scheduler");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::timedPass, PASS_INTERVAL.toMillis(), PASS_INTERVAL.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    void close() {
        timer.shutdown(); // not shutdownNow: an interrupt would cut a pass's file operations half way
        try {
            // a pass still writing would race with whoever deletes the directory after close
            timer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    Path directory() {
        return dir;
    }

    /** The nodes marked down ({@code down/<node>} in the queue directory). */
    java.util.Set<String> downNodes() {
        return marked(LoopbackBatchGate.DOWN_DIRECTORY);
    }

    /** The names of the files in {@code directory} of the queue directory (none when it is missing). */
    private java.util.Set<String> marked(String directory) {
        Path down = dir.resolve(directory);
        if (!Files.isDirectory(down)) {
            return java.util.Set.of();
        }
        try (var list = Files.list(down)) {
            return list.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet());
        } catch (IOException e) {
            return java.util.Set.of();
        }
    }

    /** Appends {@code call} to the queue's call log ({@link LoopbackBatchGate#calls}), as a test's witness. */
    private void called(String call) {
        try {
            Files.writeString(dir.resolve(LoopbackBatchGate.CALL_LOG), call + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            log.warn("loopback-batch: cannot log call {}: {}", call, e.toString());
        }
    }

    Path unreachableMarker() {
        return dir.resolve(LoopbackBatchGate.UNREACHABLE_FILE);
    }

    /** How many jobs were ever queued in this directory, by any gate. */
    long submittedCount() {
        return locked(() -> {
            try (var list = Files.list(jobsDir)) {
                return list.filter(p -> p.getFileName().toString().endsWith(".properties")).count();
            }
        });
    }

    /** The partitions, those marked down ({@link LoopbackBatchGate#partitionDown}) as not up. */
    List<BatchPartition> currentPartitions() {
        java.util.Set<String> down = marked(LoopbackBatchGate.DOWN_PARTITIONS_DIRECTORY);
        return settings.partitions().stream().map(p -> down.contains(p.name()) ? new BatchPartition(p.name(),
                p.isDefault(), false, p.maxNodes(), p.maxCpusPerNode(), p.maxMemoryPerNode(), p.maxGpusPerNode(),
                p.maxTime(), p.allowedAccounts(), p.nodes()) : p).toList();
    }

    @Override
    public List<BatchPartition> partitions() {
        called("partitions");
        reachable();
        return currentPartitions();
    }

    @Override
    public void check(BatchRequest request) {
        called("check " + request.tag());
        reachable();
        partitionFor(request);
    }

    @Override
    public BatchJob submit(BatchRequest request) {
        called("submit " + request.tag());
        reachable();
        BatchPartition partition = partitionFor(request);
        Optional<LoopbackBatchSettings.SubmitFault> fault = settings.submitFault()
                .filter(f -> submitFaultsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0);
        if (fault.isPresent() && fault.get().kind() == LoopbackBatchSettings.SubmitFault.Kind.TRANSIENT) {
            throw GateException.transientFailure("loopback-batch: injected transient failure submitting "
                    + request.tag(), null, Optional.empty());
        }
        BatchJob job = locked(() -> {
            Optional<BatchJobFile> existing = byTag(request.job(), request.attempt());
            if (existing.isPresent()) {
                return batchJob(existing.get());
            }
            String account = request.account().orElse("");
            if (!account.isEmpty() && !settings.accounts().isEmpty() && !settings.accounts().contains(account)) {
                // what Slurm's job_submit.lua makes sbatch and slurmrestd (error 2045) answer
                throw GateException.permanent("loopback-batch: Invalid account or account/partition combination "
                        + "specified (account '" + account + "')");
            }
            long memory = request.memoryPerNode() > 0 ? request.memoryPerNode()
                    : request.cpusPerNode() * (partition.maxMemoryPerNode() / partition.maxCpusPerNode());
            long id = nextId();
            // no limit asked: the partition's own, as Slurm gives a job without --time its partition's (Default/Max)Time
            Duration limit = request.timeLimit().or(partition::maxTime).orElse(Duration.ofDays(3650));
            BatchJobFile f = new BatchJobFile(id, request, partition.name(), memory, limit, clock.millis());
            // sbatch keeps its own copy of the script; here it lives where DetachedRun's program looks for it
            Path script = Path.of(request.directory(), DetachedRun.SCRIPT);
            Files.createDirectories(script.getParent());
            writeAtomically(script, request.script());
            f.store(jobsDir);
            writeAtomically(tagFile(request.job(), request.attempt()), id + "\n");
            log.debug("loopback-batch: queued {}", f);
            pass();
            return batchJob(f);
        });
        if (Files.exists(dir.resolve(LoopbackBatchGate.HALT_AFTER_SUBMIT_FILE))) {
            Runtime.getRuntime().halt(137); // the site has queued the job; its submitter never hears the reply
        }
        if (fault.isPresent()) {
            throw GateException.transientFailure("loopback-batch: injected lost reply to the submit of "
                    + request.tag() + " (queued as " + job.id() + ")", null, Optional.empty());
        }
        return job;
    }

    @Override
    public Optional<BatchJob> find(JobId job, int attempt) {
        called("find " + BatchRequest.tag(job, attempt));
        reachable();
        return locked(() -> {
            pass();
            return byTag(job, attempt).filter(f -> !f.forgotten).map(LoopbackBatchQueue::batchJob);
        });
    }

    @Override
    public Map<BatchJob, BatchStatus> status(Collection<BatchJob> jobs) {
        called("status " + jobs.size());
        reachable();
        return locked(() -> {
            pass();
            Map<BatchJob, BatchStatus> out = new LinkedHashMap<>();
            for (BatchJob j : jobs) {
                Optional<BatchJobFile> f = load(j);
                out.put(j, f.filter(x -> !x.forgotten).map(this::status).orElseGet(() -> gone(f)));
            }
            return out;
        });
    }

    /**
     * Marks the job CANCELLED and sends SIGTERM to its process group, then waits (outside the lock) until the group's
     * leader is gone, sending SIGKILL after the kill wait. scancel returns at once; waiting here means that when cancel
     * returns the job writes nothing more, so a test may delete its directory (JUnit's temporary directories) at once.
     */
    @Override
    public void cancel(BatchJob job) {
        called("cancel " + job.id());
        reachable();
        Optional<String> refused = locked(() -> readIfThere(dir.resolve(LoopbackBatchGate.REFUSE_CANCEL_FILE)));
        if (refused.isPresent()) {
            throw GateException.permanent("loopback-batch: " + refused.get().trim());
        }
        cancelNow(job);
    }

    /** Cancels every job of the queue that has not ended or still holds its nodes, and waits for its processes. */
    void cancelAll() {
        List<BatchJob> live = locked(() -> BatchJobFile.loadAll(jobsDir).stream()
                .filter(f -> !f.forgotten && (!f.state.isTerminal() || f.holdsNodes))
                .map(LoopbackBatchQueue::batchJob).toList());
        live.forEach(this::cancelNow);
    }

    private void cancelNow(BatchJob job) {
        long group = locked(() -> {
            Optional<BatchJobFile> found = load(job);
            if (found.isEmpty() || found.get().forgotten) {
                return 0L;
            }
            BatchJobFile f = found.get();
            if (f.state.isTerminal()) {
                return f.holdsNodes ? f.processGroup : 0L;
            }
            long now = clock.millis();
            f.state = BatchStatus.State.CANCELLED;
            f.endedBy = Optional.of(BatchStatus.State.CANCELLED);
            f.reason = "Cancelled";
            f.endMillis = now;
            if (f.holdsNodes && f.processGroup == 0) {
                f.holdsNodes = false; // recorded as started, but no process was ever started for it
            } else if (f.holdsNodes) {
                signal(f.processGroup, "TERM");
                f.killAtMillis = now + settings.killWait().toMillis();
            }
            f.store(jobsDir);
            return f.holdsNodes ? f.processGroup : 0L;
        });
        if (group > 0) {
            awaitGone(group);
        }
        locked(() -> {
            pass();
            return null;
        });
    }

    private void awaitGone(long group) {
        long killAt = System.nanoTime() + settings.killWait().toNanos();
        long giveUp = killAt + Duration.ofSeconds(5).toNanos();
        boolean killed = false;
        try {
            while (alive(group) && System.nanoTime() < giveUp) {
                if (!killed && System.nanoTime() >= killAt) {
                    signal(group, "KILL");
                    killed = true;
                }
                TimeUnit.MILLISECONDS.sleep(10);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public NodeAccess files() {
        return files;
    }

    private void reachable() {
        if (settings.unreachable() || Files.exists(unreachableMarker())) {
            throw GateException.transientFailure("loopback-batch: the queue at " + dir + " cannot be reached "
                    + "(injected)", null, Optional.empty());
        }
    }

    private BatchPartition partitionFor(BatchRequest r) {
        List<BatchPartition> all = settings.partitions();
        String name = r.partition().orElse(all.get(0).name());
        BatchPartition p = all.stream().filter(x -> x.name().equals(name)).findFirst()
                .orElseThrow(() -> GateException.permanent("loopback-batch: unknown partition '" + name
                        + "' (partitions: " + String.join(", ", all.stream().map(BatchPartition::name).toList())
                        + ")"));
        List<String> over = new ArrayList<>();
        if (r.nodes() > p.maxNodes()) {
            over.add(r.nodes() + " nodes");
        }
        if (r.cpusPerNode() > p.maxCpusPerNode()) {
            over.add(r.cpusPerNode() + " cpus per node");
        }
        if (r.memoryPerNode() > p.maxMemoryPerNode()) {
            over.add((r.memoryPerNode() >> 20) + " MiB per node");
        }
        if (r.gpusPerNode() > p.maxGpusPerNode()) {
            over.add(r.gpusPerNode() + " gpus per node");
        }
        if (p.maxTime().isPresent() && r.timeLimit().isPresent()
                && r.timeLimit().get().compareTo(p.maxTime().get()) > 0) {
            over.add("a time limit of " + r.timeLimit().get().toSeconds() + " s");
        }
        if (!over.isEmpty()) {
            throw GateException.permanent("loopback-batch: the job asks for " + String.join(", ", over)
                    + ", more than partition " + p.name() + " offers (" + p.describe() + ")");
        }
        return p;
    }

    private BatchStatus status(BatchJobFile f) {
        Optional<Instant> expected = Optional.empty();
        // a held job has no expected start, as Slurm shows none for it
        if (f.state == BatchStatus.State.PENDING && !Files.exists(dir.resolve(LoopbackBatchGate.HOLD_FILE))) {
            expected = Optional.of(Instant.ofEpochMilli(expectedStart(f)));
        }
        return new BatchStatus(f.state, f.reason.equals("None") ? "" : f.reason, expected, f.allocated, f.exitCode,
                f.signal);
    }

    private BatchStatus gone(Optional<BatchJobFile> f) {
        OptionalInt exit = f.map(this::readExit).orElse(OptionalInt.empty());
        return new BatchStatus(BatchStatus.State.GONE, "", Optional.empty(), List.of(), exit, signalOf(exit));
    }

    /** The earliest time a running job of its partition reaches its time limit; now when none runs. */
    private long expectedStart(BatchJobFile pending) {
        long now = clock.millis();
        try {
            return BatchJobFile.loadAll(jobsDir).stream()
                    .filter(f -> f.holdsNodes && f.partition.equals(pending.partition))
                    .mapToLong(f -> Math.max(now, f.startMillis + f.timeLimit.toMillis())).min().orElse(now);
        } catch (IOException e) {
            return now;
        }
    }

    private Optional<BatchJobFile> load(BatchJob j) throws IOException {
        long id;
        try {
            id = Long.parseLong(j.id());
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        return BatchJobFile.load(jobsDir, id).filter(f -> f.job.equals(j.job()) && f.attempt == j.attempt());
    }

    private Optional<BatchJobFile> byTag(JobId job, int attempt) throws IOException {
        String id;
        try {
            id = Files.readString(tagFile(job, attempt)).trim();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        return BatchJobFile.load(jobsDir, Long.parseLong(id));
    }

    private Path tagFile(JobId job, int attempt) {
        return tagsDir.resolve(BatchRequest.tag(job, attempt).replace(':', '_'));
    }

    private static BatchJob batchJob(BatchJobFile f) {
        return new BatchJob(Long.toString(f.id), f.job, f.attempt);
    }

    private long nextId() throws IOException {
        Path counter = dir.resolve("next-id");
        long id = Files.exists(counter) ? Long.parseLong(Files.readString(counter).trim()) : 1;
        writeAtomically(counter, (id + 1) + "\n");
        return id;
    }

    private void timedPass() {
        try {
            locked(() -> {
                pass();
                return null;
            });
        } catch (RuntimeException e) {
            log.debug("loopback-batch: scheduling pass failed: {}", e.toString());
        }
    }

    /**
     * Moves every job on: ended runs are recorded, runs past their time limit or cancelled are signalled (TERM, then
     * KILL after the kill wait), jobs past the minimum age are forgotten, and pending jobs start, oldest first, where
     * their partition has enough nodes with the cpus, memory and gpus free. Called with the queue's lock held.
     */
    private void pass() throws IOException {
        long now = clock.millis();
        List<BatchJobFile> jobs = BatchJobFile.loadAll(jobsDir);
        java.util.Set<String> down = downNodes();
        java.util.Set<String> downPartitions = marked(LoopbackBatchGate.DOWN_PARTITIONS_DIRECTORY);
        for (BatchJobFile f : jobs) {
            if (f.forgotten) {
                continue;
            }
            boolean changed = false;
            if (!f.state.isTerminal() && f.holdsNodes && f.allocated.stream().anyMatch(down::contains)) {
                // a node that dies takes its processes with it; the job is not requeued (Slurm's requeue=false)
                f.state = BatchStatus.State.NODE_FAIL;
                f.endedBy = Optional.of(BatchStatus.State.NODE_FAIL);
                f.reason = "NodeFail";
                f.endMillis = now;
                if (f.processGroup > 0) {
                    signal(f.processGroup, "KILL");
                    f.killAtMillis = now + settings.killWait().toMillis();
                } else {
                    f.holdsNodes = false;
                }
                changed = true;
            }
            if (f.state == BatchStatus.State.RUNNING && f.processGroup == 0) {
                launch(f);
                changed = true;
            }
            if (f.holdsNodes && f.processGroup > 0) {
                changed |= follow(f, now);
            }
            if (f.state.isTerminal() && !f.holdsNodes && now - f.endMillis >= settings.minJobAge().toMillis()) {
                f.forgotten = true;
                changed = true;
            }
            if (changed) {
                f.store(jobsDir);
            }
        }
        Map<String, int[]> used = new HashMap<>();
        Map<String, Long> usedMemory = new HashMap<>();
        for (BatchJobFile f : jobs) {
            if (f.holdsNodes) {
                for (String n : f.allocated) {
                    int[] u = used.computeIfAbsent(n, k -> new int[2]);
                    u[0] += f.cpusPerNode;
                    u[1] += f.gpusPerNode;
                    usedMemory.merge(n, f.memoryPerNode, Long::sum);
                }
            }
        }
        for (BatchJobFile f : jobs) {
            if (f.state != BatchStatus.State.PENDING) {
                continue;
            }
            BatchPartition p = settings.partitions().stream().filter(x -> x.name().equals(f.partition)).findFirst()
                    .orElse(null);
            if (p == null) {
                // The gate was reconfigured without the job's partition: Slurm would keep it pending for ever
                // (PartitionConfig); like the slurm gate, this site ends such a job FAILED, without an exit code.
                end(f, BatchStatus.State.FAILED, "PartitionConfig: partition " + f.partition + " no longer exists");
                f.store(jobsDir);
                continue;
            }
            Optional<String> held = readIfThere(dir.resolve(LoopbackBatchGate.HOLD_FILE)).map(String::trim);
            String waits = held.isPresent() ? held.get()
                    : downPartitions.contains(p.name()) ? "PartitionDown" : null;
            if (waits != null) {
                if (!f.reason.equals(waits)) {
                    f.reason = waits;
                    f.store(jobsDir);
                }
                continue;
            }
            List<String> free = p.nodes().stream().filter(n -> !down.contains(n)).filter(n -> {
                int[] u = used.getOrDefault(n, new int[2]);
                return p.maxCpusPerNode() - u[0] >= f.cpusPerNode && p.maxGpusPerNode() - u[1] >= f.gpusPerNode
                        && p.maxMemoryPerNode() - usedMemory.getOrDefault(n, 0L) >= f.memoryPerNode;
            }).toList();
            if (free.size() < f.nodes) {
                if (!f.reason.equals("Resources")) {
                    f.reason = "Resources";
                    f.store(jobsDir);
                }
                continue;
            }
            f.allocated = List.copyOf(free.subList(0, f.nodes));
            for (String n : f.allocated) {
                int[] u = used.computeIfAbsent(n, k -> new int[2]);
                u[0] += f.cpusPerNode;
                u[1] += f.gpusPerNode;
                usedMemory.merge(n, f.memoryPerNode, Long::sum);
            }
            f.state = BatchStatus.State.RUNNING;
            f.reason = "None";
            f.startMillis = now;
            f.holdsNodes = true;
            // recorded as started before the process exists: a crash in between is repaired by launch's claim check
            f.store(jobsDir);
            launch(f);
            f.store(jobsDir);
        }
    }

    /** Follows a job whose processes hold its nodes; true when its file changed. */
    private boolean follow(BatchJobFile f, long now) {
        OptionalInt exit = readExit(f);
        if (exit.isPresent() || !alive(f.processGroup)) {
            exit = exit.isPresent() ? exit : readExit(f); // it may have written the file as it went
            f.holdsNodes = false;
            f.exitCode = exit;
            f.signal = signalOf(exit);
            if (!f.state.isTerminal()) {
                f.endMillis = now;
                if (exit.isPresent()) {
                    f.state = exit.getAsInt() == 0 ? BatchStatus.State.COMPLETED : BatchStatus.State.FAILED;
                    f.reason = exit.getAsInt() == 0 ? "None" : "NonZeroExitCode";
                } else {
                    f.state = BatchStatus.State.NODE_FAIL;
                    f.reason = "its processes ended without an exit status";
                }
            }
            return true;
        }
        if (f.state == BatchStatus.State.RUNNING && now - f.startMillis >= f.timeLimit.toMillis()) {
            f.state = BatchStatus.State.TIMEOUT;
            f.endedBy = Optional.of(BatchStatus.State.TIMEOUT);
            f.reason = "TimeLimit";
            f.endMillis = now;
            signal(f.processGroup, "TERM");
            f.killAtMillis = now + settings.killWait().toMillis();
            return true;
        }
        if (f.killAtMillis > 0 && now >= f.killAtMillis) {
            signal(f.processGroup, "KILL");
            f.killAtMillis = now + settings.killWait().toMillis();
            return true;
        }
        return false;
    }

    /**
     * Starts the job's wrapper, or adopts the one an earlier pass started when its claim is there (a gate that died
     * between recording the start and recording the process).
     */
    private void launch(BatchJobFile f) {
        Path run = Path.of(f.runDirectory());
        try {
            if (Files.exists(run.resolve(DetachedRun.CLAIM))) {
                Optional<String> pid = readIfThere(run.resolve(DetachedRun.PID));
                if (pid.isPresent() && !pid.get().isBlank()) {
                    f.processGroup = Long.parseLong(pid.get().trim());
                }
                return; // the wrapper writes its pid right after its claim: the next pass reads it
            }
            Files.createDirectories(run);
            Optional<String> script = readIfThere(Path.of(f.directory, DetachedRun.SCRIPT));
            if (script.isEmpty()) {
                end(f, BatchStatus.State.FAILED, "the job's script is missing");
                return;
            }
            RunRequest rr = new RunRequest(f.job, f.attempt, f.directory, script, List.of(), f.workdir,
                    f.environment, f.owner, f.cpusPerNode, f.memoryPerNode);
            ProcessBuilder pb = new ProcessBuilder(DetachedRun.command(rr, DetachedRun.program(rr)));
            Map<String, String> env = pb.environment();
            String path = env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
            String home = env.getOrDefault("HOME", System.getProperty("user.home"));
            env.clear();
            env.put("PATH", path);
            env.put("HOME", home);
            env.putAll(f.environment);
            env.put("SKYPORT_BATCH_JOB_ID", Long.toString(f.id));
            env.put("SKYPORT_BATCH_PARTITION", f.partition);
            env.put("SKYPORT_BATCH_NODES", String.join(",", f.allocated));
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
            // setsid does not fork when its caller leads no group, so the wrapper's pid is the group's id
            f.processGroup = pb.start().pid();
            log.debug("loopback-batch: started {} as process group {}", f, f.processGroup);
        } catch (IOException | RuntimeException e) {
            end(f, BatchStatus.State.FAILED, "launch failed: " + e.getMessage());
        }
    }

    private void end(BatchJobFile f, BatchStatus.State state, String reason) {
        f.state = state;
        f.reason = reason;
        f.endMillis = clock.millis();
        f.holdsNodes = false;
    }

    private OptionalInt readExit(BatchJobFile f) {
        try {
            return readIfThere(Path.of(f.runDirectory(), DetachedRun.EXIT_CODE)).map(DetachedRun::parseStatus)
                    .orElse(OptionalInt.empty());
        } catch (IOException e) {
            return OptionalInt.empty();
        }
    }

    private static OptionalInt signalOf(OptionalInt exit) {
        if (exit.isPresent() && exit.getAsInt() > 128 && exit.getAsInt() <= 128 + 64) {
            return OptionalInt.of(exit.getAsInt() - 128);
        }
        return OptionalInt.empty();
    }

    /** Whether the process runs: a zombie has ended, it only waits for a parent that may never reap it. */
    private static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static void signal(long processGroup, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-s", signal, "--", "-" + processGroup)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!kill.waitFor(10, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
            }
        } catch (IOException e) {
            log.warn("loopback-batch: cannot signal process group {}: {}", processGroup, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Optional<String> readIfThere(Path p) throws IOException {
        try {
            return Optional.of(Files.readString(p, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    private static void writeAtomically(Path target, String content) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private interface Locked<T> {
        T run() throws IOException;
    }

    private <T> T locked(Locked<T> action) {
        jvmLock.lock();
        try (FileChannel ch = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock ignored = ch.lock()) {
            return action.run();
        } catch (IOException e) {
            throw GateException.transientFailure("loopback-batch: queue at " + dir + " failed: " + e, e,
                    Optional.empty());
        } finally {
            jvmLock.unlock();
        }
    }
}
