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
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The scheduling rules of the README ("Scheduling") written down as plainly as possible, as the reference the
 * differential test holds {@link TimetableScheduler} to. It shares no code with the production scheduler beyond the
 * SPI records: every node keeps a plain list of bookings, whether a job fits is decided by summing the bookings over
 * each stretch of time, and every search is a loop over nodes and their stretches. Slow on purpose; obviously right
 * is the point.
 * <ul>
 * <li>Time is in milliseconds from {@code now}. A running allocation books its nodes from 0 to its expected end (at
 * least 1 ms: one past its end still holds its nodes). A queued job lasts its expected duration, at least 1 ms. Both
 * are capped at a century, so that every job gets a start.</li>
 * <li>A shared node holds jobs while the sums of their cpus, memory and gpus fit its capacity; an exclusive node is
 * booked whole by each job, whatever the job asks for.</li>
 * <li>Only UP nodes take new work. A job that fewer than {@code nodes} UP nodes could hold even when empty goes to
 * the cheapest fitting flavor (ties to the first name), else is infeasible with why; it holds up no one.</li>
 * <li>fcfs on a cluster of exclusive nodes is upstream's rule: a node is free from the end of the last job placed on
 * it; a job takes the earliest-free fitting nodes (ties to the lower index) and starts when the last is free.
 * Elsewhere, fcfs never starts a job on a node before the start of the last job placed there, so gaps stay
 * unused; among the nodes free at the start it takes the earliest-free.</li>
 * <li>backfill and fair-share take the earliest start at which enough fitting nodes are free for the whole duration,
 * gaps included, and among those the most recently freed (ties to the lower index).</li>
 * <li>fair-share places by priority (higher first), then the account's usage (lower first), then queue order.</li>
 * </ul>
 */
final class NaiveScheduler implements Scheduler {
    enum Rule { FCFS, BACKFILL, FAIR_SHARE }

    static final long CENTURY = 100L * 365 * 24 * 3600 * 1000;
    private static final long OPEN = Long.MAX_VALUE;

    private final Rule rule;

    NaiveScheduler(Rule rule) {
        this.rule = rule;
    }

    @Override
    public String name() {
        return "naive-" + rule;
    }

    /** One stretch of a job's (or allocation's) use of a node: {@code [start, end)}. */
    private record Booking(long start, long end, int cpus, long memory, int gpus) {
    }

    /** A stretch of start times {@code [from, to]} (to {@link #OPEN} when open-ended) at which a job fits a node. */
    private record Window(int node, long from, long to) {
        boolean holds(long t) {
            return from <= t && t <= to;
        }
    }

    private static final class Node {
        final NodeView view;
        final boolean exclusive;
        final List<Booking> bookings = new ArrayList<>();
        /** fcfs outside upstream's rule: the start of the last job placed here. */
        long lastStart;
        /** fcfs by upstream's rule: when the node is free for good. */
        long freeAt;

        Node(NodeView view, boolean exclusive) {
            this.view = view;
            this.exclusive = exclusive;
        }

        boolean up() {
            return view.state() == NodeState.UP;
        }

        boolean couldHold(QueuedJob job) {
            return up() && job.cpus() <= view.cpus() && job.memoryBytes() <= view.memoryBytes()
                    && job.gpus() <= view.gpus();
        }

        void book(long start, long end, int cpus, long memory, int gpus) {
            times = null;
            if (exclusive) {
                bookings.add(new Booking(start, end, view.cpus(), view.memoryBytes(), view.gpus()));
            } else {
                bookings.add(new Booking(start, end, cpus, memory, gpus));
            }
        }

        /**
         * What is booked when: {@code times} are 0 and every booking's start and end, ascending; stretch i runs from
         * {@code times[i]} to the next time (the last one for ever) and {@code used[i]} is the sum of the bookings
         * covering it (cpus, memory, gpus). Summed afresh whenever a booking is added.
         */
        private long[] times;
        private long[][] used;

        private void sumBookings() {
            TreeSet<Long> changes = new TreeSet<>();
            changes.add(0L);
            for (Booking b : bookings) {
                changes.add(b.start());
                changes.add(b.end());
            }
            times = changes.stream().mapToLong(Long::longValue).toArray();
            used = new long[times.length][3];
            for (int i = 0; i < times.length; i++) {
                for (Booking b : bookings) {
                    if (b.start() <= times[i] && times[i] < b.end()) {
                        used[i][0] += b.cpus();
                        used[i][1] += b.memory();
                        used[i][2] += b.gpus();
                    }
                }
            }
        }

