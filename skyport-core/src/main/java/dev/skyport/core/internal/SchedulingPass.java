package dev.skyport.core.internal;

import dev.skyport.api.Flavor;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.gate.Gate;
import dev.skyport.scheduler.Allocation;
import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.FlavorView;
import dev.skyport.scheduler.NodeMode;
import dev.skyport.scheduler.NodeView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One scheduling pass: builds the scheduler's view of the cluster and of the head of the queue, asks the scheduler
 * for a plan, hands the jobs to start now to the {@link RunSupervisor} and the jobs that need new nodes to the
 * {@link PartitionLifecycle}. Runs on the scheduling thread only.
 */
final class SchedulingPass {
    private static final Logger LOG = LoggerFactory.getLogger(SchedulingPass.class);
    /** The duration the scheduler assumes for a job without a time limit. */
    private static final Duration DEFAULT_DURATION = Duration.ofHours(1);
    /**
     * How many queued jobs, from the head of the queue, a pass run for an event (a submit, an end) plans, Slurm's
     * default_queue_depth: such passes keep submit-to-running in milliseconds however deep the queue is. Jobs further
     * back are planned by the whole-queue pass ({@link #queueDepth}), at most max(1 s, 4 x its duration) later. A
     * pass's cost grows with what it plans (a reservation and a wait reason per job), and a busy cluster runs one for
     * every job or two that ends: with 1,000 here the scheduling thread and its garbage were a third of the engine's cpu
     * a trivial job (median 0.92 against 1.44 ms a job, e2e bench, 9 alternating pairs). A second, wider plan when the
     * head leaves cpus free was tried and dropped: cpus stay free that no queued job can use (memory or gpus taken,
     * sizes that do not divide a node, room kept for a reservation), and then every pass planned 1,100 jobs.
     */
    static final int PLANNING_WINDOW = 100;
    /**
     * The most queued jobs a whole-queue pass plans, like Slurm's bf_max_job_test; the queue beyond is considered as it
     * drains. {@code skyport.scheduler.queue-depth} (a system property, for benchmarks and tests) lowers it; at or below
     * {@link #PLANNING_WINDOW} no whole-queue pass runs.
     */
    static final int QUEUE_DEPTH = 100_000;
    /** Whole-queue passes are at least this far apart on the engine's clock. */
    static final Duration WHOLE_QUEUE_MIN_INTERVAL = Duration.ofSeconds(1);
    /**
     * And at least this many times their own last duration apart, so that they take at most a quarter of the scheduling
     * thread whatever the queue's depth (a pass over 100,000 jobs takes about half a second).
     */
    static final int WHOLE_QUEUE_SPACING = 4;

    private final EngineGate gate;
    private final Scheduler scheduler;
    private final JobTable table;
    private final AccountUsage usage;
    private final EngineHealth health;
    private final SchedulingLoop loop;
    private final RunSupervisor runs;
    private final EngineWorkers workers;
    private final PartitionLifecycle partitions;
    private final NodeWatch nodeWatch;
    /** The batch sites: jobs naming one go there, and jobs no node here holds may. */
    private final BatchSites batch;
    /** The nodes the last pass saw, so that a change in the gate's nodes triggers a pass. */
    private volatile List<Node> lastNodes = List.of();
    /** How often a pass plans a cluster where nothing can start, only to update why jobs wait. */
    static final Duration FULL_PLAN_INTERVAL = Duration.ofSeconds(1);
    private Instant lastFullPlan;
    private boolean fullPlanDue;
    /** Each node's partition as the last pass saw it, to say where a waiting job waits. */
    private Map<String, String> partitionOf = Map.of();
    /** How many queued jobs a whole-queue pass plans: {@link #QUEUE_DEPTH} unless a system property lowers it. */
    private final int queueDepth;
    /** No whole-queue pass before this; the scheduling thread's only. */
    private Instant nextWholeQueue = Instant.MIN;
    /** Whether a timer already asks for the next whole-queue pass. */
    private boolean wholeQueueTimer;

