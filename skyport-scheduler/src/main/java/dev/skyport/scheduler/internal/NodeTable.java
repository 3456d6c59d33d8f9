package dev.skyport.scheduler.internal;

import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.NodeMode;
import dev.skyport.scheduler.NodeView;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The cluster's nodes as parallel arrays by node index, and their classes: nodes of one capacity and sharing mode
 * that take new work form a class, so whether a job fits is decided once per class, not per node.
 */
final class NodeTable {
    final List<NodeView> views;
    final int count;
    final int[] cpus;
    final long[] memory;
    final int[] gpus;
    final boolean[] exclusive;
    final boolean allExclusive;
    /** Node name to index; the first node wins when names repeat. */
    final Map<String, Integer> index;
    /** Per node its class, or -1 when it takes no new work. */
    final int[] nodeClass;
    final int classCount;
    private final int[] classCpus;
    private final long[] classMemory;
    private final int[] classGpus;
    private final int[] classSize;

    NodeTable(ClusterView cluster, TimetableScheduler scheduler) {
        views = cluster.nodes();
        count = views.size();
        cpus = new int[count];
        memory = new long[count];
        gpus = new int[count];
        exclusive = new boolean[count];
        boolean[] takesWork = new boolean[count];
        index = new HashMap<>(count * 2);
        boolean all = true;
        for (int j = 0; j < count; j++) {
            NodeView node = views.get(j);
            cpus[j] = node.cpus();
            memory[j] = node.memoryBytes();
            gpus[j] = node.gpus();
            exclusive[j] = cluster.modeOf(node.partition()) == NodeMode.EXCLUSIVE;
            takesWork[j] = scheduler.takesWork(node);
            index.putIfAbsent(node.name(), j);
            all &= exclusive[j];
        }
        allExclusive = all;
        nodeClass = new int[count];
        Map<String, Integer> classes = new HashMap<>();
        int[] firstOfClass = new int[count];
        int[] size = new int[count];
        for (int j = 0; j < count; j++) {
            if (!takesWork[j]) {
                nodeClass[j] = -1;
                continue;
            }
            String key = cpus[j] + "/" + memory[j] + "/" + gpus[j] + "/" + exclusive[j];
            Integer c = classes.get(key);
            if (c == null) {
                c = classes.size();
                classes.put(key, c);
                firstOfClass[c] = j;
            }
            nodeClass[j] = c;
            size[c]++;
        }
        classCount = classes.size();
        classCpus = new int[classCount];
        classMemory = new long[classCount];
        classGpus = new int[classCount];
        classSize = Arrays.copyOf(size, classCount);
        for (int c = 0; c < classCount; c++) {
            int j = firstOfClass[c];
            classCpus[c] = cpus[j];
            classMemory[c] = memory[j];
            classGpus[c] = gpus[j];
        }
    }

    /** Marks in {@code fits} the classes whose nodes can hold {@code r} when empty; returns how many nodes. */
    int markFitting(TimetableScheduler.Request r, boolean[] fits) {
        int fitting = 0;
        for (int c = 0; c < classCount; c++) {
            fits[c] = r.cpus() <= classCpus[c] && r.memoryBytes() <= classMemory[c] && r.gpus() <= classGpus[c];
            fitting += fits[c] ? classSize[c] : 0;
        }
        return fitting;
    }
}
