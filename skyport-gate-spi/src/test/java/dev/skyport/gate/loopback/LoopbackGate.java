package dev.skyport.gate.loopback;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.RemoteSite;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionNode;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.PartitionState;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.digest.BuiltinDigests;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A gate that "creates" a partition by starting one Apache MINA SSH server per node on 127.0.0.1, so that the whole
 * cloud path of the engine (create, wait for SSH with pinned host keys, stage in, run, stage out, delete) runs in tests
 * without a cloud. Each node has its own port, host key and home directory under the work directory; each partition
 * has its own client key pair ({@code <workDir>/partitions/<name>/id_ecdsa}, OpenSSH format, mode 600), the only key
 * its servers accept, for the current OS user. A partition's state is kept in its directory, so a gate created later
 * over the same work directory lists it and serves its READY partitions again on the same ports with the same host
 * keys (processes the earlier servers started keep running meanwhile, like a VM's while the engine restarts).
 *
 * <p>Options (see {@link LoopbackSettings}): {@code flavors}, {@code images}, {@code remote}, and fault injection:
 * {@code fail-create} ({@code transient:<n>[:<retry-after-seconds>]}, {@code permanent}, {@code quota},
 * {@code no-capacity}), {@code create-delay}, {@code unreachable-nodes}, {@code crash-mid-create}. The static
 * {@link #counters()} count calls across every loopback gate of the JVM. Thread-safe; creations of different partitions
 * run in parallel, those of one partition one after the other.
 */
public final class LoopbackGate implements Gate {
    public static final String NAME = "loopback";
    /** The file, in a partition's directory, holding the private key the partition's servers accept. */
    public static final String CLIENT_KEY_FILE = "id_ecdsa";
    /** The exit status {@code crash-mid-create} halts the JVM with, as a {@code kill -9} leaves it. */
    public static final int CRASH_STATUS = 137;

    private static final Logger log = LoggerFactory.getLogger(LoopbackGate.class);
    private static final Pattern PARTITION_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    private static final AtomicLong CREATE_CALLS = new AtomicLong();
    private static final AtomicLong CREATED = new AtomicLong();
    private static final AtomicLong DELETE_CALLS = new AtomicLong();
    private static final AtomicLong DELETED = new AtomicLong();
    private static final AtomicInteger IN_FLIGHT = new AtomicInteger();
    private static final AtomicInteger PEAK_IN_FLIGHT = new AtomicInteger();

    private final Path root;
    private final LoopbackSettings settings;
    private final Clock clock;
    private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    /** Running servers by partition and node index. */
    private final ConcurrentHashMap<String, Map<Integer, LoopbackNodeServer>> serving = new ConcurrentHashMap<>();
    /** The partitions this gate knows, as last persisted. */
    private final ConcurrentHashMap<String, PartitionRecord> records = new ConcurrentHashMap<>();
    private final AtomicInteger failuresLeft;
    private volatile boolean closed;

    /**
     * What every loopback gate of this JVM has seen: createPartition calls, partitions that became READY by a creation
     * of their own, deletePartition calls, partitions that existed when deleted, the createPartition calls running now
     * and the most that ever ran at once.
     */
    public record Counters(long createCalls, long partitionsCreated, long deleteCalls, long partitionsDeleted,
                           int inFlight, int peakInFlight) {
    }

    public static Counters counters() {
        return new Counters(CREATE_CALLS.get(), CREATED.get(), DELETE_CALLS.get(), DELETED.get(), IN_FLIGHT.get(),
                PEAK_IN_FLIGHT.get());
    }

    /** Sets every counter to zero (the in-flight count too: call it when no creation runs). */
    public static void resetCounters() {
        CREATE_CALLS.set(0);
        CREATED.set(0);
        DELETE_CALLS.set(0);
        DELETED.set(0);
        IN_FLIGHT.set(0);
        PEAK_IN_FLIGHT.set(0);
    }

    /**
     * Creates the gate over {@code config.workDir()} and serves the READY partitions found there again.
     *
     * @throws GateException permanent, naming the option, when an option is unknown or bad
     */
    public LoopbackGate(GateConfig config) {
        this.settings = LoopbackSettings.from(config);
        this.clock = config.clock();
        this.root = config.workDir().resolve("partitions");
        this.failuresLeft = new AtomicInteger(settings.createFault().map(LoopbackSettings.CreateFault::times)
                .orElse(0));
        try {
            Files.createDirectories(root);
            for (Path dir : partitionDirectories()) {
                Optional<PartitionRecord> rec = PartitionRecord.load(dir);
                if (rec.isEmpty()) {
                    continue;
                }
                records.put(rec.get().name, rec.get());
                if (rec.get().state == PartitionState.READY && !rec.get().unreachable) {
                    for (PartitionRecord.NodeRecord n : rec.get().nodes) {
                        try {
                            serve(rec.get(), n);
                        } catch (IOException e) {
                            // as a VM that did not come back: its node stays unreachable until createPartition again
                            log.warn("loopback: node {} of partition {} could not listen on port {} again: {}",
                                    rec.get().nodeName(n.index()), rec.get().name, n.port(), e.toString());
                        }
                    }
                }
            }
        } catch (IOException e) {
            close();
            throw GateException.permanent("loopback: cannot use work directory " + config.workDir() + ": " + e, e);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean createsPartitions() {
        return true;
    }

    @Override
    public List<Node> nodes() {
        List<Node> out = new ArrayList<>();
        for (PartitionRecord rec : records.values()) {
            if (rec.state != PartitionState.READY) {
                continue;
            }
            Map<Integer, LoopbackNodeServer> running = serving.getOrDefault(rec.name, Map.of());
            List<PartitionNode> nodes = nodesOf(rec);
            for (int i = 0; i < nodes.size(); i++) {
                PartitionNode n = nodes.get(i);
                int index = rec.nodes.stream().sorted(Comparator.comparingInt(PartitionRecord.NodeRecord::index))
                        .toList().get(i).index();
                out.add(new Node(n.name(), rec.name, n.cpus(), n.memoryBytes(), n.gpus(),
                        running.containsKey(index) ? NodeState.UP : NodeState.DOWN,
                        Map.of("host", n.host(), "port", Integer.toString(n.port()), "role", n.role())));
            }
        }
        return out;
    }

    @Override
    public List<Flavor> flavors() {
        return settings.flavors();
    }

    @Override
    public List<Image> images() {
        return settings.images().stream().map(i -> new Image(i, settings.remote(), "cloud")).toList();
    }

    @Override
    public List<RemoteSite> remotes() {
        return List.of(new RemoteSite(settings.remote(), NAME, "127.0.0.1"));
    }

    /** Reads every partition's state from the work directory, as a cloud lists its resources by tag. */
    @Override
    public List<PartitionHandle> listPartitions() {
        List<PartitionHandle> out = new ArrayList<>();
        try {
            for (Path dir : partitionDirectories()) {
                PartitionRecord.load(dir).ifPresent(rec -> out.add(handle(rec)));
            }
        } catch (IOException e) {
            throw GateException.transientFailure("loopback: cannot list partitions: " + e.getMessage(), e,
                    Optional.empty());
        }
        return out;
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        CREATE_CALLS.incrementAndGet();
        PEAK_IN_FLIGHT.accumulateAndGet(IN_FLIGHT.incrementAndGet(), Math::max);
        try {
            return create(spec);
        } finally {
            IN_FLIGHT.decrementAndGet();
        }
    }

    private PartitionHandle create(PartitionSpec spec) {
        String name = spec.name();
        if (!PARTITION_NAME.matcher(name).matches()) {
            throw GateException.permanent("loopback: partition name '" + name
                    + "' must be letters, digits, '.', '_' and '-' (at most 63)");
        }
        Flavor flavor = flavor(spec);
        if (spec.cloudImage().isPresent() && !settings.images().contains(spec.cloudImage().get())) {
            throw GateException.permanent("loopback: unknown cloud image '" + spec.cloudImage().get()
                    + "' (offered: " + String.join(", ", settings.images()) + ")");
        }
        ReentrantLock lock = locks.computeIfAbsent(name, n -> new ReentrantLock());
        try {
            lock.lockInterruptibly();
        } catch (InterruptedException e) {
            throw interrupted(name, e);
        }
        try {
            ensureOpen();
            Path dir = root.resolve(name);
            PartitionRecord rec = PartitionRecord.load(dir).orElse(null);
            boolean fresh = rec == null || rec.state != PartitionState.READY;
            if (rec == null) {
                settings.createFault().ifPresent(fault -> {
                    if (failuresLeft.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
                        throw fault.exception(name);
                    }
                });
                rec = begin(spec, flavor, dir);
            }
            records.put(name, rec);
            if (fresh) {
                pause(name, settings.createDelay());
            }
            complete(rec, dir);
            if (fresh) {
                CREATED.incrementAndGet();
            }
            return handle(rec);
        } catch (IOException e) {
            throw GateException.transientFailure("loopback: creating " + name + " failed: " + e.getMessage(), e,
                    Optional.empty());
        } finally {
            lock.unlock();
        }
    }

    /** The partition's directory, client key and first state (CREATING, no nodes yet). */
    private PartitionRecord begin(PartitionSpec spec, Flavor flavor, Path dir) throws IOException {
        Files.createDirectories(dir.resolve("nodes"));
        KeyPair client = ecKey();
        Path keyFile = dir.resolve(CLIENT_KEY_FILE);
        Files.deleteIfExists(keyFile);
        Files.createFile(keyFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (OutputStream out = Files.newOutputStream(keyFile)) {
            OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(client, spec.name(), null, out);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot write the partition's key: " + e.getMessage(), e);
        }
        Files.writeString(dir.resolve(CLIENT_KEY_FILE + ".pub"),
                PublicKeyEntry.toString(client.getPublic()) + " " + spec.name() + "\n", StandardCharsets.US_ASCII);
        PartitionRecord rec = new PartitionRecord(spec.name(), spec, flavor.name(), clock.instant(),
                System.getProperty("user.name"), client.getPublic(), settings.unreachableNodes(),
                PartitionState.CREATING);
        rec.save(dir);
        return rec;
    }

    /** Starts every node that does not run yet (on its recorded port and key if it has one), then marks it READY. */
    private void complete(PartitionRecord rec, Path dir) throws IOException {
        int half = (rec.spec.nodeCount() + 1) / 2;
        for (int i = 0; i < rec.spec.nodeCount(); i++) {
            if (Thread.currentThread().isInterrupted()) {
                throw interrupted(rec.name, new InterruptedException());
            }
            Optional<PartitionRecord.NodeRecord> known = rec.node(i);
            if (rec.unreachable) {
                if (known.isEmpty()) {
                    rec.nodes.add(new PartitionRecord.NodeRecord(i, unusedPort(), ecKey()));
                    rec.save(dir);
                }
                continue;
            }
            if (serving.getOrDefault(rec.name, Map.of()).containsKey(i)) {
                continue;
            }
            if (known.isPresent()) {
                serve(rec, known.get());
            } else {
                KeyPair host = ecKey();
                LoopbackNodeServer server = LoopbackNodeServer.start(0, host, rec.clientKey, home(rec, i));
                PartitionRecord.NodeRecord node = new PartitionRecord.NodeRecord(i, server.port(), host);
                serving.computeIfAbsent(rec.name, n -> new ConcurrentHashMap<>()).put(i, server);
                rec.nodes.add(node);
                rec.save(dir);
            }
            if (settings.crashMidCreate() && rec.state == PartitionState.CREATING && rec.nodes.size() == half) {
                log.warn("loopback: crash-mid-create halts the JVM with {} of {} nodes of {} started", half,
                        rec.spec.nodeCount(), rec.name);
                Runtime.getRuntime().halt(CRASH_STATUS);
            }
        }
        if (rec.state != PartitionState.READY) {
            rec.state = PartitionState.READY;
            rec.save(dir);
        }
    }

    private void serve(PartitionRecord rec, PartitionRecord.NodeRecord n) throws IOException {
        LoopbackNodeServer server = LoopbackNodeServer.start(n.port(), n.hostKey(), rec.clientKey,
                home(rec, n.index()));
        serving.computeIfAbsent(rec.name, k -> new ConcurrentHashMap<>()).put(n.index(), server);
    }

    private Path home(PartitionRecord rec, int index) throws IOException {
        return Files.createDirectories(root.resolve(rec.name).resolve("nodes").resolve(rec.nodeName(index)));
    }

    /**
     * Stops the partition's servers, ends the processes its nodes run (a deleted VM takes its processes with it) and
     * removes its directory. Idempotent; an unknown or malformed name has nothing to delete.
     */
    @Override
    public void deletePartition(String name) {
        DELETE_CALLS.incrementAndGet();
        if (!PARTITION_NAME.matcher(name).matches()) {
            return;
        }
        ReentrantLock lock = locks.computeIfAbsent(name, n -> new ReentrantLock());
        try {
            lock.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw GateException.transientFailure("loopback: deleting " + name + " interrupted", e, Optional.empty());
        }
        try {
            Map<Integer, LoopbackNodeServer> running = serving.remove(name);
            if (running != null) {
                running.values().forEach(LoopbackNodeServer::close);
            }
            records.remove(name);
            Path dir = root.resolve(name);
            if (Files.exists(dir)) {
                endProcessesUnder(dir);
                deleteTree(dir);
                DELETED.incrementAndGet();
            }
        } catch (IOException | UncheckedIOException e) {
            throw GateException.transientFailure("loopback: deleting " + name + " failed: " + e.getMessage(), e,
                    Optional.empty());
        } finally {
            lock.unlock();
        }
    }

    @Override
    public NodeAccess access(String nodeName) {
        throw GateException.permanent("loopback: no node '" + nodeName + "' to access through the gate: the nodes of"
                + " its partitions are reached over SSH with the partition's key");
    }

    /** Stops every server; the partitions, their state and the processes their nodes started stay. */
    @Override
    public void close() {
        closed = true;
        for (String name : List.copyOf(serving.keySet())) {
            Map<Integer, LoopbackNodeServer> running = serving.remove(name);
            if (running != null) {
                running.values().forEach(LoopbackNodeServer::close);
            }
        }
    }

    private PartitionHandle handle(PartitionRecord rec) {
        return new PartitionHandle(rec.name, NAME, rec.state, nodesOf(rec), rec.sshUser, Optional.of(root.resolve(rec.name).resolve(CLIENT_KEY_FILE)),
                rec.spec.tags(), rec.created, Optional.empty());
    }

    private List<PartitionNode> nodesOf(PartitionRecord rec) {
        Optional<Flavor> f = settings.flavors().stream().filter(x -> x.name().equals(rec.flavor)).findFirst();
        List<PartitionNode> out = new ArrayList<>();
        for (PartitionRecord.NodeRecord n : rec.nodes.stream()
                .sorted(Comparator.comparingInt(PartitionRecord.NodeRecord::index)).toList()) {
            out.add(new PartitionNode(rec.nodeName(n.index()), n.index() == 0 ? "head" : "compute", "127.0.0.1",
                    n.port(), Set.of(fingerprint(n.hostKey())), f.map(Flavor::cpus).orElse(1),
                    f.map(Flavor::memoryBytes).orElse(0L), f.map(Flavor::gpus).orElse(0)));
        }
        return out;
    }

    /** The SHA-256 fingerprint of the host key as {@code ssh-keygen -l} prints it ({@code SHA256:} + base64). */
    static String fingerprint(KeyPair hostKey) {
        return KeyUtils.getFingerPrint(BuiltinDigests.sha256, hostKey.getPublic());
    }

    private Flavor flavor(PartitionSpec spec) {
        if (spec.flavor().isEmpty()) {
            return settings.flavors().stream().min(Comparator.comparingDouble(Flavor::pricePerHour)).orElseThrow();
        }
        String wanted = spec.flavor().get();
        return settings.flavors().stream().filter(f -> f.name().equals(wanted)).findFirst()
                .orElseThrow(() -> GateException.permanent("loopback: unknown flavor '" + wanted + "' (offered: "
                        + String.join(", ", settings.flavors().stream().map(Flavor::name).toList()) + ")"));
    }

    private void pause(String name, Duration delay) {
        if (delay.isZero()) {
            return;
        }
        try {
            Thread.sleep(delay.toMillis());
        } catch (InterruptedException e) {
            throw interrupted(name, e);
        }
    }

    private static GateException interrupted(String name, InterruptedException e) {
        Thread.currentThread().interrupt();
        return GateException.transientFailure("loopback: creation of " + name + " interrupted", e, Optional.empty());
    }

    private void ensureOpen() {
        if (closed) {
            throw GateException.permanent("loopback: the gate is closed");
        }
    }

    private List<Path> partitionDirectories() throws IOException {
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(Files::isDirectory).sorted().toList();
        }
    }

    private static KeyPair ecKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no EC P-256", e);
        }
    }

    /** A port on 127.0.0.1 where nothing listens (it was free a moment ago; nothing here binds it again). */
    private static int unusedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /*
     * The processes a partition's nodes started run on this machine; a deleted VM would take them with it. A process
     * belongs to the partition when its working directory or one of its arguments lies under the partition's directory
     * (the detached-run wrapper names its job directory among its arguments).
     */
    private static void endProcessesUnder(Path dir) {
        String prefix = dir.toAbsolutePath().normalize().toString() + "/";
        long self = ProcessHandle.current().pid();
        ProcessHandle.allProcesses().filter(p -> p.pid() != self).forEach(p -> {
            boolean ours = false;
            try {
                ours = (Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "cwd")).toString() + "/")
                        .startsWith(prefix);
            } catch (IOException | SecurityException | UnsupportedOperationException ignored) {
                // gone, or not ours to look at
            }
            if (!ours) {
                ours = p.info().arguments().map(args -> Stream.of(args).anyMatch(a -> a.contains(prefix)))
                        .orElse(false);
            }
            if (ours) {
                p.destroyForcibly();
            }
        });
    }

    private static void deleteTree(Path dir) throws IOException {
        // a process killed a moment ago may still create a file while the tree is walked: walk again
        for (int round = 1; ; round++) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
                return;
            } catch (IOException | UncheckedIOException e) {
                if (round == 5) {
                    throw e;
                }
            }
        }
    }
}