    SchedulingPass(EngineGate gate, Scheduler scheduler, JobTable table, AccountUsage usage, EngineHealth health,
                   SchedulingLoop loop, RunSupervisor runs, EngineWorkers workers, PartitionLifecycle partitions,
                   NodeWatch nodeWatch, BatchSites batch) {
        this.gate = gate;
        this.scheduler = scheduler;
        this.table = table;
        this.usage = usage;
        this.health = health;
        this.loop = loop;
        this.runs = runs;
        this.workers = workers;
        this.partitions = partitions;
        this.nodeWatch = nodeWatch;
        this.batch = batch;
        this.queueDepth = queueDepth(System.getProperty(QUEUE_DEPTH_PROPERTY));
    }

    private static final String QUEUE_DEPTH_PROPERTY = "skyport.scheduler.queue-depth";

    /** The depth {@code value} of the system property asks for; a value that is not a number is refused, not ignored. */
    static int queueDepth(String value) {
        if (value == null) {
            return QUEUE_DEPTH;
        }
        try {
            return Math.max(PLANNING_WINDOW, Math.min(QUEUE_DEPTH, Integer.parseInt(value.strip())));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(QUEUE_DEPTH_PROPERTY + " must be a whole number of jobs, not \""
                    + value + "\"", e);
        }
    }

    void run() {
        long started = System.nanoTime();
        Instant now = loop.now();
        ClusterView cluster = cluster(now);
        if (cluster.flavors().isEmpty() && !hasFreeCpu(cluster)) {
            // Nothing can start: plan only to tell waiting jobs why they wait and when they should start, at most once
            // per FULL_PLAN_INTERVAL however fast jobs are submitted, and once more after a burst.
            if (lastFullPlan != null && now.isBefore(lastFullPlan.plus(FULL_PLAN_INTERVAL))) {
                if (!fullPlanDue) {
                    fullPlanDue = true;
                    loop.addTimer(lastFullPlan.plus(FULL_PLAN_INTERVAL), loop::markDirty);
                }
                return;
            }
            lastFullPlan = now;
            fullPlanDue = false;
        }
        // An event plans the head of the queue; the whole queue is planned at most every max(1 s, 4 x its last
        // duration). With backfill in queue order a plan of the head decides for those jobs exactly what the whole plan
        // decides (jobs behind never move a reservation of jobs ahead), so both kinds of pass agree; the whole-queue
        // pass is what starts jobs deeper in the queue in the gaps the head leaves.
        boolean wholeDue = queueDepth > PLANNING_WINDOW && !now.isBefore(nextWholeQueue);
        int limit = wholeDue ? queueDepth : PLANNING_WINDOW;
        List<QueuedJob> waiting = new ArrayList<>(PLANNING_WINDOW);
        List<Entry> entries = new ArrayList<>(PLANNING_WINDOW);
        boolean more = false;
        CloudChoices choices = partitions == PartitionLifecycle.NONE ? null : new CloudChoices();
        for (Entry e : table.queue.values()) {
            if (waiting.size() == limit) {
                more = true; // jobs beyond what this pass plans (perhaps none that could be planned: a spare pass)
                break;
            }
            Instant notBefore = e.notBefore; // read once: a transition may clear it meanwhile
            if (e.placing || e.state != JobState.QUEUED || (notBefore != null && notBefore.isAfter(now))) {
                continue;
            }
            if (!batch.isEmpty() && toSite(e)) {
                continue;
            }
            if (choices != null && toCloud(e, choices)) {
                continue;
            }
            waiting.add(new QueuedJob(e.id, e.nodes, e.cpus, e.memoryBytes, e.gpus,
                    e.timeLimit().orElse(DEFAULT_DURATION), e.priority, e.account, e.submitTime));
            entries.add(e);
        }
        if (!wholeDue && more && !wholeQueueTimer && queueDepth > PLANNING_WINDOW) {
            // Jobs behind the window wait for the next whole-queue pass: make sure one comes even if no event does.
            // A due timer is itself work for the loop, which then runs a pass: an action that also marked the loop
            // dirty would run a second, window pass right after, which would set this timer again, every second.
            wholeQueueTimer = true;
            loop.addTimer(nextWholeQueue, () -> { });
        }
        if (waiting.isEmpty()) {
            return;
        }
        act(scheduler.plan(cluster, waiting, now), entries, waiting);
        if (wholeDue && waiting.size() > PLANNING_WINDOW) {
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            // In whole milliseconds, the loop's precision: a timer due between two of them would never be due.
            long spacingMs = Math.max(WHOLE_QUEUE_MIN_INTERVAL.toMillis(),
                    (took.toNanos() * WHOLE_QUEUE_SPACING + 999_999) / 1_000_000);
            nextWholeQueue = now.plusMillis(spacingMs);
            wholeQueueTimer = false;
            LOG.debug("planned the whole queue ({} jobs{}) in {} ms", waiting.size(), more ? ", more behind" : "",
                    took.toMillis());
        }
    }

