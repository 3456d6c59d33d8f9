package dev.skyport.core.internal.ssh;

import dev.skyport.api.EndReason;
import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.RemoteSite;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.GateProvider;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionNode;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.PartitionState;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A cloud gate for tests, {@code fakecloud}: a partition of N nodes is N MINA SSH servers on loopback, started by
 * {@link #createPartition} (each node with its own home directory, one host key pinned by fingerprint, one client key
 * per gate), stopped by {@link #deletePartition}. Faults are static knobs, as the gate is created by name: one engine
 * at a time uses it. Every call is recorded.
 */
public final class FakeCloudGate implements Gate {
    public static final String NAME = "fakecloud";
    public static final Flavor SMALL = new Flavor("cloud.small", "fake", 2, 2L << 30, 0, 0, 0.096, "USD");
    public static final Flavor LARGE = new Flavor("cloud.large", "fake", 64, 256L << 30, 0, 0, 2.5, "USD");
    public static final Image IMAGE = new Image("fake-image", "fake", "cloud");
    public static final RemoteSite SITE = new RemoteSite("fake", NAME, "loopback");

    private static final KeyPair HOST_KEY = MinaSshServer.rsa();
    private static final KeyPair OTHER_KEY = MinaSshServer.rsa();
    private static final KeyPair CLIENT_KEY = MinaSshServer.rsa();

    /** The next this many creations fail transiently, with {@link #retryAfter}. */
    public static final AtomicInteger transientFailures = new AtomicInteger();
    public static volatile Optional<Duration> retryAfter = Optional.empty();
    /** When set, every creation fails with it. */
    public static final AtomicReference<GateException> permanentFailure = new AtomicReference<>();
    /** While set, a creation blocks until its thread is interrupted (past the deadline, a cancel, a close). */
    public static volatile boolean hang;
    /** While set, a creation waits for it (interruptibly) before it creates anything. */
    public static volatile CountDownLatch hold;
    /** The nodes' host key is not the one the handle pins. */
    public static volatile boolean wrongHostKey;
    /** The compute nodes (not the head) are listed without host keys, as a broken gate might. */
    public static volatile boolean computeWithoutHostKeys;
    /** The nodes are listed at a port where nothing listens. */
    public static volatile boolean unreachable;
    /** Listed besides the partitions it made: as left by an earlier life or by another engine. */
    public static final List<PartitionHandle> extra = new CopyOnWriteArrayList<>();

    public static final List<String> creates = new CopyOnWriteArrayList<>();
    public static final List<String> deletes = new CopyOnWriteArrayList<>();
    public static final AtomicInteger inFlight = new AtomicInteger();
    /** While set, listing the partitions fails transiently, as a cloud API that is down would. */
    public static volatile boolean listFails;
    /** How many times the partitions were listed. */
    public static final AtomicInteger lists = new AtomicInteger();
    private static final Map<String, Map<String, String>> tags = new ConcurrentHashMap<>();
    public static final AtomicInteger maxInFlight = new AtomicInteger();
    /** Announces each creation as it enters the gate. */
    public static final java.util.concurrent.BlockingQueue<String> entered =
            new java.util.concurrent.LinkedBlockingQueue<>();

    private static final Map<String, Made> made = new ConcurrentHashMap<>();

    private record Made(PartitionHandle handle, List<MinaSshServer> servers) {
    }

    /** Puts every knob back and forgets every call; stops what a test left running. */
    public static void reset() {
        transientFailures.set(0);
        retryAfter = Optional.empty();
        permanentFailure.set(null);
        hang = false;
        hold = null;
        wrongHostKey = false;
        unreachable = false;
        computeWithoutHostKeys = false;
        extra.clear();
        creates.clear();
        deletes.clear();
        inFlight.set(0);
        lists.set(0);
        listFails = false;
        tags.clear();
        maxInFlight.set(0);
        entered.clear();
        for (String name : List.copyOf(made.keySet())) {
            stopAll(made.remove(name));
        }
    }

    /**
     * Stops the SSH servers of partition {@code name} as a VM dies or is deleted behind the engine's back; the partition
     * stays listed until the engine deletes it.
     */
    public static void killNodes(String name) throws java.io.IOException {
        Made m = made.get(name);
        if (m != null) {
            for (MinaSshServer s : m.servers()) {
                s.stop();
            }
        }
    }

    /** The partitions that exist now (created and not deleted). */
    public static Set<String> live() {
        return Set.copyOf(made.keySet());
    }

    /** The tags the last creation of {@code name} asked for. */
    public static Map<String, String> tagsOf(String name) {
        return tags.getOrDefault(name, Map.of());
    }

    public static String hostFingerprint() {
        return SshConnections.fingerprint(HOST_KEY.getPublic());
    }

    private final Path workDir;
    /**
     * External mode, for an engine in a child JVM that is killed: every partition is the one SSH server the test's JVM
     * runs (option {@code external-port}, with the key file {@code external-key} and host key fingerprint
     * {@code external-fingerprint}); a creation writes {@code <external-dir>/<name>.entered} and, while
     * {@code <external-dir>/hold} exists, waits; a deletion appends the name to {@code <external-dir>/deletes.log}.
     */
    private final Optional<Path> external;
    private final Map<String, String> options;

    private FakeCloudGate(GateConfig config) {
        this.workDir = config.workDir();
        this.options = config.options();
        this.external = Optional.ofNullable(config.options().get("external-dir")).map(Path::of);
    }

    private PartitionHandle createExternal(Path dir, PartitionSpec spec) throws InterruptedException, IOException {
        Files.writeString(dir.resolve(spec.name() + ".entered"), "");
        while (Files.exists(dir.resolve("hold"))) {
            Thread.sleep(20); // the fake cloud's own pace; interrupted by a deadline, a cancel or a close
        }
        PartitionNode node = new PartitionNode(spec.name() + "-0", "head", "127.0.0.1",
                Integer.parseInt(options.get("external-port")), Set.of(options.get("external-fingerprint")), 2,
                SMALL.memoryBytes(), 0);
        return new PartitionHandle(spec.name(), NAME, PartitionState.READY, List.of(node), "skyport",
                Optional.of(Path.of(options.get("external-key"))), spec.tags(), Instant.now(), Optional.empty());
    }

    public static final class Provider implements GateProvider {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public Gate create(GateConfig config) {
            return new FakeCloudGate(config);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Node> nodes() {
        return List.of();
    }

    @Override
    public List<Flavor> flavors() {
        return List.of(SMALL, LARGE);
    }

    @Override
    public boolean createsPartitions() {
        return true;
    }

    @Override
    public List<Image> images() {
        return List.of(IMAGE);
    }

    @Override
    public List<RemoteSite> remotes() {
        return List.of(SITE);
    }

    @Override
    public List<PartitionHandle> listPartitions() {
        lists.incrementAndGet();
        if (listFails) {
            throw GateException.transientFailure("the fake cloud's API is down", null, Optional.empty());
        }
        List<PartitionHandle> all = new ArrayList<>(extra);
        made.values().forEach(m -> all.add(m.handle()));
        return all;
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        creates.add(spec.name());
        tags.put(spec.name(), spec.tags());
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        entered.add(spec.name());
        try {
            if (external.isPresent()) {
                return createExternal(external.get(), spec);
            }
            CountDownLatch h = hold;
            if (h != null) {
                h.await();
            }
            if (hang) {
                new CountDownLatch(1).await();
            }
            if (transientFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw GateException.transientFailure("throttled (429)", null, retryAfter);
            }
            GateException permanent = permanentFailure.get();
            if (permanent != null) {
                throw permanent;
            }
            Made m = made.computeIfAbsent(spec.name(), n -> make(spec));
            return m.handle();
        } catch (IOException e) {
            throw GateException.transientFailure("fake cloud: " + e, e, Optional.empty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw GateException.transientFailure("creation of " + spec.name() + " interrupted", e, Optional.empty());
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private Made make(PartitionSpec spec) {
        List<MinaSshServer> servers = new ArrayList<>();
        List<PartitionNode> nodes = new ArrayList<>();
        try {
            Path key = workDir.resolve(spec.name() + ".key");
            Files.writeString(key, MinaSshServer.pem(CLIENT_KEY));
            String fingerprint = SshConnections.fingerprint((wrongHostKey ? OTHER_KEY : HOST_KEY).getPublic());
            for (int i = 0; i < spec.nodeCount(); i++) {
                String name = spec.name() + "-" + i;
                Path home = Files.createDirectories(workDir.resolve(name));
                int port;
                if (unreachable) {
                    try (ServerSocket s = new ServerSocket(0)) {
                        port = s.getLocalPort(); // nothing listens there once closed
                    }
                } else {
                    MinaSshServer server = MinaSshServer.start(0, HOST_KEY, CLIENT_KEY.getPublic(), Optional.empty(),
                            Optional.of(home));
                    servers.add(server);
                    port = server.port();
                }
                Set<String> hostKeys = i > 0 && computeWithoutHostKeys ? Set.of() : Set.of(fingerprint);
                nodes.add(new PartitionNode(name, i == 0 ? "head" : "compute", "127.0.0.1", port, hostKeys,
                        SMALL.cpus() * (spec.flavor().orElse("").equals(LARGE.name()) ? 32 : 1), SMALL.memoryBytes(),
                        0));
            }
            PartitionHandle h = new PartitionHandle(spec.name(), NAME, PartitionState.READY, nodes, "skyport",
                    Optional.of(key), spec.tags(), Instant.now(), Optional.empty());
            return new Made(h, servers);
        } catch (IOException e) {
            servers.forEach(FakeCloudGate::stopQuietly);
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void deletePartition(String name) {
        deletes.add(name);
        if (external.isPresent()) {
            try {
                Files.writeString(external.get().resolve("deletes.log"), name + "\n",
                        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw GateException.transientFailure("fake cloud: " + e, e, Optional.empty());
            }
            return;
        }
        extra.removeIf(h -> h.name().equals(name));
        stopAll(made.remove(name));
    }

    private static void stopAll(Made m) {
        if (m != null) {
            m.servers().forEach(FakeCloudGate::stopQuietly);
        }
    }

    private static void stopQuietly(MinaSshServer s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // a test's leftovers
        }
    }

    @Override
    public NodeAccess access(String nodeName) {
        throw GateException.permanent("the engine reaches partition nodes itself: " + nodeName);
    }

    @Override
    public void close() {
        // Partitions outlive the gate, as cloud resources outlive an engine: a restarted engine finds them.
    }

    /** A permanent quota failure, as a cloud refusing more cores would give. */
    public static GateException quota() {
        return GateException.permanent("quota of cores exceeded in region fake", EndReason.QUOTA_EXCEEDED);
    }
}
