package dev.skyport.core.internal;

import com.fasterxml.uuid.Generators;
import com.fasterxml.uuid.impl.TimeBasedEpochGenerator;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.skyport.api.Attempt;
import dev.skyport.api.EmbeddedConfig;
import dev.skyport.api.EndReason;
import dev.skyport.api.EngineUnavailableException;
import dev.skyport.api.Events;
import dev.skyport.api.Flavor;
import dev.skyport.api.Health;
import dev.skyport.api.IllegalJobStateException;
import dev.skyport.api.Image;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Jobs;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.Page;
import dev.skyport.api.Partition;
import dev.skyport.api.QueueFullException;
import dev.skyport.api.RemoteSite;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import dev.skyport.core.store.ActiveJob;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.JobStoreProvider;
import dev.skyport.core.store.StopIntent;
import dev.skyport.core.store.StoredJob;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.GateProvider;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;
import dev.skyport.scheduler.Allocation;
import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.FlavorView;
import dev.skyport.scheduler.NodeMode;
import dev.skyport.scheduler.NodeView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.Scheduler;
import dev.skyport.scheduler.SchedulerProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.PriorityQueue;
import java.util.ServiceLoader;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;

/**
 * The embedded workload manager. One scheduling thread plans; a pool of workers starts runs and records their ends;
 * the store makes every transition durable before anything acts on it or hears of it.
 *
 * <p>Locking: each unfinished job's {@link Entry} is its lock; a transition reads the job, checks the
 * {@link Lifecycle} table, persists, then updates memory, all under that lock. Events are published after the lock
 * is released. The scheduling thread never takes a job lock while waiting for the store.
 */
public final class Engine implements SkyPort {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
    /** The longest the scheduling thread sleeps with nothing to do, so a test clock moved by hand is noticed. */
    static final Duration MAX_IDLE = Duration.ofSeconds(1);
    /** The duration the scheduler assumes for a job without a time limit. */
    private static final Duration DEFAULT_DURATION = Duration.ofHours(1);
    /**
     * How many queued jobs, from the head of the queue, one pass plans. A timetable over the whole queue costs
     * seconds at 100,000 jobs; like Slurm's default_queue_depth this bounds a pass, and jobs further back are
     * considered as the head drains.
     */
    static final int PLANNING_WINDOW = 1000;
    /** How fast an account's past use stops counting for fair share (Slurm's default PriorityDecayHalfLife). */
    static final Duration USAGE_HALF_LIFE = Duration.ofDays(7);
    /** How soon a failed recording of a run's end is tried again. */
    private static final Duration FINISH_RETRY = Duration.ofSeconds(1);
    /**
     * After this many failed passes in a row (about 1 + 2 + 4 s of back-off) the engine reports DOWN and refuses
     * submissions; a single failure only degrades it, so that a brief store hiccup does not turn clients away.
     */
    static final int PASS_FAILURES_BEFORE_DOWN = 3;
    /** Past usage is read in pages this small, so that jobs with large scripts cannot fill the heap while replaying. */
    private static final int USAGE_PAGE = 10;

    private final EmbeddedConfig config;
    private final Clock clock;
    private final Path jobsDir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final JobStore store;
    private final Gate gate;
    private final Scheduler scheduler;
    private final EventHub events;
    private final EngineJobs jobs;
    private final AtomicLong sequence;
    private final TimeBasedEpochGenerator ids = Generators.timeBasedEpochGenerator();
    /**
     * Recent snapshots, bounded by what they hold rather than by count: one user's megabyte scripts must not make
     * the cache (and the heap) grow with the queue.
     */
    private final Cache<JobId, StoredJob> snapshots = Caffeine.newBuilder().maximumWeight(SNAPSHOT_CACHE_CHARS)
            .weigher((JobId id, StoredJob job) -> (int) Math.min(Integer.MAX_VALUE, job.size())).build();
    private static final long SNAPSHOT_CACHE_CHARS = 32L << 20;
    /** How often ended jobs past their retention are looked for, and how many one look purges at most. */
    static final Duration PURGE_INTERVAL = Duration.ofMinutes(1);
    private static final int PURGE_BATCH = 1000;
    private final UserQuotas quotas;

    /** Every job that has not ended. */
    private final ConcurrentHashMap<JobId, Entry> active = new ConcurrentHashMap<>();
    /** The queued ones, in submission (id) order. */
    private final ConcurrentSkipListMap<JobId, Entry> queue = new ConcurrentSkipListMap<>();
    /** What each resource-holding (or just placed) job holds. */
    private final ConcurrentHashMap<JobId, Allocation> allocations = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<JobId, CompletableFuture<Job>> terminal = new ConcurrentHashMap<>();
    private final AtomicInteger unfinished = new AtomicInteger();
    private final AccountUsage usage = new AccountUsage(USAGE_HALF_LIFE);
    /** When this engine started: the end of the usage history it replays. */
    private final Instant started;
    /** The nodes the last pass saw, so that a change in the gate's nodes triggers a pass. */
    private volatile List<Node> lastNodes = List.of();

    private final ExecutorService workers;
    private final Thread loopThread;
    private final ReentrantLock loopLock = new ReentrantLock();
    private final Condition wake = loopLock.newCondition();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private volatile boolean dirty = true;
    private volatile boolean closed;

    private final EngineHealth health;
    /** Where back-off jitter comes from; seeded per engine. */
    private final SplittableRandom jitter = new SplittableRandom();
    private final Backoff passBackoff = new Backoff(Backoff.INITIAL, Backoff.MAX, jitter.split());
    private final Backoff replayBackoff = new Backoff(Backoff.INITIAL, Backoff.MAX, jitter.split());
    /** No pass before this, after a failed one; read and written by the scheduling thread only. */
    private Instant passNotBefore = Instant.MIN;

    private record Timer(Instant due, long order, Runnable action) implements Comparable<Timer> {
        @Override
        public int compareTo(Timer o) {
            int c = due.compareTo(o.due);
            return c != 0 ? c : Long.compare(order, o.order);
        }
    }

    private final AtomicLong timerOrder = new AtomicLong();

