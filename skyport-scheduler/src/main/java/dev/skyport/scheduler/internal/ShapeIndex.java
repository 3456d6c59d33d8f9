package dev.skyport.scheduler.internal;

import java.util.Arrays;

/**
 * Where a job of a given shape can start, kept up to date for every node as reservations are made, so that a pass on
 * shared nodes finds a job's earliest start without visiting the nodes that cannot have it.
 * <p>
 * A <em>shape</em> rounds a job's cpus, memory and gpus down to a grid of two cells per power of two (a job asking
 * for 1, 4, 8, 16, 32 cpus or 1, 8, 32, 64 GiB is its own shape). Per shape and node it keeps two facts about the
 * steps in which the shape fits:
 * <ul>
 * <li>the start of the <em>final run</em>: from there on the shape fits for ever, so a job of the shape (and of any
 * duration) can start there. On a busy cluster this is where almost every job starts (95 % of the one-node jobs of
 * the bench's 10k and 100k runs);</li>
 * <li>the <em>gaps</em>: runs of steps in which the shape fits that end before the final run, listed when a job of
 * the pass could fit one, and the longest. A job that lasts longer than every gap of a node can start there only in
 * the final run. On the bench 1 to 3 nodes per job have a gap long enough, against 400 to 800 nodes with some room
 * somewhere before the earliest final run.</li>
 * </ul>
 * A job's earliest start on a node is at least the earlier of its final run's start and the first gap long enough,
 * and is exactly that when the job is its shape. Per shape the final-run starts (or notBefore, if later) and the
 * longest gaps sit in {@link MinBlocks}, so the node with the earliest final run and the few nodes with a gap long
 * enough are found by reading the blocks' minima; the timetable is walked only where the job is not its shape.
 * <p>
 * A reservation changes these facts only where it makes steps that held the shape stop holding it, which it can do
 * only inside its own time span: {@link #reserved} compares those few steps with each shape's room. Where such a step
 * lies after the final run's start, the final run now starts after the reservation's last such step and the runs
 * between the old and the new start become gaps (exactly measured). Where it lies before, a gap shrank or split: the
 * listed gaps the reservation overlaps are listed again from their own steps (re-walking the node's every step before
 * the final run instead, on the next search that needed it, took ~120 steps 66k times a 100k pass). Reservations
 * only ever add use, so final runs only move later and gaps only shrink or appear behind a moved final run, which is
 * what makes this incremental upkeep exact.
 * <p>
 * That upkeep is most of a pass, so it is kept lean: which shapes each step of the reservation holds, before and
 * after it, is found for all shapes at once from their sizes ({@link Levels}), and only the shapes that some step
 * held before and holds no more are visited (~11.5 of 20 per reservation on the bench; every other shape provably
 * keeps its facts); a visited shape's steps are bit masks, one bit a step, read from those sets (reservations of at
 * most 64 steps, 3.6 on average on the bench); the node's capacity is read once per reservation; without fcfs's
 * notBefore a shape's final runs are its keys, kept once; the longest gaps live only in their blocks and are read
 * only where they may change. {@link #chooseByKey} serves the multi-node jobs
 * that need no window sweep (see TimetableScheduler).
 */
final class ShapeIndex {
    /** Cells per power of two, as a power of two, for cpus, memory and gpus. */
    private static final int SIZE_BITS = 1;
    /** Past this many shapes a job gets no index (its search walks every node): upkeep per reservation is bounded. */
    private static final int MAX_SHAPES = 64;
    /** Reservations over at most this many steps are noted with bit masks, one bit a step (see Shape#reserved). */
    static final int MASKED_STEPS = 64;

    private final Timetable table;
    /** Per node, no job starts there earlier (fcfs); null when no policy sets one. Read when an entry is updated. */
    private final long[] notBefore;
    /** {@link #MASKED_STEPS}, or less where a test makes longer reservations take the stepwise path. */
    private final int maskedSteps;
    /** The shortest job of the pass: gaps shorter than this can hold no job, so they are not listed. */
    private final long shortest;
    /**
     * Shape ids by grid cell, open addressing: {@code cells} holds a cell's key plus one (0 is a free slot) and
     * {@code cellIds} its shape. A HashMap of boxed keys, asked once per job, showed as ~10 % of a 10k pass in JFR
     * samples (a few % by cpu time, A/B).
     */
    private final int[] cells = new int[2 * MAX_SHAPES];
    private final int[] cellIds = new int[2 * MAX_SHAPES];
    private Shape[] shapes = new Shape[8];
    private int count;
    private final Levels cpuLevels = new Levels();
    private final Levels memoryLevels = new Levels();
    private final Levels gpuLevels = new Levels();
    /*
     * The steps of the reservation being noted, clipped to it: read from the timetable once, then compared with each
     * shape's room.
     */
    private int steps;
    private long[] stepFrom = new long[16];
    private long[] stepTo = new long[16];
    private int[] stepCpus = new int[16];
    private long[] stepMemory = new long[16];
    private int[] stepGpus = new int[16];
    /** Per step, the shapes it holds (bit p for shape p), and those it held before the reservation. */
    private long[] stepFitsNow = new long[16];
    private long[] stepFitted = new long[16];
    /** The most any of those steps uses. */
    private int peakCpus;
    private long peakMemory;
    private int peakGpus;
    /** The gaps {@link Shape#shrinkGaps} lists, before they replace the old ones. */
    private int fresh;
    private long[] freshFrom = new long[8];
    private long[] freshTo = new long[8];

