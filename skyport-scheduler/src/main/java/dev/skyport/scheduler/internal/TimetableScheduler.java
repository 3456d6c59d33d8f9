package dev.skyport.scheduler.internal;

import dev.skyport.api.NodeState;
import dev.skyport.scheduler.Allocation;
import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.FlavorView;
import dev.skyport.scheduler.NodeView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.Scheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The timetable policies: every feasible job gets a start and nodes, in a per-node step function of what is used when
 * ({@link Timetable}). They differ in the order jobs are placed and in which gaps a job may use:
 * <ul>
 * <li>{@link Policy#FCFS}: queue order; a job never starts on a node before the start of the last job placed on it,
 * so the gaps it leaves are never reused. In exclusive mode this is upstream swm-sched's rule: each job takes the
 * earliest-free fitting nodes (ties: lower index) and starts when the last of them is free.</li>
 * <li>{@link Policy#BACKFILL}: conservative backfill; queue order, each job at the earliest time enough fitting nodes
 * are free for its whole duration, gaps before placed jobs included. No placed job ever moves.</li>
 * <li>{@link Policy#FAIR_SHARE}: priority (higher first), then the account's decayed usage (lower first), then queue
 * order; placed as backfill.</li>
 * </ul>
 * Only {@link NodeState#UP} nodes take new work. A job no set of UP nodes can hold goes to the cheapest cloud flavor
 * that fits it, else is infeasible with a reason; it never holds up the jobs behind it.
 * <p>
 * Not final only so that tests can override its package-private seams ({@link #request}, {@link #order}, ...) with
 * deliberate bugs and check that the differential test catches each; each seam is called at most twice per job or
 * once per pass, never in a hot loop, and in production no subclass is loaded, so the calls stay monomorphic.
 */
class TimetableScheduler implements Scheduler {
    enum Policy { FCFS, BACKFILL, FAIR_SHARE }

    private final Policy policy;
    private final String name;

    TimetableScheduler(Policy policy, String name) {
        this.policy = policy;
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Plan plan(ClusterView cluster, List<QueuedJob> queue, Instant now) {
        NodeTable nodes = new NodeTable(cluster, this);
        Timetable table = new Timetable(nodes.cpus, nodes.memory, nodes.gpus, nodes.exclusive, nodes.allExclusive);
        reserveRunning(table, nodes, cluster.running(), now);
        Pass pass = new Pass(cluster, queue, nodes, table);
        for (int q : order(cluster, queue)) {
            pass.place(q);
        }
        return pass.plan(now);
    }

    /**
     * What a queued job asks of each of its nodes, with its duration in timetable milliseconds. A seam: tests derive
     * deliberately wrong requests from it to prove that the differential test notices.
     */
    Request request(QueuedJob job) {
        long millis = Math.max(1, Math.min(Timetable.FOREVER, toMillis(job.expectedDuration())));
        return new Request(job.nodes(), job.cpus(), job.memoryBytes(), job.gpus(), millis);
    }

    /** Whether {@code node} takes new work: only UP nodes do; DRAINING ones finish what they run. A seam, as above. */
    boolean takesWork(NodeView node) {
        return node.state() == NodeState.UP;
    }

    /** Whether fcfs keeps a node's gaps closed: no job starts on it before the last job placed there. A seam. */
    boolean closesGaps() {
        return policy == Policy.FCFS;
    }

    /** A job's request per node: {@code nodes} nodes, each with these cpus, memory and gpus, for {@code millis}. */
    record Request(int nodes, int cpus, long memoryBytes, int gpus, long millis) {
    }

    /** Books the running allocations: each holds its nodes from now to its expected end. */
    private static void reserveRunning(Timetable table, NodeTable nodes, List<Allocation> running, Instant now) {
        for (Allocation a : running) {
            // A job past its expected end still holds its nodes: count it as ending just after now.
            long end = Math.max(1, millisUntil(now, a.expectedEnd()));
            for (String nodeName : a.nodes()) {
                Integer j = nodes.index.get(nodeName);
                if (j != null) {
                    table.add(j, 0, end, a.cpus(), a.memoryBytes(), a.gpus());
                }
            }
        }
    }

    /**
     * One planning pass: the timetable, the fast paths that apply to this cluster, scratch buffers reused from job to
     * job, and what has been decided so far.
     */
    private final class Pass {
        private final ClusterView cluster;
        private final List<QueuedJob> queue;
        private final NodeTable nodes;
        private final Timetable table;
        private final boolean fcfs = policy == Policy.FCFS;
        private final boolean closesGaps = closesGaps();
        /** Upstream fcfs on exclusive nodes: k smallest free times, no timetable walk. Null otherwise. */
        private final FreeTimeHeaps freeTimes;
        /** Backfill on exclusive nodes: only nodes with gaps are walked. Null otherwise. */
        private final ExclusiveBackfill exclusiveBackfill;
        /** Shared or mixed nodes: where each job shape can start on each node. Null otherwise. */
        private final ShapeIndex index;
        private final ShapeIndex.Fits fitsJob = this::fits;
        /** Per node, the start of the last job fcfs placed on it: no later job starts there earlier. */
        private final long[] notBefore;
        private final boolean[] classFits;
        private final long[] starts;
        /** Per queue entry, its {@link #request}: asked once per job, the shortest is needed before the first. */
        private final Request[] requests;
        private final int[][] placedOn;
        private final List<Plan.Infeasible> infeasible = new ArrayList<>();
        private final List<Plan.CloudPlacement> cloud = new ArrayList<>();
        // Scratch buffers for multi-node jobs, grown to the widest job seen.
        private final Timetable.Windows windows = new Timetable.Windows();
        /** The nodes a multi-node job's search walks, from the shape index. */
        private final int[] candidates;
        private long[] kSmallestBounds = new long[16];
        private int[] chosen = new int[16];
        private long[] chosenKey = new long[16];
        private int[] pickedClass = new int[16];

        Pass(ClusterView cluster, List<QueuedJob> queue, NodeTable nodes, Timetable table) {
            this.cluster = cluster;
            this.queue = queue;
            this.nodes = nodes;
            this.table = table;
            int n = nodes.count;
            freeTimes = fcfs && nodes.allExclusive ? freeTimeHeaps() : null;
            exclusiveBackfill = !fcfs && nodes.allExclusive
                    ? new ExclusiveBackfill(table, nodes.nodeClass, nodes.classCount) : null;
            notBefore = new long[n];
            requests = new Request[queue.size()];
            for (int q = 0; q < requests.length; q++) {
                requests[q] = request(queue.get(q));
            }
            index = freeTimes == null && exclusiveBackfill == null
                    ? new ShapeIndex(table, closesGaps ? notBefore : null, shortestJob()) : null;
            candidates = new int[n];
            classFits = new boolean[nodes.classCount];
            starts = new long[queue.size()];
            placedOn = new int[queue.size()][];
        }

        /** The shortest duration in the queue, in timetable milliseconds. */
        private long shortestJob() {
            long shortest = Timetable.FOREVER;
            for (Request r : requests) {
                shortest = Math.min(shortest, r.millis());
            }
            return shortest;
        }

        private FreeTimeHeaps freeTimeHeaps() {
            long[] free = new long[nodes.count];
            for (int j = 0; j < nodes.count; j++) {
                free[j] = table.finalRunStart(j, nodes.cpus[j], nodes.memory[j], nodes.gpus[j]);
            }
            return new FreeTimeHeaps(free, nodes.nodeClass, nodes.classCount);
        }

        /** Places queue entry {@code q}: a start and nodes, else a cloud flavor, else infeasible with why. */
        void place(int q) {
            QueuedJob job = queue.get(q);
            Request r = requests[q];
            int fitting = nodes.markFitting(r, classFits);
            if (r.nodes() <= 0 || fitting < r.nodes()) {
                elsewhere(cluster.flavors(), job, fitting, infeasible, cloud);
                return;
            }
            int[] picked = new int[r.nodes()];
            placedOn[q] = picked;
            if (freeTimes != null) {
                if (pickedClass.length < r.nodes()) {
                    pickedClass = new int[r.nodes()];
                }
                starts[q] = freeTimes.place(classFits, r.nodes(), r.millis(), picked, pickedClass);
                return;
            }
            if (exclusiveBackfill != null) {
                starts[q] = exclusiveBackfill.place(classFits, r.nodes(), r.cpus(), r.memoryBytes(), r.gpus(),
                        r.millis(), picked);
                return;
            }
            int shape = index.shape(r.cpus(), r.memoryBytes(), r.gpus());
            long start = r.nodes() == 1 ? placeOnOneNode(r, shape, picked) : placeOnManyNodes(job, r, shape, picked);
            for (int j : picked) {
                table.add(j, start, start + r.millis(), r.cpus(), r.memoryBytes(), r.gpus());
                if (closesGaps && start > notBefore[j]) {
                    notBefore[j] = start;
                }
                index.reserved(j, start, start + r.millis(), r.cpus(), r.memoryBytes(), r.gpus());
            }
            starts[q] = start;
        }

        private boolean fits(int j) {
            int c = nodes.nodeClass[j];
            return c >= 0 && classFits[c];
        }

        /**
         * The earliest start of a one-node job, ties to the lower node index; its node goes to {@code picked[0]}.
         * Without a shape index (too many shapes) every fitting node is walked.
         */
        private long placeOnOneNode(Request r, int shape, int[] picked) {
            if (shape >= 0) {
                return index.placeOne(shape, fitsJob, r.cpus(), r.memoryBytes(), r.gpus(), r.millis(), picked);
            }
            long best = Timetable.NONE;
            int bestNode = -1;
            for (int j = 0; j < nodes.count; j++) {
                // Ties go to the lower index, so a node that cannot start the job before the best cannot win.
                if (fits(j) && notBefore[j] < best) {
                    long t = table.earliest(j, r.cpus(), r.memoryBytes(), r.gpus(), r.millis(), notBefore[j], best);
                    if (t < best) {
                        best = t;
                        bestNode = j;
                    }
                }
            }
            picked[0] = bestNode;
            return best;
        }

        /** The earliest start at which {@code r.nodes()} fitting nodes are free for the job, and which ones. */
        private long placeOnManyNodes(QueuedJob job, Request r, int shape, int[] picked) {
            int k = r.nodes();
            if (kSmallestBounds.length < k) {
                kSmallestBounds = new long[k];
                chosen = new int[k];
                chosenKey = new long[k];
            }
            long horizon = firstHorizon(k, shape);
            if (shape >= 0 && horizon < Timetable.NONE && index.isExactly(shape, r.cpus(), r.memoryBytes(), r.gpus())
                    && !index.anyGap(shape, r.millis())) {
                chooseAmongFinalRuns(k, shape, horizon, picked);
                return horizon;
            }
            long start = earliestCommonStart(job, r, shape, horizon);
            chooseNodes(k, start, picked);
            return start;
        }

        /**
         * The nodes for a job that is exactly its shape when no node has a gap as long as the job: its only windows
         * open at the nodes' final runs and never close, so it starts at the k-th smallest final run
         * ({@code horizon}) and takes what {@link #chooseNodes} would take of those windows, without building and
         * sorting them. Early in a pass many idle nodes share that start: at 10k the first fifth of the queue's
         * multi-node jobs went through ~500 windows each, 95 % of all the windows a pass built; backfill now stops
         * at the first k nodes free at the start.
         */
        private void chooseAmongFinalRuns(int k, int shape, long horizon, int[] picked) {
            index.chooseByKey(shape, k, horizon, fitsJob, !fcfs, chosen, chosenKey);
            System.arraycopy(chosen, 0, picked, 0, k);
        }

        /**
         * Where the search for k overlapping windows starts: the k-th smallest final-run start of the job's shape
         * on fitting nodes, by when k nodes are free for good (for a job that is its shape, the search's one and only
         * horizon), or without an index the k-th smallest notBefore.
         */
        private long firstHorizon(int k, int shape) {
            if (shape >= 0) {
                return index.kthFinalRun(shape, k, fitsJob, kSmallestBounds);
            }
            int filled = 0;
            for (int j = 0; j < nodes.count; j++) {
                if (fits(j)) {
                    filled = insertSmallest(kSmallestBounds, filled, k, notBefore[j]);
                }
            }
            return kSmallestBounds[k - 1];
        }

        /**
         * Sweeps the start windows that open up to a horizon, widening it until k windows overlap; leaves the last
         * sweep's windows in {@link #windows}. Every node's final free run is open-ended, so some horizon has them.
         */
        private long earliestCommonStart(QueuedJob job, Request r, int shape, long firstHorizon) {
            int k = r.nodes();
            long horizon = firstHorizon;
            long widen = Math.max(r.millis(), horizon / 8 + 1);
            while (true) {
                windows.clear();
                if (shape >= 0) {
                    boolean exact = index.isExactly(shape, r.cpus(), r.memoryBytes(), r.gpus());
                    int m = index.nodesStartingBy(shape, r.millis(), horizon, candidates);
                    for (int i = 0; i < m; i++) {
                        int j = candidates[i];
                        // The index's bound says where the job's windows begin: no gap before it is long enough.
                        long from = index.lowerBound(shape, j, r.millis());
                        if (!fits(j) || from > horizon) {
                            continue;
                        }
                        if (exact) {
                            index.exactWindows(shape, j, r.millis(), horizon, windows);
                        } else {
                            table.windowsFrom(j, r.cpus(), r.memoryBytes(), r.gpus(), r.millis(), from, horizon,
                                    windows);
                        }
                    }
                } else {
                    for (int j = 0; j < nodes.count; j++) {
                        if (fits(j) && notBefore[j] <= horizon) {
                            table.windows(j, r.cpus(), r.memoryBytes(), r.gpus(), r.millis(), notBefore[j], horizon,
                                    windows);
                        }
                    }
                }
                long start = windows.earliestOverlap(k);
                if (start != Timetable.NONE) {
                    return start;
                }
                if (horizon >= Timetable.NONE - 1) {
                    // Unreachable: every fitting node's final free run is open-ended and starts before NONE.
                    throw new IllegalStateException("no start for job " + job.id() + " on " + k + " nodes");
                }
                horizon = Math.min(Timetable.NONE - 1, horizon + widen);
                widen = Math.min(Timetable.NONE / 4, widen * 2);
            }
        }

        /**
         * Among the nodes whose window holds {@code start}: fcfs takes the earliest-free (upstream), backfill the
         * most recently freed, which leaves the longest gaps elsewhere for later jobs; ties to the lower index.
         */
        private void chooseNodes(int k, long start, int[] picked) {
            int filled = 0;
            for (int i = 0; i < windows.count; i++) {
                if (windows.from[i] <= start && start <= windows.to[i]) {
                    long key = fcfs ? windows.from[i] : -windows.from[i];
                    filled = insertChosen(chosen, chosenKey, filled, k, windows.node[i], key);
                }
            }
            System.arraycopy(chosen, 0, picked, 0, k);
        }

        /** The plan: placements in queue order, those starting now apart from the reservations. */
        Plan plan(Instant now) {
            List<Plan.Placement> startNow = new ArrayList<>();
            List<Plan.Placement> reservations = new ArrayList<>();
            for (int q = 0; q < queue.size(); q++) {
                int[] picked = placedOn[q];
                if (picked == null) {
                    continue;
                }
                Arrays.sort(picked);
                String[] names = new String[picked.length];
                for (int i = 0; i < picked.length; i++) {
                    names[i] = nodes.views.get(picked[i]).name();
                }
                Plan.Placement p = new Plan.Placement(queue.get(q).id(), now.plusMillis(starts[q]), List.of(names));
                (starts[q] == 0 ? startNow : reservations).add(p);
            }
            return new Plan(startNow, reservations, infeasible, cloud);
        }
    }

    /** The order jobs are placed in, as indices into the queue. A seam, as {@link #request}. */
    int[] order(ClusterView cluster, List<QueuedJob> queue) {
        int size = queue.size();
        if (policy != Policy.FAIR_SHARE) {
            int[] order = new int[size];
            for (int i = 0; i < size; i++) {
                order[i] = i;
            }
            return order;
        }
        Map<String, Double> usage = cluster.accountUsage();
        List<Integer> order = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            order.add(i);
        }
        order.sort(Comparator.<Integer>comparingInt(i -> -queue.get(i).priority())
                .thenComparingDouble(i -> usage.getOrDefault(queue.get(i).account(), 0.0))
                .thenComparingInt(i -> i));
        return order.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A job the existing UP nodes cannot hold: the cheapest flavor that fits it, else infeasible with why. */
    private void elsewhere(List<FlavorView> flavors, QueuedJob job, int fitting, List<Plan.Infeasible> infeasible,
                           List<Plan.CloudPlacement> cloud) {
        FlavorView cheapest = job.nodes() > 0 ? cheapestFlavor(flavors, job) : null;
        if (cheapest != null) {
            cloud.add(new Plan.CloudPlacement(job.id(), cheapest.name(), job.nodes(), cheapest.pricePerHour()));
            return;
        }
        String reason = job.nodes() <= 0
                ? "asks for " + job.nodes() + " nodes"
                : "needs " + job.nodes() + " node(s) with " + job.cpus() + " cpus, " + job.memoryBytes()
                + " bytes of memory and " + job.gpus() + " gpus each; " + fitting + " up node(s) have that much"
                + (flavors.isEmpty() ? "" : " and no flavor does");
        infeasible.add(new Plan.Infeasible(job.id(), reason));
    }

    /** The cheapest flavor that holds one node of {@code job}, ties to the first name; null when none does. A seam. */
    FlavorView cheapestFlavor(List<FlavorView> flavors, QueuedJob job) {
        FlavorView cheapest = null;
        for (FlavorView f : flavors) {
            if (f.cpus() >= job.cpus() && f.memoryBytes() >= job.memoryBytes() && f.gpus() >= job.gpus()
                    && (cheapest == null || f.pricePerHour() < cheapest.pricePerHour()
                    || (f.pricePerHour() == cheapest.pricePerHour() && f.name().compareTo(cheapest.name()) < 0))) {
                cheapest = f;
            }
        }
        return cheapest;
    }

    /** Keeps {@code a[0..filled)} the up-to-{@code k} smallest values seen, ascending; returns the new fill. */
    static int insertSmallest(long[] a, int filled, int k, long t) {
        if (filled == k && t >= a[k - 1]) {
            return filled;
        }
        int i = filled == k ? k - 1 : filled;
        while (i > 0 && a[i - 1] > t) {
            a[i] = a[i - 1];
            i--;
        }
        a[i] = t;
        return filled == k ? k : filled + 1;
    }

    /** Keeps the {@code k} nodes with the smallest (key, node), ascending; returns the new fill. */
    static int insertChosen(int[] nodes, long[] keys, int filled, int k, int node, long key) {
        if (filled == k && !less(key, node, keys[k - 1], nodes[k - 1])) {
            return filled;
        }
        int i = filled == k ? k - 1 : filled;
        while (i > 0 && less(key, node, keys[i - 1], nodes[i - 1])) {
            keys[i] = keys[i - 1];
            nodes[i] = nodes[i - 1];
            i--;
        }
        keys[i] = key;
        nodes[i] = node;
        return filled == k ? k : filled + 1;
    }

    private static boolean less(long key, int node, long otherKey, int otherNode) {
        return key < otherKey || (key == otherKey && node < otherNode);
    }

    /**
     * The whole milliseconds from {@code now} to {@code end}: 0 when {@code end} is not after {@code now},
     * {@link Timetable#FOREVER} from {@code FOREVER / 1000} seconds on. What {@link Duration#between} and
     * {@link #toMillis} gave, without the {@link ArithmeticException} that {@code between} throws and catches inside
     * for every end past 292 years (a running job without a time limit), once per running job and pass: 4 % of the
     * engine's cpu on trivial jobs (profiled).
     */
    static long millisUntil(Instant now, Instant end) {
        if (!end.isAfter(now)) {
            return 0;
        }
        // Each epoch second is within ±3.2e16: the difference cannot overflow.
        long seconds = end.getEpochSecond() - now.getEpochSecond();
        int nanos = end.getNano() - now.getNano();
        if (nanos < 0) {
            seconds--;
            nanos += 1_000_000_000;
        }
        return seconds >= Timetable.FOREVER / 1000 ? Timetable.FOREVER : seconds * 1000 + nanos / 1_000_000;
    }

    private static long toMillis(Duration d) {
        if (d.isNegative()) {
            return 0;
        }
        return d.getSeconds() >= Timetable.FOREVER / 1000 ? Timetable.FOREVER : d.toMillis();
    }
}
