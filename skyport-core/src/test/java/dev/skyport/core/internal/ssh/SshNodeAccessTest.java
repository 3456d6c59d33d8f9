package dev.skyport.core.internal.ssh;

import dev.skyport.api.JobId;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateException;
import dev.skyport.gate.PortForward;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.sftp.server.FileHandle;
import org.apache.sshd.sftp.server.SftpEventListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SshNodeAccessTest {
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private final KeyPair hostKey = MinaSshServer.rsa();
    private final KeyPair clientKey = MinaSshServer.rsa();
    private MinaSshServer server;
    private SshConnections connections;
    private SshTarget target;

    @BeforeEach
    void start() throws IOException {
        server = MinaSshServer.start(0, hostKey, clientKey.getPublic(), Optional.empty());
        Path key = tmp.resolve("id_rsa");
        Files.writeString(key, MinaSshServer.pem(clientKey));
        target = SshTarget.withKnownHosts("127.0.0.1", server.port(), System.getProperty("user.name"), key,
                MinaSshServer.writeKnownHosts(tmp, server.port(), hostKey.getPublic()));
        connections = new SshConnections(Duration.ofSeconds(10));
    }

    @AfterEach
    void stop() throws IOException {
        connections.close();
        server.close();
    }

    private RunRequest request(String dir, String script) {
        return new RunRequest(new JobId(UUID.randomUUID()), 1, dir, Optional.of(script), List.of(), dir, Map.of());
    }

    private static RunOutcome await(CompletableFuture<RunOutcome> f) throws Exception {
        return f.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }

    private static void until(BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within deadline").isLessThan(end);
            Thread.sleep(20);
        }
    }

    @Test
    void detachedRunRecordsExitCodeAndLogs() throws Exception {
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            String dir = tmp.resolve("jobs/a").toString();
            RunRequest req = request(dir, "echo out; echo \"err $SKYPORT_ATTEMPT\" >&2; exit 7\n");
            RunHandle h = access.launch(req);
            assertThat(await(access.watch(h))).isEqualTo(RunOutcome.exited(7));
            assertThat(Files.readString(Path.of(dir, DetachedRun.STDOUT))).isEqualTo("out\n");
            assertThat(Files.readString(Path.of(dir, DetachedRun.STDERR))).isEqualTo("err 1\n");
            assertThat(Files.readString(Path.of(req.runDirectory(), DetachedRun.PID)).trim())
                    .isEqualTo(Long.toString(h.processGroup()));
        }
    }

    @Test
    void signalStopsTheWholeGroup() throws Exception {
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            String dir = tmp.resolve("jobs/b").toString();
            RunRequest req = request(dir, "sleep 300 & echo $! > child; wait\n");
            RunHandle h = access.launch(req);
            Path child = Path.of(dir, "child");
            until(() -> Files.exists(child) && readQuietly(child).endsWith("\n"));
            long sleeper = Long.parseLong(readQuietly(child).trim());
            assertThat(ProcessHandle.of(sleeper)).isPresent();
            access.signal(h, RunSignal.TERM);
            RunOutcome outcome = await(access.watch(h));
            assertThat(outcome.exitCode()).hasValue(143);
            until(() -> ProcessHandle.of(sleeper).map(p -> !p.isAlive()).orElse(true));
        }
    }

    @Test
    void aNewAccessFindsRunsAgain() throws Exception {
        String ended = tmp.resolve("jobs/ended").toString();
        String running = tmp.resolve("jobs/running").toString();
        RunRequest endedReq = request(ended, "exit 3\n");
        RunRequest runningReq = request(running, "exec sleep 300\n");
        try (SshNodeAccess first = new SshNodeAccess("n1", target, connections)) {
            first.launch(endedReq);
            first.launch(runningReq);
            until(() -> Files.exists(Path.of(endedReq.runDirectory(), DetachedRun.EXIT_CODE)));
            until(() -> readQuietly(Path.of(runningReq.runDirectory(), DetachedRun.PID)).endsWith("\n"));
        }
        connections.close();
        SshConnections fresh = new SshConnections(Duration.ofSeconds(10));
        try (SshNodeAccess again = new SshNodeAccess("n1", target, fresh)) {
            assertThat(again.probe(endedReq)).isEqualTo(RunProbe.ended(RunOutcome.exited(3)));
            RunProbe live = again.probe(runningReq);
            assertThat(live.state()).isEqualTo(RunProbe.State.RUNNING);
            RunHandle h = live.handle().orElseThrow();
            again.signal(h, RunSignal.KILL);
            assertThat(await(again.watch(h)).isLost()).isTrue();
            RunRequest never = request(tmp.resolve("jobs/never").toString(), "exit 0\n");
            assertThat(again.probe(never)).isEqualTo(RunProbe.neverStarted());
        } finally {
            fresh.close();
        }
    }

    // The NodeAccess cases of the gate SPI's GateContractTest that need no cgroup or sandbox, against this access.

    @Test
    void aProbeFencesOffALateLaunch() throws Exception {
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            String dir = tmp.resolve("jobs/fenced").toString();
            RunRequest req = request(dir, "#!/bin/sh\necho ran >> ran.txt\n");
            assertThat(access.probe(req).state()).isEqualTo(RunProbe.State.NEVER_STARTED);
            RunOutcome late = await(access.watch(access.launch(req)));
            assertThat(late.exitCode()).as("a fenced run leaves no exit code").isEmpty();
            assertThat(Path.of(dir, "ran.txt")).doesNotExist();
        }
    }

    @Test
    void aMissingWorkdirIsAFailedRun() throws Exception {
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            String dir = tmp.resolve("jobs/nowd").toString();
            RunRequest req = new RunRequest(new JobId(UUID.randomUUID()), 1, dir, Optional.of("echo never\n"),
                    List.of(), dir + "/does/not/exist", Map.of());
            assertThat(await(access.watch(access.launch(req))).exitCode()).hasValue(DetachedRun.NO_WORKDIR_STATUS);
        }
    }

    @Test
    void aShebangScriptSeesItsEnvironmentAndAFileUploadedWhileItRuns() throws Exception {
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            String dir = tmp.resolve("jobs/env").toString();
            RunRequest base = request(dir, "");
            RunRequest req = new RunRequest(base.job(), 2, dir,
                    Optional.of("#!/bin/sh -e\nwhile [ ! -e go ]; do sleep 0.05; done\necho \"$GREETING it's $(cat go)\"\n"),
                    List.of(), dir, Map.of("GREETING", "hello 'quoted' $HOME"));
            RunHandle h = access.launch(req);
            Path go = Files.writeString(tmp.resolve("go"), "time");
            access.upload(go, dir + "/go");
            assertThat(await(access.watch(h))).isEqualTo(RunOutcome.exited(0));
            assertThat(Files.readString(Path.of(dir, DetachedRun.STDOUT))).isEqualTo("hello 'quoted' $HOME it's time\n");
        }
    }

    @Test
    void aChangedHostKeyIsRefusedWithItsFingerprint() throws IOException {
        KeyPair other = MinaSshServer.rsa();
        SshTarget wrong = SshTarget.withKnownHosts("127.0.0.1", server.port(), "u", target.keyFile().orElseThrow(),
                MinaSshServer.writeKnownHosts(tmp, server.port(), other.getPublic()));
        assertRefused(wrong, true);
        SshTarget pinnedWrong = SshTarget.pinned("127.0.0.1", server.port(), "u", MinaSshServer.pem(clientKey),
                Set.of(SshConnections.fingerprint(other.getPublic())));
        assertRefused(pinnedWrong, true);
    }

    @Test
    void anUnknownHostIsRefused() throws IOException {
        Path empty = Files.createFile(tmp.resolve("empty_known_hosts"));
        SshTarget unknown = SshTarget.withKnownHosts("127.0.0.1", server.port(), "u",
                target.keyFile().orElseThrow(), empty);
        assertRefused(unknown, false);
        assertThat(Files.readString(empty)).as("an unknown key is never added").isEmpty();
    }

    @Test
    void aPinnedKeyAndAnInMemoryKeyLogIn() {
        SshTarget pinned = SshTarget.pinned("127.0.0.1", server.port(), "u", MinaSshServer.pem(clientKey),
                Set.of(SshConnections.fingerprint(hostKey.getPublic())));
        assertThat(connections.exec(pinned, "echo hi").stdout()).isEqualTo("hi\n");
    }

    @Test
    void aWrongClientKeyIsRefused() {
        SshTarget wrongKey = SshTarget.pinned("127.0.0.1", server.port(), "u", MinaSshServer.pem(MinaSshServer.rsa()),
                Set.of(SshConnections.fingerprint(hostKey.getPublic())));
        assertThatThrownBy(() -> connections.exec(wrongKey, "true"))
                .isInstanceOf(GateException.class)
                .hasMessageContaining("key authentication refused")
                .satisfies(e -> assertThat(((GateException) e).isTransient()).isFalse());
    }

    private void assertRefused(SshTarget t, boolean changed) {
        String fingerprint = SshConnections.fingerprint(hostKey.getPublic());
        assertThatThrownBy(() -> connections.exec(t, "true"))
                .isInstanceOf(GateException.class)
                .hasMessageContaining("127.0.0.1:" + server.port())
                .hasMessageContaining(fingerprint)
                .satisfies(e -> {
                    assertThat(((GateException) e).isTransient()).isFalse();
                    HostKeyException cause = (HostKeyException) e.getCause();
                    assertThat(cause.fingerprint()).isEqualTo(fingerprint);
                    assertThat(cause.changed()).isEqualTo(changed);
                });
    }

    @Test
    void uploadAndDownloadAMultiMebibyteFile() throws Exception {
        Path local = randomFile(tmp.resolve("big.bin"), 6 * 1024 * 1024 + 123);
        String remote = tmp.resolve("remote/deep/big.bin").toString();
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            access.upload(local, remote);
            assertThat(Files.mismatch(local, Path.of(remote))).isEqualTo(-1);
            Path back = tmp.resolve("back/big.bin");
            access.download(remote, back);
            assertThat(Files.mismatch(local, back)).isEqualTo(-1);
            assertNoParts();
            assertThatThrownBy(() -> access.download(tmp.resolve("nope").toString(), tmp.resolve("x")))
                    .isInstanceOf(GateException.class)
                    .satisfies(e -> assertThat(((GateException) e).isTransient()).isFalse());
        }
    }

    @Test
    void anUploadCutByTheServerStoppingLeavesNothingHalfWrittenAndCompletesWhenRetried() throws Exception {
        server.close();
        int port = target.port();
        AtomicLong written = new AtomicLong();
        AtomicBoolean cut = new AtomicBoolean();
        MinaSshServer[] holder = new MinaSshServer[1];
        SftpEventListener cutter = new SftpEventListener() {
            @Override
            public void writing(ServerSession session, String remoteHandle, FileHandle localHandle, long offset,
                                byte[] data, int dataOffset, int dataLen) {
                if (written.addAndGet(dataLen) > 4L * 1024 * 1024 && cut.compareAndSet(false, true)) {
                    Thread stopper = new Thread(() -> {
                        try {
                            holder[0].stop();
                        } catch (IOException ignored) {
                            // the test fails below if the server kept serving
                        }
                    });
                    stopper.start();
                }
            }
        };
        holder[0] = MinaSshServer.start(port, hostKey, clientKey.getPublic(), Optional.of(cutter));
        Path local = randomFile(tmp.resolve("cut.bin"), 24 * 1024 * 1024);
        Path remote = tmp.resolve("remote/cut.bin");
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            assertThatThrownBy(() -> access.upload(local, remote.toString()))
                    .isInstanceOf(GateException.class)
                    .satisfies(e -> assertThat(((GateException) e).isTransient()).isTrue());
            assertThat(cut).isTrue();
            assertThat(remote).doesNotExist();
            // what arrived stays under the temporary name and is resumed, then verified, by the next upload
            assertThat(Path.of(remote + SshNodeAccess.PART_SUFFIX)).exists();
            server = MinaSshServer.start(port, hostKey, clientKey.getPublic(), Optional.empty());
            access.upload(local, remote.toString());
            assertThat(Files.mismatch(local, remote)).isEqualTo(-1);
            assertNoParts();
        }
    }

    @Test
    void aCommandThatDoesNotEndWithinItsDeadlineFailsTransiently() throws Exception {
        CompletableFuture<Throwable> call = CompletableFuture.supplyAsync(() -> {
            try {
                connections.exec(target, "sleep 5", Duration.ofSeconds(1));
                return null;
            } catch (RuntimeException e) {
                return e;
            }
        });
        Throwable error = call.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertThat(error).isInstanceOf(GateException.class).hasMessageContaining("no answer within");
        assertThat(((GateException) error).isTransient()).isTrue();
        assertThat(connections.exec(target, "echo again").stdout()).isEqualTo("again\n");
    }

    @Test
    void aPeerThatNeverAnswersEndsTheCallWithATransientError() throws Exception {
        // The kernel accepts the connection; nobody ever speaks SSH on it.
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getLoopbackAddress())) {
            SshTarget mute = SshTarget.pinned("127.0.0.1", silent.getLocalPort(), "u", MinaSshServer.pem(clientKey),
                    Set.of(SshConnections.fingerprint(hostKey.getPublic())));
            try (SshConnections quick = new SshConnections(Duration.ofSeconds(1))) {
                CompletableFuture<Throwable> call = CompletableFuture.supplyAsync(() -> {
                    try {
                        quick.exec(mute, "true");
                        return null;
                    } catch (RuntimeException e) {
                        return e;
                    }
                });
                Throwable error = call.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
                assertThat(error).isInstanceOf(GateException.class);
                assertThat(((GateException) error).isTransient()).isTrue();
            }
        }
    }

    /**
     * What a job left in its directory is never written through: a link at an upload's part, its destination or a
     * directory on its way, or at the job's script, fails the upload (naming the path) or is replaced; the file the
     * links name stays as it was.
     */
    @Test
    void uploadsAndTheScriptNeverWriteThroughALinkTheJobLeft() throws Exception {
        Path victim = Files.writeString(tmp.resolve("authorized_keys"), "the login's keys");
        Path local = Files.writeString(tmp.resolve("key.pub"), "attacker key");
        Path jobs = Files.createDirectories(tmp.resolve("jobs"));
        Path dir = Files.createDirectories(jobs.resolve("j"));
        Files.createSymbolicLink(dir.resolve("x" + SftpTransfers.PART_SUFFIX), victim);
        Files.createSymbolicLink(dir.resolve("y"), victim);
        Files.createSymbolicLink(dir.resolve("sub"), tmp);
        Files.createSymbolicLink(dir.resolve(DetachedRun.SCRIPT), victim);
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            access.trustBelow(jobs::toString);
            for (String name : List.of("x", "y", "sub/authorized_keys")) {
                String remote = dir.resolve(name).toString();
                assertThatThrownBy(() -> access.upload(local, remote)).as(name).isInstanceOf(GateException.class)
                        .matches(e -> !((GateException) e).isTransient()).hasMessageContaining("symbolic link");
            }
            RunRequest req = request(dir.toString(), "echo ran\n");
            assertThat(await(access.watch(access.launch(req)))).isEqualTo(RunOutcome.exited(0));
            assertThat(Path.of(dir.toString(), DetachedRun.STDOUT)).hasContent("ran");
            assertThat(Files.isSymbolicLink(dir.resolve(DetachedRun.SCRIPT))).isFalse();
        }
        assertThat(victim).hasContent("the login's keys");
    }

    @Test
    void aTreeGoesUpAndComesBackWhole() throws Exception {
        Path tree = tmp.resolve("tree");
        makeTree(tree);
        String remote = tmp.resolve("remote/tree").toString();
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            access.uploadTree(tree, remote);
            assertThat(treeOf(Path.of(remote))).isEqualTo(treeOf(tree));
            Path back = tmp.resolve("back/tree");
            access.downloadTree(remote, back);
            assertThat(treeOf(back)).isEqualTo(treeOf(tree));
            // again over what is there: files are replaced, nothing is left behind
            Files.writeString(tree.resolve("a/one.txt"), "changed");
            access.uploadTree(tree, remote);
            assertThat(treeOf(Path.of(remote))).isEqualTo(treeOf(tree));
            assertNoParts();
        }
    }

    @Test
    void symbolicLinksInATreeAreRefusedBeforeAnythingMoves() throws Exception {
        Path tree = tmp.resolve("linked");
        makeTree(tree);
        Files.createSymbolicLink(tree.resolve("a/escape"), Path.of("/etc"));
        String remote = tmp.resolve("remote/linked").toString();
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            assertThatThrownBy(() -> access.uploadTree(tree, remote))
                    .isInstanceOf(GateException.class)
                    .hasMessageContaining("symbolic link")
                    .hasMessageContaining("escape")
                    .satisfies(e -> assertThat(((GateException) e).isTransient()).isFalse());
            assertThat(Path.of(remote)).doesNotExist();
            Path back = tmp.resolve("back/linked");
            assertThatThrownBy(() -> access.downloadTree(tree.toString(), back))
                    .isInstanceOf(GateException.class)
                    .hasMessageContaining("symbolic link")
                    .satisfies(e -> assertThat(((GateException) e).isTransient()).isFalse());
            assertThat(back).doesNotExist();
            assertThatThrownBy(() -> access.uploadTree(tree.resolve("top.txt"), remote))
                    .isInstanceOf(GateException.class)
                    .hasMessageContaining("not a directory");
        }
    }

    @Test
    void aDownloadCutByTheServerStoppingLeavesNoFileAndCompletesWhenRetried() throws Exception {
        server.close();
        int port = target.port();
        AtomicLong read = new AtomicLong();
        AtomicBoolean cut = new AtomicBoolean();
        MinaSshServer[] holder = new MinaSshServer[1];
        SftpEventListener cutter = new SftpEventListener() {
            @Override
            public void reading(ServerSession session, String remoteHandle, FileHandle localHandle, long offset,
                                byte[] data, int dataOffset, int dataLen) {
                if (read.addAndGet(dataLen) > 4L * 1024 * 1024 && cut.compareAndSet(false, true)) {
                    new Thread(() -> {
                        try {
                            holder[0].stop();
                        } catch (IOException ignored) {
                            // the test fails below if the server kept serving
                        }
                    }).start();
                }
            }
        };
        holder[0] = MinaSshServer.start(port, hostKey, clientKey.getPublic(), Optional.of(cutter));
        Path remote = randomFile(tmp.resolve("source.bin"), 24 * 1024 * 1024);
        Path local = tmp.resolve("dest/copy.bin");
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            assertThatThrownBy(() -> access.download(remote.toString(), local))
                    .isInstanceOf(GateException.class)
                    .satisfies(e -> assertThat(((GateException) e).isTransient()).isTrue());
            assertThat(cut).isTrue();
            assertThat(local).doesNotExist();
            server = MinaSshServer.start(port, hostKey, clientKey.getPublic(), Optional.empty());
            access.download(remote.toString(), local);
            assertThat(Files.mismatch(remote, local)).isEqualTo(-1);
            assertNoParts();
        }
    }

    @Test
    void aStalePartWithOtherBytesFailsTheChecksumAndIsSentAgain() throws Exception {
        Path local = randomFile(tmp.resolve("fresh.bin"), 3 * 1024 * 1024);
        Path tree = tmp.resolve("stale-tree");
        makeTree(tree);
        String remote = tmp.resolve("remote/fresh.bin").toString();
        String remoteTree = tmp.resolve("remote/stale-tree").toString();
        // what an earlier, different transfer left: resumed from, it cannot match the source
        Files.createDirectories(Path.of(remoteTree, "a/b"));
        Files.write(Path.of(remote + SshNodeAccess.PART_SUFFIX), new byte[1024 * 1024]);
        Files.write(Path.of(remoteTree, "a/b/big.bin" + SshNodeAccess.PART_SUFFIX), new byte[4096]);
        Path back = tmp.resolve("back/fresh.bin");
        Files.createDirectories(back.getParent());
        Files.write(Path.of(back + SshNodeAccess.PART_SUFFIX), new byte[4096]);
        try (SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            access.upload(local, remote);
            assertThat(Files.mismatch(local, Path.of(remote))).isEqualTo(-1);
            access.uploadTree(tree, remoteTree);
            assertThat(treeOf(Path.of(remoteTree))).isEqualTo(treeOf(tree));
            access.download(remote, back);
            assertThat(Files.mismatch(local, back)).isEqualTo(-1);
        }
        assertNoParts();
    }

    @Test
    void aForwardToTheNodeCarriesBytesBothWaysUntilClosed() throws Exception {
        try (EchoServer echo = new EchoServer(); SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            PortForward f = access.forwardToNode(echo.port());
            assertThat(f.remotePort()).isEqualTo(echo.port());
            try (Socket a = EchoServer.connect(f.localPort()); Socket b = EchoServer.connect(f.localPort())) {
                assertThat(EchoServer.roundTrip(a, 3 * 1024 * 1024 + 7)).isTrue();
                assertThat(EchoServer.roundTrip(b, 1000)).isTrue();
                f.close();
                assertThat(EchoServer.ends(a, DEADLINE)).as("a carried connection ends with the forward").isTrue();
                // The listener's accept loop closes its socket on its own thread: the port refuses soon, not at once.
                until(() -> EchoServer.refuses(f.localPort()));
                f.close();
            }
        }
    }

    @Test
    void aForwardFromTheNodeCarriesBytesBothWaysUntilClosed() throws Exception {
        try (EchoServer echo = new EchoServer(); SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            PortForward f = access.forwardFromNode(0, echo.port());
            assertThat(f.localPort()).isEqualTo(echo.port());
            assertThat(f.remotePort()).isPositive();
            try (Socket a = EchoServer.connect(f.remotePort())) {
                assertThat(EchoServer.roundTrip(a, 3 * 1024 * 1024 + 7)).isTrue();
                f.close();
                assertThat(EchoServer.ends(a, DEADLINE)).as("a carried connection ends with the forward").isTrue();
                until(() -> EchoServer.refuses(f.remotePort()));
            }
        }
    }

    @Test
    void aDeadConnectionEndsItsForwards() throws Exception {
        try (EchoServer echo = new EchoServer(); SshNodeAccess access = new SshNodeAccess("n1", target, connections)) {
            PortForward to = access.forwardToNode(echo.port());
            try (Socket a = EchoServer.connect(to.localPort())) {
                assertThat(EchoServer.roundTrip(a, 1000)).isTrue();
                server.stop();
                assertThat(EchoServer.ends(a, DEADLINE)).isTrue();
                until(() -> EchoServer.refuses(to.localPort()));
            }
        }
    }

    private static void makeTree(Path root) throws IOException {
        Files.createDirectories(root.resolve("a/b/c"));
        Files.createDirectories(root.resolve("empty/inside-empty"));
        Files.writeString(root.resolve("top.txt"), "top\n");
        Files.writeString(root.resolve("a/one.txt"), "one");
        Files.createFile(root.resolve("a/b/zero-bytes"));
        for (int i = 0; i < 120; i++) {
            Files.writeString(root.resolve("a/b/c/small-" + i + ".txt"), "file " + i + "\n".repeat(i));
        }
        randomFile(root.resolve("a/b/big.bin"), 2 * 1024 * 1024 + 5);
        Files.writeString(root.resolve("a/name with 'quotes' and spaces"), "odd");
    }

    /** Every path under {@code root}, directories marked with a slash, files with their SHA-256. */
    static java.util.SortedMap<String, String> treeOf(Path root) throws IOException {
        java.util.SortedMap<String, String> m = new java.util.TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                String rel = root.relativize(p).toString();
                if (Files.isDirectory(p)) {
                    m.put(rel + "/", "");
                } else {
                    m.put(rel, sha256(p));
                }
            }
        }
        return m;
    }

    static String sha256(Path p) throws IOException {
        try (java.io.InputStream in = Files.newInputStream(p)) {
            java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                d.update(buf, 0, n);
            }
            return java.util.HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void assertNoParts() throws IOException {
        try (Stream<Path> all = Files.walk(tmp)) {
            assertThat(all.filter(p -> p.toString().endsWith(SshNodeAccess.PART_SUFFIX)).toList()).isEmpty();
        }
    }

    private static Path randomFile(Path p, int size) throws IOException {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return Files.write(p, b);
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
}
