package dev.skyport.scheduler.internal;

import java.util.Arrays;

/**
 * Per node, what is used when: a step function of cpus, memory and gpus over time in milliseconds from the pass's
 * {@code now}. Step {@code i} of node {@code j} covers {@code [times[j][i], times[j][i+1])}; the last step runs to
 * infinity and is always empty, because every job ends. Primitive arrays only, so a pass over thousands of nodes
 * allocates almost nothing per job. An exclusive node is modelled as a job taking all of it.
 */
final class Timetable {
    /** Where an allocation without a known end ends: about a century, so that every job still gets a start. */
    static final long FOREVER = 100L * 365 * 24 * 3600 * 1000;
    /** No such time. */
    static final long NONE = Long.MAX_VALUE >> 2;

    final int nodeCount;
    final int[] capCpus;
    final long[] capMem;
    final int[] capGpus;
    final boolean[] exclusive;
    final long[][] times;
    final int[][] usedCpus;
    final long[][] usedMemory;
    final int[][] usedGpus;
    final int[] size;
    /**
     * At least the longest run of steps that are not cpu-full and that is followed by a cpu-full step: exact when
     * {@link #gapDirty} is false. A job asking for at least one cpu and lasting longer fits this node only within the
     * final run of steps with a cpu free, so its search starts there. (On an exclusive node that run is the node's
     * final free run.) {@link #add} keeps it an upper bound cheaply; it is recomputed only when too large to rule a
     * job out.
     */
    private final long[] gapBound;
    private final boolean[] gapDirty;
    /**
     * Whether {@link #add} keeps {@link #gapBound} and {@link #lastCpuFree}: only exclusive nodes are searched
     * through them. On shared nodes the shape index finds starts, and the upkeep (per reservation, a walk back from
     * the node's last step over those with a cpu free) cost ~8 % of a 100k pass; without it a search walks from
     * where it was asked to.
     */
    private final boolean boundsGaps;
    /** The start of the final run of steps with a cpu free: {@link #finalRunStart}{@code (j, 1, 0, 0)}, kept. */
    private final long[] lastCpuFree;
    /** Per node, how many reservations it has taken: what {@link StartBounds} keeps its bounds with. */
    final int[] version;
    /** The last reservation's node, that node's version after it, its start and the step containing that start. */
    private int addedNode = -1;
    private int addedVersion;
    private long addedStart;
    private int addedStep;

    /** Empty nodes of these capacities; {@code boundsGaps}: whether {@link #add} keeps the gap bounds. */
    Timetable(int[] capCpus, long[] capMem, int[] capGpus, boolean[] exclusive, boolean boundsGaps) {
        this.boundsGaps = boundsGaps;
        this.nodeCount = capCpus.length;
        this.capCpus = capCpus;
        this.capMem = capMem;
        this.capGpus = capGpus;
        this.exclusive = exclusive;
        times = new long[nodeCount][];
        usedCpus = new int[nodeCount][];
        usedMemory = new long[nodeCount][];
        usedGpus = new int[nodeCount][];
        size = new int[nodeCount];
        gapBound = new long[nodeCount];
        gapDirty = new boolean[nodeCount];
        lastCpuFree = new long[nodeCount];
        version = new int[nodeCount];
        for (int j = 0; j < nodeCount; j++) {
            times[j] = new long[4];
            usedCpus[j] = new int[4];
            usedMemory[j] = new long[4];
            usedGpus[j] = new int[4];
            size[j] = 1;
        }
    }

    /** Whether a job asking {@code cpus, memory, gpus} per node could ever run on node {@code j} (when empty). */
    boolean canHold(int j, int cpus, long memory, int gpus) {
        return cpus <= capCpus[j] && memory <= capMem[j] && gpus <= capGpus[j];
    }