    /**
     * {@code notBefore} is the pass's per-node notBefore, or null when the policy sets none; {@code shortest} is the
     * shortest duration of any job the pass will place, in timetable milliseconds.
     */
    ShapeIndex(Timetable table, long[] notBefore, long shortest) {
        this(table, notBefore, shortest, MASKED_STEPS);
    }

    /** As the other constructor, with reservations over more than {@code maskedSteps} steps noted step by step. */
    ShapeIndex(Timetable table, long[] notBefore, long shortest, int maskedSteps) {
        this.maskedSteps = Math.min(maskedSteps, MASKED_STEPS);
        this.table = table;
        this.notBefore = notBefore;
        this.shortest = Math.max(1, shortest);
    }

    /** One shape's facts per node. */
    private final class Shape {
        final int cpus;
        final long memory;
        final int gpus;
        /**
         * Per node, the start of the final run, or {@link Timetable#NONE} when the node cannot hold the shape. Null
         * when no node has a notBefore (every policy but fcfs): then the final run is the key, kept once, so that a
         * reservation reads and writes one array per shape instead of two.
         */
        final long[] finalRun;
        /**
         * Per node, its gaps of at least {@link #shortest} in time order: {@code [gapFrom[j][i], gapTo[j][i])} for
         * i below {@code gapCount[j]}.
         */
        final long[][] gapFrom;
        final long[][] gapTo;
        final int[] gapCount;
        /** Per node, max(final run, notBefore): where a job of the shape can start for sure. */
        final MinBlocks key;
        /** Per node, minus the longest gap, so that the blocks' minima are their longest gaps. */
        final MinBlocks minusGap;

        Shape(int cpus, long memory, int gpus) {
            this.cpus = cpus;
            this.memory = memory;
            this.gpus = gpus;
            int n = table.nodeCount;
            finalRun = notBefore == null ? null : new long[n];
            gapFrom = new long[n][];
            gapTo = new long[n][];
            gapCount = new int[n];
            key = new MinBlocks(n, Timetable.NONE);
            minusGap = new MinBlocks(n, 1);
            for (int j = 0; j < n; j++) {
                boolean holds = table.canHold(j, cpus, memory, gpus);
                long run = holds ? table.finalRunStart(j, cpusOn(j), memoryOn(j), gpusOn(j)) : Timetable.NONE;
                if (finalRun != null) {
                    finalRun[j] = run;
                }
                key.set(j, key(j, run));
                minusGap.set(j, holds ? -measureGaps(j, run) : 1);
            }
        }

        /** Node j's final run start, or {@link Timetable#NONE} when it cannot hold the shape. */
        long finalRun(int j) {
            return finalRun == null ? key.value[j] : finalRun[j];
        }

        /**
         * Node j's longest listed gap (0 when none; -1 when it cannot hold the shape), kept only negated in the
         * blocks that find it.
         */
        long longestGap(int j) {
            return -minusGap.value[j];
        }

        /** What the shape takes of node j: all of it when the node is exclusive. */
        int cpusOn(int j) {
            return table.exclusive[j] ? table.capCpus[j] : cpus;
        }

        long memoryOn(int j) {
            return table.exclusive[j] ? table.capMem[j] : memory;
        }

        int gpusOn(int j) {
            return table.exclusive[j] ? table.capGpus[j] : gpus;
        }

        /** Node j's key if its final run starts at {@code run}. */
        long key(int j, long run) {
            return run == Timetable.NONE ? Timetable.NONE : Math.max(run, notBefore(j));
        }

