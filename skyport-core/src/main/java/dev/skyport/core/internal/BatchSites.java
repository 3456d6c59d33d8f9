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
import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.StopIntent;
import dev.skyport.core.store.StoredBatchJob;
import dev.skyport.gate.BatchJob;
import dev.skyport.gate.BatchPartition;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.BatchRequest;
import dev.skyport.gate.BatchStatus;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
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
    private final class Run {
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

    private final Map<String, Site> sites = new LinkedHashMap<>();
    private final BatchChoice choice = new BatchChoice(sites);
    private final Map<JobId, Run> runs = new ConcurrentHashMap<>();
    private final JobStore store;
    private final JobTable table;
    private final Transitions transitions;
    private final SchedulingLoop loop;
    private final EngineHealth health;
    private final Staging staging;
    private final RetryDecisions retries;
    private final Function<JobId, Path> jobDir;
    private final BooleanSupplier closed;
    private final RandomGenerator.SplittableGenerator random;
    private final ThreadPoolExecutor pool;
    private List<Runnable> deferred = List.of();

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
    }

    private Backoff newBackoff() {
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
                e.placing = false;
                e.notBefore = now.plus(RunSupervisor.FINISH_RETRY);
                loop.addTimer(e.notBefore, loop::markDirty);
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
            stageIn(run);
            transitions.settle(e, event);
        }
        LOG.info("job {}: to batch site {}", e.id, target.qualified());
    }

    /** The run request staging uses: the job's directory and workdir on the site. */
    private RunRequest request(Run r, Job job) {
        JobSpec spec = job.spec();
        String dir = r.directory;
        String workdir = spec.workdir().map(w -> w.startsWith("/") ? w : dir + "/" + w).orElse(dir);
        return new RunRequest(job.id(), r.attempt, dir, spec.script(), spec.command(), workdir, spec.env(),
                job.ownerName(), spec.cpus(), spec.memoryBytes());
    }

    /**
     * Copies the inputs to the site, then submits; the gate writes the script there itself with the submit
     * ({@link BatchQueue#submit}). Under the entry's lock.
     */
    private void stageIn(Run r) {
        Entry e = r.entry;
        Instant deadline = loop.now().plus(staging.timeout());
        r.transfer = staging.submit(e.id, () -> {
            GateException failed = null;
            try {
                Job job = table.get(e.id);
                NodeAccess files = r.site.queue.files();
                String dir = files.directoryOf(e.id, jobDir.apply(e.id));
                synchronized (e) {
                    r.directory = dir;
                }
                staging.stageIn(job, files, request(r, job));
            } catch (GateException ex) {
                failed = ex;
            } catch (RuntimeException ex) {
                failed = GateException.transientFailure("staging failed: " + ex, ex, Optional.empty());
            } finally {
                Thread.interrupted();
            }
            GateException f = failed;
            background(() -> staged(r, f));
        });
        loop.addTimer(deadline, () -> background(() -> {
            synchronized (e) {
                if (runs.get(e.id) != r || r.transfer == null || e.state != JobState.STAGING_IN) {
                    return;
                }
                r.transfer.cancel(true);
                r.transfer = null;
            }
            end(r, EndReason.STAGING_FAILED, RunOutcome.lost("the copies did not end within "
                    + staging.timeout().toMinutes() + " min"), Optional.of(GateException.transientFailure(
                    "staging timed out", null, Optional.empty())));
        }));
    }

    /** The job's script, or its command as one. */
    static String scriptOf(JobSpec spec) {
        return spec.script().orElseGet(() -> "#!/bin/sh\nexec " + SshConnections.commandLine(spec.command()) + "\n");
    }

    private void staged(Run r, GateException failed) {
        Entry e = r.entry;
        synchronized (e) {
            if (runs.get(e.id) != r || r.transfer == null) {
                return; // stopped or timed out meanwhile: that ended it
            }
            r.transfer = null;
            if (e.stopIntent != null) {
                failed = null; // the stop ends it below
            }
        }
        if (failed != null) {
            end(r, EndReason.STAGING_FAILED, RunOutcome.lost(failed.getMessage()), Optional.of(failed));
            return;
        }
        submit(r);
    }

    /**
     * Submits the attempt (idempotent by tag), then records the backend id with PROVISIONING. No {@code check} before:
     * the gate's submit checks the request against the partition itself and refuses it permanently, so a second call
     * would only cost the site a round trip per submit.
     */
    private void submit(Run r) {
        Entry e = r.entry;
        BatchRequest request;
        synchronized (e) {
            if (closed.getAsBoolean() || runs.get(e.id) != r || r.backend != null || r.submitting) {
                return;
            }
            if (e.stopIntent != null) {
                background(() -> stopUnrecorded(r));
                return;
            }
            r.submitting = true;
            r.submitTried = true;
            request = batchRequest(table.get(e.id), r.attempt, r.directory, r.partition);
        }
        BatchJob job = null;
        GateException failure = null;
        try {
            job = r.site.queue.submit(request);
        } catch (GateException ex) {
            failure = ex;
        } catch (RuntimeException ex) {
            failure = GateException.transientFailure("the " + r.site.gate.name() + " gate failed: " + ex, ex,
                    Optional.empty());
        }
        if (failure != null) {
            synchronized (e) {
                r.submitting = false;
            }
            submitFailed(r, failure);
            return;
        }
        submitted(r, job);
    }

    /** What the site is asked to run: the job as it is, no limit invented where it has none. */
    static BatchRequest batchRequest(Job job, int attempt, String directory, String partition) {
        JobSpec spec = job.spec();
        String workdir = spec.workdir().map(w -> w.startsWith("/") ? w : directory + "/" + w).orElse(directory);
        return new BatchRequest(job.id(), attempt, spec.name(), directory, scriptOf(spec), workdir, spec.env(),
                job.ownerName(), spec.nodes(), spec.cpus(), spec.memoryBytes(), spec.gpus(), spec.timeLimit(),
                Optional.of(partition), spec.account());
    }

    /**
     * A permanent failure fails the job. A transient one is tried again with back-off, the job's details saying why
     * and when; once the submits have failed for the site's {@link BatchOptions#SUBMIT_TIMEOUT}, the attempt ends
     * SYSTEM_ERROR and the job's retry policy decides.
     */
    private void submitFailed(Run r, GateException failure) {
        if (closed.getAsBoolean()) {
            return;
        }
        Entry e = r.entry;
        if (!failure.isTransient()) {
            LOG.warn("batch site {} refused job {}: {}", r.site.name, e.id, failure.getMessage());
            end(r, failure.reason().orElse(EndReason.SYSTEM_ERROR), RunOutcome.lost("refused by batch site "
                    + r.site.name + ": " + failure.getMessage()), Optional.of(failure));
            return;
        }
        Instant now = loop.now();
        Duration wait = failure.retryAfter().orElseGet(r.backoff::next);
        Duration timeout = r.site.options.submitTimeout();
        JobTransitioned event = null;
        boolean expired;
        synchronized (e) {
            if (runs.get(e.id) != r) {
                return;
            }
            if (e.stopIntent != null) {
                background(() -> stopUnrecorded(r));
                return;
            }
            if (r.failingSince == null) {
                r.failingSince = now;
            }
            expired = !now.isBefore(r.failingSince.plus(timeout));
            if (!expired && (e.state == JobState.STAGING_IN || e.state == JobState.PROVISIONING)) {
                try {
                    event = transitions.transition(e, e.state, Optional.empty(), "Submitting to batch site "
                            + r.site.name + " failed: " + failure.getMessage() + "; trying again at " + now.plus(wait),
                            UnaryOperator.identity(), Optional.empty(), Optional.empty());
                } catch (RuntimeException ex) {
                    LOG.warn("cannot record the failed submit of job {}: {}", e.id, ex.toString());
                }
            }
        }
        if (event != null) {
            transitions.settle(e, event);
        }
        if (expired) {
            LOG.warn("batch site {} did not take job {} within {}: {}", r.site.name, e.id, timeout,
                    failure.getMessage());
            end(r, EndReason.SYSTEM_ERROR, RunOutcome.lost("batch site " + r.site.name + " did not take the job"
                    + " within " + timeout + " (" + failure.getMessage() + ")"), Optional.of(failure));
            return;
        }
        LOG.info("submitting job {} to batch site {} failed ({}); trying again in {}", e.id, r.site.name,
                failure.getMessage(), wait);
        loop.addTimer(now.plus(wait), () -> background(() -> submit(r)));
    }

    /** Records the backend id and PROVISIONING in one write, or cancels the backend job when the job stopped. */
    private void submitted(Run r, BatchJob job) {
        Entry e = r.entry;
        synchronized (e) {
            r.submitting = false;
            if (closed.getAsBoolean()) {
                return; // the next start finds it by its tag
            }
            if (runs.get(e.id) != r) {
                cancelOrphan(r.site, job, newBackoff());
                return;
            }
            r.backoff.reset();
            r.failingSince = null;
            StoredBatchJob row = new StoredBatchJob(e.id, r.attempt, r.site.name, job.id(), loop.now());
            String details = "Submitted to batch site " + r.site.name + "/" + r.partition + " as job " + job.id();
            JobTransitioned event;
            try {
                if (e.state == JobState.CANCELING) {
                    event = transitions.transition(e, JobState.CANCELING, Optional.empty(),
                            details + "; canceling it", UnaryOperator.identity(), Optional.ofNullable(e.stopIntent),
                            Optional.empty(), Optional.of(row));
                } else {
                    event = transitions.transition(e, JobState.PROVISIONING, Optional.empty(), details,
                            UnaryOperator.identity(), Optional.empty(), Optional.empty(), Optional.of(row));
                }
            } catch (RuntimeException ex) {
                // Not recorded: the backend job is found again by its tag (submit is idempotent) on the next try.
                LOG.error("cannot record the backend id of job {}; trying again in {}", e.id,
                        RunSupervisor.FINISH_RETRY, ex);
                loop.addTimer(loop.now().plus(RunSupervisor.FINISH_RETRY), () -> background(() -> submit(r)));
                return;
            }
            r.backend = job;
            r.details = details;
            if (e.state == JobState.CANCELING) {
                cancelAtSite(r, job);
            }
            transitions.settle(e, event);
        }
        LOG.info("job {}: submitted to batch site {} as {}", e.id, r.site.name, job.id());
    }

    /**
     * Cancels {@code job} of run {@code r} at its site, trying again with the run's back-off while the site cannot;
     * a permanent refusal shows in the job's details (the job stays CANCELING until the site says it ended).
     */
    private void cancelAtSite(Run r, BatchJob job) {
        background(() -> {
            try {
                r.site.queue.cancel(job);
            } catch (RuntimeException ex) {
                Entry e = r.entry;
                if (closed.getAsBoolean() || runs.get(e.id) != r) {
                    return;
                }
                Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(r.backoff::next)
                        : r.backoff.next();
                LOG.warn("cannot cancel job {} at batch site {} yet ({}); trying again in {}", job.id(), r.site.name,
                        ex.getMessage(), wait);
                if (ex instanceof GateException g && !g.isTransient()) {
                    cancelRefused(r, job, g, wait);
                }
                loop.addTimer(loop.now().plus(wait), () -> cancelAtSite(r, job));
            }
        });
    }

    private void cancelRefused(Run r, BatchJob job, GateException refusal, Duration wait) {
        Entry e = r.entry;
        JobTransitioned event;
        synchronized (e) {
            if (runs.get(e.id) != r || e.state != JobState.CANCELING) {
                return;
            }
            try {
                event = transitions.transition(e, JobState.CANCELING, Optional.empty(), "Batch site " + r.site.name
                                + " refuses to cancel job " + job.id() + ": " + refusal.getMessage() + "; trying again at "
                                + loop.now().plus(wait), UnaryOperator.identity(), Optional.ofNullable(e.stopIntent),
                        Optional.empty());
            } catch (RuntimeException ex) {
                LOG.warn("cannot record the refused cancel of job {}: {}", e.id, ex.toString());
                return;
            }
        }
        transitions.settle(e, event);
    }

    /** A backend job no run of this engine follows (its job stopped while the reply was on its way): canceled. */
    private void cancelOrphan(Site s, BatchJob job, Backoff backoff) {
        background(() -> {
            try {
                s.queue.cancel(job);
            } catch (RuntimeException ex) {
                if (closed.getAsBoolean()) {
                    return;
                }
                Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(backoff::next)
                        : backoff.next();
                LOG.warn("cannot cancel job {} at batch site {} yet ({}); trying again in {}", job.id(), s.name,
                        ex.getMessage(), wait);
                loop.addTimer(loop.now().plus(wait), () -> cancelOrphan(s, job, backoff));
            }
        });
    }

    /**
     * Stops a run that has no backend id. When a submit was sent, the site may hold the job all the same (a reply lost
     * to a timeout): it is looked for by its tag and canceled before the attempt ends, so that no job runs at the site
     * unsupervised. Tried again with back-off while the site cannot answer.
     */
    private void stopUnrecorded(Run r) {
        Entry e = r.entry;
        boolean tried;
        synchronized (e) {
            if (closed.getAsBoolean() || runs.get(e.id) != r || r.backend != null || r.submitting) {
                return;
            }
            tried = r.submitTried;
        }
        if (tried) {
            try {
                Optional<BatchJob> found = r.site.queue.find(e.id, r.attempt);
                if (found.isPresent()) {
                    LOG.info("job {}: canceling backend job {} at batch site {}, found by its tag", e.id,
                            found.get().id(), r.site.name);
                    r.site.queue.cancel(found.get());
                }
            } catch (RuntimeException ex) {
                Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(r.backoff::next)
                        : r.backoff.next();
                LOG.info("cannot look for job {} at batch site {} to cancel it ({}); trying again in {}", e.id,
                        r.site.name, ex.getMessage(), wait);
                loop.addTimer(loop.now().plus(wait), () -> background(() -> stopUnrecorded(r)));
                return;
            }
        }
        end(r, EndReason.CANCELED, RunOutcome.lost("stopped before it was submitted"), Optional.empty());
    }

    private void schedulePoll(Site s, Duration after) {
        loop.addTimer(loop.now().plus(after), () -> background(() -> poll(s)));
    }

    /** One {@link BatchQueue#status} call for every submitted job of {@code s}, each acted on. */
    private void poll(Site s) {
        if (closed.getAsBoolean()) {
            return;
        }
        List<Run> followed = runs.values().stream().filter(r -> r.site == s && r.backend != null && !r.ended)
                .toList();
        if (followed.isEmpty()) {
            schedulePoll(s, s.options.poll());
            return;
        }
        Map<BatchJob, BatchStatus> status;
        try {
            status = s.queue.status(followed.stream().map(r -> r.backend).toList());
            s.backoff.reset();
            health.recovered(s.health());
        } catch (RuntimeException ex) {
            Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(s.backoff::next)
                    : s.backoff.next();
            health.failed(s.health(), "asking batch site " + s.name + " for the status of its jobs", ex, 0,
                    Optional.of(loop.now().plus(wait)));
            LOG.info("cannot ask batch site {} for its jobs ({}); asking again in {}", s.name, ex.getMessage(), wait);
            schedulePoll(s, wait);
            return;
        }
        for (Run r : followed) {
            BatchStatus b = status.get(r.backend);
            if (b != null) {
                try {
                    observe(r, b);
                } catch (RuntimeException ex) {
                    LOG.error("cannot act on the status of job {} at batch site {}", r.entry.id, s.name, ex);
                }
            }
        }
        schedulePoll(s, s.options.poll());
    }

    private void observe(Run r, BatchStatus b) {
        Entry e = r.entry;
        JobTransitioned event = null;
        synchronized (e) {
            if (runs.get(e.id) != r || r.ended) {
                return;
            }
            if (b.state() == BatchStatus.State.PENDING) {
                if (e.state == JobState.PROVISIONING) {
                    String details = "pending at " + r.site.name + (b.reason().isEmpty() ? "" : ": " + b.reason())
                            + b.expectedStart().map(t -> "; expected start " + t).orElse("");
                    if (!details.equals(r.details)) {
                        event = transitions.transition(e, JobState.PROVISIONING, Optional.empty(), details,
                                UnaryOperator.identity(), Optional.empty(), Optional.empty());
                        r.details = details;
                    }
                }
            } else if (b.state() == BatchStatus.State.RUNNING) {
                if (e.state == JobState.PROVISIONING) {
                    event = running(r, b);
                }
            } else {
                r.ended = true;
                if (e.state == JobState.PROVISIONING && e.stopIntent == null
                        && (!b.nodes().isEmpty() || b.exitCode().isPresent())) {
                    // Ended between two polls: it ran, on the nodes the site names. (One that never ran, refused
                    // by the site after it queued it, goes from PROVISIONING to its end.)
                    transitions.settle(e, running(r, b));
                }
            }
            if (event != null) {
                transitions.settle(e, event);
            }
        }
        if (b.state().isTerminal()) {
            ended(r, b);
        }
    }

    /** RUNNING on the nodes the site names. Under the lock. */
    private JobTransitioned running(Run r, BatchStatus b) {
        Entry e = r.entry;
        List<String> nodes = b.nodes().stream().map(n -> r.site.name + "/" + n).toList();
        JobTransitioned event = transitions.transition(e, JobState.RUNNING, Optional.empty(),
                "Running at batch site " + r.site.name + (nodes.isEmpty() ? "" : " on " + String.join(",", nodes)),
                j -> withLastAttemptNodes(j, nodes), Optional.empty(), Optional.empty());
        e.attemptStart = loop.now();
        e.allocatedNodes = nodes;
        return event;
    }

    private static Job withLastAttemptNodes(Job job, List<String> nodes) {
        List<Attempt> attempts = new ArrayList<>(job.attempts());
        Attempt a = attempts.get(attempts.size() - 1);
        attempts.set(attempts.size() - 1, new Attempt(a.number(), List.copyOf(nodes), a.partition(), a.startTime(),
                a.endTime(), a.exitCode(), a.signal(), a.endReason()));
        return new Job(job.id(), job.owner(), job.ownerName(), job.spec(), job.state(), job.stateDetails(),
                job.endReason(), job.submitTime(), job.updateTime(), attempts);
    }

    /** The backend job ended: its outputs and logs come back (STAGING_OUT), then its end is recorded. */
    private void ended(Run r, BatchStatus b) {
        Entry e = r.entry;
        if (r.directory == null) {
            directory(r); // a restart's lookup may not have answered yet: the logs are still to come back
        }
        BatchEndings.Ending ending = BatchEndings.ending(r.site.name, b);
        JobTransitioned event = null;
        synchronized (e) {
            if (runs.get(e.id) != r) {
                return;
            }
            boolean stopping = e.stopIntent != null;
            Job job = table.get(e.id);
            if (!stopping && !ending.outcome().isLost() && r.directory != null
                    && (e.state == JobState.RUNNING || e.state == JobState.STAGING_OUT)
                    && staging.needsStageOut(job, r.site.queue.files(), request(r, job), ending.outcome())) {
                if (e.state == JobState.RUNNING) {
                    event = transitions.transition(e, JobState.STAGING_OUT, Optional.empty(), "Staging out from "
                            + "batch site " + r.site.name, UnaryOperator.identity(), Optional.empty(),
                            Optional.empty());
                }
                RunRequest request = request(r, job);
                r.transfer = staging.submit(e.id, () -> {
                    GateException failed = null;
                    try {
                        staging.stageOut(job, r.site.queue.files(), request, ending.outcome());
                    } catch (GateException ex) {
                        failed = ex;
                    } catch (RuntimeException ex) {
                        failed = GateException.transientFailure("staging failed: " + ex, ex, Optional.empty());
                    } finally {
                        Thread.interrupted();
                    }
                    GateException f = failed;
                    background(() -> stagedOut(r, ending, f));
                });
                if (event != null) {
                    transitions.settle(e, event);
                }
                return;
            }
        }
        end(r, ending.reason(), ending.outcome(), ending.refused());
    }

    private void stagedOut(Run r, BatchEndings.Ending ending, GateException failed) {
        synchronized (r.entry) {
            if (runs.get(r.entry.id) != r || r.transfer == null) {
                return;
            }
            r.transfer = null;
        }
        if (failed != null && ending.reason() == EndReason.COMPLETED) {
            end(r, EndReason.STAGING_FAILED, new RunOutcome(ending.outcome().exitCode(), ending.outcome().signal(),
                    failed.getMessage()), Optional.of(failed));
            return;
        }
        end(r, ending.reason(), ending.outcome(), ending.refused());
    }

    /**
     * Records the end of the attempt: by the stop that was asked, or by {@code reason} with the job's retry policy.
     * Tried again a little later when the store fails.
     */
    private void end(Run r, EndReason reason, RunOutcome outcome, Optional<GateException> refused) {
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
            cancelAtSite(r, r.backend);
        }
        // Not submitted yet and no transfer: the submit under way sees the intent; else (waiting to try again) the
        // job is looked for at the site when a submit was sent, and the attempt ends.
        else if (!r.submitting) {
            background(() -> stopUnrecorded(r));
        }
        return true;
    }

    /**
     * Whether {@code e}, loaded in a state that holds resources with {@code last} as its attempt, is a batch site's:
     * its attempt's partition is {@code <site>/<partition>}. Such entries are given to {@link #load}.
     */
    static boolean isBatch(Attempt last) {
        return last.partition().map(p -> p.indexOf('/') > 0).orElse(false);
    }

    /**
     * Takes over the jobs a restart found at batch sites: those with a stored backend id are followed by it, the
     * others are looked up by their tag before anything is submitted again. A job at a site no longer configured goes
     * back to the queue.
     */
    void load(List<Entry> entries) {
        Map<JobId, StoredBatchJob> rows = new LinkedHashMap<>();
        for (StoredBatchJob row : store.batchJobs()) {
            rows.put(row.job(), row);
        }
        List<Runnable> next = new ArrayList<>();
        for (Entry e : entries) {
            Attempt last = table.get(e.id).lastAttempt().orElseThrow();
            String qualified = last.partition().orElseThrow();
            int slash = qualified.indexOf('/');
            Site s = sites.get(qualified.substring(0, slash));
            if (s == null) {
                next.add(() -> CloudPartitions.requeue(e, transitions, table, "batch site "
                        + qualified.substring(0, slash) + " is no longer configured"));
                continue;
            }
            Run r = new Run(e, s, qualified.substring(slash + 1), e.attempt);
            StoredBatchJob row = rows.remove(e.id);
            runs.put(e.id, r);
            if (row != null && row.attempt() == e.attempt && row.site().equals(s.name)) {
                r.backend = new BatchJob(row.backendId(), e.id, e.attempt);
                r.details = table.get(e.id).stateDetails();
                if (e.state == JobState.RUNNING || e.state == JobState.STAGING_OUT) {
                    e.allocatedNodes = last.nodes();
                }
                next.add(() -> background(() -> {
                    directory(r);
                    synchronized (e) {
                        if (e.stopIntent == StopIntent.CANCEL || e.stopIntent == StopIntent.REQUEUE) {
                            cancelAtSite(r, r.backend);
                        }
                    }
                }));
                LOG.info("job {}: following backend job {} at batch site {} again", e.id, row.backendId(), s.name);
            } else {
                if (row != null) {
                    rows.put(e.id, row); // an older attempt's: deleted below
                }
                next.add(() -> background(() -> findOrSubmit(r)));
            }
        }
        for (StoredBatchJob stale : rows.values()) {
            Entry e = table.active.get(stale.job());
            if (e == null || e.attempt != stale.attempt()) {
                next.add(() -> background(() -> {
                    try {
                        store.deleteBatchJob(stale.job());
                    } catch (RuntimeException ex) {
                        LOG.warn("cannot delete the stale batch row of job {}", stale.job(), ex);
                    }
                }));
            }
        }
        deferred = next;
    }

    private void directory(Run r) {
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

    /**
     * A job found without a stored backend id: its attempt may have been submitted just before a crash, so the site is
     * asked for it by tag first. Found, it is recorded and followed; not found, it is staged in again (or submitted,
     * when it was past its staging) or, when it was being stopped, ended.
     */
    private void findOrSubmit(Run r) {
        if (closed.getAsBoolean()) {
            return;
        }
        Entry e = r.entry;
        directory(r);
        Optional<BatchJob> found;
        try {
            found = r.site.queue.find(e.id, r.attempt);
        } catch (RuntimeException ex) {
            Duration wait = ex instanceof GateException g ? g.retryAfter().orElseGet(r.backoff::next)
                    : r.backoff.next();
            LOG.info("cannot ask batch site {} for job {} yet ({}); asking again in {}", r.site.name, e.id,
                    ex.getMessage(), wait);
            loop.addTimer(loop.now().plus(wait), () -> background(() -> findOrSubmit(r)));
            return;
        }
        if (found.isPresent()) {
            LOG.info("job {}: found backend job {} at batch site {} by its tag", e.id, found.get().id(), r.site.name);
            if (e.state == JobState.STAGING_IN || e.state == JobState.PROVISIONING || e.state == JobState.CANCELING) {
                submitted(r, found.get());
            } else {
                synchronized (e) {
                    r.backend = found.get();
                }
            }
            return;
        }
        JobState state;
        synchronized (e) {
            state = e.state;
            if (state == JobState.STAGING_IN && e.stopIntent == null) {
                stageIn(r);
                return;
            }
        }
        if (state == JobState.PROVISIONING) {
            submit(r);
        } else if (state == JobState.CANCELING) {
            end(r, EndReason.CANCELED, RunOutcome.lost("stopped before it was submitted"), Optional.empty());
        } else {
            end(r, EndReason.NODE_LOST, RunOutcome.lost("batch site " + r.site.name
                    + " does not know the job after a restart"), Optional.empty());
        }
    }

    /** Starts the listings, the polls and what {@link #load} found to do. */
    void start() {
        for (Site s : sites.values()) {
            loop.addTimer(loop.now().plus(LISTING_INTERVAL), () -> background(() -> list(s)));
            schedulePoll(s, s.options.poll());
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

    private void background(Runnable step) {
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
