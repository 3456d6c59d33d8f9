package dev.skyport.scheduler.internal;

/**
 * Upstream FCFS on exclusive nodes in O(k log n) per job: one binary min-heap per node class (same capacity) of node
 * indices ordered by (free time, index), where a node is free from the end of the last job placed on it. A job takes
 * the k smallest across the classes that fit it and starts when the last of them is free.
 */
final class FreeTimeHeaps {
    private final long[] free;
    private final int[][] heap;
    private final int[] heapSize;

    /** {@code nodeClass[j]} is node j's class, or -1 when it takes no new work. */
    FreeTimeHeaps(long[] free, int[] nodeClass, int classes) {
        this.free = free;
        heap = new int[classes][];
        heapSize = new int[classes];
        int[] counts = new int[classes];
        for (int c : nodeClass) {
            if (c >= 0) {
                counts[c]++;
            }
        }
        for (int c = 0; c < classes; c++) {
            heap[c] = new int[counts[c]];
        }
        for (int j = 0; j < nodeClass.length; j++) {
            if (nodeClass[j] >= 0) {
                push(nodeClass[j], j);
            }
        }
    }

    /**
     * Places a job lasting {@code millis} on the {@code k} earliest-free nodes of the classes in {@code fits}, writing
     * them to {@code picked}; returns its start. The caller has checked that the classes hold at least k nodes.
     */
    long place(boolean[] fits, int k, long millis, int[] picked, int[] pickedClass) {
        long start = 0;
        for (int i = 0; i < k; i++) {
            int best = -1;
            for (int c = 0; c < heap.length; c++) {
                if (fits[c] && heapSize[c] > 0 && (best < 0 || less(heap[c][0], heap[best][0]))) {
                    best = c;
                }
            }
            int j = pop(best);
            picked[i] = j;
            pickedClass[i] = best;
            start = Math.max(start, free[j]);
        }
        for (int i = 0; i < k; i++) {
            free[picked[i]] = start + millis;
            push(pickedClass[i], picked[i]);
        }
        return start;
    }

    private boolean less(int a, int b) {
        return free[a] < free[b] || (free[a] == free[b] && a < b);
    }

    private void push(int c, int j) {
        int[] h = heap[c];
        int i = heapSize[c]++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!less(j, h[parent])) {
                break;
            }
            h[i] = h[parent];
            i = parent;
        }
        h[i] = j;
    }

    private int pop(int c) {
        int[] h = heap[c];
        int top = h[0];
        int n = --heapSize[c];
        int last = h[n];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && less(h[child + 1], h[child])) {
                child++;
            }
            if (!less(h[child], last)) {
                break;
            }
            h[i] = h[child];
            i = child;
        }
        if (n > 0) {
            h[i] = last;
        }
        return top;
    }
}