    /**
     * The cloud gate's flavors, images and remote sites, listed once per pass and only when a queued job names one of
     * them.
     */
    private final class CloudChoices {
        private List<Flavor> flavors;
        private java.util.Set<String> images;
        private java.util.Set<String> remotes;

        List<Flavor> flavors() {
            if (flavors == null) {
                flavors = gate.cloudFlavors();
            }
            return flavors;
        }

        boolean image(String name) {
            if (images == null) {
                images = gate.cloudGate().map(g -> g.images().stream().map(dev.skyport.api.Image::name)
                        .collect(java.util.stream.Collectors.toSet())).orElse(java.util.Set.of());
            }
            return images.contains(name);
        }

        boolean remote(String name) {
            if (remotes == null) {
                remotes = gate.cloudGate().map(g -> g.remotes().stream().map(dev.skyport.api.RemoteSite::name)
                        .collect(java.util.stream.Collectors.toSet())).orElse(java.util.Set.of());
            }
            return remotes.contains(name);
        }
    }

    /**
     * Hands {@code e} to the partition lifecycle when it names a flavor, cloud image or remote site of the cloud gate:
     * it runs on a partition of its flavor (or the cheapest that fits), never on the main gate's nodes.
     *
     * @return whether {@code e} is the cloud's (placed there or waiting for it), so not to be planned here
     */
    private boolean toCloud(Entry e, CloudChoices choices) {
        Boolean names = e.namesCloudChoice;
        if (names == null) {
            var spec = table.get(e.id).spec();
            names = spec.flavor().isPresent() || spec.cloudImage().isPresent() || spec.remoteSite().isPresent();
            e.namesCloudChoice = names;
        }
        if (!names) {
            return false;
        }
        try {
            var spec = table.get(e.id).spec();
            List<Flavor> flavors = choices.flavors();
            Optional<Flavor> named = spec.flavor().flatMap(n -> flavors.stream().filter(f -> f.name().equals(n))
                    .findFirst());
            boolean cloud = named.isPresent() || spec.cloudImage().map(choices::image).orElse(false)
                    || spec.remoteSite().map(choices::remote).orElse(false);
            if (!cloud) {
                return false;
            }
            Optional<Flavor> flavor = named.isPresent() ? named : flavors.stream()
                    .filter(f -> f.cpus() >= e.cpus && f.memoryBytes() >= e.memoryBytes && f.gpus() >= e.gpus)
                    .min(java.util.Comparator.comparingDouble(Flavor::pricePerHour));
            if (flavor.isEmpty()) {
                waitsBecause(e, "no flavor of the cloud gate has " + e.cpus + " cpus, " + Sizes.human(e.memoryBytes)
                        + " and " + e.gpus + " gpus per node");
                return true;
            }
            Flavor f = flavor.get();
            // Checked at submission too; a job queued before a catalogue changed is told here.
            if (f.cpus() < e.cpus || f.memoryBytes() < e.memoryBytes || f.gpus() < e.gpus) {
                waitsBecause(e, "flavor " + f.name() + " has " + f.cpus() + " cpus, " + Sizes.human(f.memoryBytes())
                        + " and " + f.gpus() + " gpus per node, less than the job asks");
                return true;
            }
            if (e.nodes > CloudPartitions.MAX_NODES_PER_PARTITION) {
                waitsBecause(e, "it asks " + e.nodes + " nodes; a partition has at most "
                        + CloudPartitions.MAX_NODES_PER_PARTITION);
                return true;
            }
            if (!partitions.provide(new Plan.CloudPlacement(e.id, f.name(), e.nodes, f.pricePerHour()))) {
                waitsBecause(e, "its partition cannot be created now");
            }
            health.recovered("gate-flavors");
            return true;
        } catch (RuntimeException ex) {
            health.failed("gate-flavors", "listing the cloud gate's flavors", ex, 0, Optional.empty());
            return true;
        }
    }