        /** Whether the job fits on top of what is booked in stretch {@code i}. */
        private boolean fitsIn(int i, int cpus, long memory, int gpus) {
            if (exclusive) {
                cpus = view.cpus();
                memory = view.memoryBytes();
                gpus = view.gpus();
            }
            return used[i][0] + cpus <= view.cpus() && used[i][1] + memory <= view.memoryBytes()
                    && used[i][2] + gpus <= view.gpus();
        }

        /**
         * The windows of start times at or after {@code notBefore} at which a job fits here for {@code millis}: the
         * maximal stretches in which it fits throughout, less its duration at the end.
         */
        List<Window> windows(int index, int cpus, long memory, int gpus, long millis, long notBefore) {
            if (times == null) {
                sumBookings();
            }
            List<Window> out = new ArrayList<>();
            long runStart = -1;
            for (int i = 0; i < times.length; i++) {
                if (i + 1 < times.length && times[i + 1] <= notBefore) {
                    continue;
                }
                long t = Math.max(notBefore, times[i]);
                if (fitsIn(i, cpus, memory, gpus)) {
                    if (runStart < 0) {
                        runStart = t;
                    }
                } else if (runStart >= 0) {
                    if (t - runStart >= millis) {
                        out.add(new Window(index, runStart, t - millis));
                    }
                    runStart = -1;
                }
            }
            // The last stretch has nothing booked, so the job fits it and it never ends.
            out.add(new Window(index, runStart, OPEN));
            return out;
        }
    }

    @Override
    public Plan plan(ClusterView cluster, List<QueuedJob> queue, Instant now) {
        List<Node> nodes = new ArrayList<>();
        for (NodeView v : cluster.nodes()) {
            nodes.add(new Node(v, cluster.modeOf(v.partition()) == NodeMode.EXCLUSIVE));
        }
        for (Allocation a : cluster.running()) {
            long end = Math.max(1, cappedMillis(Duration.between(now, a.expectedEnd())));
            for (String name : a.nodes()) {
                for (Node node : nodes) {
                    if (node.view.name().equals(name)) {
                        node.book(0, end, a.cpus(), a.memoryBytes(), a.gpus());
                        break; // a repeated name is the first node of that name
                    }
                }
            }
        }
        boolean upstreamFcfs = rule == Rule.FCFS && nodes.stream().allMatch(n -> n.exclusive);
        for (int j = 0; j < nodes.size(); j++) {
            List<Window> w = nodes.get(j).windows(j, 0, 0, 0, 1, 0);
            nodes.get(j).freeAt = w.get(w.size() - 1).from();
        }

        Long[] starts = new Long[queue.size()];
        List<List<Integer>> placedOn = new ArrayList<>();
        for (int q = 0; q < queue.size(); q++) {
            placedOn.add(null);
        }
        List<Plan.Infeasible> infeasible = new ArrayList<>();
        List<Plan.CloudPlacement> cloud = new ArrayList<>();
        for (int q : order(cluster, queue)) {
            QueuedJob job = queue.get(q);
            int fitting = 0;
            for (Node node : nodes) {
                if (node.couldHold(job)) {
                    fitting++;
                }
            }
            if (job.nodes() <= 0 || fitting < job.nodes()) {
                elsewhere(cluster.flavors(), job, fitting, infeasible, cloud);
                continue;
            }
            long millis = Math.max(1, cappedMillis(job.expectedDuration()));
            Choice choice = upstreamFcfs ? earliestFree(nodes, job) : earliestFit(nodes, job, millis);
            long start = choice.start();
            List<Integer> chosen = choice.nodes();
            for (int j : chosen) {
                Node node = nodes.get(j);
                node.book(start, start + millis, job.cpus(), job.memoryBytes(), job.gpus());
                node.lastStart = Math.max(node.lastStart, start);
                node.freeAt = start + millis;
            }
            starts[q] = start;
            placedOn.set(q, chosen);
        }

        List<Plan.Placement> startNow = new ArrayList<>();
        List<Plan.Placement> reservations = new ArrayList<>();
        for (int q = 0; q < queue.size(); q++) {
            if (starts[q] == null) {
                continue;
            }
            List<Integer> on = new ArrayList<>(placedOn.get(q));
            on.sort(null);
            List<String> names = new ArrayList<>();
            for (int j : on) {
                names.add(nodes.get(j).view.name());
            }
            Plan.Placement p = new Plan.Placement(queue.get(q).id(), now.plusMillis(starts[q]), names);
            (starts[q] == 0 ? startNow : reservations).add(p);
        }
        return new Plan(startNow, reservations, infeasible, cloud);
    }

    /** Where a job goes: its start and node indices. */
    private record Choice(long start, List<Integer> nodes) {
    }

