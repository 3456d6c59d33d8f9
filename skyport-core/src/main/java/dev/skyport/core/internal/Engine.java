package dev.skyport.core.internal;

import com.fasterxml.uuid.Generators;
import com.fasterxml.uuid.impl.TimeBasedEpochGenerator;
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
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Jobs;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.Node;
import dev.skyport.api.Partition;
import dev.skyport.api.QueueFullException;
import dev.skyport.api.RemoteSite;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import dev.skyport.core.store.ActiveJob;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.StopIntent;
import dev.skyport.core.store.StoredJob;
import dev.skyport.gate.Gate;
import dev.skyport.scheduler.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.random.RandomGenerator;
import java.util.function.UnaryOperator;

/**
 * The embedded workload manager, as a coordinator of named parts: the {@link DataDirectory} it holds, the
 * {@link JobTable} of its jobs, {@link Transitions} (check the lifecycle, persist, publish), the
 * {@link SchedulingLoop} with its timers running {@link SchedulingPass}es, the {@link RunSupervisor} of runs,
 * {@link RetryDecisions}, the {@link Purger}, the {@link UsageReplay} and the {@link PartitionLifecycle} seam. What is
 * left here is wiring, submissions, reads, cancel and requeue.
 *
 * <p>Concurrency: every change to a job goes through the lock of its current {@link Entry} (re-checked after
 * locking, since an end plus a requeue replaces the entry), and nothing is published before the state it describes is
 * current. The scheduling thread never takes a job lock while waiting for the store.
 */
public final class Engine implements SkyPort {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

    private final EmbeddedConfig config;
    private final Clock clock;
    private final DataDirectory dir;
    private final JobStore store;
    private final EngineGate gate;
    /** The partitions made for jobs through the cloud gate; absent without one. */
    private final Optional<CloudPartitions> partitions;
    private final Scheduler scheduler;
    /** The batch sites (Slurm clusters) jobs are handed to; empty without any. */
    private final BatchSites batch;
    private final EventHub events;
    private final EngineJobs jobs;
    private final TimeBasedEpochGenerator ids = Generators.timeBasedEpochGenerator();
    private final UserQuotas quotas;
    private final JobTable table;
    private final AccountUsage usage = new AccountUsage(UsageReplay.HALF_LIFE);
    private final EngineHealth health;
    private final EngineWorkers workers;
    private final SchedulingLoop loop;
    private final Transitions transitions;
    private final RunSupervisor runs;
    private final Staging staging;
    private final IdempotencyKeys idempotencyKeys;
    /** When this engine started: the end of the usage history it replays. */
    private final Instant started;
    private volatile boolean closed;
    private final AsyncSubmits asyncSubmits = new AsyncSubmits();
    private final EngineMeters meters;

