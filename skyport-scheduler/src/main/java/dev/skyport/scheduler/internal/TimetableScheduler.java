package dev.skyport.scheduler.internal;

import dev.skyport.api.NodeState;
import dev.skyport.scheduler.Allocation;
import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.FlavorView;
import dev.skyport.scheduler.NodeMode;
import dev.skyport.scheduler.NodeView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.Scheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
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
 */
final class TimetableScheduler implements Scheduler {
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
        List<NodeView> nodes = cluster.nodes();
        int n = nodes.size();
        int[] capCpus = new int[n];
        long[] capMem = new long[n];
        int[] capGpus = new int[n];
        boolean[] exclusive = new boolean[n];
        boolean[] up = new boolean[n];
        Map<String, Integer> index = new HashMap<>(n * 2);
        for (int j = 0; j < n; j++) {
            NodeView node = nodes.get(j);
            capCpus[j] = node.cpus();
            capMem[j] = node.memoryBytes();
            capGpus[j] = node.gpus();
            exclusive[j] = cluster.modeOf(node.partition()) == NodeMode.EXCLUSIVE;
            up[j] = node.state() == NodeState.UP;
            index.putIfAbsent(node.name(), j);
        }
        // Nodes of one capacity and state form a class, so whether a job fits is decided once per class, not node.
        int[] nodeClass = new int[n];
        List<int[]> classCaps = new ArrayList<>();
        List<long[]> classMem = new ArrayList<>();
        Map<String, Integer> classes = new HashMap<>();
        for (int j = 0; j < n; j++) {
            if (!up[j]) {
                nodeClass[j] = -1;
                continue;
            }
            String key = capCpus[j] + "/" + capMem[j] + "/" + capGpus[j] + "/" + exclusive[j];
            Integer c = classes.get(key);
            if (c == null) {
                c = classes.size();
                classes.put(key, c);
                classCaps.add(new int[] {capCpus[j], capGpus[j], 0});
                classMem.add(new long[] {capMem[j]});
            }
            nodeClass[j] = c;
            classCaps.get(c)[2]++;
        }
        int classCount = classes.size();
        boolean[] classFits = new boolean[classCount];
        Timetable table = new Timetable(capCpus, capMem, capGpus, exclusive);
        for (Allocation a : cluster.running()) {
            // A job past its expected end still holds its nodes: count it as ending just after now.
            long end = Math.max(1, millisUntil(now, a.expectedEnd()));
            for (String nodeName : a.nodes()) {
                Integer j = index.get(nodeName);
                if (j != null) {
                    table.add(j, 0, end, a.cpus(), a.memoryBytes(), a.gpus());
                }
            }
        }

        boolean fcfs = policy == Policy.FCFS;
        boolean allExclusive = true;
        for (int j = 0; j < n; j++) {
            allExclusive &= exclusive[j];
        }
        FreeTimeHeaps heaps = null;
        if (fcfs && allExclusive) {
            long[] free = new long[n];
            for (int j = 0; j < n; j++) {
                free[j] = table.finalRunStart(j, capCpus[j], capMem[j], capGpus[j]);
            }
            heaps = new FreeTimeHeaps(free, nodeClass, classCount);
        }
        ExclusiveBackfill backfill = !fcfs && allExclusive ? new ExclusiveBackfill(table, nodeClass, classCount) : null;
        int[] pickedClass = new int[16];
        long[] floor = new long[n];
        int[] order = order(cluster, queue);
        long[] starts = new long[queue.size()];
        int[][] placedOn = new int[queue.size()][];
        List<Plan.Infeasible> infeasible = new ArrayList<>();
        List<Plan.CloudPlacement> cloud = new ArrayList<>();
        Timetable.Windows windows = new Timetable.Windows();
        long[] kth = new long[16];
        long[] lower = new long[n];
        StartBounds bounds = new StartBounds(table);
        int[] chosen = new int[16];
        long[] chosenKey = new long[16];

