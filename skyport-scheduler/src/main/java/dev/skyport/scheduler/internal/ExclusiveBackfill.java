package dev.skyport.scheduler.internal;

/**
 * Backfill on exclusive nodes without scanning every node per job. A job lasting {@code d} fits a node with a cpu
 * and with no gap of {@code d} or longer ({@link Timetable#gapBound}) only in the node's final free run, so for such
 * a node only the run's start matters. Per node class this keeps the nodes sorted by (final-run start, index), and
 * apart the few nodes with any gap at all, which are the only ones whose steps may need walking. The plan is the one
 * the plain scan gives: the same earliest start and, among equal candidates, the same tie-breaks.
 */
final class ExclusiveBackfill {
    private final Timetable table;
    private final int[] nodeClass;
    /** Per node, the start of its final free run. */
    private final long[] free;
    /** Per class, its nodes ascending by (free, index); {@code pos} is each node's place there. */
    private final int[][] sorted;
    private final int[] pos;
    /** Per class, its nodes that have a gap or no cpus (whose search may walk the steps), in any order. */
    private final int[][] gappy;
    private final int[] gappySize;
    private final int[] gappyPos;
    private final int[] cursor;
    private final Timetable.Windows windows = new Timetable.Windows();
    private long[] events = new long[128];
    private int[] chosen = new int[16];
    private long[] chosenKey = new long[16];

    /** {@code nodeClass[j]} is node j's class, or -1 when it takes no new work. All nodes are exclusive. */
    ExclusiveBackfill(Timetable table, int[] nodeClass, int classes) {
        this.table = table;
        this.nodeClass = nodeClass;
        int n = nodeClass.length;
        free = new long[n];
        pos = new int[n];
        gappyPos = new int[n];
        int[] counts = new int[classes];
        for (int c : nodeClass) {
            if (c >= 0) {
                counts[c]++;
            }
        }
        sorted = new int[classes][];
        gappy = new int[classes][];
        gappySize = new int[classes];
        cursor = new int[classes];
        for (int c = 0; c < classes; c++) {
            sorted[c] = new int[counts[c]];
            gappy[c] = new int[counts[c]];
        }
        int[] fill = new int[classes];
        for (int j = 0; j < n; j++) {
            gappyPos[j] = -1;
            int c = nodeClass[j];
            if (c < 0) {
                continue;
            }
            free[j] = finalRunStart(j);
            // Insertion into a sorted prefix: nodes come in index order, so equal free times stay by index.
            int[] a = sorted[c];
            int p = fill[c]++;
            while (p > 0 && less(j, a[p - 1])) {
                a[p] = a[p - 1];
                p--;
            }
            a[p] = j;
            updateGappy(j, c);
        }
        for (int c = 0; c < classes; c++) {
            int[] a = sorted[c];
            for (int p = 0; p < a.length; p++) {
                pos[a[p]] = p;
            }
        }
    }

    /**
     * The earliest start of a one-node job on the fitting classes, ties to the lower node index; its node goes to
     * {@code picked[0]}.
     */
    long placeOne(boolean[] fits, int rc, long rm, int rg, long d, int[] picked) {
        long best = Timetable.NONE;
        int bestNode = -1;
        for (int c = 0; c < sorted.length; c++) {
            if (!fits[c]) {
                continue;
            }
            int[] g = gappy[c];
            for (int i = 0, size = gappySize[c]; i < size; i++) {
                int j = g[i];
                if (walks(j, d)) {
                    long t = table.earliest(j, rc, rm, rg, d, 0, best == Timetable.NONE ? best : best + 1);
                    if (t < best || (t == best && t != Timetable.NONE && j < bestNode)) {
                        best = t;
                        bestNode = j;
                    }
                }
            }
            // Every node's earliest start is at most its final-run start, so the smallest of those, gappy or not,
            // together with the walked nodes' earliest starts, gives the minimum.
            if (sorted[c].length > 0) {
                int j = sorted[c][0];
                long t = free[j];
                if (t < best || (t == best && j < bestNode)) {
                    best = t;
                    bestNode = j;
                }
            }
        }
        picked[0] = bestNode;
        return best;
    }

