package dev.skyport.core.internal;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.Partition;
import dev.skyport.api.RemoteSite;
import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.core.internal.ssh.SshGate;
import dev.skyport.core.internal.ssh.SshTarget;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionNode;
import dev.skyport.gate.PartitionSpec;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one gate the rest of the engine sees: the main gate's nodes plus the nodes of the partitions the cloud gate made
 * for jobs (reached over SSH with their pinned host keys), and the union of what both offer, the main gate's first.
 * Without a cloud gate it is the main gate. Thread-safe.
 */
final class EngineGate implements Gate {
    /** How long one SSH connection or command to a partition node may take. */
    static final Duration SSH_TIMEOUT = Duration.ofSeconds(30);
    /**
     * How often the head of each READY partition is probed over SSH. A head that fails every probe for
     * {@link SshGate#PARTITION_NODE_LOST_AFTER} (on the engine's clock) ends its runs as lost, so that a VM that died
     * or was deleted behind the engine's back ends its job NODE_LOST (retried by policy) and the partition is deleted,
     * instead of the job following a run that no poll can reach until its time limit. Tests shorten it.
     */
    static volatile Duration healthInterval = Duration.ofSeconds(15);

    private final Gate main;
    private final Optional<Gate> cloud;
    private final SshConnections connections = new SshConnections(SSH_TIMEOUT);
    /** The nodes of READY partitions, by partition name. */
    private final Map<String, Registered> partitions = new ConcurrentHashMap<>();
    /** The access to each partition node, by node name. */
    private final Map<String, NodeAccess> access = new ConcurrentHashMap<>();

    private record Registered(PartitionHandle handle, String job, List<Node> nodes) {
    }

    private final java.time.Clock clock;
    /** Runs the probes of partition heads, one at a time per head; its threads start with the first probe. */
    private final java.util.concurrent.ScheduledExecutorService health =
            java.util.concurrent.Executors.newScheduledThreadPool(2, r -> {
                Thread t = new Thread(r, "skyport-partition-health");
                t.setDaemon(true);
                return t;
            });
    /** Heads whose probe is under way: a head that times out is not probed twice at once. */
    private final java.util.Set<String> probing = ConcurrentHashMap.newKeySet();

    EngineGate(Gate main, Optional<Gate> cloud, java.time.Clock clock) {
        this.main = main;
        this.clock = clock;
        this.cloud = cloud.filter(c -> c != main);
        if (cloudGate().isPresent()) {
            scheduleHealth(); // only partitions have heads to probe: an engine without a cloud gate starts no thread
        }
    }