        /** Lists node j's gaps afresh and returns the longest, walking every step before the final run. */
        long measureGaps(int j, long run) {
            gapCount[j] = 0;
            long[] ts = table.times[j];
            int[] usedCpus = table.usedCpus[j];
            long[] usedMemory = table.usedMemory[j];
            int[] usedGpus = table.usedGpus[j];
            int maxCpus = table.capCpus[j] - cpusOn(j);
            long maxMemory = table.capMem[j] - memoryOn(j);
            int maxGpus = table.capGpus[j] - gpusOn(j);
            long longest = 0;
            long runStart = -1;
            for (int i = 0; i < table.size[j] && ts[i] < run; i++) {
                if (usedCpus[i] <= maxCpus && usedMemory[i] <= maxMemory && usedGpus[i] <= maxGpus) {
                    if (runStart < 0) {
                        runStart = ts[i];
                    }
                } else if (runStart >= 0) {
                    longest = Math.max(longest, listGap(j, runStart, ts[i]));
                    runStart = -1;
                }
            }
            return longest;
        }

        /** Appends gap {@code [from, to)} of node j to its list if a job may fit it; returns its length or 0. */
        long listGap(int j, long from, long to) {
            if (to - from < shortest) {
                return 0;
            }
            int c = gapCount[j];
            if (gapFrom[j] == null || c == gapFrom[j].length) {
                int size = c == 0 ? 4 : c * 2;
                gapFrom[j] = gapFrom[j] == null ? new long[size] : Arrays.copyOf(gapFrom[j], size);
                gapTo[j] = gapTo[j] == null ? new long[size] : Arrays.copyOf(gapTo[j], size);
            }
            gapFrom[j][c] = from;
            gapTo[j][c] = to;
            gapCount[j] = c + 1;
            return to - from;
        }

        /**
         * The earliest start at or after node j's notBefore of a job lasting {@code millis} in one of its listed gaps,
         * or {@link Timetable#NONE}. The list must be fresh.
         */
        long firstGapStart(int j, long millis) {
            long nb = notBefore(j);
            for (int i = 0; i < gapCount[j]; i++) {
                long from = Math.max(gapFrom[j][i], nb);
                if (gapTo[j][i] - from >= millis) {
                    return from;
                }
            }
            return Timetable.NONE;
        }

        /**
         * Brings node j up to date after {@code addedCpus, addedMemory, addedGpus} were added to it from
         * {@code start} on, whose steps are in {@link #stepFrom} and the rest; the node's capacity and whether it is
         * exclusive are read once per reservation rather than once per shape.
         * <p>
         * With at most 64 steps, which steps the shape no longer fits, fitted before, and lie before the final run are
         * bit masks, the first two taken (bit {@code p}, this shape's) from the sets of shapes each step holds, which
         * {@link ShapeIndex#reserved} finds for all shapes at once; what changed is then read from the masks. The step-by-step walk ({@link #reservedStepwise}) branched on each step's fit
         * and on where the final run lies; JFR samples put ~30 % of a pass on its lines, and the masks measured ~3 %
         * less cpu per 10k pass (A/B in one JVM).
         */
        void reserved(int j, long start, int addedCpus, long addedMemory, int addedGpus, boolean exclusive,
                      int capCpus, long capMemory, int capGpus, int p) {
            long oldFinal = finalRun(j);
            if (oldFinal == Timetable.NONE) {
                return;
            }
            if (steps > maskedSteps) {
                // What a step may use for the shape to fit it: nothing on an exclusive node, which a shape takes
                // whole.
                int maxCpus = exclusive ? 0 : capCpus - cpus;
                long maxMemory = exclusive ? 0 : capMemory - memory;
                int maxGpus = exclusive ? 0 : capGpus - gpus;
                reservedStepwise(j, oldFinal, start, addedCpus, addedMemory, addedGpus, maxCpus, maxMemory, maxGpus);
                return;
            }
            // This shape's bit of each step's sets of shapes, one bit a step.
            long notFit = 0;
            long fitted = 0;
            long before = 0;
            for (int i = 0; i < steps; i++) {
                notFit |= (~stepFitsNow[i] >>> p & 1) << i;
                fitted |= (stepFitted[i] >>> p & 1) << i;
                before |= stepFrom[i] < oldFinal ? 1L << i : 0;
            }
            long newFinal = oldFinal;
            // The longest gap is read only where it may change: ~11 shapes per reservation move their final run and
            // list a new gap ~0.5 times.
            long listed = 0;
            long after = notFit & ~before;
            if (after != 0) {
                // The final run now starts after the last step that stops holding the shape, and the runs of
                // steps holding it between the old final run and that step are new gaps. The steps before the
                // final run are a prefix (steps are in time order), so the first step of the final run is
                // where the prefix ends.
                newFinal = stepTo[63 - Long.numberOfLeadingZeros(after)];
                int next = Long.numberOfTrailingZeros(~before);
                // The old final run held the shape throughout, so a run of it that the reservation leaves
                // open starts at the old final run's start.
                long runStart = oldFinal < start ? oldFinal : -1;
                for (long m = after; m != 0; m &= m - 1) {
                    int i = Long.numberOfTrailingZeros(m);
                    if (i > next && runStart < 0) {
                        runStart = stepFrom[next];
                    }
                    if (runStart >= 0) {
                        // Every listed gap lies before the old final run, so the list stays in time order.
                        listed = Math.max(listed, listGap(j, runStart, stepFrom[i]));
                    }
                    runStart = -1;
                    next = i + 1;
                }
            }
            // Before the final run, a step that held the shape until now shortens a listed gap, if any.
            if ((notFit & fitted & before) != 0 && longestGap(j) > 0) {
                // Done after new gaps were listed, which lie behind the old final run: the list stays in order.
                minusGap.set(j, -shrinkGaps(j, start, Math.min(stepTo[steps - 1], oldFinal)));
            } else if (listed > 0 && listed > longestGap(j)) {
                minusGap.set(j, -listed);
            }
            if (newFinal != oldFinal) {
                if (finalRun != null) {
                    finalRun[j] = newFinal;
                }
                key.set(j, key(j, newFinal));
            } else if (notBefore(j) > oldFinal) {
                // The key is max(final run, notBefore): with neither moved past the final run it stays, and
                // reading it for every shape of every reservation would cost a cache miss each.
                key.set(j, key(j, oldFinal));
            }
        }

