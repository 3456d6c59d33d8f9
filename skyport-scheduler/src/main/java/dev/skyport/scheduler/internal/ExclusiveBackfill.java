package dev.skyport.scheduler.internal;

/**
 * Backfill on exclusive nodes without scanning every node per job. A job lasting {@code millis} fits a node with a
 * cpu and with no gap of {@code millis} or longer ({@link Timetable#gapBound}) only in the node's final free run, so
 * for such a node only the run's start matters. Per node class this keeps the nodes sorted by (final-run start,
 * index), and apart the few nodes with any gap at all, which are the only ones whose steps may need walking. The plan
 * is the one the plain scan gives: the same earliest start and, among equal candidates, the same tie-breaks.
 */
final class ExclusiveBackfill {
    private final Timetable table;
    private final int[] nodeClass;
    /** Per node, the start of its final free run. */
    private final long[] free;
    /** Per class, its nodes ascending by (free, index). */
    private final int[][] sorted;
    /**
     * Per node, minus the longest job that may fit it before its final run: minus its gap bound, or the most negative
     * value when it has no cpus (then Timetable walks its steps for any job).
     */
    private final long[] gapKey;
    /** Per class, its nodes ascending by (gapKey, index): those a job may fit before their final run come first. */
    private final int[][] gappy;
    private final int[] cursor;
    private final Timetable.Windows windows = new Timetable.Windows();
    private int[] chosen = new int[16];
    private long[] chosenKey = new long[16];

    /** {@code nodeClass[j]} is node j's class, or -1 when it takes no new work. All nodes are exclusive. */
    ExclusiveBackfill(Timetable table, int[] nodeClass, int classes) {
        this.table = table;
        this.nodeClass = nodeClass;
        int n = nodeClass.length;
        free = new long[n];
        gapKey = new long[n];
        int[] counts = new int[classes];
        for (int c : nodeClass) {
            if (c >= 0) {
                counts[c]++;
            }
        }
        sorted = new int[classes][];
        gappy = new int[classes][];
        cursor = new int[classes];
        for (int c = 0; c < classes; c++) {
            sorted[c] = new int[counts[c]];
            gappy[c] = new int[counts[c]];
        }
        int[] fill = new int[classes];
        for (int j = 0; j < n; j++) {
            int c = nodeClass[j];
            if (c < 0) {
                continue;
            }
            free[j] = finalRunStart(j);
            gapKey[j] = gapKey(j);
            insert(sorted[c], fill[c], free, j);
            insert(gappy[c], fill[c], gapKey, j);
            fill[c]++;
        }
    }

    /**
     * Places a job asking {@code cpus, memory, gpus} on each of {@code k} nodes of the fitting classes for
     * {@code millis}: writes its nodes to {@code picked}, reserves them in the timetable and returns its start.
     */
    long place(boolean[] fits, int k, int cpus, long memory, int gpus, long millis, int[] picked) {
        long start = k == 1 ? placeOne(fits, cpus, memory, gpus, millis, picked)
                : placeMany(fits, k, cpus, memory, gpus, millis, picked);
        for (int i = 0; i < k; i++) {
            int j = picked[i];
            table.add(j, start, start + millis, cpus, memory, gpus);
            update(j);
        }
        return start;
    }