    private void scheduleHealth() {
        try {
            health.schedule(() -> {
                try {
                    probeHeads();
                } finally {
                    scheduleHealth();
                }
            }, healthInterval.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // closed: no more probes
        }
    }

    /** Probes the head of every registered partition (the only node the engine reaches) on the health pool. */
    void probeHeads() {
        for (Registered r : partitions.values()) {
            PartitionNode head = r.handle().nodes().stream().filter(n -> n.role().equals("head")).findFirst()
                    .orElse(r.handle().nodes().get(0));
            NodeAccess a = access.get(head.name());
            if (a == null || !probing.add(head.name())) {
                continue;
            }
            try {
                health.execute(() -> {
                    try {
                        SshGate.probePartitionNode(a);
                    } finally {
                        probing.remove(head.name());
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                probing.remove(head.name());
                return;
            }
        }
    }

    /** The gate that creates partitions: the cloud gate, or the main gate when it does so itself. */
    Optional<Gate> cloudGate() {
        return cloud.isPresent() ? cloud : main.createsPartitions() ? Optional.of(main) : Optional.empty();
    }

    /** The flavors partitions are made of: the cloud gate's, none without one. */
    List<Flavor> cloudFlavors() {
        return cloudGate().map(Gate::flavors).orElse(List.of());
    }

    Gate main() {
        return main;
    }

    /** The SSH login to {@code node} of {@code handle}, with the partition's key and the node's pinned host keys. */
    static SshTarget target(PartitionHandle handle, PartitionNode node) {
        return new SshTarget(node.host(), node.port(), handle.sshUser(), Optional.of(handle.sshKey().orElseThrow()),
                Optional.empty(), Optional.empty(), node.hostKeyFingerprints());
    }

    SshConnections connections() {
        return connections;
    }

    /**
     * Makes the nodes of READY partition {@code handle} reachable for the job {@code job}: they are listed (partition =
     * the partition's name, labelled with the job and the gate) and {@link #access} reaches them over SSH.
     */
    void register(PartitionHandle handle, String job) {
        List<Node> nodes = new ArrayList<>();
        // Every target first: one that cannot be made (a node without host keys) leaves nothing half registered.
        Map<String, SshTarget> targets = new java.util.LinkedHashMap<>();
        for (PartitionNode n : handle.nodes()) {
            targets.put(n.name(), target(handle, n));
        }
        for (PartitionNode n : handle.nodes()) {
            access.computeIfAbsent(n.name(), k -> SshGate.partitionNode(n.name(), targets.get(n.name()), connections,
                    clock));
            nodes.add(new Node(n.name(), handle.name(), n.cpus(), n.memoryBytes(), n.gpus(), NodeState.UP,
                    Map.of(PartitionSpec.TAG_JOB, job, "skyport-gate", handle.gate())));
        }
        partitions.put(handle.name(), new Registered(handle, job, List.copyOf(nodes)));
    }

    /** Forgets the nodes of partition {@code name} and closes their access and SSH connections. */
    void unregister(String name) {
        Registered r = partitions.remove(name);
        if (r != null) {
            for (PartitionNode n : r.handle().nodes()) {
                NodeAccess a = access.remove(n.name());
                if (a instanceof AutoCloseable c) {
                    try {
                        c.close();
                    } catch (Exception ex) {
                        // its connections go with the engine's; nothing is left to free
                    }
                }
            }
            forgetConnections(r.handle());
        }
    }

    /** Closes the SSH connections to the nodes of {@code handle}: its partition is gone or going. */
    void forgetConnections(PartitionHandle handle) {
        for (PartitionNode n : handle.nodes()) {
            try {
                connections.close(target(handle, n));
            } catch (RuntimeException ex) {
                // a node without a key or host keys never had a connection
            }
        }
    }

    /** Whether {@code node} belongs to a partition made for a job (never offered to the scheduler). */
    boolean isPartitionNode(String node) {
        return access.containsKey(node);
    }

    /**
     * {@code all} without the nodes of partitions: those come and go with their jobs, and a record of each (as node
     * events keep) would only pile up. Told by their label, so that a partition unregistered since the listing still
     * counts as one.
     */
    static List<Node> withoutPartitionNodes(List<Node> all) {
        return all.stream().filter(n -> !n.labels().containsKey(PartitionSpec.TAG_JOB)).toList();
    }

    /** The main gate's nodes only: those the scheduler shares among jobs. */
    List<Node> mainNodes() {
        return main.nodes();
    }

    @Override
    public String name() {
        return main.name();
    }

    @Override
    public List<Node> nodes() {
        List<Node> all = new ArrayList<>(main.nodes());
        for (Registered r : partitions.values()) {
            all.addAll(r.nodes());
        }
        return all;
    }

    @Override
    public List<Flavor> flavors() {
        return union(main.flavors(), cloud.map(Gate::flavors), Flavor::name);
    }

    @Override
    public boolean createsPartitions() {
        return cloudGate().isPresent();
    }

    @Override
    public List<Image> images() {
        return union(main.images(), cloud.map(Gate::images), Image::name);
    }

    @Override
    public List<RemoteSite> remotes() {
        return union(main.remotes(), cloud.map(Gate::remotes), RemoteSite::name);
    }

    /**
     * The partitions the engine made, from its own records: asking the cloud would cost calls on every request, and
     * would show other engines' partitions with their owners' tags. Only the reconciler lists the cloud.
     */
    private volatile java.util.function.Supplier<List<Partition>> made = List::of;

    void madePartitions(java.util.function.Supplier<List<Partition>> source) {
        this.made = source;
    }

    @Override
    public List<Partition> partitions() {
        List<Partition> all = new ArrayList<>(main.partitions());
        all.addAll(made.get());
        return all;
    }

    @Override
    public List<PartitionHandle> listPartitions() {
        return cloudGate().map(Gate::listPartitions).orElse(List.of());
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        return cloudGate().orElseThrow(() -> GateException.permanent("no gate here creates partitions"))
                .createPartition(spec);
    }

    @Override
    public void deletePartition(String name) {
        cloudGate().orElseThrow(() -> GateException.permanent("no gate here creates partitions"))
                .deletePartition(name);
    }

    @Override
    public NodeAccess access(String nodeName) {
        NodeAccess a = access.get(nodeName);
        return a != null ? a : main.access(nodeName);
    }

    /** Whether a run on {@code node} is started in its job's container image. */
    boolean runsContainerImagesOn(String node) {
        // A partition node runs images with its podman or docker (the ssh gate's way).
        return access.containsKey(node) || main.runsContainerImages();
    }

    @Override
    public boolean runsContainerImages() {
        return main.runsContainerImages() || cloudGate().isPresent();
    }

    @Override
    public void close() {
        health.shutdownNow();
        for (String name : List.copyOf(partitions.keySet())) {
            unregister(name);
        }
        connections.close();
        try {
            cloud.ifPresent(Gate::close);
        } finally {
            main.close();
        }
    }

    private static <T> List<T> union(List<T> first, Optional<List<T>> second,
                                     java.util.function.Function<T, String> name) {
        if (second.isEmpty()) {
            return first;
        }
        Map<String, T> byName = new LinkedHashMap<>();
        for (T t : first) {
            byName.putIfAbsent(name.apply(t), t);
        }
        for (T t : second.get()) {
            byName.putIfAbsent(name.apply(t), t);
        }
        return List.copyOf(byName.values());
    }
}