        /** As {@link #reserved} for a reservation that left every step as it was for the shape: only a moved
         * notBefore can change the key. */
        void notBeforeMoved(int j) {
            long oldFinal = finalRun(j);
            if (oldFinal != Timetable.NONE && notBefore(j) > oldFinal) {
                key.set(j, key(j, oldFinal));
            }
        }

        /**
         * Records node j's new final run and longest gap; with {@code gapShrank}, lists again the gaps that the
         * reservation from {@code start} overlaps first.
         */
        private void noteChange(int j, long oldFinal, long newFinal, boolean gapShrank, long gap, long start) {
            if (gapShrank) {
                // Done after new gaps were listed, which lie behind the old final run: the list stays in order.
                gap = shrinkGaps(j, start, Math.min(stepTo[steps - 1], oldFinal));
            }
            minusGap.set(j, -gap);
            if (newFinal != oldFinal) {
                if (finalRun != null) {
                    finalRun[j] = newFinal;
                }
                key.set(j, key(j, newFinal));
            }
        }

        /** As {@link #reserved}, walking the steps one by one: for reservations over more than 64 steps. */
        private void reservedStepwise(int j, long oldFinal, long start, int addedCpus, long addedMemory,
                                      int addedGpus, int maxCpus, long maxMemory, int maxGpus) {
            // Where the shape still fits every step of the reservation, nothing about it changed.
            if (peakCpus > maxCpus || peakMemory > maxMemory || peakGpus > maxGpus) {
                long newFinal = oldFinal;
                long gap = longestGap(j);
                boolean gapShrank = false;
                int i = 0;
                // Steps before the final run: one that held the shape until now shortens a listed gap, if any.
                for (; i < steps && stepFrom[i] < oldFinal; i++) {
                    if (gap > 0 && !fits(i, maxCpus, maxMemory, maxGpus)
                            && fits(i, maxCpus + addedCpus, maxMemory + addedMemory, maxGpus + addedGpus)) {
                        gapShrank = true;
                    }
                }
                long runStart = oldFinal < start ? oldFinal : -1;
                for (; i < steps; i++) {
                    if (fits(i, maxCpus, maxMemory, maxGpus)) {
                        if (runStart < 0) {
                            runStart = stepFrom[i];
                        }
                    } else {
                        if (runStart >= 0) {
                            gap = Math.max(gap, listGap(j, runStart, stepFrom[i]));
                            runStart = -1;
                        }
                        newFinal = stepTo[i];
                    }
                }
                noteChange(j, oldFinal, newFinal, gapShrank, gap, start);
                if (newFinal != oldFinal) {
                    return;
                }
            }
            if (notBefore(j) > oldFinal) {
                key.set(j, key(j, oldFinal));
            }
        }

        /**
         * Lists again the gaps of node j that overlap {@code [from, to)}, where a reservation made steps stop holding
         * the shape, from the timetable's steps inside those gaps only: elsewhere nothing changed, and runs that were
         * too short to list only got shorter. Returns the node's longest gap, those behind the old final run included.
         */
        long shrinkGaps(int j, long from, long to) {
            long[] gf = gapFrom[j];
            long[] gt = gapTo[j];
            int c = gapCount[j];
            int a = 0;
            while (a < c && gt[a] <= from) {
                a++;
            }
            int b = a;
            while (b < c && gf[b] < to) {
                b++;
            }
            if (a < b) {
                replaceGaps(j, a, b);
            }
            long longest = 0;
            for (int g = 0, n = gapCount[j]; g < n; g++) {
                longest = Math.max(longest, gapTo[j][g] - gapFrom[j][g]);
            }
            return longest;
        }

