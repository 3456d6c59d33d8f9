package dev.skyport.core.internal.ssh;

import dev.skyport.api.JobId;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateException;
import dev.skyport.gate.PortForward;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import net.schmizz.sshj.SSHClient;
import net.schmizz.sshj.transport.verification.OpenSSHKnownHosts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link SshNodeAccess} against the distribution's OpenSSH {@code sshd}, the server real nodes run. The timeout only
 * turns a hang into a failure; no case asserts how long anything takes.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class OpenSshNodeAccessTest {
    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private static final int MIB = 1024 * 1024;

    @TempDir
    static Path serverDir;
    private static OpenSshServer sshd;

    @TempDir
    Path tmp;
    private SshConnections connections;

    @BeforeAll
    static void startSshd() throws Exception {
        sshd = OpenSshServer.start(serverDir);
    }

    @AfterAll
    static void stopSshd() throws Exception {
        sshd.close();
    }

    @BeforeEach
    void connect() {
        connections = new SshConnections(Duration.ofSeconds(10));
    }

    @AfterEach
    void disconnect() {
        connections.close();
    }

    // Connections are dropped by cutting them in a relay, not by killing sshd's processes: a killed session can take
    // the user's shell start-up with it mid-way (on the test machine, root's .bashrc runs pyenv, whose lock file a
    // killed rehash left behind, and every later login then waited a minute for it).

    private SshNodeAccess access(SshConnections c) {
        return new SshNodeAccess("openssh", sshd.target(), c);
    }

    private static RunRequest request(String dir, String script) {
        return new RunRequest(new JobId(UUID.randomUUID()), 1, dir, Optional.of(script), List.of(), dir, Map.of());
    }

    @Test
    void aRunIsFoundAgainAfterARestartAndItsExitCodeRead() throws Exception {
        String ended = tmp.resolve("jobs/ended").toString();
        String running = tmp.resolve("jobs/running").toString();
        RunRequest endedReq = request(ended, "exit 3\n");
        RunRequest runningReq = request(running, "while [ ! -e stop ]; do sleep 0.05; done\nexit 5\n");
        try (SshNodeAccess first = access(connections)) {
            first.launch(endedReq);
            first.launch(runningReq);
            until(() -> Files.exists(Path.of(endedReq.runDirectory(), DetachedRun.EXIT_CODE)));
            until(() -> read(Path.of(runningReq.runDirectory(), DetachedRun.PID)).endsWith("\n"));
        }
        connections.close();
        // as after an engine restart: new connections, new access, nothing remembered
        try (SshConnections fresh = new SshConnections(Duration.ofSeconds(10)); SshNodeAccess again = access(fresh)) {
            assertThat(again.probe(endedReq)).isEqualTo(RunProbe.ended(RunOutcome.exited(3)));
            RunProbe live = again.probe(runningReq);
            assertThat(live.state()).isEqualTo(RunProbe.State.RUNNING);
            RunHandle h = live.handle().orElseThrow();
            CompletableFuture<RunOutcome> outcome = again.watch(h);
            Files.createFile(Path.of(running, "stop"));
            assertThat(outcome.get(DEADLINE.toSeconds(), TimeUnit.SECONDS)).isEqualTo(RunOutcome.exited(5));
            assertThat(again.probe(runningReq)).isEqualTo(RunProbe.ended(RunOutcome.exited(5)));
        }
    }

    @Test
    void filesAndTreesAreStagedBothWays() throws Exception {
        Path input = Files.writeString(tmp.resolve("input.txt"), "staged in\n");
        Path tree = tmp.resolve("tree");
        Files.createDirectories(tree.resolve("data/empty"));
        Files.createDirectories(tree.resolve("data/nested/deeper"));
        for (int i = 0; i < 50; i++) {
            Files.writeString(tree.resolve("data/nested/deeper/f" + i), "content " + i);
        }
        Files.write(tree.resolve("data/blob"), randomBytes(3 * MIB + 1));
        String job = tmp.resolve("node/job").toString();
        try (SshNodeAccess access = access(connections)) {
            access.upload(input, job + "/in/input.txt");
            access.uploadTree(tree, job + "/tree");
            assertThat(Files.readString(Path.of(job, "in/input.txt"))).isEqualTo("staged in\n");
            assertThat(SshNodeAccessTest.treeOf(Path.of(job, "tree"))).isEqualTo(SshNodeAccessTest.treeOf(tree));
            Path out = tmp.resolve("out");
            access.download(job + "/in/input.txt", out.resolve("input.txt"));
            access.downloadTree(job + "/tree", out.resolve("tree"));
            assertThat(Files.readString(out.resolve("input.txt"))).isEqualTo("staged in\n");
            assertThat(SshNodeAccessTest.treeOf(out.resolve("tree"))).isEqualTo(SshNodeAccessTest.treeOf(tree));
        }
        assertNoParts();
    }

    @Test
    void a256MebibyteFileGoesUpAndComesBackWithTheSameChecksum() throws Exception {
        Path source = bigFile(tmp.resolve("big.bin"), 256);
        String expected = SshNodeAccessTest.sha256(source);
        String remote = tmp.resolve("node/big.bin").toString();
        Path back = tmp.resolve("back/big.bin");
        try (SshNodeAccess access = access(connections)) {
            access.upload(source, remote);
            // at most two copies on disk at once
            Files.delete(source);
            assertThat(SshNodeAccessTest.sha256(Path.of(remote))).isEqualTo(expected);
            access.download(remote, back);
            assertThat(Files.size(back)).isEqualTo(256L * MIB);
            assertThat(SshNodeAccessTest.sha256(back)).isEqualTo(expected);
        } finally {
            Files.deleteIfExists(Path.of(remote));
            Files.deleteIfExists(back);
        }
        assertNoParts();
    }

    @Test
    void anUploadWhoseConnectionIsCutMidWayResumesAndArrivesWhole() throws Exception {
        Path source = bigFile(tmp.resolve("cut.bin"), 128);
        Path remote = tmp.resolve("node/cut.bin");
        Path part = Path.of(remote + SftpTransfers.PART_SUFFIX);
        try (CuttableProxy proxy = new CuttableProxy(sshd.port());
             SshNodeAccess access = new SshNodeAccess("openssh", throughProxy(proxy), connections)) {
            CompletableFuture<Void> upload = CompletableFuture.runAsync(() -> access.upload(source, remote.toString()));
            cutWhenPartHolds(proxy, part, 8L * MIB, upload);
            upload.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
            assertThat(proxy.accepted()).as("the call went on over a new connection").isGreaterThan(1);
            assertThat(Files.mismatch(source, remote)).isEqualTo(-1);
        } finally {
            Files.deleteIfExists(remote);
        }
        assertNoParts();
    }

    @Test
    void aDownloadWhoseConnectionIsCutMidWayResumesAndArrivesWhole() throws Exception {
        Path source = bigFile(tmp.resolve("node/cut.bin"), 128);
        Path local = tmp.resolve("local/cut.bin");
        Path part = Path.of(local + SftpTransfers.PART_SUFFIX);
        try (CuttableProxy proxy = new CuttableProxy(sshd.port());
             SshNodeAccess access = new SshNodeAccess("openssh", throughProxy(proxy), connections)) {
            CompletableFuture<Void> download = CompletableFuture.runAsync(() -> access.download(source.toString(),
                    local));
            cutWhenPartHolds(proxy, part, 8L * MIB, download);
            download.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
            assertThat(proxy.accepted()).as("the call went on over a new connection").isGreaterThan(1);
            assertThat(Files.mismatch(source, local)).isEqualTo(-1);
        } finally {
            Files.deleteIfExists(local);
        }
        assertNoParts();
    }

    /** The sshd's target reached through {@code proxy}: known_hosts names the proxy's port. */
    private SshTarget throughProxy(CuttableProxy proxy) throws IOException {
        Path knownHosts = Files.writeString(tmp.resolve("proxy_known_hosts"), "[127.0.0.1]:" + proxy.port() + " "
                + Files.readString(sshd.dir.resolve("host_ed25519.pub")).strip() + "\n");
        return SshTarget.withKnownHosts("127.0.0.1", proxy.port(), System.getProperty("user.name"), sshd.clientKey,
                knownHosts);
    }

    /** Waits until {@code part} holds {@code bytes}, then cuts the connections carrying the transfer. */
    private static void cutWhenPartHolds(CuttableProxy proxy, Path part, long bytes, CompletableFuture<Void> transfer)
            throws InterruptedException {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (size(part) < bytes) {
            assertThat(transfer).as("the transfer is still under way").isNotDone();
            assertThat(System.nanoTime()).as("the transfer started within the deadline").isLessThan(end);
            Thread.sleep(1);
        }
        assertThat(proxy.cut()).as("connections cut").isPositive();
    }

    @Test
    void aWrongHostKeyIsRefusedWithTheServersFingerprint() throws Exception {
        Path other = tmp.resolve("other_host");
        Process keygen = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other.toString())
                .redirectErrorStream(true).start();
        keygen.getInputStream().readAllBytes();
        assertThat(keygen.waitFor()).isZero();
        Path knownHosts = Files.writeString(tmp.resolve("known_hosts"), "[127.0.0.1]:" + sshd.port() + " "
                + Files.readString(Path.of(other + ".pub")).strip() + "\n");
        SshTarget wrong = SshTarget.withKnownHosts("127.0.0.1", sshd.port(), System.getProperty("user.name"),
                sshd.clientKey, knownHosts);
        String fingerprint = fingerprintOf(sshd.dir.resolve("host_ed25519.pub"));
        assertThatThrownBy(() -> connections.exec(wrong, "true"))
                .isInstanceOf(GateException.class)
                .hasMessageContaining("127.0.0.1:" + sshd.port())
                .hasMessageContaining(fingerprint)
                .satisfies(e -> {
                    assertThat(((GateException) e).isTransient()).isFalse();
                    assertThat(((HostKeyException) e.getCause()).changed()).isTrue();
                });
    }

    @Test
    void forwardsCarryBytesBothWays() throws Exception {
        try (EchoServer echo = new EchoServer(); SshNodeAccess access = access(connections)) {
            try (PortForward to = access.forwardToNode(echo.port()); Socket s = EchoServer.connect(to.localPort())) {
                assertThat(EchoServer.roundTrip(s, 2 * MIB + 3)).isTrue();
            }
            try (PortForward from = access.forwardFromNode(0, echo.port());
                 Socket s = EchoServer.connect(from.remotePort())) {
                assertThat(EchoServer.roundTrip(s, 2 * MIB + 3)).isTrue();
            }
        }
    }

    @Test
    void aesGcmComputedByTheJdkIsNegotiatedBothWays() throws Exception {
        AtomicReference<String> ciphers = new AtomicReference<>();
        try (SSHClient c = new SSHClient(SshConnections.config())) {
            c.addAlgorithmsVerifier(a -> {
                ciphers.set(a.getClient2ServerCipherAlgorithm() + " " + a.getServer2ClientCipherAlgorithm());
                return true;
            });
            c.addHostKeyVerifier(new OpenSSHKnownHosts(sshd.knownHosts.toFile()));
            c.connect("127.0.0.1", sshd.port());
            c.authPublickey(System.getProperty("user.name"), c.loadKeys(sshd.clientKey.toString()));
            try (var session = c.startSession(); var cmd = session.exec("echo through-gcm")) {
                assertThat(new String(cmd.getInputStream().readAllBytes())).isEqualTo("through-gcm\n");
            }
        }
        assertThat(ciphers.get()).isEqualTo(JdkAesGcm.NAME + " " + JdkAesGcm.NAME);
    }

    /** What {@code ssh-keygen -l} prints as the key's fingerprint. */
    private static String fingerprintOf(Path publicKey) throws Exception {
        Process p = new ProcessBuilder("ssh-keygen", "-l", "-E", "sha256", "-f", publicKey.toString()).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).isZero();
        return out.split(" ")[1];
    }

    /** A file of {@code mib} MiB written fast: one random MiB repeated, each copy with its own first bytes. */
    private static Path bigFile(Path p, int mib) throws IOException {
        Files.createDirectories(p.getParent());
        byte[] block = randomBytes(MIB);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(block);
            for (int i = 0; i < mib; i++) {
                b.clear();
                b.putInt(0, i);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
        }
        return p;
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    private void assertNoParts() throws IOException {
        try (Stream<Path> all = Files.walk(tmp)) {
            assertThat(all.filter(p -> p.toString().endsWith(SftpTransfers.PART_SUFFIX)).toList()).isEmpty();
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }

    private static void until(BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within deadline").isLessThan(end);
            Thread.sleep(20);
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
}
