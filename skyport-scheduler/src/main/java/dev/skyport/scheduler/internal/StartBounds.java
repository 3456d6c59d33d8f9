package dev.skyport.scheduler.internal;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Lower bounds on a node's earliest start for a job, so that a pass visits only the nodes that may beat the best
 * start found so far instead of walking every node's timetable per job.
 * <p>
 * A job's <em>probe</em> rounds its cpus and memory down to a grid of two cells per power of two, its duration
 * down to a power of two, and asks for no gpus. A node's earliest start only grows with the request and the
 * duration, so its earliest start for the probe bounds its earliest start for the job from below; for the jobs of
 * one shape the bound is tight wherever no gap is between half and all of the job's duration long.
 * <p>
 * Bounds are computed when first asked for and kept with the node's {@link Timetable#version}; a reservation on the
 * node makes them stale. Reservations only delay starts, so a stale bound is still a bound, only a looser one, and it
 * is where the recomputation resumes: each bound only ever walks forward.
 */
final class StartBounds {
    /**
     * Cells per power of two, as a power of two, for cpus and memory and for durations. Finer cells give tighter
     * bounds but more probes, each refreshed separately; on the bench workload these measured best.
     */
    private static final int SIZE_BITS = 1;
    private static final int DURATION_BITS = 0;
    /** Past this many probes a pass uses the trivial bound 0 for new shapes, so memory stays bounded. */
    private static final int MAX_PROBES = 512;

    private final Timetable table;
    private final Map<Long, Integer> ids = new HashMap<>();
    private int[] probeCpus = new int[16];
    private long[] probeMem = new long[16];
    private long[] probeMillis = new long[16];
    private long[][] bound = new long[16][];
    private int[][] version = new int[16][];

    StartBounds(Timetable table) {
        this.table = table;
    }

    /** The probe of a job asking {@code cpus, memory} per node for {@code millis}, or -1 for the trivial bound. */
    int probe(int cpus, long memory, long millis) {
        long key = (grid(cpus, SIZE_BITS) << 16) | (grid(memory, SIZE_BITS) << 8) | grid(millis, DURATION_BITS);
        Integer id = ids.get(key);
        if (id != null) {
            return id;
        }
        int p = ids.size();
        if (p == MAX_PROBES) {
            return -1;
        }
        if (p == bound.length) {
            probeCpus = Arrays.copyOf(probeCpus, p * 2);
            probeMem = Arrays.copyOf(probeMem, p * 2);
            probeMillis = Arrays.copyOf(probeMillis, p * 2);
            bound = Arrays.copyOf(bound, p * 2);
            version = Arrays.copyOf(version, p * 2);
        }
        probeCpus[p] = (int) roundDown(cpus, SIZE_BITS);
        probeMem[p] = roundDown(memory, SIZE_BITS);
        probeMillis[p] = roundDown(millis, DURATION_BITS);
        bound[p] = new long[table.nodeCount];
        version[p] = new int[table.nodeCount];
        Arrays.fill(version[p], -1);
        ids.put(key, p);
        return p;
    }

    /**
     * A time no later than the earliest start on node {@code j} of any job whose probe is {@code p}. The node must
     * be able to hold the probe's request when empty.
     */
    long bound(int p, int j) {
        if (p < 0) {
            return 0;
        }
        int v = table.version[j];
        long[] b = bound[p];
        if (version[p][j] != v) {
            b[j] = table.earliest(j, probeCpus[p], probeMem[p], 0, probeMillis[p], b[j], Timetable.NONE);
            version[p][j] = v;
        }
        return b[j];
    }

    /** Whether {@link #stale} is {@link #bound}: no reservation has reached node {@code j} since it was computed. */
    boolean fresh(int p, int j) {
        return p < 0 || version[p][j] == table.version[j];
    }

    /** A possibly stale, so looser, bound: {@link #bound} as last computed, without refreshing it. */
    long stale(int p, int j) {
        return p < 0 ? 0 : bound[p][j];
    }

    /**
     * The grid cell of {@code x >= 0} with {@code 2^bits} cells per power of two: x itself while below
     * {@code 2^(bits+1)}, where every cell is one value wide.
     */
    static long grid(long x, int bits) {
        if (x < (2L << bits)) {
            return x;
        }
        int e = 63 - Long.numberOfLeadingZeros(x);
        return (2L << bits) + ((long) (e - bits - 1) << bits) + ((x >>> (e - bits)) - (1L << bits));
    }

    /** The smallest value in {@code x}'s grid cell: at most x, and more than x / (1 + 2^-bits). */
    static long roundDown(long x, int bits) {
        if (x < (2L << bits)) {
            return x;
        }
        int e = 63 - Long.numberOfLeadingZeros(x);
        return (x >>> (e - bits)) << (e - bits);
    }
}