    private Engine(EmbeddedConfig config, RandomGenerator.SplittableGenerator random) {
        this.config = config;
        this.clock = config.clock();
        this.health = new EngineHealth(clock);
        this.meters = new EngineMeters(config.metrics());
        this.dir = DataDirectory.lock(config.dataDir());
        JobStore openedStore = null;
        EngineGate openedGate = null;
        java.util.Map<String, Gate> openedSites = java.util.Map.of();
        try {
            openedStore = Providers.openStore(dir.root);
            openedGate = Providers.openGates(config, dir.root, meters);
            openedSites = Providers.openBatchSites(config, dir.root, meters);
            this.scheduler = Providers.openScheduler(config.scheduler());
        } catch (RuntimeException e) {
            openedSites.values().forEach(Gate::close);
            if (openedGate != null) {
                openedGate.close();
            }
            if (openedStore != null) {
                openedStore.close();
            }
            dir.close();
            throw e;
        }
        this.store = openedStore;
        this.gate = openedGate;
        this.events = new EventHub(store);
        this.quotas = new UserQuotas(config.limits(), store.usageByOwner());
        this.table = new JobTable(store);
        this.jobs = new EngineJobs(this);
        this.idempotencyKeys = new IdempotencyKeys(store, this::get);
        this.workers = new EngineWorkers(health);
        // Back-off and retry jitter draw from splits of the injected source, one per user (the splits are independent).
        this.loop = new SchedulingLoop(clock, health, new Backoff(Backoff.INITIAL, Backoff.MAX, random.split()),
                meters);
        List<Entry> holding;
        List<Entry> provisioning = new ArrayList<>();
        List<Entry> atSites = new ArrayList<>();
        NodeWatch nodeWatch;
        CloudPartitions cloud = null;
        try {
            this.transitions = new Transitions(store, table, events, quotas, loop, meters);
            this.staging = new Staging(config.inputRoot(), this::jobDir);
            nodeWatch = new NodeWatch(store, events, loop, health);
            this.runs = new RunSupervisor(gate, table, transitions, loop, workers, new RetryDecisions(random.split()),
                    usage, config.limits().killGracePeriod(), this::jobDir, () -> closed, staging,
                    PortForwards.outPorts(Optional.ofNullable(config.gateOptions().get(PortForwards.OUT_PORTS_OPTION))));
            RetryDecisions siteRetries = new RetryDecisions(random.split());
            java.util.Map<String, dev.skyport.api.BatchSite> siteConfig = new java.util.LinkedHashMap<>();
            config.batchSites().forEach(b -> siteConfig.put(b.name(), b));
            this.batch = new BatchSites(openedSites, siteConfig, store, table, transitions, loop, health, staging,
                    siteRetries, this::jobDir, () -> closed, random.split());
            holding = load(provisioning, atSites);
            batch.load(atSites);
            if (gate.createsPartitions()) {
                // Before runs are re-attached: a job running on a partition is reached through its nodes' access.
                cloud = new CloudPartitions(gate, store, table, transitions, runs, loop, health, config.partitions(),
                        CloudPartitions.engineId(dir.root), random.split(), () -> closed);
                runs.partitions(cloud);
                cloud.load(provisioning);
            } else {
                for (Entry e : provisioning) {
                    CloudPartitions.requeue(e, transitions, table, "no gate here creates partitions any more");
                }
            }
        } catch (RuntimeException e) {
            workers.shutdown(Duration.ZERO);
            openedSites.values().forEach(Gate::close);
            gate.close();
            store.close();
            dir.close();
            throw e;
        }
        // Attempts that end from here on are charged when they end; the history before is replayed.
        this.started = loop.now();
        UsageReplay replay = new UsageReplay(store, usage, health,
                new Backoff(Backoff.INITIAL, Backoff.MAX, random.split()), loop, workers, () -> closed);
        try {
            // Before anyone can subscribe: what a start finds is stored (and replayed to ordered subscribers), and a
            // plain subscription, which can only begin later, never gets a restart's "first seen" of every node.
            nodeWatch.observe(EngineGate.withoutPartitionNodes(gate.nodes()));
        } catch (RuntimeException ex) {
            LOG.debug("the gate cannot list its nodes yet; the scheduling loop will: {}", ex.toString());
        }
        this.partitions = Optional.ofNullable(cloud);
        batch.listNow(); // before submissions: their checks read the sites' partitions
        SchedulingPass pass = new SchedulingPass(gate, scheduler, table, usage, health, loop, runs, workers,
                cloud != null ? cloud : PartitionLifecycle.NONE, nodeWatch, batch);
        loop.start(() -> replay.replay(started), pass, EngineWorkers::uncaught);
        partitions.ifPresent(CloudPartitions::start);
        batch.start();
        new Purger(store, table, quotas, loop, workers, config.limits().jobRetention(), this::jobDir, () -> closed)
                .start();
        for (Entry e : holding) {
            workers.execute(() -> runs.reattach(e));
        }
        meters.started(table);
        LOG.info("Sky Port started: {} unfinished jobs, gate {}, scheduler {}, data {}", table.active.size(),
                gate.name(), scheduler.name(), dir.root);
    }

    /** Starts an engine with {@code config}. */
    public static Engine start(EmbeddedConfig config) {
        return new Engine(config, config.randomSeed().isPresent()
                ? new SplittableRandom(config.randomSeed().getAsLong()) : new SplittableRandom());
    }