    /**
     * Hands {@code e} to the batch site its {@code remoteSite} names ({@code hpc}: the site's default partition, or the
     * first that holds the job; {@code hpc/gpu}: that partition). The site's scheduler places it there.
     *
     * @return whether {@code e} names a batch site, so is not planned here
     */
    private boolean toSite(Entry e) {
        Boolean names = e.namesCloudChoice;
        if (names == null) {
            var spec = table.get(e.id).spec();
            names = spec.flavor().isPresent() || spec.cloudImage().isPresent() || spec.remoteSite().isPresent();
            e.namesCloudChoice = names;
        }
        if (!names) {
            return false;
        }
        var spec = table.get(e.id).spec();
        if (spec.remoteSite().isEmpty() || !batch.names(spec.remoteSite().get())) {
            return false;
        }
        Optional<BatchSites.Target> target = batch.named(spec);
        if (target.isEmpty()) {
            waitsBecause(e, batch.whyWaiting(spec));
        } else if (!batch.provide(e, target.get())) {
            waitsBecause(e, "batch site " + spec.remoteSite().get() + " cannot take it now");
        }
        return true;
    }

    /**
     * Where a job that no node here can hold goes when a batch site can: the site, unless the cloud's placement
     * ({@code cloud}, may be null) is cheaper; a tie goes to the site.
     *
     * @return whether it went to a site
     */
    private boolean toSiteByFit(Entry e, Plan.CloudPlacement cloud) {
        if (e == null || batch.isEmpty()) {
            return false;
        }
        var spec = table.get(e.id).spec();
        if (spec.containerSteps().isPresent()) {
            return false; // a batch site runs scripts, not container steps
        }
        var cheapest = batch.cheapest(spec);
        if (cheapest.isEmpty()) {
            return false;
        }
        if (cloud != null && cloud.pricePerHour() * cloud.nodes() < cheapest.get().getValue()) {
            return false;
        }
        if (!batch.provide(e, cheapest.get().getKey())) {
            waitsBecause(e, "batch site " + cheapest.get().getKey().qualified() + " cannot take it now");
        }
        return true;
    }

    /** The cluster as the scheduler sees it: the gate's nodes and flavors, what runs, and past usage. */
    private ClusterView cluster(Instant now) {
        List<Node> all = gate.nodes();
        lastNodes = all;
        nodeWatch.observe(EngineGate.withoutPartitionNodes(all));
        // A partition's nodes are its job's alone: the scheduler never sees them.
        List<Node> nodes = all.stream().filter(n -> !gate.isPartitionNode(n.name())).toList();
        List<NodeView> views = new ArrayList<>(nodes.size());
        Map<String, NodeMode> modes = new HashMap<>();
        Map<String, String> partitions = new HashMap<>();
        for (Node n : nodes) {
            partitions.put(n.name(), n.partition());
            views.add(new NodeView(n.name(), n.partition(), n.cpus(), n.memoryBytes(), n.gpus(), n.state()));
            // The engine's gates (local, ssh) run several jobs on a node side by side, packed by cpus and memory.
            modes.put(n.partition(), NodeMode.SHARED);
        }
        partitionOf = partitions;
        List<FlavorView> flavors = new ArrayList<>();
        try {
            // A gate that creates no partitions (the local gate) offers flavors of the nodes it has: they are no cloud
            // placements, and a pass must not think a full cluster could grow.
            for (Flavor f : gate.cloudFlavors()) {
                flavors.add(new FlavorView(f.name(), f.cpus(), f.memoryBytes(), f.gpus(), f.pricePerHour()));
            }
            health.recovered("gate-flavors");
        } catch (RuntimeException ex) {
            // Jobs on the nodes there are need no flavors: plan them anyway.
            health.failed("gate-flavors", "listing the gate's flavors (planning without them)", ex, 0,
                    Optional.empty());
        }
        List<Allocation> running = new ArrayList<>(table.allocations.size());
        for (Allocation a : table.allocations.values()) {
            if (a.nodes().stream().allMatch(partitions::containsKey)) {
                running.add(a); // not those on a partition's nodes, which the scheduler does not see
            }
        }
        return new ClusterView(views, running, modes, flavors, usage.snapshot(now));
    }

