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
    final int[][] cpus;
    final long[][] mem;
    final int[][] gpus;
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
    /** The start of the final run of steps with a cpu free: {@link #finalRunStart}{@code (j, 1, 0, 0)}, kept. */
    private final long[] lastCpuFree;
    /** Per node, how many reservations it has taken: what {@link StartBounds} keeps its bounds with. */
    final int[] version;

    Timetable(int[] capCpus, long[] capMem, int[] capGpus, boolean[] exclusive) {
        this.nodeCount = capCpus.length;
        this.capCpus = capCpus;
        this.capMem = capMem;
        this.capGpus = capGpus;
        this.exclusive = exclusive;
        times = new long[nodeCount][];
        cpus = new int[nodeCount][];
        mem = new long[nodeCount][];
        gpus = new int[nodeCount][];
        size = new int[nodeCount];
        gapBound = new long[nodeCount];
        gapDirty = new boolean[nodeCount];
        lastCpuFree = new long[nodeCount];
        version = new int[nodeCount];
        for (int j = 0; j < nodeCount; j++) {
            times[j] = new long[4];
            cpus[j] = new int[4];
            mem[j] = new long[4];
            gpus[j] = new int[4];
            size[j] = 1;
        }
    }

    /** Whether a job asking {@code rc, rm, rg} per node could ever run on node {@code j} (when it is empty). */
    boolean canHold(int j, int rc, long rm, int rg) {
        return rc <= capCpus[j] && rm <= capMem[j] && rg <= capGpus[j];
    }

    /** Reserves {@code rc, rm, rg} on node {@code j} during {@code [start, end)}; exclusive nodes are taken whole. */
    void add(int j, long start, long end, int rc, long rm, int rg) {
        if (end <= start) {
            return;
        }
        if (exclusive[j]) {
            rc = capCpus[j];
            rm = capMem[j];
            rg = capGpus[j];
        }
        version[j]++;
        int from = split(j, start);
        int to = split(j, end);
        int[] c = cpus[j];
        long[] m = mem[j];
        int[] g = gpus[j];
        for (int i = from; i < to; i++) {
            c[i] += rc;
            m[i] += rm;
            g[i] += rg;
        }
        // Steps inside the reservation differed before and got the same addition: only its two edges may merge.
        if (same(j, to - 1, to)) {
            remove(j, to);
        }
        if (from > 0 && same(j, from - 1, from)) {
            remove(j, from);
        }
        // Runs before the final run only shrink. The final run is not followed by a full step, so it counts in no
        // gap; the reservation may fill steps in it, and then the final run starts later and the runs between its
        // old and its new start are new gaps.
        gapDirty[j] = true;
        if (end >= lastCpuFree[j]) {
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

    /** Whether a job asking for a cpu and lasting {@code d} can fit node {@code j} only in its final run. */
    private boolean onlyInFinalRun(int j, int rc, long d) {
        return rc >= 1 && (gapBound[j] < d || gapBound(j) < d);
    }

    /**
     * The earliest {@code t >= from} at which a job asking {@code rc, rm, rg} fits node {@code j} for {@code d}
     * milliseconds, or {@link #NONE} when there is none before {@code limit}.
     */
    long earliest(int j, int rc, long rm, int rg, long d, long from, long limit) {
        if (exclusive[j]) {
            rc = capCpus[j];
            rm = capMem[j];
            rg = capGpus[j];
        }
        if (onlyInFinalRun(j, rc, d)) {
            from = Math.max(from, lastCpuFree[j]);
        }
        long[] ts = times[j];
        int[] c = cpus[j];
        long[] m = mem[j];
        int[] g = gpus[j];
        // What a step may already use for the job to fit it.
        int maxC = capCpus[j] - rc;
        long maxM = capMem[j] - rm;
        int maxG = capGpus[j] - rg;
        int n = size[j];
        long runStart = -1;
        for (int i = indexAt(j, from); i < n; i++) {
            long stepStart = Math.max(ts[i], from);
            if (c[i] <= maxC && m[i] <= maxM && g[i] <= maxG) {
                if (runStart < 0) {
                    if (stepStart >= limit) {
                        return NONE;
                    }
                    runStart = stepStart;
                }
                if (i == n - 1 || ts[i + 1] - runStart >= d) {
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
     * the job fits node {@code j} for {@code d}, with {@code a >= from} and {@code a <= limit}. Returns the new count.
     */
    int windows(int j, int rc, long rm, int rg, long d, long from, long limit, Windows out) {
        if (exclusive[j]) {
            rc = capCpus[j];
            rm = capMem[j];
            rg = capGpus[j];
        }
        if (onlyInFinalRun(j, rc, d)) {
            from = Math.max(from, lastCpuFree[j]);
        }
        long[] ts = times[j];
        int[] c = cpus[j];
        long[] m = mem[j];
        int[] g = gpus[j];
        int maxC = capCpus[j] - rc;
        long maxM = capMem[j] - rm;
        int maxG = capGpus[j] - rg;
        int n = size[j];
        long runStart = -1;
        for (int i = indexAt(j, from); i < n; i++) {
            long stepStart = Math.max(ts[i], from);
            if (c[i] <= maxC && m[i] <= maxM && g[i] <= maxG) {
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
                if (runStart >= 0 && stepStart - runStart >= d) {
                    out.add(j, runStart, stepStart - d);
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
    long finalRunStart(int j, int rc, long rm, int rg) {
        int i = size[j] - 1;
        while (i > 0 && fits(j, i - 1, rc, rm, rg)) {
            i--;
        }
        return times[j][i];
    }

    /** The job's request as node {@code j} counts it: all of it when exclusive. */
    private boolean fits(int j, int i, int rc, long rm, int rg) {
        return cpus[j][i] + rc <= capCpus[j] && mem[j][i] + rm <= capMem[j] && gpus[j][i] + rg <= capGpus[j];
    }

    /** The index of the step containing {@code t}. */
    private int indexAt(int j, long t) {
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

    /** Makes {@code t} a step boundary of node {@code j} and returns the index of the step starting there. */
    private int split(int j, long t) {
        int i = indexAt(j, t);
        if (times[j][i] == t) {
            return i;
        }
        int n = size[j];
        if (n == times[j].length) {
            int cap = n * 2;
            times[j] = Arrays.copyOf(times[j], cap);
            cpus[j] = Arrays.copyOf(cpus[j], cap);
            mem[j] = Arrays.copyOf(mem[j], cap);
            gpus[j] = Arrays.copyOf(gpus[j], cap);
        }
        int at = i + 1;
        System.arraycopy(times[j], at, times[j], at + 1, n - at);
        System.arraycopy(cpus[j], at, cpus[j], at + 1, n - at);
        System.arraycopy(mem[j], at, mem[j], at + 1, n - at);
        System.arraycopy(gpus[j], at, gpus[j], at + 1, n - at);
        times[j][at] = t;
        cpus[j][at] = cpus[j][i];
        mem[j][at] = mem[j][i];
        gpus[j][at] = gpus[j][i];
        size[j] = n + 1;
        return at;
    }

    private boolean same(int j, int a, int b) {
        return cpus[j][a] == cpus[j][b] && mem[j][a] == mem[j][b] && gpus[j][a] == gpus[j][b];
    }

    /** Removes step {@code i} of node {@code j}, so that the step before it covers its time too. */
    private void remove(int j, int i) {
        int n = size[j] - 1;
        System.arraycopy(times[j], i + 1, times[j], i, n - i);
        System.arraycopy(cpus[j], i + 1, cpus[j], i, n - i);
        System.arraycopy(mem[j], i + 1, mem[j], i, n - i);
        System.arraycopy(gpus[j], i + 1, gpus[j], i, n - i);
        size[j] = n;
    }

    /** The longest run of steps with a cpu free that is followed by a full one, among steps {@code from..to}. */
    private long longestGap(int j, int from, int to) {
        long[] ts = times[j];
        int[] c = cpus[j];
        int cap = capCpus[j];
        long longest = 0;
        long runStart = -1;
        for (int i = from; i <= to; i++) {
            if (c[i] < cap) {
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