    /**
     * The earliest start at which {@code k} fitting nodes are free for {@code d}, and which nodes (among those free
     * then, the most recently freed, ties to the lower index), as the plain scan finds them.
     */
    long placeMany(boolean[] fits, int k, int rc, long rm, int rg, long d, int[] picked) {
        int classes = sorted.length;
        // Upper bound: the k-th smallest final-run start.
        for (int c = 0; c < classes; c++) {
            cursor[c] = 0;
        }
        long upper = 0;
        for (int i = 0; i < k; i++) {
            int bestClass = -1;
            int best = -1;
            for (int c = 0; c < classes; c++) {
                if (fits[c] && cursor[c] < sorted[c].length) {
                    int j = sorted[c][cursor[c]];
                    if (best < 0 || less(j, best)) {
                        best = j;
                        bestClass = c;
                    }
                }
            }
            cursor[bestClass]++;
            upper = free[best];
        }
        windows.clear();
        for (int c = 0; c < classes; c++) {
            if (!fits[c]) {
                continue;
            }
            int[] g = gappy[c];
            for (int i = 0, size = gappySize[c]; i < size; i++) {
                int j = g[i];
                if (walks(j, d)) {
                    table.windows(j, rc, rm, rg, d, 0, upper, windows);
                }
            }
            // The other nodes' only window is [free, open). Those starting at upper are left out of the sweep: they
            // open no earlier than upper, where k nodes are free anyway.
            int[] a = sorted[c];
            for (int i = 0; i < a.length; i++) {
                int j = a[i];
                if (free[j] >= upper) {
                    break;
                }
                if (!walks(j, d)) {
                    windows.add(j, free[j], Timetable.NONE);
                }
            }
        }
        int w = windows.count;
        if (events.length < 2 * w) {
            events = new long[4 * w];
        }
        int e = 0;
        for (int i = 0; i < w; i++) {
            events[e++] = (windows.from[i] << 1) | 1;
            if (windows.to[i] != Timetable.NONE) {
                events[e++] = (windows.to[i] + 1) << 1; // ends sort before starts at the same time
            }
        }
        java.util.Arrays.sort(events, 0, e);
        int open = 0;
        long start = upper;
        for (int i = 0; i < e; i++) {
            if ((events[i] & 1) == 1) {
                if (++open >= k) {
                    start = events[i] >> 1;
                    break;
                }
            } else {
                open--;
            }
        }
        if (chosen.length < k) {
            chosen = new int[k];
            chosenKey = new long[k];
        }
        int filled = 0;
        for (int i = 0; i < w; i++) {
            if (windows.from[i] <= start && start <= windows.to[i]) {
                filled = TimetableScheduler.insertChosen(chosen, chosenKey, filled, k, windows.node[i], -windows.from[i]);
            }
        }
        if (start == upper) {
            // The nodes left out above, free from upper: the best candidates, lowest indices first.
            for (int c = 0; c < classes; c++) {
                if (!fits[c]) {
                    continue;
                }
                int[] a = sorted[c];
                int taken = 0;
                for (int i = 0; i < a.length && taken < k; i++) {
                    int j = a[i];
                    if (free[j] > upper) {
                        break;
                    }
                    if (free[j] == upper && !walks(j, d)) {
                        filled = TimetableScheduler.insertChosen(chosen, chosenKey, filled, k, j, -upper);
                        taken++;
                    }
                }
            }
        }
        System.arraycopy(chosen, 0, picked, 0, k);
        return start;
    }

    /** Takes note of a job just added to node {@code j}'s timetable. */
    void update(int j) {
        int c = nodeClass[j];
        long f = finalRunStart(j);
        if (f != free[j]) {
            free[j] = f;
            int[] a = sorted[c];
            int p = pos[j];
            while (p + 1 < a.length && less(a[p + 1], j)) {
                a[p] = a[p + 1];
                pos[a[p]] = p;
                p++;
            }
            while (p > 0 && less(j, a[p - 1])) {
                a[p] = a[p - 1];
                pos[a[p]] = p;
                p--;
            }
            a[p] = j;
            pos[j] = p;
        }
        updateGappy(j, c);
    }

    /** Whether a job of duration {@code d} may fit node {@code j} before its final run (as Timetable decides it). */
    private boolean walks(int j, long d) {
        return table.capCpus[j] < 1 || table.gapBound[j] >= d;
    }

    private void updateGappy(int j, int c) {
        boolean in = table.capCpus[j] < 1 || table.gapBound[j] > 0;
        int p = gappyPos[j];
        if (in && p < 0) {
            gappy[c][gappySize[c]] = j;
            gappyPos[j] = gappySize[c]++;
        } else if (!in && p >= 0) {
            int last = gappy[c][--gappySize[c]];
            gappy[c][p] = last;
            gappyPos[last] = p;
            gappyPos[j] = -1;
        }
    }

    private long finalRunStart(int j) {
        return table.finalRunStart(j, table.capCpus[j], table.capMem[j], table.capGpus[j]);
    }

    private boolean less(int a, int b) {
        return free[a] < free[b] || (free[a] == free[b] && a < b);
    }
}