    /** As {@link #start(EmbeddedConfig)}, with jitter drawn from {@code random}, as time is from the config's clock. */
    static Engine start(EmbeddedConfig config, RandomGenerator.SplittableGenerator random) {
        return new Engine(config, random);
    }

    /** Builds the in-memory index from the store; returns the entries that hold resources, to re-attach. */
    private List<Entry> load(List<Entry> provisioning, List<Entry> atSites) {
        List<Entry> holding = new ArrayList<>();
        for (ActiveJob row : store.active()) {
            Entry e = new Entry(row);
            table.active.put(e.id, e);
            table.unfinished.incrementAndGet();
            if (e.state == JobState.QUEUED) {
                table.queue.put(e.id, e);
                if (e.notBefore != null) {
                    loop.addTimer(e.notBefore, loop::markDirty);
                }
            } else {
                StoredJob stored = table.snapshot(e.id);
                Attempt last = stored.job().lastAttempt().orElseThrow(() ->
                        new IllegalStateException("job " + e.id + " is " + e.state + " without an attempt"));
                e.attempt = last.number();
                e.attemptStart = runStart(e, last);
                e.allocatedNodes = last.nodes();
                e.stopIntent = stored.stopIntent().orElse(null);
                if (BatchSites.isBatch(last)) {
                    atSites.add(e); // its site runs it; it holds none of the scheduler's nodes
                    continue;
                }
                if (e.state == JobState.PROVISIONING || (e.state == JobState.CANCELING && last.nodes().isEmpty()
                        && last.partition().isPresent())) {
                    provisioning.add(e); // waits for its partition, which holds no node of the scheduler's
                    continue;
                }
                runs.allocate(e);
                holding.add(e);
            }
        }
        return holding;
    }

    /**
     * When the run of {@code last} started: the time limit counts the run, not its staging. That is the time of the
     * attempt's last move to RUNNING in the job's history; the attempt's start while it is STAGING_IN or when the
     * history does not have it.
     */
    private Instant runStart(Entry e, Attempt last) {
        if (e.state == JobState.STAGING_IN) {
            return last.startTime();
        }
        Instant start = last.startTime();
        for (JobTransitioned t : store.history(e.id)) {
            if (t.to() == JobState.RUNNING && t.from().orElse(null) != JobState.RUNNING
                    && !t.time().isBefore(start)) {
                start = t.time(); // the last such move: an earlier attempt's comes before
            }
        }
        return start;
    }

    @Override
    public String toString() {
        return "SkyPort[data " + config.dataDir().toAbsolutePath() + ", gate " + gate.name() + ", scheduler "
                + scheduler.name() + ", " + table.unfinished.get() + " unfinished jobs" + (closed ? ", closed]" : "]");
    }

    @Override
    public Jobs jobs() {
        return jobs;
    }

    @Override
    public List<Node> nodes() {
        if (batch.isEmpty()) {
            return gate.nodes();
        }
        List<Node> all = new ArrayList<>(gate.nodes());
        all.addAll(batch.nodes());
        return all;
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
        if (batch.isEmpty()) {
            return gate.remotes();
        }
        List<RemoteSite> all = new ArrayList<>(gate.remotes());
        all.addAll(batch.remotes());
        return all;
    }

