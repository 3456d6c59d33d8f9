package dev.skyport.core.internal;

import dev.skyport.api.Attempt;
import dev.skyport.api.BatchSite;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Node;
import dev.skyport.api.Partition;
import dev.skyport.api.RemoteSite;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.StopIntent;
import dev.skyport.gate.BatchJob;
import dev.skyport.gate.BatchPartition;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateException;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.random.RandomGenerator;

/**
 * The jobs the engine hands to batch sites (Slurm clusters), whose own scheduler places and runs them: opens each
 * configured site through its gate's {@link BatchQueue}, keeps its partitions and nodes from a background poll, and
 * takes a job through QUEUED → STAGING_IN (script and inputs to the site's shared file system) → submit →
 * PROVISIONING (pending at the site, with its reason and expected start) → RUNNING → STAGING_OUT → its end. The status
 * of every job of a site comes from one {@link BatchQueue#status} call per poll interval.
 *
 * <p>Durability: the backend id is stored with the move to PROVISIONING, in the same write; a restart follows a job by
 * that id, and asks the site for a job by its tag ({@link BatchQueue#find}) before it submits an attempt that has no
 * row, so that a crash between the site's reply and the engine's commit does not submit it twice. Closing the engine
 * cancels nothing.
 *
 * <p>Concurrency: each job's {@link Run} is guarded by the lock of its entry; backend calls run on this part's pool,
 * never under a lock.
 *
 * <p>Parts: {@link BatchChoice} (which site and partition, submit-time checks), {@link BatchSubmits} (staging in,
 * submit, cancel at the site), {@link BatchFollowing} (status polls and ends), {@link BatchRestart} (taking jobs over
 * after a restart), {@link BatchEndings} (a site's end states as end reasons) and {@link BatchOptions} (the options the
 * engine reads); this class keeps the sites, the runs, the listings and the end of an attempt.
 */
final class BatchSites {
    private static final Logger LOG = LoggerFactory.getLogger(BatchSites.class);
    /** The label naming a site node's site. */
    static final String SITE_LABEL = "skyport-site";
    /** How often a site's partitions (the submit-time checks' source) and nodes (the listings') are asked again. */
    static final Duration LISTING_INTERVAL = Duration.ofSeconds(10);

    /** One configured site. */
    static final class Site {
        final String name;
        final Gate gate;
        final BatchQueue queue;
        final BatchOptions options;
        /** The partitions of the last listing; null until one answered. */
        volatile List<BatchPartition> partitions;
        volatile List<Node> nodes = List.of();
        final Backoff backoff;

        Site(String name, Gate gate, BatchQueue queue, BatchOptions options, Backoff backoff) {
            this.name = name;
            this.gate = gate;
            this.queue = queue;
            this.options = options;
            this.backoff = backoff;
        }

        String health() {
            return "batch-site-" + name;
        }
    }

    /** Where a job goes: a site and one of its partitions. */
    record Target(Site site, BatchPartition partition) {
        String qualified() {
            return site.name + "/" + partition.name();
        }
    }

    /** A job at a site, guarded by its entry's lock. */
    final class Run {
        final Entry entry;
        final Site site;
        final String partition;
        final int attempt;
        final Backoff backoff = newBackoff();
        String directory;
        BatchJob backend;
        /** The details of its last PROVISIONING transition: a new one only when they change. */
        String details;
        /** A submit (or a find before one) is under way. */
        boolean submitting;
        /**
         * A submit was sent: the site may have queued the job even when no reply came back (a timeout), so a stop
         * without a backend id looks for the job by its tag and cancels it.
         */
        boolean submitTried;
        /** When the submits that keep failing for now began to fail; null while none failed. */
        Instant failingSince;
        /** The site said it ended: no more polls. */
        boolean ended;
        Future<?> transfer;

        Run(Entry entry, Site site, String partition, int attempt) {
            this.entry = entry;
            this.site = site;
            this.partition = partition;
            this.attempt = attempt;
        }
    }

    final Map<String, Site> sites = new LinkedHashMap<>();
    private final BatchChoice choice = new BatchChoice(sites);
    final Map<JobId, Run> runs = new ConcurrentHashMap<>();
    final JobStore store;
    final JobTable table;
    final Transitions transitions;
    final SchedulingLoop loop;
    final EngineHealth health;
    final Staging staging;
    private final RetryDecisions retries;
    final Function<JobId, Path> jobDir;
    final BooleanSupplier closed;
    private final RandomGenerator.SplittableGenerator random;
    private final ThreadPoolExecutor pool;
    List<Runnable> deferred = List.of();
    final BatchSubmits submits;
    final BatchFollowing following;
    final BatchRestart restart;