        for (int q : order) {
            QueuedJob job = queue.get(q);
            int k = job.nodes();
            int rc = job.cpus();
            long rm = job.memoryBytes();
            int rg = job.gpus();
            long d = Math.max(1, Math.min(Timetable.FOREVER, toMillis(job.expectedDuration())));
            int fitting = 0;
            for (int c = 0; c < classCount; c++) {
                int[] caps = classCaps.get(c);
                classFits[c] = rc <= caps[0] && rm <= classMem.get(c)[0] && rg <= caps[1];
                fitting += classFits[c] ? caps[2] : 0;
            }
            if (k <= 0 || fitting < k) {
                elsewhere(cluster.flavors(), job, fitting, infeasible, cloud);
                continue;
            }
            int[] picked = new int[k];
            long start;
            if (heaps != null) {
                if (pickedClass.length < k) {
                    pickedClass = new int[k];
                }
                start = heaps.place(classFits, k, d, picked, pickedClass);
                starts[q] = start;
                placedOn[q] = picked;
                continue;
            } else if (backfill != null) {
                starts[q] = backfill.place(classFits, k, rc, rm, rg, d, picked);
                placedOn[q] = picked;
                continue;
            }
            int p = bounds.probe(rc, rm, d);
            if (k == 1) {
                long best = Timetable.NONE;
                int bestNode = -1;
                for (int j = 0; j < n; j++) {
                    // Ties go to the lower index, so a node whose bound is not below the best cannot win. A stale
                    // bound is a looser one: refresh it only when it does not rule the node out.
                    if (nodeClass[j] >= 0 && classFits[nodeClass[j]]
                            && Math.max(floor[j], bounds.stale(p, j)) < best) {
                        long from = Math.max(floor[j], bounds.bound(p, j));
                        if (from < best) {
                            long t = table.earliest(j, rc, rm, rg, d, from, best);
                            if (t < best) {
                                best = t;
                                bestNode = j;
                            }
                        }
                    }
                }
                start = best;
                picked[0] = bestNode;
            } else {
                if (kth.length < k) {
                    kth = new long[k];
                    chosen = new int[k];
                    chosenKey = new long[k];
                }
                // No start comes before k fitting nodes' bounds have passed. A stale bound is a looser one: refresh
                // it only when it could be among the k smallest seen so far.
                int filled = 0;
                for (int j = 0; j < n; j++) {
                    if (nodeClass[j] >= 0 && classFits[nodeClass[j]]) {
                        lower[j] = Math.max(floor[j], bounds.stale(p, j));
                        if (filled < k || lower[j] < kth[k - 1]) {
                            lower[j] = Math.max(floor[j], bounds.bound(p, j));
                            filled = insertSmallest(kth, filled, k, lower[j]);
                        }
                    }
                }
                // Sweep the start windows that open up to a horizon; widen it until k windows overlap. Every node's
                // final free run is open-ended, so some horizon has them.
                long horizon = kth[k - 1];
                long widen = Math.max(d, horizon / 8 + 1);
                while (true) {
                    windows.clear();
                    for (int j = 0; j < n; j++) {
                        if (nodeClass[j] >= 0 && classFits[nodeClass[j]] && lower[j] <= horizon) {
                            if (!bounds.fresh(p, j)) {
                                lower[j] = Math.max(floor[j], bounds.bound(p, j));
                                if (lower[j] > horizon) {
                                    continue;
                                }
                            }
                            table.windows(j, rc, rm, rg, d, lower[j], horizon, windows);
                        }
                    }
                    start = windows.earliestOverlap(k);
                    if (start != Timetable.NONE) {
                        break;
                    }
                    if (horizon >= Timetable.NONE - 1) {
                        // Unreachable: every fitting node's final free run is open-ended and starts before NONE.
                        throw new IllegalStateException("no start for job " + job.id() + " on " + k + " nodes");
                    }
                    horizon = Math.min(Timetable.NONE - 1, horizon + widen);
                    widen = Math.min(Timetable.NONE / 4, widen * 2);
                }
                // Among the nodes free over [start, start + d): fcfs takes the earliest-free (upstream), backfill
                // the most recently freed, which leaves the longest gaps elsewhere for later jobs.
                int c = 0;
                int w = windows.count;
                for (int i = 0; i < w; i++) {
                    if (windows.from[i] <= start && start <= windows.to[i]) {
                        long key = fcfs ? windows.from[i] : -windows.from[i];
                        c = insertChosen(chosen, chosenKey, c, k, windows.node[i], key);
                    }
                }
                System.arraycopy(chosen, 0, picked, 0, k);
            }
            for (int j : picked) {
                table.add(j, start, start + d, rc, rm, rg);
                if (fcfs && start > floor[j]) {
                    floor[j] = start;
                }
            }
            starts[q] = start;
            placedOn[q] = picked;
        }

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
                names[i] = nodes.get(picked[i]).name();
            }
            Plan.Placement p = new Plan.Placement(queue.get(q).id(), now.plusMillis(starts[q]), List.of(names));
            (starts[q] == 0 ? startNow : reservations).add(p);
        }
        return new Plan(startNow, reservations, infeasible, cloud);
    }

    /** The order jobs are placed in, as indices into the queue. */
    private int[] order(ClusterView cluster, List<QueuedJob> queue) {
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
    private static void elsewhere(List<FlavorView> flavors, QueuedJob job, int fitting, List<Plan.Infeasible> infeasible,
                                  List<Plan.CloudPlacement> cloud) {
        FlavorView cheapest = null;
        for (FlavorView f : flavors) {
            if (f.cpus() >= job.cpus() && f.memoryBytes() >= job.memoryBytes() && f.gpus() >= job.gpus()
                    && (cheapest == null || f.pricePerHour() < cheapest.pricePerHour()
                    || (f.pricePerHour() == cheapest.pricePerHour() && f.name().compareTo(cheapest.name()) < 0))) {
                cheapest = f;
            }
        }
        if (job.nodes() > 0 && cheapest != null) {
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

    /** Keeps {@code a[0..filled)} the up-to-{@code k} smallest values seen, ascending; returns the new fill. */
    private static int insertSmallest(long[] a, int filled, int k, long t) {
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

    private static long millisUntil(Instant now, Instant end) {
        if (!end.isAfter(now)) {
            return 0;
        }
        Duration left = Duration.between(now, end);
        return Math.min(Timetable.FOREVER, toMillis(left));
    }

    private static long toMillis(Duration d) {
        if (d.isNegative()) {
            return 0;
        }
        return d.getSeconds() >= Timetable.FOREVER / 1000 ? Timetable.FOREVER : d.toMillis();
    }
}