    /** Reserves {@code cpus, memory, gpus} on node {@code j} during {@code [start, end)}; exclusive ones whole. */
    void add(int j, long start, long end, int cpus, long memory, int gpus) {
        if (end <= start) {
            return;
        }
        if (exclusive[j]) {
            cpus = capCpus[j];
            memory = capMem[j];
            gpus = capGpus[j];
        }
        version[j]++;
        int from = split(j, start, indexAt(j, start));
        // The end lies a few steps after the start (3.7 on the bench): walked to rather than searched for again.
        int endStep = from;
        while (endStep + 1 < size[j] && times[j][endStep + 1] <= end) {
            endStep++;
        }
        int to = split(j, end, endStep);
        int[] cpusUsed = usedCpus[j];
        long[] memoryUsed = usedMemory[j];
        int[] gpusUsed = usedGpus[j];
        for (int i = from; i < to; i++) {
            cpusUsed[i] += cpus;
            memoryUsed[i] += memory;
            gpusUsed[i] += gpus;
        }
        // Steps inside the reservation differed before and got the same addition: only its two edges may merge.
        if (same(j, to - 1, to)) {
            remove(j, to);
        }
        if (from > 0 && same(j, from - 1, from)) {
            remove(j, from);
            from--;
        }
        addedNode = j;
        addedVersion = version[j];
        addedStart = start;
        addedStep = from;
        // Runs before the final run only shrink. The final run is not followed by a full step, so it counts in no
        // gap; the reservation may fill steps in it, and then the final run starts later and the runs between its
        // old and its new start are new gaps.
        gapDirty[j] = true;
        if (boundsGaps && end >= lastCpuFree[j]) {
            long old = lastCpuFree[j];
            lastCpuFree[j] = finalRunStart(j, 1, 0, 0);
            if (lastCpuFree[j] > old) {
                gapBound[j] = Math.max(gapBound[j], longestGap(j, indexAt(j, old), indexAt(j, lastCpuFree[j])));
            }
        }
    }

    /** The longest run of steps that are not cpu-full and are followed by a cpu-full step on node {@code j}. */
    long gapBound(int j) {
        if (gapDirty[j]) {
            gapBound[j] = longestGap(j, 0, size[j] - 1);
            gapDirty[j] = false;
        }
        return gapBound[j];
    }

    /** Whether a job asking for a cpu and lasting {@code millis} can fit node {@code j} only in its final run. */
    private boolean onlyInFinalRun(int j, int cpus, long millis) {
        return boundsGaps && cpus >= 1 && (gapBound[j] < millis || gapBound(j) < millis);
    }

    /**
     * The earliest {@code t >= from} at which a job asking {@code cpus, memory, gpus} fits node {@code j} for
     * {@code millis} milliseconds, or {@link #NONE} when there is none before {@code limit}.
     */
    long earliest(int j, int cpus, long memory, int gpus, long millis, long from, long limit) {
        int asked = exclusive[j] ? capCpus[j] : cpus;
        if (onlyInFinalRun(j, asked, millis)) {
            from = Math.max(from, lastCpuFree[j]);
        }
        return earliestFrom(j, cpus, memory, gpus, millis, from, limit);
    }

    /**
     * As {@link #earliest}, walking every step from {@code from}: for a caller that knows no gap before {@code from}
     * matters, which spares the gap bound's upkeep.
     */
    long earliestFrom(int j, int cpus, long memory, int gpus, long millis, long from, long limit) {
        if (exclusive[j]) {
            cpus = capCpus[j];
            memory = capMem[j];
            gpus = capGpus[j];
        }
        long[] ts = times[j];
        int[] cpusUsed = usedCpus[j];
        long[] memoryUsed = usedMemory[j];
        int[] gpusUsed = usedGpus[j];
        // What a step may already use for the job to fit it.
        int maxUsedCpus = capCpus[j] - cpus;
        long maxUsedMemory = capMem[j] - memory;
        int maxUsedGpus = capGpus[j] - gpus;
        int n = size[j];
        long runStart = -1;
        for (int i = indexAt(j, from); i < n; i++) {
            long stepStart = Math.max(ts[i], from);
            if (cpusUsed[i] <= maxUsedCpus && memoryUsed[i] <= maxUsedMemory && gpusUsed[i] <= maxUsedGpus) {
                if (runStart < 0) {
                    if (stepStart >= limit) {
                        return NONE;
                    }
                    runStart = stepStart;
                }
                if (i == n - 1 || ts[i + 1] - runStart >= millis) {
                    return runStart;
                }
            } else {
                runStart = -1;
                if (stepStart >= limit) {
                    return NONE;
                }
            }
        }
        return NONE; // unreachable: the last step is empty
    }

