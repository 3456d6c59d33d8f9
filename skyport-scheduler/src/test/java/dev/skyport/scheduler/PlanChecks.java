package dev.skyport.scheduler;

import dev.skyport.api.JobId;
import dev.skyport.api.NodeState;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The invariants every plan of every policy must satisfy, checked naively. */
final class PlanChecks {
    private PlanChecks() {
    }

    /** One piece of work on one node: queued placements and running allocations alike. */
    record Use(JobId job, long start, long end, int cpus, long mem, int gpus) {
    }

    static Map<JobId, Plan.Placement> placements(Plan plan) {
        Map<JobId, Plan.Placement> all = new HashMap<>();
        for (Plan.Placement p : plan.startNow()) {
            assertThat(p.start()).isEqualTo(Workloads.NOW);
            all.put(p.job(), p);
        }
        for (Plan.Placement p : plan.reservations()) {
            assertThat(p.start()).isAfter(Workloads.NOW);
            all.put(p.job(), p);
        }
        return all;
    }

    static void check(ClusterView cluster, List<QueuedJob> queue, Plan plan) {
        Map<JobId, Plan.Placement> placed = placements(plan);
        Set<JobId> infeasible = new HashSet<>();
        for (Plan.Infeasible inf : plan.infeasible()) {
            assertThat(inf.reason()).isNotBlank();
            infeasible.add(inf.job());
        }
        Map<String, NodeView> nodes = new HashMap<>();
        for (NodeView n : cluster.nodes()) {
            nodes.put(n.name(), n);
        }
        assertThat(placed.size() + infeasible.size() + plan.cloud().size()).isEqualTo(queue.size());
        Map<String, List<Use>> uses = new HashMap<>();
        for (Allocation a : cluster.running()) {
            for (String n : a.nodes()) {
                uses.computeIfAbsent(n, x -> new ArrayList<>()).add(new Use(a.job(), Long.MIN_VALUE / 4,
                        Duration.between(Workloads.NOW, a.expectedEnd()).toMillis(), a.cpus(), a.memoryBytes(),
                        a.gpus()));
            }
        }
        for (QueuedJob job : queue) {
            long fitting = cluster.nodes().stream().filter(n -> n.state() == NodeState.UP && n.cpus() >= job.cpus()
                    && n.memoryBytes() >= job.memoryBytes() && n.gpus() >= job.gpus()).count();
            if (fitting < job.nodes()) {
                assertThat(infeasible).as("job %s fits nowhere", job.id()).contains(job.id());
                continue;
            }
            Plan.Placement p = placed.get(job.id());
            assertThat(p).as("feasible job %s has a start", job.id()).isNotNull();
            assertThat(p.nodes()).hasSize(job.nodes()).doesNotHaveDuplicates();
            long start = Duration.between(Workloads.NOW, p.start()).toMillis();
            for (String name : p.nodes()) {
                NodeView n = nodes.get(name);
                assertThat(n.state()).isEqualTo(NodeState.UP);
                assertThat(n.cpus()).isGreaterThanOrEqualTo(job.cpus());
                assertThat(n.memoryBytes()).isGreaterThanOrEqualTo(job.memoryBytes());
                assertThat(n.gpus()).isGreaterThanOrEqualTo(job.gpus());
                uses.computeIfAbsent(name, x -> new ArrayList<>()).add(new Use(job.id(), start,
                        start + job.expectedDuration().toMillis(), job.cpus(), job.memoryBytes(), job.gpus()));
            }
        }
        for (Map.Entry<String, List<Use>> e : uses.entrySet()) {
            NodeView n = nodes.get(e.getKey());
            boolean exclusive = cluster.modeOf(n.partition()) == NodeMode.EXCLUSIVE;
            for (Use at : e.getValue()) {
                // Usage is piecewise constant and only rises at starts: checking every start covers every instant.
                long t = Math.max(at.start(), 0);
                int count = 0;
                int cpus = 0;
                long mem = 0;
                int gpus = 0;
                for (Use u : e.getValue()) {
                    if (u.start() <= t && t < u.end()) {
                        count++;
                        cpus += u.cpus();
                        mem += u.mem();
                        gpus += u.gpus();
                    }
                }
                if (exclusive) {
                    assertThat(count).as("jobs on exclusive %s at %d", n.name(), t).isLessThanOrEqualTo(1);
                } else {
                    assertThat(cpus).as("cpus on %s at %d", n.name(), t).isLessThanOrEqualTo(n.cpus());
                    assertThat(mem).as("memory on %s at %d", n.name(), t).isLessThanOrEqualTo(n.memoryBytes());
                    assertThat(gpus).as("gpus on %s at %d", n.name(), t).isLessThanOrEqualTo(n.gpus());
                }
            }
        }
    }
}
