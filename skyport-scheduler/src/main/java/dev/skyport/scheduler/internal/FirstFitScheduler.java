package dev.skyport.scheduler.internal;

import dev.skyport.api.NodeState;
import dev.skyport.scheduler.Allocation;
import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.NodeView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.Scheduler;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The minimal FCFS policy: jobs in queue order each take the first nodes with enough free capacity now; a job that
 * does not fit now waits without blocking the jobs behind it; a job no set of UP nodes could hold even when idle is
 * infeasible. Computes no reservations: the timetable policies (upstream FCFS, backfill, fair share) replace it.
 */
public final class FirstFitScheduler implements Scheduler {
    @Override
    public String name() {
        return "fcfs";
    }

    @Override
    public Plan plan(ClusterView cluster, List<QueuedJob> queue, Instant now) {
        List<NodeView> nodes = cluster.nodes();
        int n = nodes.size();
        int[] freeCpus = new int[n];
        long[] freeMem = new long[n];
        int[] freeGpus = new int[n];
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < n; i++) {
            NodeView node = nodes.get(i);
            index.put(node.name(), i);
            freeCpus[i] = node.cpus();
            freeMem[i] = node.memoryBytes();
            freeGpus[i] = node.gpus();
        }
        for (Allocation a : cluster.running()) {
            for (String name : a.nodes()) {
                Integer i = index.get(name);
                if (i != null) {
                    freeCpus[i] -= a.cpus();
                    freeMem[i] -= a.memoryBytes();
                    freeGpus[i] -= a.gpus();
                }
            }
        }
        List<Plan.Placement> start = new ArrayList<>();
        List<Plan.Infeasible> infeasible = new ArrayList<>();
        int totalFreeCpus = 0;
        for (int i = 0; i < n; i++) {
            if (nodes.get(i).state() == NodeState.UP) {
                totalFreeCpus += Math.max(0, freeCpus[i]);
            }
        }
        for (QueuedJob job : queue) {
            int fitting = 0;
            for (NodeView node : nodes) {
                if (node.state() != NodeState.DOWN && node.cpus() >= job.cpus()
                        && node.memoryBytes() >= job.memoryBytes() && node.gpus() >= job.gpus()) {
                    fitting++;
                }
            }
            if (fitting < job.nodes()) {
                infeasible.add(new Plan.Infeasible(job.id(), "needs " + job.nodes() + " node(s) with " + job.cpus()
                        + " cpus, " + job.memoryBytes() + " bytes and " + job.gpus() + " gpus; " + fitting
                        + " node(s) of the cluster have that much"));
                continue;
            }
            if (totalFreeCpus < job.cpus() * job.nodes()) {
                continue;
            }
            List<Integer> chosen = new ArrayList<>(job.nodes());
            for (int i = 0; i < n && chosen.size() < job.nodes(); i++) {
                if (nodes.get(i).state() == NodeState.UP && freeCpus[i] >= job.cpus() && freeMem[i] >= job.memoryBytes()
                        && freeGpus[i] >= job.gpus()) {
                    chosen.add(i);
                }
            }
            if (chosen.size() < job.nodes()) {
                continue;
            }
            List<String> names = new ArrayList<>(chosen.size());
            for (int i : chosen) {
                freeCpus[i] -= job.cpus();
                freeMem[i] -= job.memoryBytes();
                freeGpus[i] -= job.gpus();
                totalFreeCpus -= job.cpus();
                names.add(nodes.get(i).name());
            }
            start.add(new Plan.Placement(job.id(), now, names));
        }
        return new Plan(start, List.of(), infeasible);
    }
}
