package dev.skyport.core.internal;

import dev.skyport.api.AwaitTimeoutException;
import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.Jobs;
import dev.skyport.api.Node;
import dev.skyport.api.Page;
import dev.skyport.api.RemoteSite;
import dev.skyport.api.SkyPortException;
import dev.skyport.gate.DetachedRun;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The {@link Jobs} of the embedded engine: checks what users send, then hands it to the {@link Engine}. */
final class EngineJobs implements Jobs {
    private static final Logger LOG = LoggerFactory.getLogger(EngineJobs.class);
    /** Warnings a log line shows of one job; a script can have a hundred. */
    private static final int LOGGED_WARNINGS = 5;
    private final Engine engine;

    EngineJobs(Engine engine) {
        this.engine = engine;
    }

    @Override
    public Job submit(JobSpec spec) {
        return submit(spec, Owner.named(engine.config().owner()));
    }

    @Override
    public List<Job> submitAll(List<JobSpec> specs) {
        return submitAll(specs, Owner.named(engine.config().owner()));
    }

    @Override
    public CompletableFuture<Job> submitAsync(JobSpec spec) {
        return submitAsync(spec, Owner.named(engine.config().owner()));
    }

    /**
     * As {@link #submit(JobSpec, Owner)} without waiting for the commit. The spec is checked on the calling thread, so
     * a refusal comes back before anything is queued; a spec with an idempotency key goes the blocking way, whose
     * look-up of the key must see every earlier commit.
     */
    CompletableFuture<Job> submitAsync(JobSpec spec, Owner owner) {
        Objects.requireNonNull(spec, "spec");
        try {
            if (spec.idempotencyKey().isPresent()) {
                return CompletableFuture.completedFuture(submit(spec, owner));
            }
            JobSpec valid = validate(spec);
            engine.checkInputs(valid, owner);
            CompletableFuture<Job> job = engine.submitAsync(valid, owner);
            // A job's warnings are its spec's: most specs have none, and their futures need no further stage.
            return valid.warnings().isEmpty() ? job : job.thenApply(EngineJobs::logWarnings);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * As {@link #submit(JobSpec)}, the job owned by {@code owner}: a user view submits this way. A spec with an
     * idempotency key the owner used before gets that job back as it is now ({@link IdempotencyKeys}).
     */
    Job submit(JobSpec spec, Owner owner) {
        if (Objects.requireNonNull(spec, "spec").idempotencyKey().isPresent()) {
            engine.checkOpen(); // before the store is asked for the key
            return engine.idempotencyKeys().submitAll(List.of(spec), owner.id(), false,
                    one -> submitNew(one, owner, false)).get(0);
        }
        JobSpec valid = validate(spec);
        engine.checkInputs(valid, owner);
        return logWarnings(engine.submit(valid, owner));
    }

    /** A problem with one spec names its index in {@code specs} ({@link InvalidJobSpecException#batchIndex()}). */
    List<Job> submitAll(List<JobSpec> specs, Owner owner) {
        if (specs.stream().anyMatch(s -> Objects.requireNonNull(s, "spec").idempotencyKey().isPresent())) {
            engine.checkOpen();
            return engine.idempotencyKeys().submitAll(specs, owner.id(), true, fresh -> submitNew(fresh, owner, true));
        }
        return submitNew(specs, owner, true);
    }

    /** {@code indexed}: a problem names the index of its spec in {@code specs}. */
    private List<Job> submitNew(List<JobSpec> specs, Owner owner, boolean indexed) {
        List<JobSpec> valid = new ArrayList<>(specs.size());
        for (int i = 0; i < specs.size(); i++) {
            try {
                JobSpec spec = validate(specs.get(i));
                engine.checkInputs(spec, owner);
                valid.add(spec);
            } catch (InvalidJobSpecException e) {
                throw indexed ? e.inBatchAt(i) : e;
            }
        }
        List<Job> jobs = engine.submitAll(valid, owner);
        jobs.forEach(EngineJobs::logWarnings);
        return jobs;
    }

    /**
     * A warning on the job (an unknown directive is most often a typo: {@code #SWM cpu 4} runs on one cpu) is logged
     * once, when the job is stored, so that an operator sees it even when the submitting program never reads
     * {@link Job#warnings()}. Warnings name directives and line numbers, never values.
     */
    private static Job logWarnings(Job job) {
        List<String> warnings = job.warnings();
        if (!warnings.isEmpty() && LOG.isWarnEnabled()) {
            String shown = String.join("; ", warnings.subList(0, Math.min(warnings.size(), LOGGED_WARNINGS)));
            LOG.warn("job {} ({}) of {} kept {} warning(s): {}{}", job.id(), job.name(), job.ownerName(),
                    warnings.size(), shown, warnings.size() > LOGGED_WARNINGS ? "; ..." : "");
        }
        return job;
    }

    /** Checks a spec against the limits and what the gate has; returns it with warnings added where needed. */
    JobSpec validate(JobSpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (spec.script().isPresent()) {
            String script = spec.script().get();
            int bytes = script.getBytes(StandardCharsets.UTF_8).length;
            int limit = engine.config().limits().maxScriptBytes();
            if (bytes > limit) {
                throw new InvalidJobSpecException("script", "is " + Sizes.human(bytes) + " (" + bytes
                        + " bytes); the limit is " + Sizes.human(limit) + " (" + limit + " bytes)");
            }
            if (script.indexOf('\0') >= 0) {
                throw new InvalidJobSpecException("script", "contains NUL bytes; a job script must be text");
            }
        }
        spec.env().forEach((name, value) -> {
            if (value.indexOf('\0') >= 0) {
                throw new InvalidJobSpecException("env", "the value of " + name + " contains a NUL byte");
            }
        });
        if (spec.workdir().isPresent() && spec.workdir().get().indexOf('\0') >= 0) {
            throw new InvalidJobSpecException("workdir", "contains a NUL byte");
        }
        if (spec.command().stream().anyMatch(arg -> arg.indexOf('\0') >= 0)) {
            throw new InvalidJobSpecException("command", "an argument contains a NUL byte");
        }
        // What the gate lists is checked when the gate answers; a gate that cannot answer now (a cloud API down) does
        // not refuse the submission: the job is kept with a warning and the scheduler says why it waits, if it does.
        List<String> unchecked = new java.util.ArrayList<>();
        if (spec.flavor().isPresent()) {
            Optional<List<Flavor>> flavors = listed(engine.gate()::flavors, "flavors", unchecked);
            String name = spec.flavor().get();
            if (flavors.isPresent() && flavors.get().stream().noneMatch(f -> f.name().equals(name))) {
                throw new InvalidJobSpecException("flavor", "unknown flavor '" + name + "'; the " + engine.gate().name()
                        + " gate has " + (flavors.get().isEmpty() ? "none"
                        : flavors.get().stream().map(Flavor::name).toList()));
            }
            checkCloudFlavor(spec, name);
        }
        boolean atSite = spec.remoteSite().isPresent() && engine.batchSites().names(spec.remoteSite().get());
        if (spec.containerSteps().isPresent()) {
            // A containerImage only gets a warning where no gate runs images (its script runs without); steps have
            // nothing to run without one.
            if (atSite) {
                throw new InvalidJobSpecException("containerSteps", "batch site '" + spec.remoteSite().get()
                        + "' runs no container steps");
            }
            if (!spec.inputFiles().isEmpty() || !spec.outputFiles().isEmpty()) {
                throw new InvalidJobSpecException(spec.inputFiles().isEmpty() ? "outputFiles" : "inputFiles",
                        "a job of container steps takes its files as the inputs and outputs of its steps");
            }
            // Inputs' content lives in the job's stored document, rewritten at every transition: bounded together
            // as a script is.
            long content = 0;
            for (var in : spec.containerSteps().get().inputs()) {
                content += in.content().map(c -> c.getBytes(StandardCharsets.UTF_8).length).orElse(0);
            }
            int limit = engine.config().limits().maxScriptBytes();
            if (content > limit) {
                throw new InvalidJobSpecException("inputs", "the content of all inputs together is "
                        + Sizes.human(content) + " (" + content + " bytes); the limit is " + Sizes.human(limit) + " ("
                        + limit + " bytes)");
            }
            if (!engine.gate().runsContainerImages()) {
                throw new InvalidJobSpecException("containerSteps", "the " + engine.gate().name()
                        + " gate runs no container images, which every step needs (set its container-runtime)");
            }
        }
        if (atSite) {
            // The site's own scheduler places it: checked against the site's partitions, not the nodes here.
            Optional<String> warning = engine.batchSites().check(spec);
            if (warning.isPresent()) {
                spec = spec.toBuilder().warning(warning.get()).build();
            }
        } else if (spec.remoteSite().isPresent()) {
            Optional<List<RemoteSite>> remotes = listed(engine.gate()::remotes, "remote sites", unchecked);
            String name = spec.remoteSite().get();
            if (remotes.isPresent() && remotes.get().stream().noneMatch(r -> r.name().equals(name))) {
                throw new InvalidJobSpecException("remoteSite", "unknown remote site '" + name + "'; the "
                        + engine.gate().name() + " gate has "
                        + (remotes.get().isEmpty() ? "none" : remotes.get().stream().map(RemoteSite::name).toList())
                        + (engine.batchSites().isEmpty() ? "" : "; the batch sites are "
                        + engine.batchSites().remotes().stream().map(RemoteSite::name).toList()));
            }
        }
        if (spec.cloudImage().isPresent() && engine.gate().createsPartitions()) {
            Optional<List<Image>> images = listed(engine.gate()::images, "images", unchecked);
            String name = spec.cloudImage().get();
            if (images.isPresent() && images.get().stream().noneMatch(i -> i.name().equals(name))) {
                throw new InvalidJobSpecException("cloudImage", "unknown cloud image '" + name + "'; the gates offer "
                        + (images.get().isEmpty() ? "none" : images.get().stream().map(Image::name).toList()));
            }
        }
        if (engine.gate().createsPartitions() && spec.nodes() > CloudPartitions.MAX_NODES_PER_PARTITION
                && (spec.flavor().isPresent() || spec.cloudImage().isPresent() || spec.remoteSite().isPresent())) {
            throw new InvalidJobSpecException("nodes", "asks " + spec.nodes() + " nodes; a partition has at most "
                    + CloudPartitions.MAX_NODES_PER_PARTITION);
        }
        // A job on a gate with fixed nodes runs on those nodes whatever flavor it names (the flavors describe them).
        if (!atSite && (spec.flavor().isEmpty() || !engine.gate().createsPartitions())) {
            Optional<List<Node>> nodes = listed(engine.gate()::mainNodes, "nodes", unchecked);
            // With a cloud gate, a job no node can hold gets a partition of a flavor that can.
            JobSpec asked = spec;
            boolean flavorFits = engine.gate().createsPartitions() && listed(engine.gate()::cloudFlavors, "flavors",
                    unchecked).map(fs -> fs.stream().anyMatch(f -> f.cpus() >= asked.cpus()
                    && f.memoryBytes() >= asked.memoryBytes() && f.gpus() >= asked.gpus())).orElse(true);
            // Whether the nodes hold it first: for most jobs that settles it, and the batch sites' check (streams over
            // their partitions) was a tenth of an asynchronous submit's cpu on the caller's thread.
            if (nodes.isPresent() && !flavorFits && !fits(spec, nodes.get())
                    // A job no node here holds goes to a batch site whose partition does (the sites' cached listing).
                    && !(asked.containerSteps().isEmpty() && engine.batchSites().anyHolds(asked))) {
                checkFits(spec, nodes.get());
            }
        }
        if (!unchecked.isEmpty()) {
            spec = spec.toBuilder().warning("not checked at submission, the " + engine.gate().name()
                    + " gate could not list its " + String.join(", ", unchecked)).build();
        }
        if (spec.containerImage().isPresent() && !engine.gate().runsContainerImages()) {
            return spec.toBuilder().warning("container-image " + spec.containerImage().get() + " is not used by the "
                    + engine.gate().name() + " gate: the script runs directly on its nodes").build();
        }
        return spec;
    }

    /**
     * A job naming a flavor of the cloud gate gets nodes of that flavor: one that cannot hold the job's per-node cpus,
     * memory or gpus is refused now, naming the flavors that can, rather than made and failed later.
     */
    private void checkCloudFlavor(JobSpec spec, String name) {
        List<Flavor> cloud;
        try {
            cloud = engine.gate().cloudFlavors();
        } catch (RuntimeException e) {
            return; // the union listing that just answered has them; a cloud that cannot answer now is told elsewhere
        }
        Optional<Flavor> named = cloud.stream().filter(f -> f.name().equals(name)).findFirst();
        if (named.isEmpty() || holds(named.get(), spec)) {
            return;
        }
        Flavor f = named.get();
        List<String> fit = cloud.stream().filter(c -> holds(c, spec)).map(Flavor::name).toList();
        throw new InvalidJobSpecException("flavor", "flavor '" + name + "' has " + f.cpus() + " cpus, "
                + Sizes.human(f.memoryBytes()) + " and " + f.gpus() + " gpus per node; the job asks " + spec.cpus()
                + " cpus, " + Sizes.human(spec.memoryBytes()) + " and " + spec.gpus() + " gpus per node; flavors that "
                + "hold it: " + (fit.isEmpty() ? "none" : fit));
    }

    static boolean holds(Flavor f, JobSpec spec) {
        return f.cpus() >= spec.cpus() && f.memoryBytes() >= spec.memoryBytes() && f.gpus() >= spec.gpus();
    }

    private static <T> Optional<List<T>> listed(java.util.function.Supplier<List<T>> list, String what,
                                                List<String> unchecked) {
        try {
            return Optional.of(list.get());
        } catch (RuntimeException e) {
            unchecked.add(what);
            return Optional.empty();
        }
    }

    private static boolean fits(JobSpec spec, List<Node> nodes) {
        return fitting(spec, nodes) >= spec.nodes();
    }

    /** How many of {@code nodes} could hold one of the job's nodes; a plain loop, run for every submission. */
    private static long fitting(JobSpec spec, List<Node> nodes) {
        long fitting = 0;
        for (Node n : nodes) {
            if (n.cpus() >= spec.cpus() && n.memoryBytes() >= spec.memoryBytes() && n.gpus() >= spec.gpus()) {
                fitting++;
            }
        }
        return fitting;
    }

    /**
     * A job larger than every node set of the cluster would wait forever: reject it, naming what is too big. Nodes
     * that are down count: they may come back, and a job submitted during an outage waits for them (as in Slurm).
     */
    private static void checkFits(JobSpec spec, List<Node> nodes) {
        List<Node> usable = nodes;
        long fitting = fitting(spec, nodes);
        if (fitting >= spec.nodes()) {
            return;
        }
        int maxCpus = usable.stream().mapToInt(Node::cpus).max().orElse(0);
        long maxMem = usable.stream().mapToLong(Node::memoryBytes).max().orElse(0);
        int maxGpus = usable.stream().mapToInt(Node::gpus).max().orElse(0);
        if (spec.cpus() > maxCpus) {
            throw new InvalidJobSpecException("cpus", "asks for " + spec.cpus() + " cpus per node; the largest node has "
                    + maxCpus);
        }
        if (spec.memoryBytes() > maxMem) {
            throw new InvalidJobSpecException("memoryBytes", "asks for " + humanPair(spec.memoryBytes(), maxMem)[0]
                    + " per node; the largest node has " + humanPair(spec.memoryBytes(), maxMem)[1]);
        }
        if (spec.gpus() > maxGpus) {
            throw new InvalidJobSpecException("gpus", "asks for " + spec.gpus() + " gpus per node; the largest node has "
                    + maxGpus);
        }
        throw new InvalidJobSpecException("nodes", "asks for " + spec.nodes() + " nodes with " + spec.cpus()
                + " cpus, " + Sizes.human(spec.memoryBytes()) + " and " + spec.gpus() + " gpus each; the cluster has "
                + fitting);
    }

    /**
     * Two sizes as people read them; where both round to the same text (23.5 GiB asked of a 23.5 GiB node), each
     * also gets its exact bytes, or the message would seem to refuse what it allows.
     */
    private static String[] humanPair(long asked, long has) {
        String a = Sizes.human(asked);
        String b = Sizes.human(has);
        return a.equals(b) ? new String[] {a + " (" + asked + " bytes)", b + " (" + has + " bytes)"}
                : new String[] {a, b};
    }

    @Override
    public Job get(JobId id) {
        return engine.get(Objects.requireNonNull(id, "id"));
    }

    @Override
    public Page<Job> list(JobQuery query) {
        Page<Job> page = engine.store().list(Objects.requireNonNull(query, "query"));
        return new Page<>(page.items().stream().map(engine::withWaitReason).toList(), page.nextPageToken());
    }

    @Override
    public Job cancel(JobId id) {
        return engine.cancel(Objects.requireNonNull(id, "id"));
    }

    @Override
    public Job requeue(JobId id) {
        return engine.requeue(Objects.requireNonNull(id, "id"));
    }

    @Override
    public Job await(JobId id, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        try {
            long nanos;
            try {
                nanos = Math.max(0, timeout.toNanos());
            } catch (ArithmeticException forever) {
                nanos = Long.MAX_VALUE;
            }
            return engine.terminalFuture(Objects.requireNonNull(id, "id")).get(nanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new AwaitTimeoutException(get(id));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SkyPortException closed) {
                // The engine closed while we waited: say so at once rather than at the timeout.
                throw new SkyPortException(closed.getMessage() + " while waiting for job " + id, closed);
            }
            throw new IllegalStateException("waiting for job " + id + " failed", e.getCause());
        }
    }

    /** A copy of the engine's one future per job, so that a caller completing or cancelling it harms no one. */
    @Override
    public CompletableFuture<Job> onTerminal(JobId id) {
        return engine.terminalFuture(Objects.requireNonNull(id, "id")).copy();
    }

    @Override
    public String stdout(JobId id) {
        return readLog(id, DetachedRun.STDOUT);
    }

    @Override
    public String stderr(JobId id) {
        return readLog(id, DetachedRun.STDERR);
    }

    private String readLog(JobId id, String name) {
        try (InputStream in = openLog(id, name)) {
            // Logs are whatever the job printed: a stray byte becomes U+FFFD instead of an error.
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + name + " of job " + id, e);
        }
    }

    @Override
    public InputStream openStdout(JobId id) {
        return openLog(id, DetachedRun.STDOUT);
    }

    @Override
    public InputStream openStderr(JobId id) {
        return openLog(id, DetachedRun.STDERR);
    }

    private InputStream openLog(JobId id, String name) {
        get(id); // NoSuchJobException for unknown ids
        Path log = engine.jobDir(id).resolve(name);
        try {
            // A link there is not the engine's log: where jobs run as accounts, the engine is root.
            return Files.newInputStream(log, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return InputStream.nullInputStream();
        } catch (IOException e) {
            if (Files.isSymbolicLink(log)) {
                return InputStream.nullInputStream();
            }
            throw new UncheckedIOException("cannot read " + name + " of job " + id, e);
        }
    }

    @Override
    public InputStream followStdout(JobId id) {
        return follow(id, DetachedRun.STDOUT);
    }

    @Override
    public InputStream followStderr(JobId id) {
        return follow(id, DetachedRun.STDERR);
    }

    private InputStream follow(JobId id, String name) {
        return new FollowingInputStream(engine.jobDir(id).resolve(name), engine.terminalFuture(id));
    }
}