    private Engine(EmbeddedConfig config) {
        this.config = config;
        this.clock = config.clock();
        this.health = new EngineHealth(clock);
        Path dataDir = config.dataDir().toAbsolutePath();
        this.jobsDir = dataDir.resolve("jobs");
        try {
            // Job scripts and logs may hold secrets: a data directory Sky Port creates is its owner's only.
            if (!Files.exists(dataDir)) {
                Files.createDirectories(dataDir,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Files.createDirectories(jobsDir);
            lockChannel = FileChannel.open(dataDir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            lock = tryLock(lockChannel, dataDir);
        } catch (IOException e) {
            throw new SkyPortException("cannot use data directory " + dataDir + ": " + e.getMessage(), e);
        }
        if (lock == null) {
            closeQuietly(lockChannel);
            throw new SkyPortException("data directory " + dataDir + " is in use by another Sky Port engine");
        }
        JobStore openedStore = null;
        Gate openedGate = null;
        try {
            openedStore = openStore(dataDir);
            openedGate = openGate(config, dataDir);
            this.scheduler = openScheduler(config.scheduler());
        } catch (RuntimeException e) {
            if (openedGate != null) {
                openedGate.close();
            }
            if (openedStore != null) {
                openedStore.close();
            }
            releaseLock();
            throw e;
        }
        this.store = openedStore;
        this.gate = openedGate;
        this.events = new EventHub(store);
        this.quotas = new UserQuotas(config.limits(), store.usageByOwner());
        this.jobs = new EngineJobs(this);
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(16, 16, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "skyport-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            t.setUncaughtExceptionHandler(Engine::uncaught);
            return t;
        }) {
            @Override
            public void execute(Runnable task) {
                super.execute(guarded(task));
            }
        };
        ((ThreadPoolExecutor) workers).allowCoreThreadTimeOut(true);
        List<Entry> holding;
        try {
            this.sequence = new AtomicLong(store.lastSequence());
            holding = load();
        } catch (RuntimeException e) {
            workers.shutdown();
            gate.close();
            store.close();
            releaseLock();
            throw e;
        }
        // Attempts that end from here on are charged by finish(); the history before is replayed by loadUsage.
        this.started = now();
        this.loopThread = new Thread(this::loop, "skyport-scheduler");
        loopThread.setDaemon(true);
        loopThread.setUncaughtExceptionHandler(Engine::uncaught);
        loopThread.start();
        addTimer(now().plus(PURGE_INTERVAL), this::purgeDue);
        for (Entry e : holding) {
            workers.execute(() -> reattach(e));
        }
        LOG.info("Sky Port started: {} unfinished jobs, gate {}, scheduler {}, data {}", active.size(), gate.name(),
                scheduler.name(), dataDir);
    }

    private static FileLock tryLock(FileChannel channel, Path dataDir) throws IOException {
        try {
            return channel.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException sameJvm) {
            closeQuietly(channel);
            throw new SkyPortException("data directory " + dataDir + " is in use by another Sky Port engine in this JVM");
        }
    }

    /** Starts an engine with {@code config}. */
    public static Engine start(EmbeddedConfig config) {
        return new Engine(config);
    }

    private static JobStore openStore(Path dataDir) {
        for (JobStoreProvider p : ServiceLoader.load(JobStoreProvider.class)) {
            if (p.name().equals("sqlite")) {
                return p.open(dataDir);
            }
        }
        throw new SkyPortException("no sqlite job store on the class path");
    }

    private static Gate openGate(EmbeddedConfig config, Path dataDir) {
        List<String> names = new ArrayList<>();
        for (GateProvider p : ServiceLoader.load(GateProvider.class)) {
            names.add(p.name());
            if (p.name().equals(config.gate())) {
                Map<String, String> options = new LinkedHashMap<>(config.gateOptions());
                config.localCpus().ifPresent(c -> options.putIfAbsent("cpus", Integer.toString(c)));
                config.localMemoryBytes().ifPresent(m -> options.putIfAbsent("memoryBytes", Long.toString(m)));
                Path gateDir = dataDir.resolve("gates").resolve(p.name());
                try {
                    Files.createDirectories(gateDir);
                } catch (IOException e) {
                    throw new SkyPortException("cannot create " + gateDir + ": " + e.getMessage(), e);
                }
                return p.create(new GateConfig(gateDir, options, config.clock()));
            }
        }
        throw new SkyPortException("no gate named '" + config.gate() + "'; available: " + names);
    }

    private static Scheduler openScheduler(String name) {
        List<String> names = new ArrayList<>();
        for (SchedulerProvider p : ServiceLoader.load(SchedulerProvider.class)) {
            names.add(p.name());
            if (p.name().equals(name)) {
                return p.create();
            }
        }
        throw new SkyPortException("no scheduler named '" + name + "'; available: " + names);
    }

    /** Builds the in-memory index from the store; returns the entries that hold resources, to re-attach. */
    private List<Entry> load() {
        List<Entry> holding = new ArrayList<>();
        for (ActiveJob row : store.active()) {
            Entry e = new Entry(row);
            active.put(e.id, e);
            unfinished.incrementAndGet();
            if (e.state == JobState.QUEUED) {
                queue.put(e.id, e);
                if (e.notBefore != null) {
                    addTimer(e.notBefore, this::markDirty);
                }
            } else {
                Job job = snapshot(e.id).job();
                Attempt last = job.lastAttempt().orElseThrow(() ->
                        new IllegalStateException("job " + e.id + " is " + e.state + " without an attempt"));
                e.attempt = last.number();
                e.attemptStart = last.startTime();
                e.allocatedNodes = last.nodes();
                e.stopIntent = snapshot(e.id).stopIntent().orElse(null);
                allocate(e);
                holding.add(e);
            }
        }
        return holding;
    }

    /**
     * Replays the attempts that ended before {@code before} into the fair-share usage. Attempts older than ten
     * half-lives count for less than a thousandth and are skipped. The replay fills a usage of its own, merged only
     * when it is complete, so that a replay that fails half-way and is tried again charges nothing twice.
     *
     * <p>A failure (the store, or the heap: the history once held 1 MiB accounts) must not stop scheduling: the engine
     * schedules without the history (fair share orders by the usage since the start), reports DEGRADED, and tries
     * again in the background with back-off.
     */
    private void replayUsage(Instant before) {
        if (closed) {
            return;
        }
        try {
            AccountUsage replayed = new AccountUsage(USAGE_HALF_LIFE);
            int charged = loadUsage(before, replayed);
            replayed.snapshot(before).forEach((account, cpuSeconds) -> usage.charge(account, cpuSeconds, before));
            replayBackoff.reset();
            health.recovered("usage-replay");
            LOG.debug("fair-share usage loaded from {} past attempts", charged);
        } catch (Throwable t) {
            if (closed) {
                return; // the store was closed under the replay; nothing to report
            }
            if (EngineHealth.isFatal(t)) {
                throw t;
            }
            Instant retry = now().plus(replayBackoff.next());
            health.failed("usage-replay", "replaying past usage for fair share (scheduling goes on without it)", t,
                    0, Optional.of(retry));
            addTimer(retry, () -> workers.execute(() -> replayUsage(before)));
        }
    }

    /** Charges {@code into} with the attempts that ended before {@code before}; returns how many. */
    private int loadUsage(Instant before, AccountUsage into) {
        Instant horizon = before.minus(USAGE_HALF_LIFE.multipliedBy(10));
        int charged = 0;
        JobQuery query = JobQuery.all().withLimit(USAGE_PAGE).withoutScripts();
        while (!closed) {
            Page<Job> page = store.list(query);
            for (Job job : page.items()) {
                String account = job.spec().account().orElse("");
                if (account.length() > JobSpec.MAX_ACCOUNT_LENGTH) {
                    continue; // stored before accounts were bounded; no job can be submitted to it any more
                }
                for (Attempt a : job.attempts()) {
                    Optional<Instant> end = a.endTime();
                    if (end.isPresent() && end.get().isBefore(before) && end.get().isAfter(horizon)) {
                        into.charge(account, cpuSeconds(job.spec().cpus(), a, end.get()), end.get());
                        charged++;
                    }
                }
            }
            if (page.nextPageToken().isEmpty()) {
                break;
            }
            query = query.after(page);
        }
        return charged;
    }

    private static double cpuSeconds(int cpusPerNode, Attempt a, Instant end) {
        return (double) cpusPerNode * a.nodes().size() * Math.max(0, Duration.between(a.startTime(), end).toMillis())
                / 1000.0;
    }

    // ------------------------------------------------------------------ SkyPort

    @Override
    public Jobs jobs() {
        return jobs;
    }

    @Override
    public List<Node> nodes() {
        return gate.nodes();
    }

    @Override
    public List<Flavor> flavors() {
        return gate.flavors();
    }

    @Override
    public List<Image> images() {
        return gate.images();
    }

    @Override
    public List<RemoteSite> remotes() {
        return gate.remotes();
    }

    @Override
    public List<Partition> partitions() {
        return gate.partitions();
    }

    @Override
    public Events events() {
        return events;
    }

    @Override
    public Health health() {
        return health.view();
    }

    @Override
    public SkyPort asUser(String user) {
        String name = UserView.checkedName(user);
        return new UserView(this, new Owner(name, name));
    }

    @Override
    public SkyPort asUser(String userId, String userName) {
        return new UserView(this, new Owner(UserView.checkedName(userId), UserView.checkedName(userName)));
    }

    /** The clock's time in whole milliseconds, the precision the store keeps, so snapshots equal what is stored. */
    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    EmbeddedConfig config() {
        return config;
    }

    Clock clock() {
        return clock;
    }

    Gate gate() {
        return gate;
    }

    JobStore store() {
        return store;
    }

    EventHub eventHub() {
        return events;
    }

    Path jobDir(JobId id) {
        return jobsDir.resolve(id.toString());
    }

    // ------------------------------------------------------------------ submit

    Job submit(JobSpec spec, Owner owner) {
        checkOpen();
        checkAvailable();
        if (unfinished.get() >= config.limits().maxActiveJobs()) {
            throw new QueueFullException(config.limits().maxActiveJobs());
        }
        JobId id = new JobId(ids.generate());
        Instant now = now();
        Job job = new Job(id, owner.id(), owner.name(), spec, JobState.QUEUED, "Submitted", Optional.empty(), now, now, List.of());
        JobTransitioned event = new JobTransitioned(sequence.incrementAndGet(), now, id, Optional.empty(),
                JobState.QUEUED, Optional.empty(), "Submitted");
        StoredJob stored = StoredJob.of(job);
        long size = stored.size();
        quotas.reserve(owner.id(), 1, size);
        try {
            store.insert(stored, event);
        } catch (RuntimeException ex) {
            quotas.release(owner.id(), 1, size);
            throw ex;
        }
        admitAndPublish(stored, event);
        markDirty();
        return job;
    }

    List<Job> submitAll(List<JobSpec> specs, Owner owner) {
        checkOpen();
        checkAvailable();
        if (unfinished.get() + specs.size() > config.limits().maxActiveJobs()) {
            throw new QueueFullException(config.limits().maxActiveJobs());
        }
        Instant now = now();
        List<StoredJob> stored = new ArrayList<>(specs.size());
        List<JobTransitioned> evts = new ArrayList<>(specs.size());
        for (JobSpec spec : specs) {
            JobId id = new JobId(ids.generate());
            stored.add(StoredJob.of(new Job(id, owner.id(), owner.name(), spec, JobState.QUEUED, "Submitted", Optional.empty(), now, now,
                    List.of())));
            evts.add(new JobTransitioned(sequence.incrementAndGet(), now, id, Optional.empty(), JobState.QUEUED,
                    Optional.empty(), "Submitted"));
        }
        long size = stored.stream().mapToLong(StoredJob::size).sum();
        quotas.reserve(owner.id(), stored.size(), size);
        try {
            store.insertAll(stored, evts);
        } catch (RuntimeException ex) {
            quotas.release(owner.id(), stored.size(), size);
            throw ex;
        }
        for (int i = 0; i < stored.size(); i++) {
            admitAndPublish(stored.get(i), evts.get(i));
        }
        markDirty();
        return stored.stream().map(StoredJob::job).toList();
    }

    /**
     * Registers a stored submission and publishes its QUEUED event, under the new entry's lock: whoever learns the id
     * from the event finds the job registered (a cancel then succeeds), and a launch, which takes the same lock,
     * cannot publish RUNNING before QUEUED has gone out.
     */
    private void admitAndPublish(StoredJob stored, JobTransitioned event) {
        Entry e = entryFor(stored.job());
        synchronized (e) {
            snapshots.put(e.id, stored);
            unfinished.incrementAndGet();
            active.put(e.id, e);
            queue.put(e.id, e);
            events.publish(event, e.owner);
        }
    }

    // ------------------------------------------------------------------ reads

    StoredJob snapshot(JobId id) {
        StoredJob s = snapshots.get(id, k -> store.find(k).orElse(null));
        if (s == null) {
            throw new NoSuchJobException(id);
        }
        return s;
    }

    Job get(JobId id) {
        return snapshot(id).job();
    }

    /**
     * The job if {@code owner} owns it; otherwise {@link NoSuchJobException}, exactly as for an unknown id. An unknown
     * id always costs one store read (the cache holds only jobs that exist), so another owner's job costs one too,
     * even when cached: how long the refusal takes does not tell whether the job exists.
     */
    Job get(JobId id, String owner) {
        StoredJob cached = snapshots.getIfPresent(id);
        if (cached == null) {
            Job job = get(id); // one store read; NoSuchJobException for an unknown id
            if (job.owner().equals(owner)) {
                return job;
            }
        } else if (cached.job().owner().equals(owner)) {
            return cached.job();
        } else {
            store.find(id); // the read an unknown id costs
        }
        throw new NoSuchJobException(id);
    }

    /**
     * Completes with the job once it has ended; completes exceptionally with a {@link SkyPortException} when the
     * engine closes first, so that nobody waits on an engine that will never tell.
     */
    CompletableFuture<Job> terminalFuture(JobId id) {
        get(id); // NoSuchJobException before anything is registered
        CompletableFuture<Job> f = terminal.computeIfAbsent(id, k -> new CompletableFuture<>());
        Job now = get(id);
        if (now.state().isTerminal() && !active.containsKey(id)) {
            terminal.remove(id, f);
            f.complete(now);
        }
        if (closed) {
            // close() sets the flag before it wakes the waiters it finds: either it found this one or we see the flag.
            f.completeExceptionally(closedException());
        }
        return f;
    }

    private static SkyPortException closedException() {
        return new SkyPortException("this Sky Port has been closed");
    }

    // ------------------------------------------------------------------ transitions

    /**
     * Persists a transition of the job; call under the entry's lock. {@code change} builds the next snapshot from the
     * current one; the table is checked first. Returns the event, which the caller {@link #settle settles} under the
     * same lock.
     */
    private JobTransitioned transition(Entry e, JobState to, Optional<EndReason> reason, String details,
                                       UnaryOperator<Job> change, Optional<StopIntent> intent,
                                       Optional<Instant> notBefore) {
        StoredJob cur = snapshot(e.id);
        JobState from = cur.job().state();
        Lifecycle.check(from, to);
        Instant now = now();
        Job changed = change.apply(cur.job());
        Job next = new Job(changed.id(), changed.owner(), changed.ownerName(), changed.spec(), to, details, reason, changed.submitTime(), now,
                changed.attempts());
        JobTransitioned event = new JobTransitioned(sequence.incrementAndGet(), now, e.id, Optional.of(from), to, reason,
                details);
        StoredJob stored = new StoredJob(next, intent, notBefore);
        store.update(stored, event);
        snapshots.put(e.id, stored);
        e.state = to;
        e.stopIntent = intent.orElse(null);
        e.notBefore = notBefore.orElse(null);
        return event;
    }

    /**
     * Persists a new stop intent without a change of state (the event goes from the state to itself), so that a
     * restart finishes the stop the way it was meant. Call under the entry's lock.
     */
    private JobTransitioned recordIntent(Entry e, StopIntent intent, String details) {
        StoredJob cur = snapshot(e.id);
        JobState state = cur.job().state();
        Lifecycle.check(state, state);
        Job job = cur.job();
        Instant now = now();
        Job next = new Job(job.id(), job.owner(), job.ownerName(), job.spec(), state, details, job.endReason(), job.submitTime(), now,
                job.attempts());
        JobTransitioned note = new JobTransitioned(sequence.incrementAndGet(), now, e.id, Optional.of(state), state,
                Optional.empty(), details);
        StoredJob stored = new StoredJob(next, Optional.of(intent), cur.notBefore());
        store.update(stored, note);
        snapshots.put(e.id, stored);
        e.stopIntent = intent;
        return note;
    }

    /**
     * After a transition, still under the entry's lock (so one job's events are published in order): settle the
     * indexes, publish, and complete the waiters of a terminal job.
     */
    private void settle(Entry e, JobTransitioned event) {
        // Published first: once the entry leaves `active` or a waiter wakes, a requeue can take a fresh entry (another
        // lock) and publish the next event of this job, which must not overtake this one.
        events.publish(event, e.owner);
        if (event.to().isTerminal()) {
            queue.remove(e.id, e);
            if (active.remove(e.id, e)) {
                unfinished.decrementAndGet();
                quotas.ended(e.owner);
            }
            CompletableFuture<Job> f = terminal.remove(e.id);
            if (f != null) {
                f.complete(get(e.id));
            }
        } else if (event.to() == JobState.QUEUED) {
            queue.put(e.id, e);
            markDirty(); // only now can a pass see it
        }
    }

    private static Job withLastAttempt(Job job, UnaryOperator<Attempt> change) {
        List<Attempt> attempts = new ArrayList<>(job.attempts());
        attempts.set(attempts.size() - 1, change.apply(attempts.get(attempts.size() - 1)));
        return new Job(job.id(), job.owner(), job.ownerName(), job.spec(), job.state(), job.stateDetails(), job.endReason(),
                job.submitTime(), job.updateTime(), attempts);
    }

    private static Attempt close(Attempt a, Instant end, OptionalInt exit, OptionalInt signal, EndReason reason) {
        return new Attempt(a.number(), a.nodes(), a.partition(), a.startTime(), Optional.of(end), exit, signal,
                Optional.of(reason));
    }

    // ------------------------------------------------------------------ cancel and requeue

    Job cancel(JobId id) {
        while (true) {
            checkOpen();
            Entry e = current(id);
            if (e == null) {
                throw new IllegalJobStateException(id, get(id).state(), "cancel");
            }
            synchronized (e) {
                if (active.get(id) != e) {
                    continue; // ended and requeued (a new entry) or purged meanwhile: act on what is current
                }
                cancelLocked(e);
            }
            return get(id);
        }
    }

    /**
     * The entry of {@code id}, or null when the job has ended. A job that is not terminal yet has no entry is between
     * its durable write and its registration (a submit, a requeue): wait for that, it takes microseconds.
     */
    private Entry current(JobId id) {
        while (true) {
            Entry e = active.get(id);
            if (e != null || get(id).state().isTerminal()) {
                return e;
            }
            checkOpen();
            Thread.onSpinWait();
        }
    }

    private void cancelLocked(Entry e) {
        JobId id = e.id;
        {
            JobTransitioned event;
            JobState state = snapshot(id).job().state();
            if (state.isTerminal()) {
                throw new IllegalJobStateException(id, state, "cancel");
            }
            if (state == JobState.QUEUED) {
                event = transition(e, JobState.CANCELED, Optional.of(EndReason.CANCELED), "Canceled",
                        UnaryOperator.identity(), Optional.empty(), Optional.empty());
            } else if (state == JobState.CANCELING) {
                if (e.stopIntent == StopIntent.CANCEL) {
                    return;
                }
                // A requeue was stopping it; the cancel wins.
                event = recordIntent(e, StopIntent.CANCEL, "Cancel requested");
            } else {
                event = transition(e, JobState.CANCELING, Optional.empty(), "Cancel requested",
                        UnaryOperator.identity(), Optional.of(StopIntent.CANCEL), Optional.empty());
                stop(e);
            }
            settle(e, event);
        }
    }

    Job requeue(JobId id) {
        while (true) {
            checkOpen();
            Entry e = current(id);
            if (e == null) {
                Entry fresh = entryFor(get(id));
                e = active.putIfAbsent(id, fresh);
                if (e == null) {
                    e = fresh;
                    unfinished.incrementAndGet();
                    quotas.requeued(fresh.owner);
                }
            }
            synchronized (e) {
                JobTransitioned event;
                if (active.get(id) != e) {
                    continue;
                }
                JobState state = snapshot(id).job().state();
                if (state == JobState.QUEUED || state == JobState.CANCELING) {
                    throw new IllegalJobStateException(id, state, "requeue");
                }
                if (state.isTerminal()) {
                    try {
                        event = transition(e, JobState.QUEUED, Optional.empty(), "Requeued", UnaryOperator.identity(),
                                Optional.empty(), Optional.empty());
                    } catch (RuntimeException ex) {
                        if (active.remove(id, e)) {
                            unfinished.decrementAndGet();
                            quotas.ended(e.owner);
                        }
                        throw ex;
                    }
                } else {
                    event = transition(e, JobState.CANCELING, Optional.empty(), "Requeue requested",
                            UnaryOperator.identity(), Optional.of(StopIntent.REQUEUE), Optional.empty());
                    stop(e);
                }
                settle(e, event);
            }
            return get(id);
        }
    }

    private static Entry entryFor(Job job) {
        JobSpec spec = job.spec();
        return new Entry(new ActiveJob(job.id(), job.owner(), job.state(), job.submitTime(), spec.priority(),
                spec.nodes(), spec.cpus(), spec.memoryBytes(), spec.gpus(), spec.timeLimit(), spec.account().orElse(""),
                Optional.empty()));
    }

    /** Asks the run to stop: SIGTERM now, SIGKILL after the grace period. Call under the entry's lock. */
    private void stop(Entry e) {
        RunHandle run = e.run;
        if (run == null) {
            return; // not started yet, or being re-attached: the re-attach sees the intent
        }
        signal(e, run, RunSignal.TERM);
        addTimer(now().plus(config.limits().killGracePeriod()), () -> workers.execute(() -> {
            synchronized (e) {
                if (e.run == run) {
                    signal(e, run, RunSignal.KILL);
                }
            }
        }));
    }

    private void signal(Entry e, RunHandle run, RunSignal signal) {
        try {
            access(e).signal(run, signal);
        } catch (GateException ex) {
            LOG.warn("cannot send {} to job {}: {}", signal, e.id, ex.getMessage());
        }
    }

    private NodeAccess access(Entry e) {
        return gate.access(e.allocatedNodes.get(0));
    }

    // ------------------------------------------------------------------ scheduling loop

    /** Asks for a scheduling pass. Requests coalesce: a burst of submissions wakes the loop once. */
    void markDirty() {
        if (dirty) {
            return; // a pass is already due and will see this change: the loop clears the flag before it plans
        }
        loopLock.lock();
        try {
            dirty = true;
            wake.signal();
        } finally {
            loopLock.unlock();
        }
    }

    private Object addTimer(Instant due, Runnable action) {
        Timer timer = new Timer(due, timerOrder.incrementAndGet(), action);
        loopLock.lock();
        try {
            timers.add(timer);
            wake.signal();
        } finally {
            loopLock.unlock();
        }
        return timer;
    }

    /** Drops a timer that is no longer needed, so ended runs do not pile up in the timer queue. */
    private void cancelTimer(Object timer) {
        loopLock.lock();
        try {
            timers.remove(timer);
        } finally {
            loopLock.unlock();
        }
    }

    /**
     * The scheduling thread. Nothing a step throws ends it, apart from an error that says the JVM itself is broken
     * (then the engine reports DOWN and refuses submissions): an engine that takes jobs must have a loop to run them.
     */
    private void loop() {
        boolean replayed = false;
        while (!closed) {
            try {
                if (!replayed) {
                    // Before the first pass, so that it already orders by the usage history; submissions are taken
                    // meanwhile. A failed replay is retried on a worker, not here.
                    replayed = true;
                    replayUsage(started);
                }
                step();
                health.recovered("scheduler-loop");
            } catch (Throwable t) {
                if (EngineHealth.isFatal(t)) {
                    health.failed("scheduler-loop", "the scheduling thread", t, 1, Optional.empty());
                    throw t;
                }
                Duration wait = passBackoff.next();
                health.failed("scheduler-loop", "the scheduling thread", t, PASS_FAILURES_BEFORE_DOWN,
                        Optional.of(now().plus(wait)));
                pauseAfterFailure(wait);
            }
        }
    }

    /** Waits {@code wait} of real time, or until close: after a failure outside a pass, so the loop cannot spin. */
    private void pauseAfterFailure(Duration wait) {
        loopLock.lock();
        try {
            if (!closed) {
                wake.awaitNanos(wait.toNanos());
            }
        } catch (InterruptedException ie) {
            // Only close() ends the loop; the interrupt is noted by the next wait.
            Thread.currentThread().interrupt();
        } finally {
            loopLock.unlock();
        }
    }

    /** One round: wait for work or a timer, run due timers, and plan a pass unless a failed one is backing off. */
    private void step() {
        List<Runnable> due = new ArrayList<>();
        boolean work;
        loopLock.lock();
        try {
            // One wait of at most MAX_IDLE, then a look at the gate's nodes outside the lock.
            if (!closed && !dirty && !timerDue()) {
                Duration wait = MAX_IDLE;
                Timer next = timers.peek();
                if (next != null) {
                    Duration untilNext = Duration.between(now(), next.due);
                    wait = untilNext.compareTo(wait) < 0 ? untilNext : wait;
                }
                if (!wait.isNegative() && !wait.isZero()) {
                    try {
                        wake.awaitNanos(wait.toNanos());
                    } catch (InterruptedException ie) {
                        // Nobody but close() may stop the loop, and close() does not interrupt: carry on.
                        LOG.debug("the scheduling thread was interrupted; it stops only when the engine closes");
                    }
                }
            }
            Instant now = now();
            while (!timers.isEmpty() && !timers.peek().due.isAfter(now)) {
                due.add(timers.poll().action);
            }
            work = dirty || !due.isEmpty();
            dirty = false;
        } finally {
            loopLock.unlock();
        }
        if (closed) {
            return;
        }
        for (Runnable action : due) {
            runTimer(action);
        }
        if (!work && !nodesChanged()) {
            return; // woke up idle: nothing was submitted, ended or changed
        }
        if (now().isBefore(passNotBefore)) {
            return; // a failed pass is backing off; its timer asks for the next pass
        }
        try {
            pass();
        } catch (Throwable t) {
            if (EngineHealth.isFatal(t)) {
                throw t;
            }
            Duration wait = passBackoff.next();
            passNotBefore = now().plus(wait);
            health.failed("scheduler", "the scheduling pass", t, PASS_FAILURES_BEFORE_DOWN,
                    Optional.of(passNotBefore));
            addTimer(passNotBefore, this::markDirty);
            return;
        }
        if (passNotBefore != Instant.MIN) {
            passNotBefore = Instant.MIN;
            passBackoff.reset();
        }
        health.recovered("scheduler");
    }

    private void runTimer(Runnable action) {
        try {
            action.run();
            health.recovered("timers");
        } catch (Throwable t) {
            if (EngineHealth.isFatal(t)) {
                throw t;
            }
            health.failed("timers", "a timer action (time limit, retry, kill after the grace period)", t, 0,
                    Optional.empty());
        }
    }

    /**
     * A worker task that records its failure in the health view (and logs it once per streak) instead of letting it
     * end the worker thread with a stack trace on stderr.
     */
    private Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
                health.recovered("workers");
            } catch (Throwable t) {
                boolean fatal = EngineHealth.isFatal(t);
                health.failed("workers", "a worker task (start, end or re-attach of a run)", t, fatal ? 1 : 0,
                        Optional.empty());
                if (fatal) {
                    throw t;
                }
            }
        };
    }

    /**
     * Only errors that say the JVM is broken get here; the loop and the workers record everything else, and the
     * health view has logged this one with its stack trace already.
     */
    private static void uncaught(Thread thread, Throwable t) {
        LOG.error("{} ended: {}", thread.getName(), t.toString());
    }

    /**
     * Launches {@code e}; if anything escapes before the run is recorded, frees the placement for a pass a little
     * later (not the very next one, which would place it again at once and spin on a failure that lasts).
     */
    private void launchOrRelease(Entry e) {
        try {
            launch(e);
        } catch (Throwable t) {
            synchronized (e) {
                if (e.placing) {
                    Instant now = now();
                    if (e.notBefore == null || !e.notBefore.isAfter(now)) {
                        e.notBefore = now.plus(FINISH_RETRY);
                        addTimer(e.notBefore, this::markDirty);
                    }
                    release(e);
                }
            }
            throw t;
        }
    }

    private boolean timerDue() {
        Timer next = timers.peek();
        return next != null && !next.due.isAfter(now());
    }

    private void pass() {
        Instant now = now();
        List<Node> nodes = gate.nodes();
        lastNodes = nodes;
        List<NodeView> views = new ArrayList<>(nodes.size());
        Map<String, NodeMode> modes = new HashMap<>();
        for (Node n : nodes) {
            views.add(new NodeView(n.name(), n.partition(), n.cpus(), n.memoryBytes(), n.gpus(), n.state()));
            // The engine's gates (local, ssh) run several jobs on a node side by side, packed by cpus and memory.
            modes.put(n.partition(), NodeMode.SHARED);
        }
        List<FlavorView> flavors = new ArrayList<>();
        try {
            for (Flavor f : gate.flavors()) {
                flavors.add(new FlavorView(f.name(), f.cpus(), f.memoryBytes(), f.gpus(), f.pricePerHour()));
            }
            health.recovered("gate-flavors");
        } catch (RuntimeException ex) {
            // Jobs on the nodes there are need no flavors: plan them anyway.
            health.failed("gate-flavors", "listing the gate's flavors (planning without them)", ex, 0,
                    Optional.empty());
        }
        ClusterView cluster = new ClusterView(views, new ArrayList<>(allocations.values()), modes, flavors,
                usage.snapshot(now));
        if (flavors.isEmpty() && !hasFreeCpu(cluster)) {
            return;
        }
        List<QueuedJob> waiting = new ArrayList<>();
        Map<JobId, Entry> byId = new HashMap<>();
        for (Entry e : queue.values()) {
            if (waiting.size() == PLANNING_WINDOW) {
                break;
            }
            if (e.placing || e.state != JobState.QUEUED || (e.notBefore != null && e.notBefore.isAfter(now))) {
                continue;
            }
            waiting.add(new QueuedJob(e.id, e.nodes, e.cpus, e.memoryBytes, e.gpus,
                    e.timeLimit().orElse(DEFAULT_DURATION), e.priority, e.account, e.submitTime));
            byId.put(e.id, e);
        }
        if (waiting.isEmpty()) {
            return;
        }
        Plan plan = scheduler.plan(cluster, waiting, now);
        for (Plan.Infeasible inf : plan.infeasible()) {
            waitsBecause(byId.get(inf.job()), inf.reason());
        }
        for (Plan.CloudPlacement c : plan.cloud()) {
            // Creating partitions for jobs is the partition manager's, which this engine does not have yet: say what
            // the job would need rather than leave it waiting silently.
            waitsBecause(byId.get(c.job()), "needs " + c.nodes() + " new node(s) of flavor " + c.flavor() + " at "
                    + c.pricePerHour() + " per hour, the cheapest that fits; this engine does not create partitions"
                    + " for jobs yet");
        }
        for (Plan.Placement p : plan.startNow()) {
            Entry e = byId.get(p.job());
            if (e == null) {
                continue;
            }
            e.placing = true;
            e.allocatedNodes = p.nodes();
            allocate(e);
            workers.execute(() -> launchOrRelease(e));
        }
    }

    /** Notes, and logs once per change, why queued job {@code e} cannot be placed. */
    private static void waitsBecause(Entry e, String reason) {
        if (e != null && !reason.equals(e.infeasibleReason)) {
            e.infeasibleReason = reason;
            LOG.info("job {} cannot be placed: {}", e.id, reason);
        }
    }

    /** Whether the gate's nodes differ from what the last pass saw: one came, went, changed size or state. */
    private boolean nodesChanged() {
        try {
            boolean changed = !gate.nodes().equals(lastNodes);
            health.recovered("gate-nodes");
            return changed;
        } catch (RuntimeException ex) {
            health.failed("gate-nodes", "listing the gate's nodes", ex, 0, Optional.empty());
            return false;
        }
    }

    private static boolean hasFreeCpu(ClusterView cluster) {
        Map<String, Integer> free = new HashMap<>();
        for (NodeView n : cluster.nodes()) {
            if (n.state() == NodeState.UP) {
                free.put(n.name(), n.cpus());
            }
        }
        for (Allocation a : cluster.running()) {
            for (String node : a.nodes()) {
                free.computeIfPresent(node, (k, v) -> v - a.cpus());
            }
        }
        return free.values().stream().anyMatch(v -> v > 0);
    }

    private void allocate(Entry e) {
        Instant end = e.timeLimit().map(l -> (e.attemptStart != null ? e.attemptStart : now()).plus(l))
                .orElse(Instant.MAX);
        Allocation a = new Allocation(e.id, e.allocatedNodes, e.cpus, e.memoryBytes, e.gpus, end);
        e.allocation = a;
        allocations.put(e.id, a);
    }

    private void release(Entry e) {
        // By identity: a stale launch of an earlier entry of the same job must not free a newer placement.
        if (e.allocation != null) {
            allocations.remove(e.id, e.allocation);
            e.allocation = null;
        }
        if (e.timeLimitTimer != null) {
            cancelTimer(e.timeLimitTimer);
            e.timeLimitTimer = null;
        }
        e.allocatedNodes = List.of();
        e.run = null;
        e.placing = false;
        markDirty();
    }

    // ------------------------------------------------------------------ runs

    private RunRequest runRequest(Job job, int attempt) {
        JobSpec spec = job.spec();
        String dir = jobDir(job.id()).toString();
        String workdir = spec.workdir().map(w -> Path.of(dir).resolve(w).toString()).orElse(dir);
        return new RunRequest(job.id(), attempt, dir, spec.script(), spec.command(), workdir, spec.env(),
                job.ownerName(), spec.cpus(), spec.memoryBytes());
    }

    private void launch(Entry e) {
        RunHandle handle;
        NodeAccess node;
        int number;
        synchronized (e) {
            if (closed || !e.placing || e.state != JobState.QUEUED) {
                release(e);
                return;
            }
            Instant now = now();
            JobTransitioned event;
            try {
                number = get(e.id).attempts().size() + 1;
                Attempt attempt = new Attempt(number, e.allocatedNodes, Optional.empty(), now, Optional.empty(),
                        OptionalInt.empty(), OptionalInt.empty(), Optional.empty());
                event = transition(e, JobState.RUNNING, Optional.empty(), "Running", job -> {
                    List<Attempt> attempts = new ArrayList<>(job.attempts());
                    attempts.add(attempt);
                    return new Job(job.id(), job.owner(), job.ownerName(), job.spec(), job.state(), job.stateDetails(),
                            job.endReason(), job.submitTime(), job.updateTime(), attempts);
                }, Optional.empty(), Optional.empty());
            } catch (RuntimeException ex) {
                LOG.error("cannot record the start of job {}", e.id, ex);
                release(e);
                return;
            }
            queue.remove(e.id, e);
            e.placing = false;
            e.attempt = number;
            e.attemptStart = now;
            e.infeasibleReason = null;
            allocate(e);
            node = access(e);
            try {
                handle = node.launch(runRequest(get(e.id), number));
            } catch (RuntimeException | LinkageError | StackOverflowError | OutOfMemoryError ex) {
                // Whatever the cause, the attempt is recorded as RUNNING: end it, or the job would hold its node.
                LOG.warn("cannot start job {}: {}", e.id, ex.toString());
                handle = null;
            }
            e.run = handle;
            events.publish(event, e.owner);
        }
        if (handle == null) {
            finishOrRetry(e, number, RunOutcome.lost("the run could not be started"), EndReason.SYSTEM_ERROR);
            return;
        }
        follow(e, node, handle);
    }

    /**
     * {@link #finish}, and when recording the end fails (the store is briefly unavailable), tries again a little later
     * instead of leaving the job RUNNING on a node that is free.
     */
    private void finishOrRetry(Entry e, int number, RunOutcome outcome, EndReason forced) {
        try {
            finish(e, number, outcome, forced);
        } catch (RuntimeException ex) {
            if (closed) {
                return;
            }
            LOG.error("cannot record the end of job {}; trying again in {}", e.id, FINISH_RETRY, ex);
            addTimer(now().plus(FINISH_RETRY), () -> workers.execute(() -> finishOrRetry(e, number, outcome, forced)));
        }
    }

    /**
     * Watches {@code handle} on {@code node} (taken under the lock where the run started: by now the run may have
     * ended and its entry released its nodes) and arms the attempt's time limit while the run is still the current.
     */
    private void follow(Entry e, NodeAccess node, RunHandle handle) {
        int number = handle.attempt();
        synchronized (e) {
            if (e.run == handle) {
                e.timeLimit().ifPresent(limit -> e.timeLimitTimer =
                        addTimer(e.attemptStart.plus(limit), () -> timeLimitReached(e, number)));
            }
        }
        node.watch(handle).whenCompleteAsync((outcome, error) -> finishOrRetry(e, number,
                outcome != null ? outcome : RunOutcome.lost("watching the run failed: " + error), null), workers);
    }

    private void timeLimitReached(Entry e, int number) {
        workers.execute(() -> {
            synchronized (e) {
                if (e.attempt != number || e.run == null || e.state != JobState.RUNNING || e.stopIntent != null) {
                    return;
                }
                LOG.info("job {} reached its time limit", e.id);
                // Persisted before the signal: a restart must still end the attempt TIME_LIMIT, not as a plain exit.
                JobTransitioned note;
                try {
                    note = recordIntent(e, StopIntent.TIME_LIMIT, "Time limit reached");
                } catch (RuntimeException ex) {
                    LOG.error("cannot record the time limit of job {}; stopping it anyway", e.id, ex);
                    e.stopIntent = StopIntent.TIME_LIMIT;
                    stop(e);
                    return;
                }
                stop(e);
                settle(e, note);
            }
        });
    }

    /**
     * Records the end of attempt {@code number}: success, failure, retry, cancel or requeue, depending on how it
     * ended and what was asked. {@code forced} overrides the reason derived from the outcome.
     */
    private void finish(Entry e, int number, RunOutcome outcome, EndReason forced) {
        if (closed) {
            return;
        }
        synchronized (e) {
            JobTransitioned event;
            StoredJob cur = snapshot(e.id);
            Job job = cur.job();
            Optional<Attempt> last = job.lastAttempt();
            if (!job.state().holdsResources() || last.isEmpty() || last.get().number() != number
                    || !last.get().isOpen()) {
                return; // an old attempt, already settled
            }
            Instant now = now();
            EndReason reason = forced != null ? forced : reasonOf(e, outcome);
            UnaryOperator<Job> closeAttempt = j -> withLastAttempt(j,
                    a -> close(a, now, outcome.exitCode(), outcome.signal(), reason));
            if (e.stopIntent == StopIntent.CANCEL) {
                event = transition(e, JobState.CANCELED, Optional.of(EndReason.CANCELED), "Canceled", closeAttempt,
                        Optional.empty(), Optional.empty());
            } else if (e.stopIntent == StopIntent.REQUEUE) {
                event = transition(e, JobState.QUEUED, Optional.empty(), "Requeued", j -> withLastAttempt(j,
                        a -> close(a, now, outcome.exitCode(), outcome.signal(), EndReason.PREEMPTED)),
                        Optional.empty(), Optional.empty());
            } else if (reason == EndReason.COMPLETED) {
                event = transition(e, JobState.SUCCEEDED, Optional.of(reason), "Completed", closeAttempt,
                        Optional.empty(), Optional.empty());
            } else {
                Optional<Instant> retryAt = retryAt(job, reason, now);
                if (retryAt.isPresent()) {
                    String details = "Retrying after " + describe(reason, outcome) + " (attempt " + (number + 1)
                            + " of " + job.spec().retryPolicy().maxAttempts() + ")";
                    event = transition(e, JobState.QUEUED, Optional.empty(), details, closeAttempt, Optional.empty(),
                            retryAt);
                    addTimer(retryAt.get(), this::markDirty);
                } else {
                    event = transition(e, JobState.FAILED, Optional.of(reason), describe(reason, outcome),
                            closeAttempt, Optional.empty(), Optional.empty());
                }
            }
            usage.charge(e.account, cpuSeconds(e.cpus, last.get(), now), now);
            release(e);
            settle(e, event);
        }
    }

    private static EndReason reasonOf(Entry e, RunOutcome outcome) {
        if (e.stopIntent == StopIntent.TIME_LIMIT) {
            return EndReason.TIME_LIMIT;
        }
        if (outcome.isLost()) {
            return EndReason.NODE_LOST;
        }
        if (outcome.exitCode().getAsInt() == 0) {
            return EndReason.COMPLETED;
        }
        return outcome.signal().isPresent() ? EndReason.SIGNALED : EndReason.NON_ZERO_EXIT;
    }

    private static String describe(EndReason reason, RunOutcome outcome) {
        return switch (reason) {
            case NON_ZERO_EXIT -> "Exited with code " + outcome.exitCode().orElse(-1);
            case SIGNALED -> "Killed by signal " + outcome.signal().orElse(0);
            case TIME_LIMIT -> "Time limit reached";
            case NODE_LOST -> "Node lost: " + outcome.detail();
            case SYSTEM_ERROR -> "System error: " + outcome.detail();
            default -> reason.name();
        };
    }

    /** When to retry after {@code reason}, or empty when the policy says the job has failed. */
    private Optional<Instant> retryAt(Job job, EndReason reason, Instant now) {
        var policy = job.spec().retryPolicy();
        boolean retryable = reason.cause() == EndReason.Cause.INFRASTRUCTURE
                || (reason.cause() == EndReason.Cause.USER && policy.retryUserFailures());
        int next = job.attempts().size() + 1;
        if (!retryable || next > policy.maxAttempts()) {
            return Optional.empty();
        }
        Duration backoff = policy.backoffBefore(next);
        // Full jitter in [backoff/2, backoff]: spreads retries of jobs that failed together.
        long half = backoff.toMillis() / 2;
        Duration jittered = Duration.ofMillis(half + ThreadLocalRandom.current().nextLong(half + 1));
        Instant at = now.plus(jittered);
        if (at.isAfter(job.submitTime().plus(policy.deadline()))) {
            return Optional.empty();
        }
        return Optional.of(at);
    }

    /** Finds the run of a job that held resources when the engine last stopped, and follows or settles it. */
    private void reattach(Entry e) {
        RunProbe probe;
        NodeAccess node;
        synchronized (e) {
            Job job = get(e.id);
            node = access(e);
            try {
                probe = node.probe(runRequest(job, e.attempt));
            } catch (RuntimeException ex) {
                LOG.warn("cannot probe job {}: {}", e.id, ex.toString());
                probe = RunProbe.ended(RunOutcome.lost("the node could not be reached after a restart"));
            }
            if (probe.state() == RunProbe.State.RUNNING) {
                e.run = probe.handle().orElseThrow();
                if (e.stopIntent != null) {
                    stop(e);
                }
            }
        }
        switch (probe.state()) {
            case RUNNING -> {
                LOG.info("job {} is still running; following it again", e.id);
                follow(e, node, probe.handle().orElseThrow());
            }
            case ENDED -> finishOrRetry(e, e.attempt, probe.outcome().orElseThrow(), null);
            case NEVER_STARTED -> finishOrRetry(e, e.attempt,
                    RunOutcome.lost("the engine stopped before the job started"), EndReason.SYSTEM_ERROR);
        }
    }

    // ------------------------------------------------------------------ purge

    /** On the loop's timer: hands the purge to a worker and books the next one. */
    private void purgeDue() {
        if (closed) {
            return;
        }
        workers.execute(this::purgeEnded);
        addTimer(now().plus(PURGE_INTERVAL), this::purgeDue);
    }

    /**
     * Deletes the jobs that ended longer than the retention ago: their rows, events and directories. Each is
     * purged under a placeholder entry, so a requeue racing with the purge either finds the job (and the purge skips
     * it: it has not ended any more) or finds it gone.
     */
    private void purgeEnded() {
        Instant before = now().minus(config.limits().jobRetention());
        List<JobId> due;
        try {
            due = store.endedBefore(before, PURGE_BATCH);
        } catch (RuntimeException ex) {
            LOG.warn("cannot look for ended jobs to purge: {}", ex.toString());
            return;
        }
        int purged = 0;
        for (JobId id : due) {
            if (closed) {
                return;
            }
            if (purge(id)) {
                purged++;
            }
        }
        if (purged > 0) {
            LOG.info("purged {} jobs that ended before {}", purged, before);
        }
    }

    private boolean purge(JobId id) {
        Job job;
        try {
            job = get(id);
        } catch (NoSuchJobException gone) {
            return false;
        }
        Entry placeholder = entryFor(job);
        // Locked before it is visible: a requeue or cancel that finds it waits for the purge, then sees the job gone.
        synchronized (placeholder) {
            if (active.putIfAbsent(id, placeholder) != null) {
                return false; // requeued meanwhile: no longer ended
            }
            try {
                if (!store.purge(id)) {
                    return false;
                }
                snapshots.invalidate(id);
                quotas.purged(job.owner(), StoredJob.of(job).size());
            } catch (RuntimeException ex) {
                LOG.warn("cannot purge job {}: {}", id, ex.toString());
                return false;
            } finally {
                active.remove(id, placeholder);
            }
        }
        deleteTree(jobDir(id));
        return true;
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            // Deepest first; links are deleted, never followed (a job may leave a link to anywhere in its directory).
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | java.io.UncheckedIOException ex) {
            LOG.warn("cannot delete the directory of a purged job, {}: {}", dir, ex.toString());
        }
    }

    // ------------------------------------------------------------------ close

    private void checkOpen() {
        if (closed) {
            throw closedException();
        }
    }

    /** Refuses a submission that could never run: the engine cannot schedule now. */
    private void checkAvailable() {
        if (health.isDown()) {
            Health h = health.view();
            if (!h.isAvailable()) {
                throw new EngineUnavailableException(h);
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Waiters first: they must not wait for the loop and the workers to stop (up to 40 s).
        for (JobId id : List.copyOf(terminal.keySet())) {
            CompletableFuture<Job> f = terminal.remove(id);
            if (f != null) {
                f.completeExceptionally(closedException());
            }
        }
        markDirty();
        try {
            loopThread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        workers.shutdown();
        try {
            workers.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        events.close();
        gate.close();
        store.close();
        releaseLock();
        LOG.info("Sky Port stopped; running jobs go on and are re-attached on the next start");
    }

    private void releaseLock() {
        try {
            lock.release();
        } catch (IOException e) {
            LOG.warn("cannot release the data directory lock: {}", e.getMessage());
        }
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }
}