        /** Replaces gaps a..b-1 of node j, which a reservation overlaps, with the runs left of them. */
        private void replaceGaps(int j, int a, int b) {
            long[] gf = gapFrom[j];
            long[] gt = gapTo[j];
            int c = gapCount[j];
            // Gaps a..b-1 overlap the reservation: their remaining runs go to the scratch list, then replace them.
            fresh = 0;
            long[] ts = table.times[j];
            int[] usedCpus = table.usedCpus[j];
            long[] usedMemory = table.usedMemory[j];
            int[] usedGpus = table.usedGpus[j];
            int maxCpus = table.capCpus[j] - cpusOn(j);
            long maxMemory = table.capMem[j] - memoryOn(j);
            int maxGpus = table.capGpus[j] - gpusOn(j);
            for (int g = a; g < b; g++) {
                long end = gt[g];
                long runStart = -1;
                for (int i = table.indexAt(j, gf[g]); ts[i] < end; i++) {
                    if (usedCpus[i] <= maxCpus && usedMemory[i] <= maxMemory && usedGpus[i] <= maxGpus) {
                        if (runStart < 0) {
                            runStart = ts[i];
                        }
                    } else if (runStart >= 0) {
                        addFresh(runStart, ts[i]);
                        runStart = -1;
                    }
                }
                if (runStart >= 0) {
                    addFresh(runStart, end);
                }
            }
            int newCount = c - (b - a) + fresh;
            if (newCount > gf.length) {
                gf = gapFrom[j] = Arrays.copyOf(gf, newCount * 2);
                gt = gapTo[j] = Arrays.copyOf(gt, newCount * 2);
            }
            System.arraycopy(gf, b, gf, a + fresh, c - b);
            System.arraycopy(gt, b, gt, a + fresh, c - b);
            System.arraycopy(freshFrom, 0, gf, a, fresh);
            System.arraycopy(freshTo, 0, gt, a, fresh);
            gapCount[j] = newCount;
        }

        /** Whether node j has a listed gap of {@code millis} or longer. */
        boolean hasGap(int j, long millis) {
            return longestGap(j) >= millis;
        }
    }

    /** The shape of a job asking {@code cpus, memory, gpus} per node, or -1 when there are too many shapes. */
    int shape(int cpus, long memory, int gpus) {
        // Each grid cell is below 256, so the key fits 24 bits.
        int key = (int) ((grid(cpus, SIZE_BITS) << 16) | (grid(memory, SIZE_BITS) << 8) | grid(gpus, SIZE_BITS));
        int slot = (key * 0x9E3779B9) >>> (32 - Integer.numberOfTrailingZeros(cells.length));
        while (cells[slot] != 0) {
            if (cells[slot] == key + 1) {
                return cellIds[slot];
            }
            slot = (slot + 1) & (cells.length - 1);
        }
        if (count == MAX_SHAPES) {
            return -1;
        }
        if (count == shapes.length) {
            shapes = Arrays.copyOf(shapes, count * 2);
        }
        Shape shape = new Shape((int) roundDown(cpus, SIZE_BITS), roundDown(memory, SIZE_BITS),
                (int) roundDown(gpus, SIZE_BITS));
        shapes[count] = shape;
        cpuLevels.add(shape.cpus, count);
        memoryLevels.add(shape.memory, count);
        gpuLevels.add(shape.gpus, count);
        cells[slot] = key + 1;
        cellIds[slot] = count;
        return count++;
    }

