package dev.skyport.gate.slurm;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.RemoteSite;
import dev.skyport.gate.BatchPartition;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code slurm} gate: an existing Slurm cluster as a batch site. Sky Port decides that a job goes to the site;
 * Slurm's scheduler places it ({@link #batchQueue()}). The cluster's nodes are listed for users to see and its
 * partitions offered as flavors (the shape of each partition's largest node); the gate creates no partitions and
 * gives no direct access to nodes.
 */
final class SlurmGate implements Gate {
    static final String NAME = "slurm";
    /** Node label: Slurm's own state with its flags, e.g. {@code idle+DRAIN}. */
    static final String SLURM_STATE_LABEL = "slurm-state";
    /** Node label: why Slurm or an administrator took the node out of service; absent when none. */
    static final String STATE_REASON_LABEL = "state-reason";
    /** Node label: every Slurm partition the node is in, comma-separated. */
    static final String PARTITIONS_LABEL = "slurm-partitions";

    private final SlurmGateConfig config;
    private final SlurmBackend backend;
    private final SlurmQueue queue;
    private final SharedFiles files;
    private final AutoCloseable onClose;

    SlurmGate(SlurmGateConfig config, SlurmBackend backend, SlurmQueue queue, SharedFiles files,
              AutoCloseable onClose) {
        this.config = config;
        this.backend = backend;
        this.queue = queue;
        this.files = files;
        this.onClose = onClose;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Node> nodes() {
        List<Node> nodes = new ArrayList<>();
        for (SlurmNode n : backend.nodes()) {
            Map<String, String> labels = new LinkedHashMap<>();
            labels.put(SLURM_STATE_LABEL, n.state() + (n.flags().isEmpty() ? "" : "+" + String.join("+", n.flags())));
            if (!n.reason().isBlank()) {
                labels.put(STATE_REASON_LABEL, n.reason());
            }
            labels.put(PARTITIONS_LABEL, String.join(",", n.partitions()));
            labels.put("site", config.site);
            nodes.add(new Node(n.name(), n.partitions().isEmpty() ? config.site : n.partitions().get(0),
                    Math.max(1, n.cpus()), n.memoryMiB() << 20, Gres.gpus(n.gres()), state(n), labels));
        }
        return nodes;
    }

    /**
     * Slurm's node state as Sky Port's: a node that takes jobs is UP; one draining (DRAIN on a node still running
     * jobs) DRAINING; drained, down, failing, not responding, powered off or of unknown state DOWN.
     */
    static NodeState state(SlurmNode n) {
        boolean drain = n.flags().contains("DRAIN") || n.flags().contains("FAIL");
        boolean unusable = n.flags().contains("NOT_RESPONDING") || n.flags().contains("POWERED_DOWN")
                || n.flags().contains("POWER_DOWN") || n.flags().contains("MAINTENANCE");
        return switch (n.state()) {
            case "idle", "mixed", "allocated", "completing", "planned" -> {
                if (unusable) {
                    yield NodeState.DOWN;
                }
                if (drain) {
                    yield n.state().equals("idle") ? NodeState.DOWN : NodeState.DRAINING;
                }
                yield NodeState.UP;
            }
            default -> NodeState.DOWN;
        };
    }

    @Override
    public List<Flavor> flavors() {
        return queue.partitions().stream().map(this::flavor).toList();
    }

    /** Priced 0: a batch site's price is the engine's option (price-per-cpu-hour), which the gate never sees. */
    private Flavor flavor(BatchPartition p) {
        return new Flavor(p.name(), config.site, Math.max(1, p.maxCpusPerNode()), p.maxMemoryPerNode(), 0,
                p.maxGpusPerNode(), 0, "USD");
    }

    @Override
    public List<Image> images() {
        return List.of();
    }

    @Override
    public List<RemoteSite> remotes() {
        return List.of(new RemoteSite(config.site, NAME, "Slurm cluster, " + backend.describe()));
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        throw GateException.permanent("the Slurm site " + config.site + " creates no partitions: Slurm's scheduler"
                + " places jobs on the cluster's nodes");
    }

    @Override
    public void deletePartition(String name) {
        // Nothing was ever created.
    }

    @Override
    public NodeAccess access(String nodeName) {
        throw GateException.permanent("the node " + nodeName + " of Slurm site " + config.site + " is Slurm's: jobs"
                + " reach it through the site's queue, files through its shared file system");
    }

    @Override
    public Optional<BatchQueue> batchQueue() {
        return Optional.of(queue);
    }

    @Override
    public void close() {
        try {
            files.close();
        } finally {
            try {
                backend.close();
            } finally {
                try {
                    onClose.close();
                } catch (Exception e) {
                    // Closing SSH connections of a gate that is going away: nothing to do about a failure.
                }
            }
        }
    }

    @Override
    public String toString() {
        return "SlurmGate[" + config.site + ", " + backend.describe() + "]";
    }
}
