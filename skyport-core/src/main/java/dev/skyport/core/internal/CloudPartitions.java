package dev.skyport.core.internal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.Flavor;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.PartitionPolicy;
import dev.skyport.api.SkyPortException;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.StopIntent;
import dev.skyport.core.store.StoredPartition;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateException;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionNode;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.PartitionState;
import dev.skyport.scheduler.Plan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.random.RandomGenerator;

/**
 * The partitions the engine makes through its cloud gate for jobs: creates one for a cloud placement (with a deadline
 * and classified retries), waits until its head node answers over SSH with its pinned host keys, starts the job on it
 * and deletes it when the job lets go of it (or keeps it idle for a next job of the same shape). Every phase is a row
 * in the store before the gate is asked, so that a restarted engine resumes it; a reconciler deletes what this engine
 * created and no live job holds.
 *
 * <p>Concurrency: each partition is a {@link Part} with its own lock, and its steps run on a pool of
 * {@link PartitionPolicy#maxInFlight()} threads: a slow creation holds one thread and nothing else. Lock order: a
 * job's entry, then its part, never the other way.
 */
final class CloudPartitions implements PartitionLifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(CloudPartitions.class);
    /** How soon a head node that does not answer over SSH yet is asked again. */
    static final Duration CONNECT_POLL = Duration.ofSeconds(1);
    /**
     * The most nodes one partition has. A cloud-gate-independent cap, checked at submission: a typo (1000 for 10)
     * must not become a thousand VMs on a bill, and no upstream job asks more than a few dozen.
     */
    static final int MAX_NODES_PER_PARTITION = 64;
    /** The health component of the reconciler's listing. */
    static final String RECONCILER = "partition-reconciler";
    /** The file in the data directory holding this engine's instance id (its partitions' {@code TAG_ENGINE}). */
    static final String ENGINE_ID_FILE = "engine-id";

    enum Phase { CREATING, CONNECTING, READY, IDLE, DELETING }

    /** What a partition's row holds besides its phase: the request, its owner and, once created, the gate's handle. */
    record Doc(PartitionSpec spec, String owner, Optional<PartitionHandle> handle) {
    }

    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new Jdk8Module())
            .registerModule(new JavaTimeModule()).disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** One partition; every field is guarded by its monitor. */
    final class Part {
        final String name;
        final PartitionSpec spec;
        final String owner;
        Phase phase;
        PartitionHandle handle;
        /** The job it serves and that job's attempt; none once let go. */
        Entry entry;
        int attempt;
        JobId job;
        /** Its job let go of it: the step under way deletes it when it returns. */
        boolean released;
        /** The thread in a gate call or SSH check for it, interrupted by a release or a deadline. */
        Thread worker;
        boolean timedOut;
        int tries;
        Instant firstTry;
        Instant connectDeadline;
        Object timer;
        Instant idleSince;
        final Backoff backoff;

        Part(String name, PartitionSpec spec, String owner, JobId job, Phase phase) {
            this.name = name;
            this.spec = spec;
            this.owner = owner;
            this.job = job;
            this.phase = phase;
            synchronized (random) {
                this.backoff = new Backoff(Backoff.INITIAL, Backoff.MAX,
                        ((RandomGenerator.SplittableGenerator) random).split());
            }
        }

        /** Which later placement may take it when idle: same owner, flavor, size and cloud image. */
        String shape() {
            return spec == null ? "" : owner + "|" + spec.flavor().orElse("") + "|" + spec.nodeCount() + "|"
                    + spec.cloudImage().orElse("") + "|" + inPorts(spec);
        }
    }

    /** The sorted IN ports of {@code spec}: a partition is opened for those, so only a job asking the same may reuse it. */
    static String inPorts(PartitionSpec spec) {
        return spec.ports().stream().filter(ps -> ps.direction() == dev.skyport.api.PortSpec.Direction.IN)
                .map(ps -> ps.port() + "/" + ps.protocol()).sorted().distinct()
                .collect(java.util.stream.Collectors.joining(","));
    }

    private final EngineGate gate;
    private final Gate cloud;
    private final JobStore store;
    private final JobTable table;
    private final Transitions transitions;
    private final RunSupervisor runs;
    private final SchedulingLoop loop;
    private final EngineHealth health;
    private final PartitionPolicy policy;
    private final String engineId;
    private final RandomGenerator.SplittableGenerator random;
    private final BooleanSupplier closed;
    private final ThreadPoolExecutor pool;
    /**
     * Deletions, the reconciler, connect polls and idle stops: short steps that must not wait behind creations, which
     * can hold every thread of {@link #pool} for their whole deadline.
     */
    private final ThreadPoolExecutor chores;
    private final Map<String, Part> parts = new ConcurrentHashMap<>();
    private final Backoff reconcileBackoff;
    /** This engine's partitions in the reconciler's last listing: those without a part are shown as the cloud has them. */
    private volatile List<PartitionHandle> listed = List.of();
    /**
     * Orders deletions against listings, so that a partition deleted after the last listing began is not shown from it:
     * {@link #listedEpoch} is the epoch a listing began in, {@link #deletedEpoch} the epoch of each deletion since.
     */
    private final java.util.concurrent.atomic.AtomicLong epoch = new java.util.concurrent.atomic.AtomicLong();
    private volatile long listedEpoch;
    private final Map<String, Long> deletedEpoch = new ConcurrentHashMap<>();

    CloudPartitions(EngineGate gate, JobStore store, JobTable table, Transitions transitions, RunSupervisor runs,
                    SchedulingLoop loop, EngineHealth health, PartitionPolicy policy, String engineId,
                    RandomGenerator.SplittableGenerator random, BooleanSupplier closed) {
        this.gate = gate;
        this.cloud = gate.cloudGate().orElseThrow();
        this.store = store;
        this.table = table;
        this.transitions = transitions;
        this.runs = runs;
        this.loop = loop;
        this.health = health;
        this.policy = policy;
        this.engineId = engineId;
        this.random = random;
        this.closed = closed;
        this.reconcileBackoff = new Backoff(Backoff.INITIAL, Backoff.MAX, random.split());
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(policy.maxInFlight(), policy.maxInFlight(), 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "skyport-partition-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        int choreThreads = Math.max(2, Math.min(8, policy.maxInFlight()));
        AtomicInteger c = new AtomicInteger();
        this.chores = new ThreadPoolExecutor(choreThreads, choreThreads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "skyport-partition-chore-" + c.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        chores.allowCoreThreadTimeOut(true);        gate.madePartitions(this::records);
    }

    /** This engine's instance id, kept in {@code dataDir}: created on the first start, the same ever after. */
    static String engineId(Path dataDir) {
        Path file = dataDir.resolve(ENGINE_ID_FILE);
        try {
            if (Files.exists(file)) {
                String id = Files.readString(file, StandardCharsets.UTF_8).trim();
                if (!id.isEmpty()) {
                    return id;
                }
            }
            String id = UUID.randomUUID().toString();
            Path tmp = dataDir.resolve(ENGINE_ID_FILE + ".tmp");
            Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return id;
        } catch (IOException e) {
            throw new SkyPortException("cannot read or create " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The partition name of a job: {@code swm-} and 8 hex digits of its id. Upstream takes the first 8 characters of
     * a random (version 4) id; this engine's ids are time-ordered (version 7), whose first 8 characters are the same for
     * every job of the same minute, so the name takes the last 8, which are random.
     */
    static String nameOf(JobId job) {
        String text = job.toString();
        return "swm-" + text.substring(text.length() - 8);
    }

    // ---------------------------------------------------------------- placements

    @Override
    public boolean provide(Plan.CloudPlacement placement) {
        Entry e = table.active.get(placement.job());
        if (e == null || closed.getAsBoolean()) {
            return false;
        }
        if (e.placing || e.state != JobState.QUEUED) {
            return true;
        }
        e.placing = true;
        try {
            pool.execute(() -> start(e, placement));
        } catch (RejectedExecutionException ex) {
            e.placing = false;
            return false;
        }
        return true;
    }

    /** Records the partition and moves its job to PROVISIONING, then creates it (or takes an idle one). */
    private void start(Entry e, Plan.CloudPlacement placement) {
        Job job;
        try {
            job = table.get(e.id);
        } catch (RuntimeException ex) {
            // The store cannot be read: placed again later, not by the pass that ends its placement.
            LOG.warn("cannot read job {} to give it a partition; it is placed again in {} s: {}", e.id,
                    RunSupervisor.FINISH_RETRY.toSeconds(), ex.toString());
            synchronized (e) {
                RunSupervisor.backOff(e, loop);
            }
            return;
        }
        JobSpec js = job.spec();
        String name = nameOf(e.id);
        Instant now = loop.now();
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put(PartitionSpec.TAG_OWNER, e.owner);
        tags.put(PartitionSpec.TAG_JOB, e.id.toString());
        tags.put(PartitionSpec.TAG_PARTITION, name);
        tags.put(PartitionSpec.TAG_ENGINE, engineId);
        tags.put(PartitionSpec.TAG_CREATED, now.toString());
        PartitionSpec spec = new PartitionSpec(name, Optional.of(placement.flavor()), placement.nodes(),
                js.cloudImage(), js.containerImage(), js.ports(), tags);
        String price = priceOf(placement);
        Part fresh = new Part(name, spec, e.owner, e.id, Phase.CREATING);
        Part taken = null;
        synchronized (e) {
            if (closed.getAsBoolean() || table.active.get(e.id) != e || e.state != JobState.QUEUED || !e.placing) {
                e.placing = false;
                return;
            }
            taken = takeIdle(fresh.shape());
            // The name is reserved before anything is recorded, so that a reconciler acting on an older listing
            // cannot take the name between the check and the row (every attempt of a job has the same name).
            if (taken == null && parts.putIfAbsent(name, fresh) != null) {
                // The partition of an earlier attempt (same name) is still being deleted: a creation now would be
                // taken for it, and its deletion would delete the new one.
                RunSupervisor.backOff(e, loop);
                return;
            }
            Part p = taken != null ? taken : fresh;
            int number = job.attempts().size() + 1;
            String details = taken != null
                    ? "Taking idle partition " + p.name + ": " + p.spec.nodeCount() + " × "
                    + p.spec.flavor().orElse("?")
                    : "Creating partition " + name + ": " + placement.nodes() + " × " + placement.flavor() + " at "
                    + price;
            JobTransitioned event;
            try {
                synchronized (p) {
                    p.entry = e;
                    p.attempt = number;
                    p.job = e.id;
                    p.released = false;
                    persist(p);
                }
                Attempt attempt = new Attempt(number, List.of(), Optional.of(p.name), now, Optional.empty(),
                        OptionalInt.empty(), OptionalInt.empty(), Optional.empty());
                event = transitions.transition(e, JobState.PROVISIONING, Optional.empty(), details,
                        j -> Transitions.withAttempt(j, attempt), Optional.empty(), Optional.empty());
            } catch (RuntimeException ex) {
                LOG.error("cannot record the partition of job {}; trying again later", e.id, ex);
                synchronized (p) {
                    p.entry = null;
                    if (taken != null) {
                        p.phase = Phase.IDLE;
                        armIdleStop(p); // takeIdle cancelled it
                    }
                }
                if (taken == null) {
                    forgetRow(name);
                    parts.remove(name, fresh);
                }
                RunSupervisor.backOff(e, loop);
                return;
            }
            parts.put(p.name, p);
            table.queue.remove(e.id, e);
            e.placing = false;
            e.attempt = number;
            e.attemptStart = now;
            e.partition = p.name;
            e.provisioning = true;
            e.infeasibleReason = null;
            e.waitReason = null;
            transitions.settle(e, event);
        }
        LOG.info("job {}: {}", e.id, taken != null ? "taking idle partition " + taken.name
                : "creating partition " + name + " (" + placement.nodes() + " × " + placement.flavor() + ")");
        if (taken != null) {
            Part p = taken;
            submit(() -> ready(p));
        } else {
            create(fresh);
        }
    }

    private String priceOf(Plan.CloudPlacement placement) {
        String currency = "USD";
        try {
            for (Flavor f : gate.cloudFlavors()) {
                if (f.name().equals(placement.flavor())) {
                    currency = f.currency();
                }
            }
        } catch (RuntimeException ignored) {
            // the price is only told; the placement has it
        }
        return placement.pricePerHour() + " " + currency + "/h";
    }

    /** An idle partition of {@code shape}, now taken (READY), or null. */
    private Part takeIdle(String shape) {
        if (policy.idleTimeout().isZero()) {
            return null;
        }
        for (Part p : parts.values()) {
            synchronized (p) {
                if (p.phase == Phase.IDLE && p.shape().equals(shape) && p.handle != null) {
                    p.phase = Phase.READY;
                    if (p.timer != null) {
                        loop.cancelTimer(p.timer);
                        p.timer = null;
                    }
                    return p;
                }
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- creating

    private void submit(Runnable step) {
        execute(pool, step);
    }

    /** Runs a short step (deletion, listing, poll, idle stop) on the pool creations never hold. */
    private void background(Runnable step) {
        execute(chores, step);
    }

    private void execute(ThreadPoolExecutor on, Runnable step) {
        try {
            on.execute(step);
        } catch (RejectedExecutionException ex) {
            if (!closed.getAsBoolean()) {
                LOG.error("cannot schedule a partition step", ex);
            }
        }
    }

    /** One try of the gate's createPartition, with the creation deadline; a retry, a failure or the SSH check next. */
    private void create(Part p) {
        int attemptNo;
        synchronized (p) {
            if (closed.getAsBoolean() || p.phase != Phase.CREATING) {
                return;
            }
            if (p.released) {
                startDelete(p);
                return;
            }
            Instant now = loop.now();
            if (p.firstTry == null) {
                p.firstTry = now;
            }
            attemptNo = ++p.tries;
            p.timedOut = false;
            p.worker = Thread.currentThread();
            p.timer = loop.addTimer(now.plus(policy.createTimeout()), () -> timedOut(p, attemptNo));
        }
        PartitionHandle handle = null;
        GateException failure = null;
        try {
            handle = cloud.createPartition(p.spec);
        } catch (GateException ex) {
            failure = ex;
        } catch (RuntimeException ex) {
            failure = GateException.permanent("the " + cloud.name() + " gate failed: " + ex, EndReason.PARTITION_FAILED);
        } finally {
            synchronized (p) {
                p.worker = null;
                if (p.timer != null) {
                    loop.cancelTimer(p.timer);
                    p.timer = null;
                }
            }
            Thread.interrupted(); // an interrupt meant for the call that returned must not hit the next step
        }
        if (closed.getAsBoolean()) {
            return; // the next start resumes the creation (createPartition is idempotent)
        }
        EndReason reason = null;
        String message = null;
        String retrying = null;
        Entry retryingJob = null;
        synchronized (p) {
            if (p.released) {
                startDelete(p);
                return;
            }
            if (p.timedOut) {
                reason = EndReason.PARTITION_FAILED;
                message = "partition " + p.name + " was not created within " + human(policy.createTimeout());
            } else if (failure != null) {
                Instant now = loop.now();
                Duration wait = failure.retryAfter().orElseGet(p.backoff::next);
                if (failure.isTransient() && p.tries < policy.createAttempts()
                        && !now.plus(wait).isAfter(p.firstTry.plus(policy.retryBudget()))) {
                    LOG.info("creating partition {} failed ({}); trying again in {} (try {} of {})", p.name,
                            failure.getMessage(), wait, p.tries + 1, policy.createAttempts());
                    p.timer = loop.addTimer(now.plus(wait), () -> submit(() -> create(p)));
                    retrying = "Creating partition " + p.name + ": try " + p.tries + " of " + policy.createAttempts()
                            + " failed (" + failure.getMessage() + "); trying again at " + now.plus(wait);
                    retryingJob = p.entry;
                } else {
                    reason = failure.reason().orElse(EndReason.PARTITION_FAILED);
                    message = failure.getMessage();
                }
            } else if (handle == null || handle.state() != PartitionState.READY || handle.nodes().isEmpty()) {
                reason = EndReason.PARTITION_FAILED;
                message = "the " + cloud.name() + " gate returned partition " + p.name + " "
                        + (handle == null ? "without a handle" : handle.state() + handle.failure().map(f -> ": " + f)
                        .orElse(""));
            } else {
                p.handle = handle;
                p.phase = Phase.CONNECTING;
                p.connectDeadline = loop.now().plus(policy.readyTimeout());
                persistQuietly(p);
            }
        }
        if (retrying != null) {
            if (retryingJob != null) {
                retryDetails(retryingJob, p.name, retrying); // outside p's lock: the order is job entry, then partition
            }
            return;
        }
        if (reason != null) {
            fail(p, reason, message);
            return;
        }
        connect(p);
    }

    /**
     * Tells the job why it still waits: a PROVISIONING self-transition whose details name the failed try and the next
     * one (what {@code skyport show} and the job's history show), as a stop intent is recorded on RUNNING.
     */
    private void retryDetails(Entry e, String partition, String details) {
        synchronized (e) {
            if (closed.getAsBoolean() || table.active.get(e.id) != e || e.state != JobState.PROVISIONING
                    || !partition.equals(e.partition)) {
                return;
            }
            try {
                JobTransitioned event = transitions.transition(e, JobState.PROVISIONING, Optional.empty(), details,
                        j -> j, Optional.empty(), Optional.empty());
                transitions.settle(e, event);
            } catch (RuntimeException ex) {
                LOG.warn("cannot record on job {} that its partition is tried again: {}", e.id, ex.toString());
            }
        }
    }

    private void timedOut(Part p, int attemptNo) {
        synchronized (p) {
            if (p.tries == attemptNo && p.worker != null && p.phase == Phase.CREATING) {
                LOG.warn("partition {} was not created within {}; abandoning it", p.name, policy.createTimeout());
                p.timedOut = true;
                p.worker.interrupt();
            }
        }
    }

    /** Waits, a poll at a time, until the head node answers over SSH with its pinned host keys. */
    private void connect(Part p) {
        PartitionHandle handle;
        synchronized (p) {
            if (closed.getAsBoolean() || p.phase != Phase.CONNECTING) {
                return;
            }
            if (p.released) {
                startDelete(p);
                return;
            }
            handle = p.handle;
            p.worker = Thread.currentThread();
        }
        PartitionNode head = head(handle);
        GateException failure = null;
        try {
            gate.connections().exec(EngineGate.target(handle, head), "true");
            if (handle.nodes().size() > 1) {
                placeKey(handle, head);
            }
        } catch (GateException ex) {
            failure = ex;
        } catch (RuntimeException ex) {
            failure = GateException.transientFailure("cannot reach " + head.host() + ": " + ex, ex, Optional.empty());
        } finally {
            synchronized (p) {
                p.worker = null;
            }
            Thread.interrupted();
        }
        if (closed.getAsBoolean()) {
            return;
        }
        String message = null;
        synchronized (p) {
            if (p.released) {
                startDelete(p);
                return;
            }
            if (failure != null) {
                Instant now = loop.now();
                if (failure.isTransient() && now.isBefore(p.connectDeadline)) {
                    LOG.debug("the head node of partition {} does not answer yet: {}", p.name, failure.getMessage());
                    p.timer = loop.addTimer(now.plus(CONNECT_POLL), () -> background(() -> connect(p)));
                    return;
                }
                message = failure.isTransient()
                        ? "the head node " + head.name() + " of partition " + p.name + " did not answer over SSH within "
                        + human(policy.readyTimeout()) + ": " + failure.getMessage()
                        : "the head node " + head.name() + " of partition " + p.name + " refused: " + failure.getMessage();
            } else {
                p.phase = Phase.READY;
                persistQuietly(p);
            }
        }
        if (message != null) {
            fail(p, EndReason.PARTITION_FAILED, message);
            return;
        }
        ready(p);
    }

    /**
     * Gives the head the partition's private key ({@code ~/.ssh/<its file name>}, 0600) so that it logs in to its
     * compute nodes (MPI launchers, a job's own ssh): every node accepts that key, and the head knows the compute
     * nodes' host keys from its cloud-init. Only for partitions of more than one node: a single node needs none.
     */
    private void placeKey(PartitionHandle handle, PartitionNode head) {
        Path key = handle.sshKey().orElseThrow();
        byte[] content;
        try {
            content = Files.readAllBytes(key);
        } catch (IOException e) {
            throw GateException.permanent("cannot read the key of partition " + handle.name() + ": " + e.getMessage());
        }
        gate.connections().writeSshFile(EngineGate.target(handle, head), key.getFileName().toString(), content);
    }

    /** The partition answers: its nodes become reachable and its job starts on them, the head first. */
    private void ready(Part p) {
        Entry e;
        int attempt;
        List<String> nodes = new ArrayList<>();
        synchronized (p) {
            if (closed.getAsBoolean() || p.phase != Phase.READY || p.entry == null) {
                return;
            }
            e = p.entry;
            attempt = p.attempt;
            PartitionNode head = head(p.handle);
            nodes.add(head.name());
            for (PartitionNode n : p.handle.nodes()) {
                if (n != head) {
                    nodes.add(n.name());
                }
            }
        }
        try {
            synchronized (p) {
                if (p.phase != Phase.READY || p.entry != e) {
                    return;
                }
                gate.register(p.handle, p.job.toString());
            }
        } catch (RuntimeException ex) {
            // e.g. a node listed without host keys: it can never be reached safely
            fail(p, EndReason.PARTITION_FAILED, "the nodes of partition " + p.name + " cannot be reached: "
                    + ex.getMessage());
            return;
        }
        LOG.info("partition {} is ready; starting job {} on {}", p.name, e.id, nodes);
        if (!runs.launchProvisioned(e, attempt, nodes)) {
            boolean waiting;
            synchronized (e) {
                waiting = !closed.getAsBoolean() && table.active.get(e.id) == e && e.state == JobState.PROVISIONING
                        && e.attempt == attempt && e.stopIntent == null;
            }
            if (waiting) {
                // The start could not be recorded (the store failed): the job still waits for this partition.
                LOG.warn("cannot start job {} on partition {} yet; trying again in {}", e.id, p.name,
                        RunSupervisor.FINISH_RETRY);
                synchronized (p) {
                    p.timer = loop.addTimer(loop.now().plus(RunSupervisor.FINISH_RETRY), () -> submit(() -> ready(p)));
                }
            }
            // Otherwise the job stopped meanwhile: its release deletes the partition.
        }
    }

    private static PartitionNode head(PartitionHandle h) {
        return h.nodes().stream().filter(n -> n.role().equals("head")).findFirst().orElse(h.nodes().get(0));
    }

    /** The partition could not be made: it is deleted, and its job's attempt ends with {@code reason}. */
    private void fail(Part p, EndReason reason, String message) {
        Entry e;
        int attempt;
        PartitionHandle handle;
        synchronized (p) {
            handle = p.handle;
            e = p.entry;
            attempt = p.attempt;
            p.entry = null;
            p.released = true;
            startDelete(p);
        }
        LOG.warn("partition {} failed ({}): {}", p.name, reason, message);
        if (handle != null) {
            gate.forgetConnections(handle); // the connect polls' SSH clients, never registered
        }
        if (e != null) {
            runs.partitionFailed(e, attempt, reason, message);
        }
    }

    // ---------------------------------------------------------------- letting go

    @Override
    public void released(Entry e, String partition) {
        Part p = parts.get(partition);
        if (p == null) {
            return;
        }
        synchronized (p) {
            if (p.entry != e || p.phase == Phase.DELETING || p.phase == Phase.IDLE) {
                return;
            }
            p.entry = null;
            p.released = true;
            if (closed.getAsBoolean()) {
                return;
            }
            if (p.worker != null) {
                p.worker.interrupt(); // the step sees the release when it returns, and deletes
                return;
            }
            if (p.phase == Phase.READY && !policy.idleTimeout().isZero()) {
                idle(p);
            } else {
                startDelete(p);
            }
        }
    }

    /** Keeps READY partition {@code p} for a next job of its shape, until the idle timeout. Call under its lock. */
    private void idle(Part p) {
        p.phase = Phase.IDLE;
        p.idleSince = loop.now();
        gate.unregister(p.name);
        persistQuietly(p);
        armIdleStop(p);
        LOG.info("partition {} is idle; deleted unless a job takes it within {}", p.name, policy.idleTimeout());
    }

    private void armIdleStop(Part p) {
        p.timer = loop.addTimer(p.idleSince.plus(policy.idleTimeout()), () -> background(() -> {
            synchronized (p) {
                if (p.phase == Phase.IDLE && !loop.now().isBefore(p.idleSince.plus(policy.idleTimeout()))) {
                    LOG.info("partition {} was idle for {}: deleting it (idle stop)", p.name, policy.idleTimeout());
                    startDelete(p);
                }
            }
        }));
    }

    /** Records that {@code p} is being deleted and deletes it, retrying until the gate says it is gone. Under its lock. */
    private void startDelete(Part p) {
        if (p.phase == Phase.DELETING) {
            return;
        }
        p.phase = Phase.DELETING;
        p.entry = null;
        if (p.timer != null) {
            loop.cancelTimer(p.timer);
            p.timer = null;
        }
        if (p.worker != null) {
            p.worker.interrupt();
        }
        gate.unregister(p.name);
        persistQuietly(p);
        parts.putIfAbsent(p.name, p);
        background(() -> delete(p));
    }

    private void delete(Part p) {
        if (closed.getAsBoolean()) {
            return; // its row says DELETING: the next start deletes it
        }
        try {
            cloud.deletePartition(p.name);
        } catch (RuntimeException ex) {
            Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(p.backoff::next)
                    : p.backoff.next();
            LOG.warn("cannot delete partition {} yet ({}); trying again in {}", p.name, ex.getMessage(), wait);
            synchronized (p) {
                p.timer = loop.addTimer(loop.now().plus(wait), () -> background(() -> delete(p)));
            }
            return;
        }
        // While p holds the name no other attempt can reserve it, so the row is p's own.
        if (parts.get(p.name) == p) {
            try {
                store.deletePartition(p.name);
            } catch (RuntimeException ex) {
                LOG.warn("partition {} is deleted but its row is not; the next start deletes it again", p.name, ex);
            }
        }
        deletedEpoch.put(p.name, epoch.incrementAndGet());
        parts.remove(p.name, p);
        LOG.info("partition {} deleted", p.name);
    }

    // ---------------------------------------------------------------- rows

    /** The row document of a partition, as {@link #persist} writes it: for tests that leave rows behind. */
    static String document(Doc doc) {
        try {
            return JSON.writeValueAsString(doc);
        } catch (IOException ex) {
            throw new IllegalStateException("cannot write partition " + doc, ex);
        }
    }

    private void persist(Part p) {
        Doc doc = new Doc(p.spec, p.owner, Optional.ofNullable(p.handle));
        String text;
        try {
            text = JSON.writeValueAsString(doc);
        } catch (IOException ex) {
            throw new IllegalStateException("cannot write partition " + p.name, ex);
        }
        store.putPartition(new StoredPartition(p.name, p.job, p.phase.name(), text, loop.now()));
    }

    /** {@link #persist}, logging a failure: the phase goes on in memory, and a restart finds the earlier one. */
    private void persistQuietly(Part p) {
        try {
            persist(p);
        } catch (RuntimeException ex) {
            LOG.error("cannot record partition {} as {}", p.name, p.phase, ex);
        }
    }

    private void forgetRow(String name) {
        try {
            store.deletePartition(name);
        } catch (RuntimeException ex) {
            LOG.warn("cannot delete the row of partition {}", name, ex);
        }
    }

    // ---------------------------------------------------------------- restart

    /**
     * Loads the stored partitions before runs are re-attached: READY ones of running jobs are reachable again, those
     * being created for a PROVISIONING job are resumed (the creation is idempotent), the others are deleted. A job left
     * PROVISIONING without a partition goes back to the queue. {@code provisioning} are the entries loaded PROVISIONING
     * (or CANCELING before their partition was ready).
     */
    void load(List<Entry> provisioning) {
        List<Runnable> next = new ArrayList<>();
        for (StoredPartition row : store.partitions()) {
            Doc doc;
            try {
                doc = JSON.readValue(row.document(), Doc.class);
            } catch (IOException ex) {
                LOG.error("cannot read the row of partition {}; deleting the partition", row.name(), ex);
                doc = new Doc(null, "", Optional.empty());
            }
            Phase phase;
            try {
                phase = Phase.valueOf(row.phase());
            } catch (IllegalArgumentException ex) {
                // A row written by a later version, or damaged: the partition is deleted rather than the start refused.
                LOG.error("partition {} has an unknown phase {}; deleting it", row.name(), row.phase());
                phase = Phase.DELETING;
            }
            Part p = new Part(row.name(), doc.spec(), doc.owner(), row.job(), phase);
            p.handle = doc.handle().orElse(null);
            parts.put(p.name, p);
            Entry e = table.active.get(row.job());
            boolean ours = e != null && row.name().equals(e.partition == null ? partitionOf(e) : e.partition);
            synchronized (p) {
                if (phase == Phase.DELETING || phase == Phase.IDLE && policy.idleTimeout().isZero()) {
                    next.add(() -> { synchronized (p) { p.phase = Phase.CREATING; startDelete(p); } });
                } else if (phase == Phase.IDLE) {
                    p.idleSince = row.updated();
                    next.add(() -> { synchronized (p) { armIdleStop(p); } });
                } else if (!ours || e.state.isTerminal() || doc.spec() == null) {
                    next.add(() -> { synchronized (p) { startDelete(p); } });
                } else if (provisioning.contains(e)) {
                    p.entry = e;
                    p.attempt = e.attempt;
                    e.partition = p.name;
                    e.provisioning = true;
                    if (e.stopIntent != null) {
                        int attempt = e.attempt;
                        next.add(() -> runs.partitionFailed(e, attempt, EndReason.CANCELED,
                                "stopped while its partition was made"));
                    } else if (phase == Phase.CREATING) {
                        next.add(() -> submit(() -> create(p)));
                    } else {
                        if (p.handle == null) {
                            p.phase = Phase.CREATING;
                            next.add(() -> submit(() -> create(p)));
                        } else {
                            p.phase = Phase.CONNECTING;
                            p.connectDeadline = loop.now().plus(policy.readyTimeout());
                            next.add(() -> submit(() -> connect(p)));
                        }
                    }
                } else if (phase == Phase.READY && p.handle != null && runsOn(e, p.handle)) {
                    p.entry = e;
                    p.attempt = e.attempt;
                    e.partition = p.name;
                    try {
                        gate.register(p.handle, row.job().toString());
                    } catch (RuntimeException ex) {
                        LOG.error("cannot reach the nodes of partition {} again", p.name, ex);
                    }
                } else {
                    next.add(() -> { synchronized (p) { startDelete(p); } });
                }
            }
        }
        for (Entry e : provisioning) {
            if (e.partition == null) {
                requeue(e, transitions, table, "the engine stopped before the partition of the job was recorded");
            }
        }
        deferred = next;
    }

    private List<Runnable> deferred = List.of();

    /**
     * Whether {@code e} is past PROVISIONING on {@code handle}: holding its nodes in an open attempt. A READY row of a
     * job that went back to the queue (or never got that far) is not adopted: its job would wait for it forever.
     */
    private boolean runsOn(Entry e, PartitionHandle handle) {
        if (e.state != JobState.STAGING_IN && e.state != JobState.RUNNING && e.state != JobState.STAGING_OUT
                && e.state != JobState.CANCELING) {
            return false;
        }
        try {
            Optional<Attempt> open = table.get(e.id).lastAttempt().filter(a -> a.endTime().isEmpty());
            java.util.Set<String> names = new java.util.HashSet<>();
            handle.nodes().forEach(n -> names.add(n.name()));
            return open.isPresent() && !open.get().nodes().isEmpty() && names.containsAll(open.get().nodes());
        } catch (RuntimeException ex) {
            return false;
        }
    }

    private String partitionOf(Entry e) {
        try {
            return table.get(e.id).lastAttempt().flatMap(Attempt::partition).orElse(null);
        } catch (RuntimeException ex) {
            return null;
        }
    }

    /**
     * Puts a job the engine found PROVISIONING without a partition back in the queue (or ends it CANCELED when a cancel
     * was under way), its attempt ended.
     */
    static void requeue(Entry e, Transitions transitions, JobTable table, String why) {
        synchronized (e) {
            try {
                boolean cancel = e.stopIntent == StopIntent.CANCEL;
                EndReason ended = cancel ? EndReason.CANCELED : EndReason.PARTITION_FAILED;
                JobTransitioned event = transitions.transition(e, cancel ? JobState.CANCELED : JobState.QUEUED,
                        cancel ? Optional.of(EndReason.CANCELED) : Optional.empty(),
                        cancel ? "Canceled" : "Requeued: " + why,
                        j -> Transitions.withLastAttemptEnded(j, j.updateTime(), OptionalInt.empty(),
                                OptionalInt.empty(), ended), Optional.empty(), Optional.empty());
                e.provisioning = false;
                transitions.settle(e, event);
                LOG.info("job {}: {}", e.id, why);
            } catch (RuntimeException ex) {
                LOG.error("cannot requeue job {}", e.id, ex);
            }
        }
    }

    /** Starts what {@link #load} found to do, and the reconciler. */
    void start() {
        for (Runnable r : deferred) {
            r.run();
        }
        deferred = List.of();
        loop.addTimer(loop.now(), () -> background(this::reconcile));
    }

    // ---------------------------------------------------------------- reconciler

    /**
     * Lists the cloud gate's partitions: this engine's that no live row holds are deleted once older than the grace;
     * other engines' are never touched. Runs at start and every reconcile interval.
     */
    void reconcile() {
        if (closed.getAsBoolean()) {
            return;
        }
        Instant now = loop.now();
        List<PartitionHandle> found;
        long began = epoch.incrementAndGet();
        try {
            found = cloud.listPartitions();
            listed = found.stream().filter(h -> engineId.equals(h.tags().get(PartitionSpec.TAG_ENGINE))).toList();
            listedEpoch = began;
            deletedEpoch.values().removeIf(e -> e < began);
            reconcileBackoff.reset();
            health.recovered(RECONCILER);
        } catch (RuntimeException ex) {
            Duration wait = reconcileBackoff.next();
            health.failed(RECONCILER, "listing the partitions of the " + cloud.name() + " gate", ex, 0,
                    Optional.of(now.plus(wait)));
            loop.addTimer(now.plus(wait), () -> background(this::reconcile));
            return;
        }
        for (PartitionHandle h : found) {
            if (!engineId.equals(h.tags().get(PartitionSpec.TAG_ENGINE)) || parts.containsKey(h.name())) {
                continue;
            }
            Instant created = created(h);
            if (now.isBefore(created.plus(policy.orphanGrace()))) {
                continue;
            }
            JobId job = parseJob(h.tags().get(PartitionSpec.TAG_JOB));
            Entry e = table.active.get(job);
            if (e == null) {
                deleteOrphan(h, job, created);
            } else {
                // The job's lock orders this against start(), which reserves the name under it: a job being placed
                // or PROVISIONING owns its partition (its creation is idempotent and finishes it).
                synchronized (e) {
                    if (e.placing || e.state == JobState.PROVISIONING && h.name().equals(e.partition)) {
                        LOG.debug("partition {} is its job's, being made: left to its creation", h.name());
                    } else {
                        deleteOrphan(h, job, created);
                    }
                }
            }
        }
        loop.addTimer(now.plus(policy.reconcileInterval()), () -> background(this::reconcile));
    }

    /** Deletes {@code h} unless an attempt reserved its name or recorded a row for it since the listing. */
    private void deleteOrphan(PartitionHandle h, JobId job, Instant created) {
        Part p = new Part(h.name(), null, h.tags().getOrDefault(PartitionSpec.TAG_OWNER, ""), job, Phase.CREATING);
        if (parts.putIfAbsent(h.name(), p) != null) {
            return;
        }
        synchronized (p) {
            boolean row;
            try {
                row = store.partitions().stream().anyMatch(r -> r.name().equals(h.name()));
            } catch (RuntimeException ex) {
                row = true; // unsure: the next listing decides
            }
            if (row) {
                parts.remove(h.name(), p);
                return;
            }
            LOG.warn("partition {} belongs to no live job of this engine (created {}): deleting it", h.name(), created);
            startDelete(p);
        }
    }

    private static Instant created(PartitionHandle h) {
        String tag = h.tags().get(PartitionSpec.TAG_CREATED);
        if (tag != null) {
            try {
                return Instant.parse(tag);
            } catch (DateTimeParseException ignored) {
                // the handle's own time then
            }
        }
        return h.created();
    }

    private static JobId parseJob(String text) {
        try {
            return text == null ? new JobId(new UUID(0, 0)) : JobId.parse(text);
        } catch (RuntimeException ex) {
            return new JobId(new UUID(0, 0));
        }
    }

    /**
     * This engine's partitions as its records have them (those it found orphaned, being deleted, included), and those
     * of its id the reconciler's last listing found without a record; never another engine's.
     */
    List<dev.skyport.api.Partition> records() {
        List<dev.skyport.api.Partition> out = new ArrayList<>();
        for (Part p : parts.values()) {
            synchronized (p) {
                List<String> nodes = p.handle == null ? List.of()
                        : p.handle.nodes().stream().map(PartitionNode::name).toList();
                Map<String, String> tags = p.spec != null ? p.spec.tags()
                        : p.handle != null ? p.handle.tags() : Map.of();
                out.add(new dev.skyport.api.Partition(p.name, cloud.name(), stateOf(p.phase), nodes, tags));
            }
        }
        for (PartitionHandle h : listed) {
            // Left by an earlier life (an orphan within its grace, or one the reconciler is about to delete).
            if (!parts.containsKey(h.name()) && deletedEpoch.getOrDefault(h.name(), 0L) < listedEpoch) {
                out.add(h.toPartition());
            }
        }
        out.sort(java.util.Comparator.comparing(dev.skyport.api.Partition::name));
        return out;
    }

    /** The phase as the gate's states read ({@link PartitionState}, lower case), with {@code idle} of its own. */
    private static String stateOf(Phase phase) {
        return switch (phase) {
            case CREATING, CONNECTING -> "creating";
            case READY -> "ready";
            case IDLE -> "idle";
            case DELETING -> "deleting";
        };
    }

    /** Partitions known to this engine, by phase name, for tests and diagnostics. */
    Map<String, String> phases() {
        Map<String, String> out = new LinkedHashMap<>();
        for (Part p : parts.values()) {
            synchronized (p) {
                out.put(p.name, p.phase.name());
            }
        }
        return out;
    }

    /** Stops every step (interrupting creations) without deleting anything: the next start resumes them. */
    void close() {
        pool.shutdownNow();
        chores.shutdownNow();
        try {
            pool.awaitTermination(10, TimeUnit.SECONDS);
            chores.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static String human(Duration d) {
        return d.toSeconds() % 60 == 0 && d.toMinutes() > 0 ? d.toMinutes() + " min" : d.toMillis() + " ms";
    }
}