    /**
     * Takes note of a reservation just added to node {@code j}'s timetable, and of the node's {@code notBefore}
     * as it is now.
     */
    void reserved(int j, long start, long end, int cpus, long memory, int gpus) {
        boolean exclusive = table.exclusive[j];
        int capCpus = table.capCpus[j];
        long capMemory = table.capMem[j];
        int capGpus = table.capGpus[j];
        if (exclusive) {
            cpus = capCpus;
            memory = capMemory;
            gpus = capGpus;
        }
        long[] ts = table.times[j];
        int n = table.size[j];
        int[] usedCpus = table.usedCpus[j];
        long[] usedMemory = table.usedMemory[j];
        int[] usedGpus = table.usedGpus[j];
        peakCpus = 0;
        peakMemory = 0;
        peakGpus = 0;
        steps = 0;
        for (int i = table.stepAt(j, start); i < n && ts[i] < end; i++) {
            if (steps == stepFrom.length) {
                int size = steps * 2;
                stepFrom = Arrays.copyOf(stepFrom, size);
                stepTo = Arrays.copyOf(stepTo, size);
                stepCpus = Arrays.copyOf(stepCpus, size);
                stepMemory = Arrays.copyOf(stepMemory, size);
                stepGpus = Arrays.copyOf(stepGpus, size);
                stepFitsNow = Arrays.copyOf(stepFitsNow, size);
                stepFitted = Arrays.copyOf(stepFitted, size);
            }
            stepFrom[steps] = Math.max(ts[i], start);
            stepTo[steps] = i + 1 < n ? Math.min(ts[i + 1], end) : end;
            stepCpus[steps] = usedCpus[i];
            stepMemory[steps] = usedMemory[i];
            stepGpus[steps] = usedGpus[i];
            peakCpus = Math.max(peakCpus, stepCpus[steps]);
            peakMemory = Math.max(peakMemory, stepMemory[steps]);
            peakGpus = Math.max(peakGpus, stepGpus[steps]);
            steps++;
        }
        // Which shapes each step holds now and held before, and so the only shapes whose facts can have changed:
        // those that some step held before and holds no more (see Levels). On an exclusive node a shape takes the
        // whole node, so a step holds every shape or none.
        long changed = 0;
        for (int i = 0; i < steps; i++) {
            long fitsNow;
            long fitted;
            if (exclusive) {
                fitsNow = stepCpus[i] <= 0 && stepMemory[i] <= 0 && stepGpus[i] <= 0 ? -1L : 0;
                fitted = stepCpus[i] <= cpus && stepMemory[i] <= memory && stepGpus[i] <= gpus ? -1L : 0;
            } else {
                fitsNow = fitting(capCpus - stepCpus[i], capMemory - stepMemory[i], capGpus - stepGpus[i]);
                fitted = fitting(capCpus - stepCpus[i] + cpus, capMemory - stepMemory[i] + memory,
                        capGpus - stepGpus[i] + gpus);
            }
            stepFitsNow[i] = fitsNow;
            stepFitted[i] = fitted;
            changed |= fitted & ~fitsNow;
        }
        for (int p = 0; p < count; p++) {
            if ((changed & (1L << p)) != 0) {
                shapes[p].reserved(j, start, cpus, memory, gpus, exclusive, capCpus, capMemory, capGpus, p);
            } else if (notBefore != null) {
                shapes[p].notBeforeMoved(j);
            }
        }
    }

    /** The shapes (bit p for shape p) that fit in {@code cpus, memory, gpus}. */
    private long fitting(int cpus, long memory, int gpus) {
        return cpuLevels.atMost(cpus) & memoryLevels.atMost(memory) & gpuLevels.atMost(gpus);
    }

    /**
     * Per grid cell of one dimension, the shapes (a bit each) whose size in it is at most that cell's smallest value,
     * so that what a step with some room left holds is three lookups for all shapes at once. A shape's size is its
     * cell's smallest value, and cells are ordered, so a shape fits {@code room} exactly when its cell is at most
     * room's cell. A reservation changes a shape's facts on a node only where one of its steps held the shape before
     * and holds it no more (a step that did not hold it before lies before the final run and in no gap): on the bench
     * ~11.5 of 20 shapes per reservation, of which ~11 move their final run, against 17 with some step that does not
     * hold them.
     */
    private static final class Levels {
        /** Cells are below 256 (see {@link #grid}). */
        private final long[] atMost = new long[256];

        void add(long size, int p) {
            for (int c = (int) grid(size, SIZE_BITS); c < atMost.length; c++) {
                atMost[c] |= 1L << p;
            }
        }

        /** The shapes of size at most {@code room}: none when it is negative (a node used beyond its capacity). */
        long atMost(long room) {
            return room < 0 ? 0 : atMost[(int) grid(room, SIZE_BITS)];
        }
    }

    /**
     * Whether step i of the reservation being noted uses at most {@code maxCpus, maxMemory, maxGpus}. Without
     * short-circuits: the three comparisons cost less than a mispredicted branch.
     */
    private boolean fits(int i, int maxCpus, long maxMemory, int maxGpus) {
        return stepCpus[i] <= maxCpus & stepMemory[i] <= maxMemory & stepGpus[i] <= maxGpus;
    }

    /** Node j's notBefore: 0 when there are none. */
    private long notBefore(int j) {
        return notBefore == null ? 0 : notBefore[j];
    }

    /** Appends {@code [from, to)} to the scratch list of {@link Shape#shrinkGaps} if a job may fit it. */
    private void addFresh(long from, long to) {
        if (to - from < shortest) {
            return;
        }
        if (fresh == freshFrom.length) {
            freshFrom = Arrays.copyOf(freshFrom, fresh * 2);
            freshTo = Arrays.copyOf(freshTo, fresh * 2);
        }
        freshFrom[fresh] = from;
        freshTo[fresh] = to;
        fresh++;
    }

