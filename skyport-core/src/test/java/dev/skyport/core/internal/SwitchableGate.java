package dev.skyport.core.internal;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.Partition;
import dev.skyport.api.RemoteSite;
import dev.skyport.core.internal.local.LocalGate;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateProvider;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionSpec;

import java.util.List;

/**
 * The local gate with a node whose state a test switches, as a node going down or coming back would: gate
 * {@code switchable}. One engine at a time uses it (the state is static, as the gate is created by name).
 */
final class SwitchableGate implements Gate {
    static volatile NodeState state = NodeState.UP;
    /** While set, listing the nodes fails, as a gate whose cloud API is down would. */
    static volatile boolean nodesFail;
    /** The next launch throws this (once), as a gate refusing to start a run would. */
    static final java.util.concurrent.atomic.AtomicReference<dev.skyport.gate.GateException> refuseNextLaunch =
            new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * While set, every upload first announces itself on {@link #uploadsEntered} and then waits for this latch: a slow
     * transfer a test can cancel or cut by a restart. The copy itself is the local gate's, on real files.
     */
    static volatile java.util.concurrent.CountDownLatch uploadsHeld;
    static final java.util.concurrent.BlockingQueue<String> uploadsEntered =
            new java.util.concurrent.LinkedBlockingQueue<>();
    /** Uploads a held transfer gave up because its thread was interrupted (a cancel or a close stopping it). */
    static final java.util.concurrent.atomic.AtomicInteger uploadsInterrupted =
            new java.util.concurrent.atomic.AtomicInteger();
    /** As {@link #uploadsHeld}, for downloads (announced on {@link #downloadsEntered}). */
    static volatile java.util.concurrent.CountDownLatch downloadsHeld;
    static final java.util.concurrent.BlockingQueue<String> downloadsEntered =
            new java.util.concurrent.LinkedBlockingQueue<>();
    /**
     * While set, the node keeps each job's directory beside the engine's ({@code <id>-node}) instead of in it, as a
     * remote node would: what the engine needs back must be copied.
     */
    static volatile boolean separateDirectory;
    /** A held upload waits on, deaf to interrupts (a transfer stuck in a call that does not see them). */
    static volatile boolean uploadsIgnoreInterrupts;
    static final java.util.concurrent.atomic.AtomicInteger uploadsNow = new java.util.concurrent.atomic.AtomicInteger();
    static final java.util.concurrent.atomic.AtomicInteger uploadsMost = new java.util.concurrent.atomic.AtomicInteger();
    /** When set, every {@code directoryOf} throws it (an ssh node with a relative root that went down). */
    static volatile dev.skyport.gate.GateException directoryOfFails;

    /** While above 0, a probe counts it down and throws {@link #probeFails} instead (a node unreachable a while). */
    static final java.util.concurrent.atomic.AtomicInteger probeFailuresLeft =
            new java.util.concurrent.atomic.AtomicInteger();
    static volatile dev.skyport.gate.GateException probeFails;
    /** Probes asked so far. */
    static final java.util.concurrent.atomic.AtomicInteger probes = new java.util.concurrent.atomic.AtomicInteger();

    private final LocalGate local;

    private SwitchableGate(GateConfig config) {
        this.local = new LocalGate(config);
    }

    public static final class Provider implements GateProvider {
        @Override
        public String name() {
            return "switchable";
        }

        @Override
        public Gate create(GateConfig config) {
            return new SwitchableGate(config);
        }
    }

    @Override
    public String name() {
        return "switchable";
    }

    @Override
    public List<Node> nodes() {
        // The state is read before the failure switch: a test sets the switch, then the state, so a listing that
        // sees the new state also sees the switch (reading it later let a pass place a job on a node "still down").
        NodeState now = state;
        if (nodesFail) {
            throw new IllegalStateException("injected: the gate cannot list its nodes");
        }
        return local.nodes().stream().map(n -> new Node(n.name(), n.partition(), n.cpus(), n.memoryBytes(), n.gpus(),
                now, n.labels())).toList();
    }

    @Override
    public List<Flavor> flavors() {
        return local.flavors();
    }

    @Override
    public List<Image> images() {
        return local.images();
    }

    @Override
    public List<RemoteSite> remotes() {
        return local.remotes();
    }

    @Override
    public List<Partition> partitions() {
        return local.partitions();
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        return local.createPartition(spec);
    }

    @Override
    public void deletePartition(String name) {
        local.deletePartition(name);
    }

    @Override
    public NodeAccess access(String nodeName) {
        NodeAccess node = local.access(nodeName);
        return new NodeAccess() {
            @Override
            public String node() {
                return node.node();
            }

            @Override
            public dev.skyport.gate.RunHandle launch(dev.skyport.gate.RunRequest request) {
                dev.skyport.gate.GateException refusal = refuseNextLaunch.getAndSet(null);
                if (refusal != null) {
                    throw refusal;
                }
                return node.launch(request);
            }

            @Override
            public java.util.concurrent.CompletableFuture<dev.skyport.gate.RunOutcome> watch(
                    dev.skyport.gate.RunHandle handle) {
                return node.watch(handle);
            }

            @Override
            public dev.skyport.gate.RunProbe probe(dev.skyport.gate.RunRequest request) {
                probes.incrementAndGet();
                if (probeFailuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    throw probeFails;
                }
                return node.probe(request);
            }

            @Override
            public void signal(dev.skyport.gate.RunHandle handle, dev.skyport.gate.RunSignal signal) {
                node.signal(handle, signal);
            }

            @Override
            public void upload(java.nio.file.Path from, String remotePath) {
                uploadsMost.accumulateAndGet(uploadsNow.incrementAndGet(), Math::max);
                try {
                    java.util.concurrent.CountDownLatch held = uploadsHeld;
                    if (held != null) {
                        uploadsEntered.add(remotePath);
                        boolean interrupted = false;
                        while (true) {
                            try {
                                held.await();
                                break;
                            } catch (InterruptedException e) {
                                if (!uploadsIgnoreInterrupts) {
                                    uploadsInterrupted.incrementAndGet();
                                    Thread.currentThread().interrupt();
                                    throw dev.skyport.gate.GateException.transientFailure("upload interrupted", e,
                                            java.util.Optional.empty());
                                }
                                interrupted = true;
                            }
                        }
                        if (interrupted) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    node.upload(from, remotePath);
                } finally {
                    uploadsNow.decrementAndGet();
                }
            }

            @Override
            public void download(String remotePath, java.nio.file.Path to) {
                java.util.concurrent.CountDownLatch held = downloadsHeld;
                if (held != null) {
                    downloadsEntered.add(remotePath);
                    try {
                        held.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw dev.skyport.gate.GateException.transientFailure("download interrupted", e,
                                java.util.Optional.empty());
                    }
                }
                node.download(remotePath, to);
            }

            @Override
            public void uploadTree(java.nio.file.Path from, String remotePath) {
                node.uploadTree(from, remotePath);
            }

            @Override
            public void downloadTree(String remotePath, java.nio.file.Path to) {
                node.downloadTree(remotePath, to);
            }

            @Override
            public String directoryOf(dev.skyport.api.JobId job, java.nio.file.Path engineDirectory) {
                dev.skyport.gate.GateException fails = directoryOfFails;
                if (fails != null) {
                    throw fails;
                }
                return separateDirectory ? engineDirectory.resolveSibling(job + "-node").toString()
                        : node.directoryOf(job, engineDirectory);
            }
        };
    }

    @Override
    public void close() {
        local.close();
    }
}