    BatchSites(Map<String, Gate> opened, Map<String, BatchSite> config, JobStore store, JobTable table,
               Transitions transitions, SchedulingLoop loop, EngineHealth health, Staging staging,
               RetryDecisions retries, Function<JobId, Path> jobDir, BooleanSupplier closed,
               RandomGenerator.SplittableGenerator random) {
        this.store = store;
        this.table = table;
        this.transitions = transitions;
        this.loop = loop;
        this.health = health;
        this.staging = staging;
        this.retries = retries;
        this.jobDir = jobDir;
        this.closed = closed;
        this.random = random;
        opened.forEach((name, gate) -> sites.put(name, new Site(name, gate, gate.batchQueue().orElseThrow(),
                BatchOptions.of(config.get(name)), newBackoff())));
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "skyport-batch-" + n.incrementAndGet());
            t.setDaemon(true);
            t.setUncaughtExceptionHandler(EngineWorkers::uncaught);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
        this.submits = new BatchSubmits(this);
        this.following = new BatchFollowing(this);
        this.restart = new BatchRestart(this);
    }

    Backoff newBackoff() {
        synchronized (random) {
            return new Backoff(Backoff.INITIAL, Backoff.MAX, random.split());
        }
    }

    boolean isEmpty() {
        return sites.isEmpty();
    }

    /** The sites' nodes from their last listing: {@code <site>/<node>}, partition {@code <site>/<partition>}. */
    List<Node> nodes() {
        List<Node> all = new ArrayList<>();
        sites.values().forEach(s -> all.addAll(s.nodes));
        return all;
    }

    List<Partition> partitions() {
        List<Partition> all = new ArrayList<>();
        for (Site s : sites.values()) {
            List<BatchPartition> ps = s.partitions;
            if (ps == null) {
                continue;
            }
            for (BatchPartition p : ps) {
                all.add(new Partition(s.name + "/" + p.name(), s.gate.name(), p.up() ? "up" : "down",
                        p.nodes().stream().map(n -> s.name + "/" + n).toList(),
                        Map.of(SITE_LABEL, s.name, "limits", p.describe())));
            }
        }
        return all;
    }

    List<RemoteSite> remotes() {
        return sites.values().stream().map(s -> new RemoteSite(s.name, s.gate.name(), "batch site")).toList();
    }

    /** Refreshes a site's partitions and nodes, on this part's pool; then again every {@link #LISTING_INTERVAL}. */
    private void list(Site s) {
        if (closed.getAsBoolean()) {
            return;
        }
        refresh(s);
        loop.addTimer(loop.now().plus(LISTING_INTERVAL), () -> background(() -> list(s)));
    }

    private void refresh(Site s) {
        try {
            s.partitions = List.copyOf(s.queue.partitions());
            List<Node> nodes = new ArrayList<>();
            for (Node n : s.gate.nodes()) {
                Map<String, String> labels = new LinkedHashMap<>(n.labels());
                labels.put(SITE_LABEL, s.name);
                nodes.add(new Node(s.name + "/" + n.name(), s.name + "/" + n.partition(), n.cpus(), n.memoryBytes(),
                        n.gpus(), n.state(), labels));
            }
            s.nodes = List.copyOf(nodes);
            health.recovered(s.health() + "-listing");
        } catch (RuntimeException ex) {
            health.failed(s.health() + "-listing", "listing the partitions and nodes of batch site " + s.name, ex, 0,
                    Optional.of(loop.now().plus(LISTING_INTERVAL)));
        }
    }

    /** Whether {@code remoteSite} (a job's {@code remoteSite}) names one of the batch sites. */
    boolean names(String remoteSite) {
        return choice.names(remoteSite);
    }

    /** See {@link BatchChoice#check}. */
    Optional<String> check(JobSpec spec) {
        return choice.check(spec);
    }

    Optional<Target> named(JobSpec spec) {
        return choice.named(spec);
    }

    String whyWaiting(JobSpec spec) {
        return choice.whyWaiting(spec);
    }

    boolean anyHolds(JobSpec spec) {
        return choice.anyHolds(spec);
    }

    Optional<Map.Entry<Target, Double>> cheapest(JobSpec spec) {
        return choice.cheapest(spec);
    }

    /**
     * Hands queued job {@code e} to {@code target}: STAGING_IN, then its submit, on this part's pool. Called from the
     * scheduling thread: does not block.
     *
     * @return false when it cannot be taken now (the engine is closing)
     */
    boolean provide(Entry e, Target target) {
        if (closed.getAsBoolean()) {
            return false;
        }
        if (e.placing || e.state != JobState.QUEUED) {
            return true;
        }
        e.placing = true;
        try {
            pool.execute(() -> start(e, target));
        } catch (RejectedExecutionException ex) {
            e.placing = false;
            return false;
        }
        return true;
    }

    private void start(Entry e, Target target) {
        Run run;
        synchronized (e) {
            if (closed.getAsBoolean() || table.active.get(e.id) != e || e.state != JobState.QUEUED || !e.placing) {
                e.placing = false;
                return;
            }
            Instant now = loop.now();
            JobTransitioned event;
            int number;
            try {
                Job job = table.get(e.id);
                number = job.attempts().size() + 1;
                Attempt attempt = new Attempt(number, List.of(), Optional.of(target.qualified()), now,
                        Optional.empty(), OptionalInt.empty(), OptionalInt.empty(), Optional.empty());
                event = transitions.transition(e, JobState.STAGING_IN, Optional.empty(),
                        "Staging in to batch site " + target.qualified(), j -> Transitions.withAttempt(j, attempt),
                        Optional.empty(), Optional.empty());
            } catch (RuntimeException ex) {
                LOG.error("cannot record the start of job {} at batch site {}", e.id, target.site().name, ex);
                RunSupervisor.backOff(e, loop);
                return;
            }
            table.queue.remove(e.id, e);
            e.placing = false;
            e.attempt = number;
            e.attemptStart = now;
            e.infeasibleReason = null;
            e.waitReason = null;
            run = new Run(e, target.site(), target.partition().name(), number);
            runs.put(e.id, run);
            submits.stageIn(run);
            transitions.settle(e, event);
        }
        LOG.info("job {}: to batch site {}", e.id, target.qualified());
    }

    /** The run request staging uses: the job's directory and workdir on the site. */
    RunRequest request(Run r, Job job) {
        JobSpec spec = job.spec();
        String dir = r.directory;
        String workdir = spec.workdir().map(w -> w.startsWith("/") ? w : dir + "/" + w).orElse(dir);
        return new RunRequest(job.id(), r.attempt, dir, spec.script(), spec.command(), workdir, spec.env(),
                job.ownerName(), spec.cpus(), spec.memoryBytes());
    }

    /**
     * Records the end of the attempt: by the stop that was asked, or by {@code reason} with the job's retry policy.
     * Tried again a little later when the store fails.
     */
    void end(Run r, EndReason reason, RunOutcome outcome, Optional<GateException> refused) {
        Entry e = r.entry;
        synchronized (e) {
            if (closed.getAsBoolean() || runs.get(e.id) != r) {
                return;
            }
            try {
                Job job = table.get(e.id);
                Optional<Attempt> last = job.lastAttempt();
                if (!job.state().holdsResources() || last.isEmpty() || last.get().number() != r.attempt
                        || !last.get().isOpen()) {
                    runs.remove(e.id, r);
                    return;
                }
                JobTransitioned event = recordEnd(e, job, r, reason, outcome, refused);
                runs.remove(e.id, r);
                e.allocatedNodes = List.of();
                e.placing = false;
                // Before the lock is let go: a retry's next attempt (which takes it) must not lose its own row.
                if (r.backend != null) {
                    try {
                        store.deleteBatchJob(e.id);
                    } catch (RuntimeException ex) {
                        LOG.warn("cannot delete the batch row of job {}; the next start does", e.id, ex);
                    }
                }
                transitions.settle(e, event);
            } catch (RuntimeException ex) {
                LOG.error("cannot record the end of job {}; trying again in {}", e.id, RunSupervisor.FINISH_RETRY, ex);
                loop.addTimer(loop.now().plus(RunSupervisor.FINISH_RETRY),
                        () -> background(() -> end(r, reason, outcome, refused)));
            }
        }
    }

    private JobTransitioned recordEnd(Entry e, Job job, Run r, EndReason reason, RunOutcome outcome,
                                      Optional<GateException> refused) {
        Instant now = loop.now();
        UnaryOperator<Job> close = j -> Transitions.withLastAttemptEnded(j, now, outcome.exitCode(),
                outcome.signal(), reason);
        if (e.stopIntent == StopIntent.CANCEL) {
            return transitions.transition(e, JobState.CANCELED, Optional.of(EndReason.CANCELED), "Canceled",
                    j -> Transitions.withLastAttemptEnded(j, now, outcome.exitCode(), outcome.signal(),
                            EndReason.CANCELED), Optional.empty(), Optional.empty());
        }
        if (e.stopIntent == StopIntent.REQUEUE) {
            return transitions.transition(e, JobState.QUEUED, Optional.empty(), "Requeued",
                    j -> Transitions.withLastAttemptEnded(j, now, outcome.exitCode(), outcome.signal(),
                            EndReason.PREEMPTED), Optional.empty(), Optional.empty());
        }
        if (reason == EndReason.COMPLETED) {
            return transitions.transition(e, JobState.SUCCEEDED, Optional.of(reason), "Completed at batch site "
                    + r.site.name, close, Optional.empty(), Optional.empty());
        }
        String described = RetryDecisions.describe(reason, outcome)
                + (reason == EndReason.NODE_LOST || reason == EndReason.SYSTEM_ERROR
                || reason == EndReason.STAGING_FAILED ? "" : " (" + outcome.detail() + ")");
        Optional<Instant> retryAt = retries.retryAt(job, reason, now, refused);
        if (retryAt.isPresent()) {
            JobTransitioned event = transitions.transition(e, JobState.QUEUED, Optional.empty(), "Retrying after "
                    + described + " (attempt " + (r.attempt + 1) + " of " + job.spec().retryPolicy().maxAttempts()
                    + ")", close, Optional.empty(), retryAt);
            loop.addTimer(retryAt.get(), loop::markDirty);
            return event;
        }
        return transitions.transition(e, JobState.FAILED, Optional.of(reason), described, close, Optional.empty(),
                Optional.empty());
    }

    /**
     * Stops job {@code e} if it is at a batch site (its stop intent is recorded): a transfer is interrupted and the
     * attempt ends, a submitted job is canceled at the site and ends once the site says so. Under the entry's lock.
     *
     * @return whether {@code e} is at a batch site
     */
    boolean stop(Entry e) {
        Run r = runs.get(e.id);
        if (r == null || r.entry != e) {
            return false;
        }
        if (r.transfer != null) {
            r.transfer.cancel(true);
            r.transfer = null;
            if (r.backend == null) {
                background(() -> end(r, EndReason.CANCELED, RunOutcome.lost("stopped while its files were copied"),
                        Optional.empty()));
                return true;
            }
            // Staging out: the backend job has ended, nothing to cancel there.
            background(() -> end(r, EndReason.CANCELED, RunOutcome.lost("stopped while its files were copied"),
                    Optional.empty()));
            return true;
        }
        if (r.backend != null) {
            submits.cancelAtSite(r, r.backend);
        }
        // Not submitted yet and no transfer: the submit under way sees the intent; else (waiting to try again) the
        // job is looked for at the site when a submit was sent, and the attempt ends.
        else if (!r.submitting) {
            background(() -> submits.stopUnrecorded(r));
        }
        return true;
    }

    /** See {@link BatchRestart#load}. */
    void load(List<Entry> entries) {
        restart.load(entries);
    }

    /**
     * Whether {@code e}, loaded in a state that holds resources with {@code last} as its attempt, is a batch site's:
     * its attempt's partition is {@code <site>/<partition>}. Such entries are given to {@link #load}.
     */
    static boolean isBatch(Attempt last) {
        return last.partition().map(p -> p.indexOf('/') > 0).orElse(false);
    }

    void directory(Run r) {
        try {
            String dir = r.site.queue.files().directoryOf(r.entry.id, jobDir.apply(r.entry.id));
            synchronized (r.entry) {
                r.directory = dir;
            }
        } catch (RuntimeException ex) {
            LOG.warn("cannot tell the directory of job {} at batch site {}: {}", r.entry.id, r.site.name,
                    ex.toString());
        }
    }

    /** Starts the listings, the polls and what {@link #load} found to do. */
    void start() {
        for (Site s : sites.values()) {
            loop.addTimer(loop.now().plus(LISTING_INTERVAL), () -> background(() -> list(s)));
            following.schedulePoll(s, s.options.poll());
        }
        deferred.forEach(Runnable::run);
        deferred = List.of();
    }

    /**
     * Lists every site's partitions and nodes once, now: submissions right after the start are checked against them,
     * and the nodes are shown at once. A site that cannot answer is listed again in the background.
     */
    void listNow() {
        for (Site s : sites.values()) {
            refresh(s);
        }
    }

    void background(Runnable step) {
        try {
            pool.execute(step);
        } catch (RejectedExecutionException ex) {
            if (!closed.getAsBoolean()) {
                LOG.error("cannot schedule a batch site step", ex);
            }
        }
    }

    /** Stops this part's steps and closes the sites' gates; the jobs at the sites go on. */
    void close() {
        pool.shutdownNow();
        try {
            pool.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        for (Site s : sites.values()) {
            try {
                s.gate.close();
            } catch (RuntimeException ex) {
                LOG.warn("closing the gate of batch site {}: {}", s.name, ex.toString());
            }
        }
    }
}