    /** Whether any node may have a gap of shape p as long as {@code millis}: read from the blocks' longest gaps. */
    boolean anyGap(int p, long millis) {
        MinBlocks minusGap = shapes[p].minusGap;
        for (int b = 0; b < minusGap.blocks; b++) {
            if (-minusGap.blockMin[b] >= millis) {
                return true;
            }
        }
        return false;
    }

    /** Whether node j may have a gap of shape p as long as {@code millis}; see {@link Shape#hasGap}. */
    boolean hasGap(int p, int j, long millis) {
        return shapes[p].hasGap(j, millis);
    }

    /**
     * Whether a job asking {@code cpus, memory, gpus} is shape {@code p} itself, not only in its cell: then a node
     * without a gap as long as the job has exactly one window for it, from {@link #lowerBound} on for ever.
     */
    boolean isExactly(int p, int cpus, long memory, int gpus) {
        Shape s = shapes[p];
        return s.cpus == cpus && s.memory == memory && s.gpus == gpus;
    }

    /**
     * No job of shape {@code p} lasting {@code millis} starts on node {@code j} before this: its notBefore when it
     * has a gap as long, else its final run's start or its notBefore if later; {@link Timetable#NONE} when it cannot
     * hold the shape.
     */
    long lowerBound(int p, int j, long millis) {
        Shape s = shapes[p];
        if (s.finalRun(j) == Timetable.NONE) {
            return Timetable.NONE;
        }
        return s.hasGap(j, millis) ? Math.min(s.firstGapStart(j, millis), s.key.value[j]) : s.key.value[j];
    }

    /**
     * Appends node j's windows for a job that is exactly shape {@code p} (see {@link #isExactly}) and lasts
     * {@code millis}: those in its gaps, then its final run's, each if it opens by {@code horizon}.
     */
    void exactWindows(int p, int j, long millis, long horizon, Timetable.Windows out) {
        Shape s = shapes[p];
        if (s.hasGap(j, millis)) {
            long nb = notBefore(j);
            for (int i = 0; i < s.gapCount[j] && s.gapFrom[j][i] <= horizon; i++) {
                long from = Math.max(s.gapFrom[j][i], nb);
                if (from <= horizon && s.gapTo[j][i] - from >= millis) {
                    out.add(j, from, s.gapTo[j][i] - millis);
                }
            }
        }
        if (s.key.value[j] <= horizon) {
            out.add(j, s.key.value[j], Timetable.NONE);
        }
    }

    /**
     * The {@code k}-th smallest of {@code max(final run start, notBefore)} over the nodes that {@code fits} for
     * shape p: by then k of them are free for good. {@link Timetable#NONE} when fewer than k fit.
     */
    long kthFinalRun(int p, int k, Fits fits, long[] smallest) {
        MinBlocks key = shapes[p].key;
        // The block with the smallest minimum first, for a bound; then every other block that may still hold a value
        // below the k-th so far, in index order. The k-th smallest does not depend on the order the blocks are read
        // in, and choosing each next block by its minimum cost a pass over all blocks per block read (~10 % of a
        // 10k pass in JFR samples).
        int first = key.smallestBlock();
        int filled = addFitting(key, first, k, fits, smallest, 0);
        for (int b = 0; b < key.blocks; b++) {
            long min = key.blockMin[b];
            if (b != first && min != Timetable.NONE && (filled < k || min < smallest[k - 1])) {
                filled = addFitting(key, b, k, fits, smallest, filled);
            }
        }
        return filled < k ? Timetable.NONE : smallest[k - 1];
    }

    /** Keeps in {@code smallest} the k smallest keys seen, those of block b's fitting nodes added; returns the fill. */
    private static int addFitting(MinBlocks key, int b, int k, Fits fits, long[] smallest, int filled) {
        for (int j = key.first(b), e = key.end(b); j < e; j++) {
            if (key.value[j] != Timetable.NONE && fits.fits(j)) {
                filled = TimetableScheduler.insertSmallest(smallest, filled, k, key.value[j]);
            }
        }
        return filled;
    }

    /**
     * Writes to {@code out} (from index 0) the nodes where a job of shape p lasting {@code millis} may have a start
     * at or before {@code horizon}: those whose final run starts by then and those with a gap as long as the job;
     * returns how many. Each node appears once; {@code out} holds every node.
     */
    int nodesStartingBy(int p, long millis, long horizon, int[] out) {
        Shape s = shapes[p];
        MinBlocks key = s.key;
        int m = 0;
        for (int b = 0; b < key.blocks; b++) {
            boolean byFinalRun = key.blockMin[b] <= horizon;
            boolean byGap = -s.minusGap.blockMin[b] >= millis;
            if (byFinalRun || byGap) {
                for (int j = key.first(b), e = key.end(b); j < e; j++) {
                    if (key.value[j] <= horizon
                            || (byGap && s.hasGap(j, millis) && s.firstGapStart(j, millis) <= horizon)) {
                        out[m++] = j;
                    }
                }
            }
        }
        return m;
    }