    private void act(Plan plan, List<Entry> entries, List<QueuedJob> waiting) {
        // One map from id to queue position serves every list of the plan: at 100,000 jobs a pass must not build more.
        Map<JobId, Integer> position = new HashMap<>(waiting.size() * 4 / 3 + 1);
        for (int i = 0; i < waiting.size(); i++) {
            position.put(waiting.get(i).id(), i);
        }
        java.util.function.Function<JobId, Entry> byId = id -> {
            Integer i = position.get(id);
            return i == null ? null : entries.get(i);
        };
        Map<String, String> partitionsNow = partitionOf;
        for (Plan.Placement r : plan.reservations()) {
            Integer i = position.get(r.job());
            if (i != null) {
                // Formatted only when someone reads it: a pass over a long queue would otherwise build a string for
                // every queued job each time, most of them never shown. Jobs behind the window keep what the last
                // whole-queue pass said.
                Entry e = entries.get(i);
                int jobsAhead = i;
                e.waitReason = () -> waitReason(e, r, jobsAhead, partitionsNow);
            }
        }
        for (Plan.Infeasible inf : plan.infeasible()) {
            if (!toSiteByFit(byId.apply(inf.job()), null)) {
                waitsBecause(byId.apply(inf.job()), inf.reason());
            }
        }
        for (Plan.CloudPlacement c : plan.cloud()) {
            if (toSiteByFit(byId.apply(c.job()), c)) {
                continue;
            }
            if (!partitions.provide(c)) {
                waitsBecause(byId.apply(c.job()), "needs " + c.nodes() + " new node(s) of flavor " + c.flavor() + " at "
                        + c.pricePerHour() + " per hour, the cheapest that fits; "
                        + (partitions == PartitionLifecycle.NONE ? "no gate here creates partitions"
                        : "its partition cannot be created now"));
            }
        }
        for (Plan.Placement p : plan.startNow()) {
            Entry e = byId.apply(p.job());
            if (e == null) {
                continue;
            }
            e.placing = true;
            e.allocatedNodes = p.nodes();
            runs.allocate(e);
            workers.execute(() -> runs.launchOrRelease(e));
        }
    }

    /** {@code waiting for 4 cpus and 1 GiB per node on partition local; 3 jobs ahead; expected to start at ...}. */
    private String waitReason(Entry e, Plan.Placement reservation, int ahead, Map<String, String> partitionOf) {
        StringBuilder what = new StringBuilder("Waiting for ").append(e.cpus).append(e.cpus == 1 ? " cpu" : " cpus");
        if (e.memoryBytes > 0) {
            what.append(" and ").append(Sizes.human(e.memoryBytes));
        }
        if (e.gpus > 0) {
            what.append(" and ").append(e.gpus).append(e.gpus == 1 ? " gpu" : " gpus");
        }
        if (e.nodes > 1) {
            what.append(" on each of ").append(e.nodes).append(" nodes");
        }
        List<String> partitions = reservation.nodes().stream().map(n -> partitionOf.getOrDefault(n, "?")).distinct()
                .sorted().toList();
        what.append(" on partition").append(partitions.size() == 1 ? " " : "s ").append(String.join(", ", partitions));
        what.append("; ").append(ahead).append(ahead == 1 ? " job" : " jobs").append(" ahead");
        return what.append("; expected to start at ").append(reservation.start()).append(" (").append(scheduler.name())
                .append(" plan)").toString();
    }

    /** Notes, and logs once per change, why queued job {@code e} cannot be placed. */
    private static void waitsBecause(Entry e, String reason) {
        if (e != null && !reason.equals(e.infeasibleReason)) {
            e.infeasibleReason = reason;
            LOG.info("job {} cannot be placed: {}", e.id, reason);
        }
    }

    /** Whether the gate's nodes differ from what the last pass saw: one came, went, changed size or state. */
    boolean nodesChanged() {
        try {
            List<Node> nodes = gate.nodes();
            health.recovered("gate-nodes");
            nodeWatch.observe(EngineGate.withoutPartitionNodes(nodes)); // with an idle queue, this is where a node's change is noticed
            return !nodes.equals(lastNodes);
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
}
