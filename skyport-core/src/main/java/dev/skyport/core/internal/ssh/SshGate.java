package dev.skyport.core.internal.ssh;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.Partition;
import dev.skyport.api.RemoteSite;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A static list of on-prem hosts reached over SSH (key authentication only, host keys always verified). The nodes are
 * what the options say ({@link SshGateConfig}); whether each takes work is what a background health probe found last:
 * every {@code health-interval} each node runs a trivial command with the connect timeout, UP when it answered, DOWN
 * (with the reason in the node's {@code state-reason} label) when it did not. The first probe runs at creation without
 * holding it up, so a node is DOWN ("not reached yet") until it first answers. It creates no partitions.
 */
public final class SshGate implements Gate {
    public static final String NAME = "ssh";

    /**
     * Access to one node of a cloud partition, as the ssh gate reaches its hosts: job directories under
     * {@code .skyport/jobs} in the login's home, container images with the node's podman or docker, no sandbox. It is
     * {@link AutoCloseable}: the engine closes it when the partition goes.
     */
    public static NodeAccess partitionNode(String name, SshTarget target, SshConnections connections,
                                           java.time.Clock clock) {
        return new SshNode(new SshGateConfig.NodeSpec(name, target, 1, 0, 0, java.util.Map.of(), name),
                connections, ".skyport/jobs", PARTITION_NODE_LOST_AFTER, clock,
                java.util.Optional.of(dev.skyport.gate.ContainerRuntime.auto()), dev.skyport.gate.RunIsolation.none(),
                false);
    }
    /** How long a partition node may fail every health probe before its runs are lost. */
    public static final java.time.Duration PARTITION_NODE_LOST_AFTER = java.time.Duration.ofSeconds(60);

    /**
     * One health probe of a node made by {@link #partitionNode}: after {@link #PARTITION_NODE_LOST_AFTER} of failed
     * probes its runs end as lost. Blocks for at most the connection's timeouts.
     */
    public static void probePartitionNode(NodeAccess node) {
        if (node instanceof SshNode n) {
            n.probeHealth();
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(SshGate.class);
    private static final int MAX_PROBE_THREADS = 8;

    private final Map<String, SshNode> nodes = new LinkedHashMap<>();
    private final SshConnections connections;
    private final ScheduledExecutorService timer;
    private final ExecutorService probes;
    /** Nodes whose probe is still under way: a slow (timing out) node is not probed twice at once. */
    private final Set<String> probing = ConcurrentHashMap.newKeySet();
    private final List<Flavor> flavors;
    private final List<RemoteSite> remotes;
    private final boolean runsImages;
    private volatile boolean closed;

    public SshGate(GateConfig config) {
        SshGateConfig c = SshGateConfig.parse(config);
        this.runsImages = c.containers.isPresent();
        this.connections = new SshConnections(c.connectTimeout);
        for (SshGateConfig.NodeSpec spec : c.nodes) {
            nodes.put(spec.name(), new SshNode(spec, connections, c.remoteRoot, c.nodeLostAfter, config.clock(),
                    c.containers, c.isolation, c.sandboxRequired));
        }
        this.flavors = flavors(c.nodes);
        this.remotes = c.nodes.stream().map(SshGateConfig.NodeSpec::partition).distinct()
                .map(p -> new RemoteSite(p, NAME, "on-prem hosts over ssh")).toList();
        AtomicInteger n = new AtomicInteger();
        this.probes = Executors.newFixedThreadPool(Math.min(MAX_PROBE_THREADS, nodes.size()), r -> {
            Thread t = new Thread(r, "skyport-ssh-health-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "skyport-ssh-health");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::probeAll, 0, c.healthInterval.toMillis(), TimeUnit.MILLISECONDS);
        LOG.info("ssh gate: {} node(s), health probe every {} s, a node is lost after {} s unreachable",
                nodes.size(), c.healthInterval.toMillis() / 1000.0, c.nodeLostAfter.toMillis() / 1000.0);
    }

    private void probeAll() {
        for (SshNode node : nodes.values()) {
            if (closed || !probing.add(node.node())) {
                continue;
            }
            try {
                probes.execute(() -> {
                    try {
                        node.probeHealth();
                    } finally {
                        probing.remove(node.node());
                    }
                });
            } catch (RuntimeException rejected) {
                probing.remove(node.node()); // closing
            }
        }
    }

    /** One flavor per distinct node shape of a partition, at price 0: what the nodes are, not what can be bought. */
    private static List<Flavor> flavors(List<SshGateConfig.NodeSpec> specs) {
        Map<String, Flavor> byName = new TreeMap<>();
        for (SshGateConfig.NodeSpec s : specs) {
            String name = s.partition() + "-" + s.cpus() + "cpu-" + (s.memoryBytes() >> 20) + "mib"
                    + (s.gpus() > 0 ? "-" + s.gpus() + "gpu" : "");
            byName.putIfAbsent(name, new Flavor(name, s.partition(), s.cpus(), s.memoryBytes(), 0, s.gpus(), 0,
                    "USD"));
        }
        return List.copyOf(byName.values());
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Node> nodes() {
        List<Node> out = new ArrayList<>(nodes.size());
        for (SshNode n : nodes.values()) {
            out.add(n.view());
        }
        return out;
    }

    @Override
    public boolean runsContainerImages() {
        return runsImages;
    }

    @Override
    public List<Flavor> flavors() {
        return flavors;
    }

    @Override
    public List<Image> images() {
        return List.of();
    }

    @Override
    public List<RemoteSite> remotes() {
        return remotes;
    }

    @Override
    public List<Partition> partitions() {
        Map<String, List<String>> byPartition = new LinkedHashMap<>();
        for (SshNode n : nodes.values()) {
            byPartition.computeIfAbsent(n.spec().partition(), p -> new ArrayList<>()).add(n.node());
        }
        List<Partition> out = new ArrayList<>();
        byPartition.forEach((p, members) -> out.add(new Partition(p, NAME, "up", members, Map.of())));
        return out;
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        throw GateException.permanent("the ssh gate has a fixed list of nodes and creates no partitions");
    }

    @Override
    public void deletePartition(String name) {
        // Nothing to delete: the partitions are the configured hosts.
    }

    @Override
    public NodeAccess access(String nodeName) {
        SshNode n = nodes.get(nodeName);
        if (n == null) {
            throw GateException.permanent("the ssh gate has no node '" + nodeName + "'");
        }
        return n;
    }

    @Override
    public void close() {
        closed = true;
        timer.shutdownNow();
        probes.shutdownNow();
        for (SshNode n : nodes.values()) {
            n.close();
        }
        connections.close();
    }
}