    /**
     * Writes to {@code chosen} the k nodes that {@code fits} with the smallest (key, node) among those whose key for
     * shape p is at most {@code horizon}, negating keys when {@code latestFirst}, and their keys so ordered to
     * {@code chosenKey}; returns how many were found. Nodes come in index order, so with the latest first, once k
     * keys equal the horizon no later node can displace one and the walk stops.
     */
    int chooseByKey(int p, int k, long horizon, Fits fits, boolean latestFirst, int[] chosen, long[] chosenKey) {
        MinBlocks key = shapes[p].key;
        long best = latestFirst ? -horizon : Long.MIN_VALUE;
        int filled = 0;
        for (int b = 0; b < key.blocks; b++) {
            if (key.blockMin[b] > horizon) {
                continue;
            }
            for (int j = key.first(b), e = key.end(b); j < e; j++) {
                long v = key.value[j];
                if (v <= horizon && fits.fits(j)) {
                    filled = TimetableScheduler.insertChosen(chosen, chosenKey, filled, k, j, latestFirst ? -v : v);
                    if (filled == k && chosenKey[k - 1] == best) {
                        return filled;
                    }
                }
            }
        }
        return filled;
    }

    /** Decides, per node, whether a job may run there; the index knows only the shape. */
    interface Fits {
        boolean fits(int j);
    }

    /**
     * The earliest start of a one-node job of shape {@code p} asking {@code cpus, memory, gpus} for {@code millis}
     * on a node that {@code fits}, ties to the lower node index; writes the node to {@code picked[0]}. The node with
     * the earliest final run comes first, then those with a gap long enough, then (only when the job is not its
     * shape) any other whose final run could still beat the best start found; only those are walked.
     */
    long placeOne(int p, Fits fits, int cpus, long memory, int gpus, long millis, int[] picked) {
        Shape s = shapes[p];
        MinBlocks key = s.key;
        Search search = new Search(fits, cpus, memory, gpus, millis);
        boolean exact = isExactly(p, cpus, memory, gpus);
        int first = key.smallestBlock();
        if (key.blockMin[first] != Timetable.NONE) {
            if (exact) {
                search.take(key.blockNode[first], key.blockMin[first]);
            } else {
                search.tryNode(key.blockNode[first], key.blockMin[first]);
            }
        }
        for (int b = 0; b < key.blocks; b++) {
            if (-s.minusGap.blockMin[b] >= millis) {
                for (int j = key.first(b), e = key.end(b); j < e; j++) {
                    if (s.hasGap(j, millis)) {
                        long from = s.firstGapStart(j, millis);
                        if (from == Timetable.NONE || !search.beats(from, j)) {
                            continue;
                        }
                        // The job that is its shape starts in that gap; another may need a later step of it.
                        if (exact) {
                            search.take(j, from);
                        } else {
                            search.tryNode(j, from);
                        }
                    }
                }
            }
        }
        for (int b = 0; b < key.blocks; b++) {
            if (search.beats(key.blockMin[b], key.blockNode[b])) {
                for (int j = key.first(b), e = key.end(b); j < e; j++) {
                    if (search.beats(key.value[j], j)) {
                        search.tryNode(j, key.value[j]);
                    }
                }
            }
        }
        picked[0] = search.bestNode;
        return search.best;
    }

    /** One one-node search: the best start found so far and the job it is for. */
    private final class Search {
        final Fits fits;
        final int cpus;
        final long memory;
        final int gpus;
        final long millis;
        long best = Timetable.NONE;
        int bestNode = Integer.MAX_VALUE;

        Search(Fits fits, int cpus, long memory, int gpus, long millis) {
            this.fits = fits;
            this.cpus = cpus;
            this.memory = memory;
            this.gpus = gpus;
            this.millis = millis;
        }

        boolean beats(long t, int j) {
            return t < best || (t == best && j < bestNode);
        }

        /** Tries node j from {@code from} on: the job's earliest start there, if it beats the best. */
        void tryNode(int j, long from) {
            if (!fits.fits(j)) {
                return;
            }
            long limit = j < bestNode ? best + 1 : best;
            long t = table.earliestFrom(j, cpus, memory, gpus, millis, from, Math.min(limit, Timetable.NONE));
            if (t != Timetable.NONE && beats(t, j)) {
                best = t;
                bestNode = j;
            }
        }

        /** Takes start {@code t} on node j if it beats the best: the caller knows the job can start there. */
        void take(int j, long t) {
            if (fits.fits(j) && beats(t, j)) {
                best = t;
                bestNode = j;
            }
        }
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