    /**
     * Appends to {@code out} the windows of start times {@code [a, b]} (b inclusive, {@link #NONE} for open) at which
     * the job fits node {@code j} for {@code millis}, with {@code a >= from} and {@code a <= limit}. Returns the new
     * count.
     */
    int windows(int j, int cpus, long memory, int gpus, long millis, long from, long limit, Windows out) {
        int asked = exclusive[j] ? capCpus[j] : cpus;
        if (onlyInFinalRun(j, asked, millis)) {
            from = Math.max(from, lastCpuFree[j]);
        }
        return windowsFrom(j, cpus, memory, gpus, millis, from, limit, out);
    }

    /** As {@link #windows}, walking every step from {@code from}, as {@link #earliestFrom}. */
    int windowsFrom(int j, int cpus, long memory, int gpus, long millis, long from, long limit, Windows out) {
        if (exclusive[j]) {
            cpus = capCpus[j];
            memory = capMem[j];
            gpus = capGpus[j];
        }
        long[] ts = times[j];
        int[] cpusUsed = usedCpus[j];
        long[] memoryUsed = usedMemory[j];
        int[] gpusUsed = usedGpus[j];
        int maxUsedCpus = capCpus[j] - cpus;
        long maxUsedMemory = capMem[j] - memory;
        int maxUsedGpus = capGpus[j] - gpus;
        int n = size[j];
        long runStart = -1;
        for (int i = indexAt(j, from); i < n; i++) {
            long stepStart = Math.max(ts[i], from);
            if (cpusUsed[i] <= maxUsedCpus && memoryUsed[i] <= maxUsedMemory && gpusUsed[i] <= maxUsedGpus) {
                if (runStart < 0) {
                    if (stepStart > limit) {
                        break;
                    }
                    runStart = stepStart;
                }
                if (i == n - 1) {
                    out.add(j, runStart, NONE);
                }
            } else {
                if (runStart >= 0 && stepStart - runStart >= millis) {
                    out.add(j, runStart, stepStart - millis);
                }
                runStart = -1;
                if (stepStart > limit) {
                    break;
                }
            }
        }
        return out.count;
    }

    /** The start of the final run of steps in which the job fits node {@code j}. */
    long finalRunStart(int j, int cpus, long memory, int gpus) {
        int i = size[j] - 1;
        while (i > 0 && fits(j, i - 1, cpus, memory, gpus)) {
            i--;
        }
        return times[j][i];
    }

    /** The job's request as node {@code j} counts it: all of it when exclusive. */
    private boolean fits(int j, int i, int cpus, long memory, int gpus) {
        return usedCpus[j][i] + cpus <= capCpus[j] && usedMemory[j][i] + memory <= capMem[j]
                && usedGpus[j][i] + gpus <= capGpus[j];
    }