    /**
     * The earliest start of a one-node job on the fitting classes, ties to the lower node index; its node goes to
     * {@code picked[0]}.
     */
    private long placeOne(boolean[] fits, int cpus, long memory, int gpus, long millis, int[] picked) {
        long best = Timetable.NONE;
        int bestNode = -1;
        for (int c = 0; c < sorted.length; c++) {
            if (!fits[c]) {
                continue;
            }
            int[] g = gappy[c];
            // The nodes this job may fit before their final run come first.
            for (int i = 0; i < g.length && walks(g[i], millis); i++) {
                int j = g[i];
                long t = table.earliest(j, cpus, memory, gpus, millis, 0, best == Timetable.NONE ? best : best + 1);
                if (t < best || (t == best && t != Timetable.NONE && j < bestNode)) {
                    best = t;
                    bestNode = j;
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
     * The earliest start at which {@code k} fitting nodes are free for {@code millis}, and which nodes (among
     * those free then, the most recently freed, ties to the lower index), as the plain scan finds them.
     */
    private long placeMany(boolean[] fits, int k, int cpus, long memory, int gpus, long millis, int[] picked) {
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
            for (int i = 0; i < g.length && walks(g[i], millis); i++) {
                table.windows(g[i], cpus, memory, gpus, millis, 0, upper, windows);
            }
            // The other nodes' only window is [free, open). Those starting at upper are left out of the sweep: they
            // open no earlier than upper, where k nodes are free anyway.
            int[] a = sorted[c];
            for (int i = 0; i < a.length; i++) {
                int j = a[i];
                if (free[j] >= upper) {
                    break;
                }
                if (!walks(j, millis)) {
                    windows.add(j, free[j], Timetable.NONE);
                }
            }
        }
        long found = windows.earliestOverlap(k);
        long start = found == Timetable.NONE ? upper : found;
        int w = windows.count;
        if (chosen.length < k) {
            chosen = new int[k];
            chosenKey = new long[k];
        }
        int filled = 0;
        for (int i = 0; i < w; i++) {
            if (windows.from[i] <= start && start <= windows.to[i]) {
                filled = TimetableScheduler.insertChosen(chosen, chosenKey, filled, k, windows.node[i],
                        -windows.from[i]);
            }
        }
        if (start == upper) {
            filled = chooseAmongFreeFromUpper(fits, k, millis, upper, filled);
        }
        System.arraycopy(chosen, 0, picked, 0, k);
        return start;
    }

    /**
     * Offers {@link #placeMany}'s choice the nodes its sweep left out, those free from {@code upper} on, which are the
     * best candidates when the job starts there: lowest indices first. Returns the new fill of {@link #chosen}.
     */
    private int chooseAmongFreeFromUpper(boolean[] fits, int k, long millis, long upper, int filled) {
        for (int c = 0; c < sorted.length; c++) {
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
                if (free[j] == upper && !walks(j, millis)) {
                    filled = TimetableScheduler.insertChosen(chosen, chosenKey, filled, k, j, -upper);
                    taken++;
                }
            }
        }
        return filled;
    }

    /** Takes note of a job just added to node {@code j}'s timetable. */
    private void update(int j) {
        int c = nodeClass[j];
        long f = finalRunStart(j);
        // Both lists stay sorted by moving the node's entry: a binary search and a block copy, no per-entry work.
        if (f != free[j]) {
            move(sorted[c], free, j, f);
        }
        long g = gapKey(j);
        if (g != gapKey[j]) {
            move(gappy[c], gapKey, j, g);
        }
    }

    /** Whether a job lasting {@code millis} may fit node {@code j} before its final run (as Timetable decides it). */
    private boolean walks(int j, long millis) {
        return gapKey[j] <= -millis;
    }

    private long gapKey(int j) {
        return table.capCpus[j] < 1 ? -Timetable.NONE : -table.gapBound(j);
    }

    private long finalRunStart(int j) {
        return table.finalRunStart(j, table.capCpus[j], table.capMem[j], table.capGpus[j]);
    }

    private boolean less(int a, int b) {
        return free[a] < free[b] || (free[a] == free[b] && a < b);
    }

    /** Inserts node {@code j} into {@code a[0..len)}, sorted ascending by (key, index). */
    private static void insert(int[] a, int len, long[] key, int j) {
        int q = lowerBound(a, 0, len, key, key[j], j);
        System.arraycopy(a, q, a, q + 1, len - q);
        a[q] = j;
    }

    /** Changes node {@code j}'s key in {@code a}, sorted ascending by (key, index), keeping it sorted. */
    private static void move(int[] a, long[] key, int j, long newKey) {
        int p = lowerBound(a, 0, a.length, key, key[j], j);
        boolean later = newKey > key[j];
        key[j] = newKey;
        // Only the entries between the old and the new place shift, by one.
        if (later) {
            int q = lowerBound(a, p + 1, a.length, key, newKey, j);
            System.arraycopy(a, p + 1, a, p, q - 1 - p);
            a[q - 1] = j;
        } else {
            int q = lowerBound(a, 0, p, key, newKey, j);
            System.arraycopy(a, q, a, q + 1, p - q);
            a[q] = j;
        }
    }

    /** The first place in {@code a[from..to)} whose (key, index) is not below {@code (k, j)}. */
    private static int lowerBound(int[] a, int from, int to, long[] key, long k, int j) {
        int lo = from;
        int hi = to;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            int m = a[mid];
            if (key[m] < k || (key[m] == k && m < j)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