    @Override
    public List<Partition> partitions() {
        if (batch.isEmpty()) {
            return gate.partitions();
        }
        List<Partition> all = new ArrayList<>(gate.partitions());
        all.addAll(batch.partitions());
        return all;
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

    EmbeddedConfig config() {
        return config;
    }

    Clock clock() {
        return clock;
    }

    EngineGate gate() {
        return gate;
    }

    BatchSites batchSites() {
        return batch;
    }

    JobStore store() {
        return store;
    }

    EventHub eventHub() {
        return events;
    }

    IdempotencyKeys idempotencyKeys() {
        return idempotencyKeys;
    }

    Path jobDir(JobId id) {
        return dir.jobs.resolve(id.toString());
    }

    /** @throws dev.skyport.api.InvalidJobSpecException when an input lies outside {@code owner}'s input root */
    void checkInputs(JobSpec spec, Owner owner) {
        staging.checkSubmission(spec, owner.name());
    }

    Job submit(JobSpec spec, Owner owner) {
        return submitAll(List.of(spec), owner).get(0);
    }

    List<Job> submitAll(List<JobSpec> specs, Owner owner) {
        long started = meters.start();
        checkOpen();
        checkAvailable();
        if (table.unfinished.get() + specs.size() > config.limits().maxActiveJobs()) {
            throw new QueueFullException(config.limits().maxActiveJobs());
        }
        Instant now = loop.now();
        List<StoredJob> stored = new ArrayList<>(specs.size());
        List<JobTransitioned> evts = new ArrayList<>(specs.size());
        EventSequence sequence = events.sequence();
        long first = sequence.allocate(specs.size());
        boolean durable = false;
        try {
            for (JobSpec spec : specs) {
                JobId id = new JobId(ids.generate());
                stored.add(StoredJob.of(new Job(id, owner.id(), owner.name(), spec, JobState.QUEUED, "Submitted",
                        Optional.empty(), now, now, List.of())));
                evts.add(new JobTransitioned(first + evts.size(), now, id, Optional.empty(), JobState.QUEUED,
                        Optional.empty(), "Submitted"));
            }
            long size = stored.stream().mapToLong(StoredJob::size).sum();
            quotas.reserve(owner.id(), stored.size(), size);
            try {
                if (stored.size() == 1) {
                    store.insert(stored.get(0), evts.get(0));
                } else {
                    store.insertAll(stored, evts);
                }
            } catch (RuntimeException ex) {
                quotas.release(owner.id(), stored.size(), size);
                throw ex;
            }
            durable = true;
            for (int i = 0; i < stored.size(); i++) {
                admitAndPublish(stored.get(i), evts.get(i), false);
            }
        } finally {
            // Every number taken is settled (those already released are no-ops): ordered subscribers wait for none.
            for (int i = 0; i < specs.size(); i++) {
                if (durable) {
                    sequence.written(evts.get(i), owner.id());
                } else {
                    sequence.failed(first + i);
                }
            }
        }
        loop.markDirty();
        meters.submitted(stored.size(), started);
        return stored.stream().map(StoredJob::job).toList();
    }

    /**
     * As {@link #submit}, without waiting for the commit: the future completes once the job is durable and registered
     * (as {@link #submit} returns), or exceptionally with what {@link #submit} throws. Waits while
     * {@link AsyncSubmits#MAX_IN_FLIGHT} submissions are in flight.
     */
    CompletableFuture<Job> submitAsync(JobSpec spec, Owner owner) {
        long started = meters.start();
        checkOpen();
        checkAvailable();
        asyncSubmits.enter();
        boolean queued = false;
        boolean counted = false;
        try {
            // An in-flight job counts as unfinished from here: it is one the moment its commit ends, and counting it
            // only then would let a caller with thousands in flight pass the limit.
            if (table.unfinished.incrementAndGet() > config.limits().maxActiveJobs()) {
                table.unfinished.decrementAndGet();
                throw new QueueFullException(config.limits().maxActiveJobs());
            }
            counted = true;
            Instant now = loop.now();
            JobId id = new JobId(ids.generate());
            StoredJob stored = StoredJob.of(new Job(id, owner.id(), owner.name(), spec, JobState.QUEUED, "Submitted",
                    Optional.empty(), now, now, List.of()));
            long size = stored.size();
            quotas.reserve(owner.id(), 1, size);
            EventSequence sequence = events.sequence();
            long number = sequence.allocate(1);
            JobTransitioned event = new JobTransitioned(number, now, id, Optional.empty(), JobState.QUEUED,
                    Optional.empty(), "Submitted");
            CompletableFuture<Void> write;
            try {
                write = store.insertAsync(stored, event);
            } catch (RuntimeException e) {
                write = CompletableFuture.failedFuture(e);
            }
            queued = true;
            // Completed off the store's writer thread, one at a time in commit order: the writer goes on to its next
            // batch while these are registered, and ids reach subscribers in the order they were committed.
            CompletableFuture<Job> job = write.handleAsync((ok, failure) -> {
                if (failure != null) {
                    table.unfinished.decrementAndGet();
                    quotas.release(owner.id(), 1, size);
                    sequence.failed(number);
                    throw AsyncSubmits.unwrap(failure);
                }
                try {
                    admitAndPublish(stored, event, true);
                } finally {
                    sequence.written(event, owner.id());
                }
                loop.markDirty();
                meters.submitted(1, started);
                return stored.job();
            }, asyncSubmits.completer());
            // The place is given back once the caller's own callbacks on this future ran (they run first: a
            // future runs its dependents last registered first), so the bound also covers that work.
            job.whenComplete((j, e) -> asyncSubmits.leave());
            return job;
        } finally {
            if (!queued) {
                if (counted) {
                    table.unfinished.decrementAndGet();
                }
                asyncSubmits.leave();
            }
        }
    }

    /**
     * Registers a stored submission and publishes its QUEUED event, under the new entry's lock: whoever learns the id
     * from the event finds the job registered (a cancel then succeeds), and a launch, which takes the same lock,
     * cannot publish RUNNING before QUEUED has gone out.
     */
    private void admitAndPublish(StoredJob stored, JobTransitioned event, boolean counted) {
        Entry e = JobTable.entryFor(stored.job());
        synchronized (e) {
            table.cache(stored);
            if (!counted) {
                table.unfinished.incrementAndGet();
            }
            table.active.put(e.id, e);
            table.queue.put(e.id, e);
            events.sequence().written(event, e.owner);
            events.publish(event, e.owner);
        }
    }

    Job get(JobId id) {
        return withWaitReason(table.get(id));
    }

    /**
     * A queued job as users see it: where the last pass said why it waits (the resources it waits for, how many jobs
     * are ahead, when the plan expects it to start; or why it can never be placed), that is its details. Kept in
     * memory, like Slurm's pending reason, never stored: it changes with every pass. A job waiting for a retry keeps
     * the details that say so.
     */
    Job withWaitReason(Job job) {
        if (job.state() != JobState.QUEUED) {
            return job;
        }
        Entry e = table.active.get(job.id());
        Instant notBefore = e == null ? null : e.notBefore; // read once: a transition may clear it meanwhile
        if (e == null || e.state != JobState.QUEUED || (notBefore != null && notBefore.isAfter(clock.instant()))) {
            return job;
        }
        String reason = e.infeasibleReason != null ? "Cannot be placed: " + e.infeasibleReason
                : e.waitReason == null ? null : e.waitReason.get();
        if (reason == null) {
            return job;
        }
        return new Job(job.id(), job.owner(), job.ownerName(), job.spec(), job.state(), reason, job.endReason(),
                job.submitTime(), job.updateTime(), job.attempts());
    }

    /**
     * The job if {@code owner} owns it; otherwise {@link NoSuchJobException}, exactly as for an unknown id. An unknown
     * id always costs one store read (the cache holds only jobs that exist), so another owner's job costs one too,
     * even when cached: how long the refusal takes does not tell whether the job exists.
     */
    Job get(JobId id, String owner) {
        Optional<StoredJob> cached = table.cached(id);
        if (cached.isEmpty()) {
            Job job = get(id); // one store read; NoSuchJobException for an unknown id
            if (job.owner().equals(owner)) {
                return job;
            }
        } else if (cached.get().job().owner().equals(owner)) {
            return withWaitReason(cached.get().job());
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
        CompletableFuture<Job> f = table.terminal.computeIfAbsent(id, k -> new CompletableFuture<>());
        Job now;
        try {
            now = get(id);
        } catch (NoSuchJobException purged) {
            table.terminal.remove(id, f); // purged meanwhile: nothing will complete it
            throw purged;
        }
        if (now.state().isTerminal() && !table.active.containsKey(id)) {
            table.terminal.remove(id, f);
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

    Job cancel(JobId id) {
        while (true) {
            checkOpen();
            Entry e = table.current(id, this::checkOpen);
            if (e == null) {
                throw new IllegalJobStateException(id, get(id).state(), "cancel");
            }
            synchronized (e) {
                if (table.active.get(id) != e) {
                    continue; // ended and requeued (a new entry) or purged meanwhile: act on what is current
                }
                cancelLocked(e);
            }
            return get(id);
        }
    }

    private void cancelLocked(Entry e) {
        JobState state = table.snapshot(e.id).job().state();
        JobTransitioned event;
        if (state.isTerminal()) {
            throw new IllegalJobStateException(e.id, state, "cancel");
        }
        if (state == JobState.QUEUED) {
            event = transitions.transition(e, JobState.CANCELED, Optional.of(EndReason.CANCELED),
                    "Canceled", UnaryOperator.identity(), Optional.empty(), Optional.empty());
        } else if (state == JobState.CANCELING) {
            if (e.stopIntent == StopIntent.CANCEL) {
                return;
            }
            // A requeue was stopping it; the cancel wins.
            event = transitions.recordIntent(e, StopIntent.CANCEL, "Cancel requested");
        } else {
            event = transitions.transition(e, JobState.CANCELING, Optional.empty(), "Cancel requested",
                    UnaryOperator.identity(), Optional.of(StopIntent.CANCEL), Optional.empty());
            if (!batch.stop(e)) {
                runs.stop(e);
            }
        }
        transitions.settle(e, event);
    }

    Job requeue(JobId id) {
        while (true) {
            checkOpen();
            Entry e = table.current(id, this::checkOpen);
            if (e == null) {
                Entry fresh = JobTable.entryFor(get(id));
                e = table.active.putIfAbsent(id, fresh);
                if (e == null) {
                    e = fresh;
                    table.unfinished.incrementAndGet();
                    quotas.requeued(fresh.owner);
                }
            }
            synchronized (e) {
                if (table.active.get(id) != e) {
                    continue;
                }
                requeueLocked(e);
            }
            return get(id);
        }
    }

    /** Undoes the registration of an entry a requeue made for an ended job, when the requeue does not happen. */
    private void forgetFresh(Entry e) {
        if (e.state.isTerminal() && table.active.remove(e.id, e)) {
            table.unfinished.decrementAndGet();
            quotas.ended(e.owner);
        }
    }

    private void requeueLocked(Entry e) {
        JobState state;
        try {
            state = table.snapshot(e.id).job().state();
        } catch (RuntimeException purged) {
            forgetFresh(e); // purged between the read that made the entry and the lock
            throw purged;
        }
        if (state == JobState.QUEUED || state == JobState.CANCELING) {
            forgetFresh(e);
            throw new IllegalJobStateException(e.id, state, "requeue");
        }
        JobTransitioned event;
        if (state.isTerminal()) {
            try {
                event = transitions.transition(e, JobState.QUEUED, Optional.empty(), "Requeued",
                        UnaryOperator.identity(), Optional.empty(), Optional.empty());
            } catch (RuntimeException ex) {
                forgetFresh(e);
                throw ex;
            }
        } else {
            event = transitions.transition(e, JobState.CANCELING, Optional.empty(), "Requeue requested",
                    UnaryOperator.identity(), Optional.of(StopIntent.REQUEUE), Optional.empty());
            if (!batch.stop(e)) {
                runs.stop(e);
            }
        }
        transitions.settle(e, event);
    }

    void checkOpen() {
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
        for (JobId id : List.copyOf(table.terminal.keySet())) {
            CompletableFuture<Job> f = table.terminal.remove(id);
            if (f != null) {
                f.completeExceptionally(closedException());
            }
        }
        // Submissions whose commit is under way end as they would have (their jobs are durable) before events close.
        asyncSubmits.close(Duration.ofSeconds(30));
        try {
            loop.stop(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        partitions.ifPresent(CloudPartitions::close);
        batch.close();
        staging.close();
        workers.shutdown(Duration.ofSeconds(30));
        events.close();
        runs.close();
        gate.close();
        store.close();
        dir.close();
        meters.closed();
        LOG.info("Sky Port stopped; running jobs go on and are re-attached on the next start");
    }
}