    /** Upstream fcfs: the k fitting nodes free earliest, ties to the lower index; the job starts when all are free. */
    private static Choice earliestFree(List<Node> nodes, QueuedJob job) {
        List<Integer> chosen = new ArrayList<>();
        long start = 0;
        while (chosen.size() < job.nodes()) {
            int best = -1;
            for (int j = 0; j < nodes.size(); j++) {
                Node node = nodes.get(j);
                if (node.couldHold(job) && !chosen.contains(j) && (best < 0 || node.freeAt < nodes.get(best).freeAt)) {
                    best = j;
                }
            }
            chosen.add(best);
            start = Math.max(start, nodes.get(best).freeAt);
        }
        return new Choice(start, chosen);
    }

    /** The earliest start at which {@code job.nodes()} fitting nodes are free for the whole duration, and which. */
    private Choice earliestFit(List<Node> nodes, QueuedJob job, long millis) {
        List<Window> windows = new ArrayList<>();
        for (int j = 0; j < nodes.size(); j++) {
            Node node = nodes.get(j);
            if (node.couldHold(job)) {
                long notBefore = rule == Rule.FCFS ? node.lastStart : 0;
                windows.addAll(node.windows(j, job.cpus(), job.memoryBytes(), job.gpus(), millis, notBefore));
            }
        }
        TreeSet<Long> candidates = new TreeSet<>();
        for (Window w : windows) {
            candidates.add(w.from());
        }
        for (long start : candidates) {
            List<Window> open = new ArrayList<>();
            for (Window w : windows) {
                if (w.holds(start)) {
                    open.add(w);
                }
            }
            if (open.size() < job.nodes()) {
                continue;
            }
            // fcfs: the earliest-free first; backfill: the most recently freed first. Ties: the lower index.
            open.sort((a, b) -> a.from() != b.from()
                    ? (rule == Rule.FCFS ? Long.compare(a.from(), b.from()) : Long.compare(b.from(), a.from()))
                    : Integer.compare(a.node(), b.node()));
            List<Integer> chosen = new ArrayList<>();
            for (int i = 0; i < job.nodes(); i++) {
                chosen.add(open.get(i).node());
            }
            return new Choice(start, chosen);
        }
        throw new AssertionError("the last window of every node is open-ended");
    }

    private int[] order(ClusterView cluster, List<QueuedJob> queue) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < queue.size(); i++) {
            order.add(i);
        }
        if (rule == Rule.FAIR_SHARE) {
            Map<String, Double> usage = cluster.accountUsage();
            order.sort((a, b) -> {
                QueuedJob x = queue.get(a);
                QueuedJob y = queue.get(b);
                if (x.priority() != y.priority()) {
                    return Integer.compare(y.priority(), x.priority());
                }
                int byUsage = Double.compare(usage.getOrDefault(x.account(), 0.0),
                        usage.getOrDefault(y.account(), 0.0));
                return byUsage != 0 ? byUsage : Integer.compare(a, b);
            });
        }
        return order.stream().mapToInt(i -> i).toArray();
    }

    /** A job the UP nodes cannot hold: to the cheapest flavor that fits, else infeasible with the reason. */
    private static void elsewhere(List<FlavorView> flavors, QueuedJob job, int fitting,
                                  List<Plan.Infeasible> infeasible, List<Plan.CloudPlacement> cloud) {
        FlavorView cheapest = null;
        if (job.nodes() > 0) {
            for (FlavorView f : flavors) {
                boolean fits = f.cpus() >= job.cpus() && f.memoryBytes() >= job.memoryBytes() && f.gpus() >= job.gpus();
                if (fits && (cheapest == null || f.pricePerHour() < cheapest.pricePerHour()
                        || f.pricePerHour() == cheapest.pricePerHour() && f.name().compareTo(cheapest.name()) < 0)) {
                    cheapest = f;
                }
            }
        }
        if (cheapest != null) {
            cloud.add(new Plan.CloudPlacement(job.id(), cheapest.name(), job.nodes(), cheapest.pricePerHour()));
        } else if (job.nodes() <= 0) {
            infeasible.add(new Plan.Infeasible(job.id(), String.format("asks for %d nodes", job.nodes())));
        } else {
            // The reason as users read it: what one node must have, and how many up nodes have that much.
            infeasible.add(new Plan.Infeasible(job.id(), String.format("needs %d node(s) with %d cpus, %d bytes of"
                    + " memory and %d gpus each; %d up node(s) have that much%s", job.nodes(), job.cpus(),
                    job.memoryBytes(), job.gpus(), fitting, flavors.isEmpty() ? "" : " and no flavor does")));
        }
    }

    /** A duration in milliseconds, 0 when negative, at most a century. */
    private static long cappedMillis(Duration d) {
        if (d.isNegative()) {
            return 0;
        }
        return d.getSeconds() >= CENTURY / 1000 ? CENTURY : Math.min(CENTURY, d.toMillis());
    }
}