    /** The index of the step containing {@code t}. */
    int indexAt(int j, long t) {
        long[] ts = times[j];
        int lo = 0;
        int hi = size[j] - 1;
        if (ts[hi] <= t) {
            return hi;
        }
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (ts[mid] <= t) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /**
     * The index of the step of node j containing {@code t}: known without a search when {@code t} is where the last
     * reservation started and nothing was added to the node since, as when the shape index notes that reservation.
     */
    int stepAt(int j, long t) {
        return addedNode == j && addedVersion == version[j] && addedStart == t ? addedStep : indexAt(j, t);
    }

    /**
     * Makes {@code t} a step boundary of node {@code j} and returns the index of the step starting there; {@code i}
     * is the index of the step containing {@code t}.
     */
    private int split(int j, long t, int i) {
        if (times[j][i] == t) {
            return i;
        }
        int n = size[j];
        if (n == times[j].length) {
            int cap = n * 2;
            times[j] = Arrays.copyOf(times[j], cap);
            usedCpus[j] = Arrays.copyOf(usedCpus[j], cap);
            usedMemory[j] = Arrays.copyOf(usedMemory[j], cap);
            usedGpus[j] = Arrays.copyOf(usedGpus[j], cap);
        }
        int at = i + 1;
        System.arraycopy(times[j], at, times[j], at + 1, n - at);
        System.arraycopy(usedCpus[j], at, usedCpus[j], at + 1, n - at);
        System.arraycopy(usedMemory[j], at, usedMemory[j], at + 1, n - at);
        System.arraycopy(usedGpus[j], at, usedGpus[j], at + 1, n - at);
        times[j][at] = t;
        usedCpus[j][at] = usedCpus[j][i];
        usedMemory[j][at] = usedMemory[j][i];
        usedGpus[j][at] = usedGpus[j][i];
        size[j] = n + 1;
        return at;
    }

    private boolean same(int j, int a, int b) {
        return usedCpus[j][a] == usedCpus[j][b] && usedMemory[j][a] == usedMemory[j][b]
                && usedGpus[j][a] == usedGpus[j][b];
    }

    /** Removes step {@code i} of node {@code j}, so that the step before it covers its time too. */
    private void remove(int j, int i) {
        int n = size[j] - 1;
        System.arraycopy(times[j], i + 1, times[j], i, n - i);
        System.arraycopy(usedCpus[j], i + 1, usedCpus[j], i, n - i);
        System.arraycopy(usedMemory[j], i + 1, usedMemory[j], i, n - i);
        System.arraycopy(usedGpus[j], i + 1, usedGpus[j], i, n - i);
        size[j] = n;
    }

    /** The longest run of steps with a cpu free that is followed by a full one, among steps {@code from..to}. */
    private long longestGap(int j, int from, int to) {
        long[] ts = times[j];
        int[] cpusUsed = usedCpus[j];
        int cap = capCpus[j];
        long longest = 0;
        long runStart = -1;
        for (int i = from; i <= to; i++) {
            if (cpusUsed[i] < cap) {
                if (runStart < 0) {
                    runStart = ts[i];
                }
            } else if (runStart >= 0) {
                longest = Math.max(longest, ts[i] - runStart);
                runStart = -1;
            }
        }
        return longest;
    }

    /** A reusable buffer of start windows, so a pass does not allocate per job. */
    static final class Windows {
        int count;
        int[] node = new int[64];
        long[] from = new long[64];
        long[] to = new long[64];
        private long[] events = new long[128];

        void clear() {
            count = 0;
        }

        void add(int j, long a, long b) {
            if (count == node.length) {
                node = Arrays.copyOf(node, count * 2);
                from = Arrays.copyOf(from, count * 2);
                to = Arrays.copyOf(to, count * 2);
            }
            node[count] = j;
            from[count] = a;
            to[count] = b;
            count++;
        }

        /**
         * The earliest time at least {@code k} of the windows are open at once, or {@link #NONE} when they never
         * are. Windows are closed intervals of start times; {@code to} is {@link #NONE} for open-ended ones.
         */
        long earliestOverlap(int k) {
            if (events.length < 2 * count) {
                events = new long[4 * count];
            }
            int e = 0;
            for (int i = 0; i < count; i++) {
                events[e++] = (from[i] << 1) | 1;
                if (to[i] != NONE) {
                    events[e++] = (to[i] + 1) << 1; // ends sort before starts at the same time
                }
            }
            Arrays.sort(events, 0, e);
            int open = 0;
            for (int i = 0; i < e; i++) {
                if ((events[i] & 1) == 1) {
                    if (++open >= k) {
                        return events[i] >> 1;
                    }
                } else {
                    open--;
                }
            }
            return NONE;
        }
    }
}
