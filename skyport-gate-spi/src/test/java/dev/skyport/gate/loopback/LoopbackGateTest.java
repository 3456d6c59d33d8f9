package dev.skyport.gate.loopback;

import dev.skyport.api.EndReason;
import dev.skyport.api.PortSpec;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionNode;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.PartitionState;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The loopback gate's nodes over real SSH, its faults, its restart, and the state it keeps. */
class LoopbackGateTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path workDir;

    private final List<LoopbackGate> gates = new ArrayList<>();

    @AfterEach
    void closeGates() {
        gates.forEach(LoopbackGate::close);
    }

    private LoopbackGate gate(String... options) {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i < options.length; i += 2) {
            o.put(options[i], options[i + 1]);
        }
        LoopbackGate g = new LoopbackGate(new GateConfig(workDir, o, Clock.systemUTC()));
        gates.add(g);
        return g;
    }

    static PartitionSpec spec(String name, int nodes) {
        return new PartitionSpec(name, Optional.of("small"), nodes, Optional.empty(), Optional.empty(),
                List.of(new PortSpec(8888, "tcp", PortSpec.Direction.IN)),
                Map.of(PartitionSpec.TAG_PARTITION, name, PartitionSpec.TAG_OWNER, "alice"));
    }

    @Test
    void eachNodeAnswersOverSshWithItsPinnedHostKeyInAHomeOfItsOwn() throws Exception {
        LoopbackGate gate = gate();
        PartitionHandle p = gate.createPartition(spec("swm-aaaa0001", 2));
        assertThat(p.nodes()).extracting(PartitionNode::name).containsExactly("swm-aaaa0001-main",
                "swm-aaaa0001-node0");
        assertThat(p.nodes()).extracting(PartitionNode::role).containsExactly("head", "compute");
        assertThat(p.sshUser()).isEqualTo(System.getProperty("user.name"));
        assertThat(p.nodes().get(0).port()).isNotEqualTo(p.nodes().get(1).port());
        Path homes = workDir.resolve("partitions/swm-aaaa0001/nodes");
        try (NodeClient main = NodeClient.login(p, p.nodes().get(0));
             NodeClient other = NodeClient.login(p, p.nodes().get(1))) {
            assertThat(main.run("pwd; printf '%s\\n' \"$HOME\"")).isEqualTo(
                    homes.resolve("swm-aaaa0001-main") + "\n" + homes.resolve("swm-aaaa0001-main") + "\n");
            assertThat(other.run("pwd")).isEqualTo(homes.resolve("swm-aaaa0001-node0") + "\n");
            assertThat(main.sftpHome()).isEqualTo(homes.resolve("swm-aaaa0001-main").toString());
            main.upload("probe", "on main");
            assertThat(Files.readString(homes.resolve("swm-aaaa0001-main/probe"))).isEqualTo("on main");
            assertThat(main.run("cat probe")).isEqualTo("on main");
            assertThat(other.run("test -e probe && echo shared || echo own")).isEqualTo("own\n");
            main.upload(workDir.resolve("absolute").toString(), "absolute paths stay absolute");
            assertThat(workDir.resolve("absolute")).hasContent("absolute paths stay absolute");
            // the pinned fingerprint is the one OpenSSH prints for the key the server presents
            Path pub = Files.writeString(workDir.resolve("host.pub"), PublicKeyEntry.toString(main.hostKey) + "\n");
            Process keygen = new ProcessBuilder("ssh-keygen", "-l", "-f", pub.toString()).start();
            String printed = new String(keygen.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(keygen.waitFor()).isZero();
            assertThat(printed.split(" ")[1]).isEqualTo(p.nodes().get(0).hostKeyFingerprints().iterator().next());
        }
    }

    @Test
    void aNodeRefusesAnotherKeyAndAClientRefusesANodeWithAnotherHostKey() throws Exception {
        LoopbackGate gate = gate();
        PartitionHandle p = gate.createPartition(spec("swm-aaaa0002", 1));
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        assertThatThrownBy(() -> NodeClient.login(p.sshUser(), p.nodes().get(0), g.generateKeyPair()).close())
                .isInstanceOf(IOException.class);
        PartitionNode n = p.nodes().get(0);
        PartitionNode wrongPin = new PartitionNode(n.name(), n.role(), n.host(), n.port(),
                java.util.Set.of("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), n.cpus(), n.memoryBytes(),
                n.gpus());
        assertThatThrownBy(() -> NodeClient.login(p.sshUser(), wrongPin, NodeClient.readKey(p.sshKey().orElseThrow()))
                .close()).isInstanceOf(IOException.class);
    }

    @Test
    void aNodeForwardsTcpToTheMachine() throws Exception {
        LoopbackGate gate = gate();
        PartitionHandle p = gate.createPartition(spec("swm-aaaa0003", 1));
        try (ServerSocket target = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             NodeClient c = NodeClient.login(p, p.nodes().get(0))) {
            SshdSocketAddress local = c.session.startLocalPortForwarding(new SshdSocketAddress("127.0.0.1", 0),
                    new SshdSocketAddress("127.0.0.1", target.getLocalPort()));
            try (Socket s = new Socket("127.0.0.1", local.getPort())) {
                try (Socket accepted = target.accept()) {
                    OutputStream out = s.getOutputStream();
                    out.write("through the node\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    InputStream in = accepted.getInputStream();
                    assertThat(new String(in.readNBytes(17), StandardCharsets.US_ASCII))
                            .isEqualTo("through the node\n");
                }
            }
        }
    }

    @Test
    void aRunStartedOverSshKeepsRunningAcrossAReopenAndIsFoundAgain() throws Exception {
        LoopbackGate gate = gate();
        PartitionHandle p = gate.createPartition(spec("swm-aaaa0004", 1));
        PartitionNode node = p.nodes().get(0);
        try (NodeClient c = NodeClient.login(p, node)) {
            c.run("mkdir -p job && cd job && setsid /bin/sh -c 'echo $$ > pid; while [ ! -e release ]; do sleep 0.05;"
                    + " done; echo 0 > exitcode' </dev/null >/dev/null 2>&1 &");
        }
        Path job = workDir.resolve("partitions/swm-aaaa0004/nodes/swm-aaaa0004-main/job");
        await(() -> Files.isRegularFile(job.resolve("pid")) && read(job.resolve("pid")).endsWith("\n"),
                "the run wrote its pid");
        long pid = Long.parseLong(read(job.resolve("pid")).trim());
        gate.close();
        assertThatThrownBy(() -> NodeClient.login(p, node).close()).as("the server is down")
                .isInstanceOf(IOException.class);
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).as("the run outlives its server")
                .contains(true);

        LoopbackGate reopened = gate();
        assertThat(reopened.listPartitions()).singleElement().satisfies(h -> {
            assertThat(h.state()).isEqualTo(PartitionState.READY);
            assertThat(h.nodes()).isEqualTo(p.nodes());
        });
        try (NodeClient c = NodeClient.login(p, node)) {
            assertThat(c.run("cd job && kill -0 \"$(cat pid)\" && echo running")).isEqualTo("running\n");
            c.run("touch job/release");
            await(() -> {
                try {
                    return c.run("cat job/exitcode 2>/dev/null || true").equals("0\n");
                } catch (IOException e) {
                    return false;
                }
            }, "the run ended and its node says so");
        }
        assertThat(reopened.createPartition(spec("swm-aaaa0004", 1)).nodes()).isEqualTo(p.nodes());
    }

    @Test
    void deletingAPartitionEndsWhatItsNodesRunAndRemovesItsState() throws Exception {
        LoopbackGate gate = gate();
        PartitionHandle p = gate.createPartition(spec("swm-aaaa0005", 1));
        try (NodeClient c = NodeClient.login(p, p.nodes().get(0))) {
            c.run("setsid /bin/sh -c 'echo $$ > pid; exec sleep 300' </dev/null >/dev/null 2>&1 &");
        }
        Path pidFile = workDir.resolve("partitions/swm-aaaa0005/nodes/swm-aaaa0005-main/pid");
        await(() -> Files.isRegularFile(pidFile) && read(pidFile).endsWith("\n"), "the run wrote its pid");
        long pid = Long.parseLong(read(pidFile).trim());
        LoopbackGate.Counters before = LoopbackGate.counters();
        gate.deletePartition("swm-aaaa0005");
        assertThat(LoopbackGate.counters().partitionsDeleted()).isGreaterThan(before.partitionsDeleted());
        await(() -> ProcessHandle.of(pid).map(h -> !h.isAlive() || isZombie(pid)).orElse(true),
                "the node's process ended with its partition");
        assertThat(workDir.resolve("partitions/swm-aaaa0005")).doesNotExist();
        assertThat(gate.listPartitions()).isEmpty();
        assertThat(gate.nodes()).isEmpty();
        gate.deletePartition("swm-aaaa0005");
        gate.deletePartition("../../etc");
    }

    @Test
    void theFirstCreationsFailTransientlyWithTheirRetryAfterAndCreateNothing() {
        LoopbackGate gate = gate("fail-create", "transient:2:7");
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> gate.createPartition(spec("swm-aaaa0006", 1)))
                    .isInstanceOfSatisfying(GateException.class, e -> {
                        assertThat(e.isTransient()).isTrue();
                        assertThat(e.retryAfter()).contains(Duration.ofSeconds(7));
                    });
            assertThat(gate.listPartitions()).isEmpty();
        }
        assertThat(gate.createPartition(spec("swm-aaaa0006", 1)).state()).isEqualTo(PartitionState.READY);
    }

    @Test
    void permanentFaultsCarryTheirReason() {
        assertThatThrownBy(() -> gate("fail-create", "permanent").createPartition(spec("swm-aaaa0007", 1)))
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse());
        assertThatThrownBy(() -> gate("fail-create", "quota").createPartition(spec("swm-aaaa0007", 1)))
                .isInstanceOfSatisfying(GateException.class, e -> {
                    assertThat(e.isTransient()).isFalse();
                    assertThat(e.reason()).contains(EndReason.QUOTA_EXCEEDED);
                });
        assertThatThrownBy(() -> gate("fail-create", "no-capacity").createPartition(spec("swm-aaaa0007", 1)))
                .isInstanceOfSatisfying(GateException.class, e -> {
                    assertThat(e.isTransient()).isFalse();
                    assertThat(e.reason()).contains(EndReason.NO_CAPACITY);
                });
        assertThat(gate().listPartitions()).isEmpty();
    }

    @Test
    void anUnknownCloudImageIsRefusedNamingItAndTheOfferedOnes() {
        LoopbackGate gate = gate("images", "alma-9,ubuntu-24.04");
        PartitionSpec s = spec("swm-aaaa0008", 1);
        PartitionSpec bad = new PartitionSpec(s.name(), s.flavor(), 1, Optional.of("windows-11"), Optional.empty(),
                s.ports(), s.tags());
        assertThatThrownBy(() -> gate.createPartition(bad)).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.getMessage()).contains("windows-11", "alma-9", "ubuntu-24.04");
        });
        assertThat(gate.images()).extracting(i -> i.name() + "/" + i.kind())
                .containsExactly("alma-9/cloud", "ubuntu-24.04/cloud");
    }

    @Test
    void unreachableNodesNamePortsWhereNothingListens() {
        LoopbackGate gate = gate("unreachable-nodes", "true");
        PartitionHandle p = gate.createPartition(spec("swm-aaaa0009", 2));
        assertThat(p.state()).isEqualTo(PartitionState.READY);
        assertThat(p.nodes()).hasSize(2).allSatisfy(n -> assertThat(n.hostKeyFingerprints()).isNotEmpty());
        for (PartitionNode n : p.nodes()) {
            assertThatThrownBy(() -> new Socket(n.host(), n.port()).close()).isInstanceOf(IOException.class);
        }
    }

    @Test
    void aCreationTakesItsDelayAndAnInterruptLeavesAListedHalfPartition() throws Exception {
        LoopbackGate gate = gate("create-delay", "1h");
        ExecutorService pool = Executors.newFixedThreadPool(20);
        try {
            LoopbackGate.resetCounters();
            List<Future<PartitionHandle>> creations = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String name = String.format("swm-bbbb%04d", i);
                creations.add(pool.submit(() -> gate.createPartition(spec(name, 1))));
            }
            await(() -> LoopbackGate.counters().inFlight() == 20, "20 creations in flight at once");
            // a creation is in flight from its call on; its partition is listed once its first state is written
            await(() -> gate.listPartitions().size() == 20, "20 partitions being created are listed");
            assertThat(gate.listPartitions()).allSatisfy(h -> assertThat(h.state()).isEqualTo(PartitionState.CREATING));
            creations.forEach(f -> f.cancel(true));
            pool.shutdown();
            assertThat(pool.awaitTermination(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            assertThat(LoopbackGate.counters().peakInFlight()).isEqualTo(20);
            assertThat(LoopbackGate.counters().inFlight()).isZero();
            assertThat(LoopbackGate.counters().partitionsCreated()).isZero();
            assertThat(gate.listPartitions()).hasSize(20);
            for (PartitionHandle h : gate.listPartitions()) {
                gate.deletePartition(h.name());
            }
            assertThat(gate.listPartitions()).isEmpty();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badOptionsAreRefusedNamingTheKey() {
        Map<String, String> bad = Map.of(
                "flavour", "small:1:1GiB:0.1",
                "flavors", "small:two:1GiB:0.1",
                "images", "a,,b",
                "remote", "a b",
                "fail-create", "transient:x",
                "create-delay", "soon",
                "unreachable-nodes", "yes",
                "crash-mid-create", "1");
        bad.forEach((key, value) -> assertThatThrownBy(() -> gate(key, value))
                .as("%s: %s", key, value)
                .isInstanceOfSatisfying(GateException.class, e -> {
                    assertThat(e.isTransient()).isFalse();
                    assertThat(e.getMessage()).contains(key);
                }));
        assertThatThrownBy(() -> gate("flavors", "a:1:1GiB:0.1,a:2:2GiB:0.2"))
                .isInstanceOf(GateException.class).hasMessageContaining("unique");
        LoopbackGate custom = gate("flavors", "gpu:4:16GiB:1.25:2", "remote", "lab", "create-delay", "PT0S");
        assertThat(custom.flavors()).singleElement().satisfies(f -> {
            assertThat(f.cpus()).isEqualTo(4);
            assertThat(f.memoryBytes()).isEqualTo(16L << 30);
            assertThat(f.gpus()).isEqualTo(2);
            assertThat(f.pricePerHour()).isEqualTo(1.25);
            assertThat(f.remoteSite()).isEqualTo("lab");
        });
        assertThat(custom.remotes()).singleElement().satisfies(r -> assertThat(r.name()).isEqualTo("lab"));
    }

    @Test
    void aGateThatCrashedMidCreateLeavesAHalfPartitionThatTheNextCreationCompletes() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"), "-Xmx128m",
                CrashingCreation.class.getName(), workDir.toString(), "swm-cccc0001", "4")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(child.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).isEqualTo(LoopbackGate.CRASH_STATUS);

        LoopbackGate gate = gate();
        PartitionHandle half = gate.listPartitions().stream().filter(h -> h.name().equals("swm-cccc0001"))
                .findFirst().orElseThrow();
        assertThat(half.state()).isEqualTo(PartitionState.CREATING);
        assertThat(half.nodes()).hasSize(2);
        PartitionHandle done = gate.createPartition(spec("swm-cccc0001", 4));
        assertThat(done.state()).isEqualTo(PartitionState.READY);
        assertThat(done.nodes()).hasSize(4);
        assertThat(done.nodes().subList(0, 2)).as("the half made is kept, not made twice").isEqualTo(half.nodes());
        for (PartitionNode n : done.nodes()) {
            try (NodeClient c = NodeClient.login(done, n)) {
                assertThat(c.run("echo up")).isEqualTo("up\n");
            }
        }
        gate.deletePartition("swm-cccc0001");
        assertThat(gate.listPartitions()).isEmpty();
    }

    /** A child JVM's engine whose gate halts the JVM in the middle of a creation. */
    static final class CrashingCreation {
        public static void main(String[] args) {
            LoopbackGate gate = new LoopbackGate(new GateConfig(Path.of(args[0]), Map.of("crash-mid-create", "true"),
                    Clock.systemUTC()));
            gate.createPartition(spec(args[1], Integer.parseInt(args[2])));
            System.exit(1); // not reached: the creation halts the JVM
        }
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return "";
        }
    }

    private static boolean isZombie(long pid) {
        String stat = read(Path.of("/proc/" + pid + "/stat"));
        int close = stat.lastIndexOf(')');
        return close > 0 && stat.length() > close + 2 && stat.charAt(close + 2) == 'Z';
    }
}
