package dev.skyport.gate;

import dev.skyport.api.JobId;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The behaviour every {@link Gate} with nodes of its own (local, ssh, slurm) must show on top of {@link GateContractTest}:
 * runs, signals, probes after a restart and transfers on its nodes. Runs use job directories under {@link #jobRoot()},
 * which the node must be able to write.
 */
public abstract class NodeGateContractTest extends GateContractTest {
    private static final long WAIT_SECONDS = 30;

    /** Where job directories go on the node (a path on the node, which for a local node is also a local path). */
    protected abstract String jobRoot();

    /** Reads a file on the node, for assertions. */
    protected abstract String readOnNode(String path) throws Exception;

    protected NodeAccess firstNode() {
        return gate.access(gate.nodes().get(0).name());
    }

    protected RunRequest script(String script) {
        JobId id = new JobId(UUID.randomUUID());
        String dir = jobRoot() + "/" + id;
        return new RunRequest(id, 1, dir, Optional.of(script), List.of(), dir, Map.of("GREETING", "hello"));
    }

    @Test
    void reportsNodesWithCapacity() {
        List<Node> nodes = gate.nodes();
        assertThat(nodes).isNotEmpty();
        assertThat(nodes).allSatisfy(n -> {
            assertThat(n.cpus()).isPositive();
            assertThat(n.state()).isNotNull();
            assertThat(n.name()).isNotBlank();
        });
        assertThat(nodes).anyMatch(n -> n.state() == NodeState.UP);
    }

    @Test
    void runsAScriptAndReportsItsExitCodeAndOutput() throws Exception {
        RunRequest req = script("#!/bin/sh\necho \"$GREETING from $SKYPORT_JOB_ID\"\necho oops >&2\nexit 3\n");
        NodeAccess node = firstNode();
        RunHandle handle = node.launch(req);
        RunOutcome outcome = node.watch(handle).get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(outcome.exitCode()).hasValue(3);
        assertThat(outcome.signal()).isEmpty();
        assertThat(readOnNode(req.directory() + "/stdout.log")).isEqualTo("hello from " + req.job() + "\n");
        assertThat(readOnNode(req.directory() + "/stderr.log")).isEqualTo("oops\n");
    }

    @Test
    void runsAScriptWithoutShebangThroughTheShell() throws Exception {
        RunRequest req = script("echo plain; exit 0\n");
        NodeAccess node = firstNode();
        RunOutcome outcome = node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(outcome.exitCode()).hasValue(0);
        assertThat(readOnNode(req.directory() + "/stdout.log")).isEqualTo("plain\n");
    }

    @Test
    void termStopsTheWholeProcessGroup() throws Exception {
        String sleep = uniqueSleep();
        RunRequest req = script("#!/bin/sh\n" + sleep + " &\necho $! > child.pid\nwait\n");
        NodeAccess node = firstNode();
        RunHandle handle = node.launch(req);
        awaitContent(req.directory() + "/child.pid");
        node.signal(handle, RunSignal.TERM);
        RunOutcome outcome = node.watch(handle).get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(outcome.exitCode().isEmpty() || outcome.signal().isPresent())
                .as("killed, not a normal exit: %s", outcome).isTrue();
        awaitGone(sleep);
    }

    @Test
    protected void aStopReachesProcessesThatLeftTheGroup() throws Exception {
        String sleep = uniqueSleep();
        RunRequest req = script("#!/bin/sh\nsetsid " + sleep + " &\n" + sleep + " &\necho up > started\nwait\n");
        NodeAccess node = firstNode();
        RunHandle handle = node.launch(req);
        awaitContent(req.directory() + "/started");
        awaitRunning(sleep);
        node.signal(handle, RunSignal.TERM);
        node.watch(handle).get(WAIT_SECONDS, TimeUnit.SECONDS);
        awaitGone(sleep);
    }

    @Test
    protected void leftoversEndWithTheRun() throws Exception {
        String sleep = uniqueSleep();
        RunRequest req = script("#!/bin/sh\nsetsid " + sleep + " &\n" + sleep + " &\n"
                + "(setsid sh -c '" + sleep + " & " + sleep + "' &)\nexit 0\n");
        NodeAccess node = firstNode();
        assertThat(node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(0);
        awaitGone(sleep);
    }

    @Test
    protected void aRunCannotReachASiblingRunsDirectoryOrProcesses() throws Exception {
        NodeAccess node = firstNode();
        RunRequest sibling = script("#!/bin/sh\necho sibling-secret > secret.txt\necho sibling-output\n"
                + "SIBLING_TOKEN=sibling-env exec sleep 300\n");
        RunHandle running = node.launch(sibling);
        awaitContent(sibling.directory() + "/secret.txt");
        String d = sibling.directory();
        RunRequest prying = script("#!/bin/sh\necho mine > mine.txt; cat mine.txt\n"
                + "cat " + d + "/secret.txt " + d + "/stdout.log " + d + "/script ../*/secret.txt\n"
                + "ls -R " + d + " ..\n"
                + "for p in /proc/[0-9]*; do cat $p/environ $p/cwd/secret.txt; done\n"
                + "exit 0\n");
        try {
            assertThat(node.watch(node.launch(prying)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(0);
            String seen = readOnNode(prying.directory() + "/stdout.log") + readOnNode(prying.directory() + "/stderr.log");
            assertThat(readOnNode(prying.directory() + "/stdout.log")).startsWith("mine\n");
            assertThat(seen).doesNotContain("sibling-secret", "sibling-output", "sibling-env");
        } finally {
            node.signal(running, RunSignal.KILL);
            node.watch(running).get(WAIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    /**
     * Whether a process whose command line contains {@code commandLine} runs on the node (zombies do not count). This
     * default asks a run on the node, which only works where runs see each other's processes: gates that give runs
     * their own PID namespace must look from outside.
     */
    protected boolean runsOnNode(String commandLine) throws Exception {
        RunRequest check = script("t='" + commandLine + "'\nfor f in /proc/[0-9]*/cmdline; do\n"
                + "  case \"$(tr '\\0' ' ' < $f 2>/dev/null)\" in *\"$t\"*) exit 1;; esac\ndone\nexit 0\n");
        NodeAccess node = firstNode();
        return node.watch(node.launch(check)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode().orElse(-1) != 0;
    }

    /** A sleep command no other test runs, to find its processes by their command line. */
    private static String uniqueSleep() {
        return "sleep " + (300_000 + ThreadLocalRandom.current().nextInt(600_000));
    }

    private void awaitRunning(String commandLine) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(WAIT_SECONDS));
        while (!runsOnNode(commandLine)) {
            assertThat(Instant.now()).as("'%s' started", commandLine).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    private void awaitGone(String commandLine) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(WAIT_SECONDS));
        while (runsOnNode(commandLine)) {
            assertThat(Instant.now()).as("every '%s' ended", commandLine).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    @Test
    void probeAfterRestartFindsARunningRunAndItsEnd() throws Exception {
        RunRequest req = script("#!/bin/sh\nwhile [ ! -e go ]; do sleep 0.05; done\necho done\nexit 7\n");
        firstNode().launch(req);
        awaitContent(req.runDirectory() + "/pid");
        reopen();
        NodeAccess node = firstNode();
        RunProbe probe = node.probe(req);
        assertThat(probe.state()).isEqualTo(RunProbe.State.RUNNING);
        Path go = workDir.resolve("go");
        Files.writeString(go, "go");
        node.upload(go, req.directory() + "/go");
        RunOutcome outcome = node.watch(probe.handle().orElseThrow()).get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(outcome.exitCode()).hasValue(7);
        assertThat(node.probe(req).outcome().flatMap(o -> o.exitCode().isPresent()
                ? Optional.of(o.exitCode().getAsInt()) : Optional.empty())).hasValue(7);
    }

    @Test
    void probeOfARunThatNeverStartedFencesItOff() throws Exception {
        RunRequest req = script("#!/bin/sh\necho ran >> ran.txt\n");
        NodeAccess node = firstNode();
        assertThat(node.probe(req).state()).isEqualTo(RunProbe.State.NEVER_STARTED);
        // A late start of the same run must not run the job.
        RunOutcome late = node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(late.exitCode()).as("a fenced run leaves no exit code").isEmpty();
        // The fenced job did not run.
        assertThatThrownBy(() -> readOnNode(req.directory() + "/ran.txt")).isInstanceOf(Exception.class);
    }

    @Test
    void reportsAMissingWorkdirAsAFailedRun() throws Exception {
        RunRequest base = script("echo never\n");
        RunRequest req = new RunRequest(base.job(), 1, base.directory(), base.script(), List.of(),
                base.directory() + "/does/not/exist", Map.of());
        NodeAccess node = firstNode();
        RunOutcome outcome = node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(outcome.exitCode()).hasValue(DetachedRun.NO_WORKDIR_STATUS);
    }

    @Test
    void uploadsAndDownloadsFiles() throws Exception {
        Path local = workDir.resolve("in.txt");
        Files.writeString(local, "payload ✓");
        String remote = jobRoot() + "/" + UUID.randomUUID() + "/sub/in.txt";
        NodeAccess node = firstNode();
        node.upload(local, remote);
        Path back = workDir.resolve("back.txt");
        node.download(remote, back);
        assertThat(Files.readString(back, StandardCharsets.UTF_8)).isEqualTo("payload ✓");
    }

    @Test
    void anUploadAndDownloadRoundTripKeepsEveryByte() throws Exception {
        byte[] payload = new byte[3 * 1024 * 1024 + 17];
        ThreadLocalRandom.current().nextBytes(payload);
        Path local = workDir.resolve("payload.bin");
        Files.write(local, payload);
        String remote = jobRoot() + "/" + UUID.randomUUID() + "/in/payload.bin";
        NodeAccess node = firstNode();
        node.upload(local, remote);
        // Again over the first copy: a re-staged input replaces what is there.
        node.upload(local, remote);
        Path back = workDir.resolve("back/payload.bin");
        node.download(remote, back);
        assertThat(Files.readAllBytes(back)).isEqualTo(payload);
    }

    @Test
    void anUploadOfAMissingFileIsPermanentAndLeavesNothingOnTheNode() throws Exception {
        NodeAccess node = firstNode();
        String dir = jobRoot() + "/" + UUID.randomUUID();
        Path marker = workDir.resolve("marker.txt");
        Files.writeString(marker, "m");
        node.upload(marker, dir + "/marker.txt");
        assertThatThrownBy(() -> node.upload(workDir.resolve("no-such-file"), dir + "/missing.txt"))
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse());
        assertThatThrownBy(() -> node.download(dir + "/missing.txt", workDir.resolve("missing.txt")))
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse());
        Path copy = workDir.resolve("copy");
        node.downloadTree(dir, copy);
        assertThat(listTree(copy)).as("no temporary file left behind").containsExactly("marker.txt");
    }

    @Test
    void aDownloadOfAMissingFileIsPermanentAndLeavesNoLocalFile() throws Exception {
        NodeAccess node = firstNode();
        Path into = workDir.resolve("downloads");
        Files.createDirectories(into);
        assertThatThrownBy(() -> node.download(jobRoot() + "/" + UUID.randomUUID() + "/out.txt",
                into.resolve("out.txt")))
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse());
        try (var left = Files.list(into)) {
            assertThat(left.toList()).as("nothing half-written").isEmpty();
        }
    }

    @Test
    void aTreeRoundTripKeepsNestedDirectoriesAndContent() throws Exception {
        Path tree = workDir.resolve("tree");
        Files.createDirectories(tree.resolve("a/b/c"));
        Files.createDirectories(tree.resolve("empty"));
        Files.writeString(tree.resolve("top.txt"), "top");
        Files.writeString(tree.resolve("a/one.txt"), "one");
        Files.writeString(tree.resolve("a/b/c/deep.txt"), "deep ✓");
        String remote = jobRoot() + "/" + UUID.randomUUID() + "/tree";
        NodeAccess node = firstNode();
        node.uploadTree(tree, remote);
        Path back = workDir.resolve("tree-back");
        node.downloadTree(remote, back);
        assertThat(listTree(back)).containsExactlyInAnyOrder("top.txt", "a", "a/one.txt", "a/b", "a/b/c",
                "a/b/c/deep.txt", "empty");
        assertThat(Files.readString(back.resolve("a/b/c/deep.txt"), StandardCharsets.UTF_8)).isEqualTo("deep ✓");
        assertThat(readOnNode(remote + "/a/one.txt")).isEqualTo("one");
    }

    @Test
    void aTreeWithASymbolicLinkIsRefusedWhole() throws Exception {
        Path tree = workDir.resolve("linked");
        Files.createDirectories(tree);
        Files.writeString(tree.resolve("plain.txt"), "plain");
        Files.createSymbolicLink(tree.resolve("link"), workDir.resolve("elsewhere"));
        String remote = jobRoot() + "/" + UUID.randomUUID() + "/linked";
        NodeAccess node = firstNode();
        assertThatThrownBy(() -> node.uploadTree(tree, remote))
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse());
        assertThatThrownBy(() -> node.download(remote + "/plain.txt", workDir.resolve("plain.txt")))
                .as("nothing of the refused tree was copied").isInstanceOf(GateException.class);
    }

    @Test
    void stagedFilesAndTheRunMeetInTheDirectoryTheNodeNames() throws Exception {
        JobId id = new JobId(UUID.randomUUID());
        NodeAccess node = firstNode();
        String dir = node.directoryOf(id, workDir.resolve("engine-jobs").resolve(id.toString()));
        Path input = workDir.resolve("input.txt");
        Files.writeString(input, "staged input");
        node.upload(input, dir + "/input.txt");
        RunRequest req = new RunRequest(id, 1, dir, Optional.of("#!/bin/sh\ntr a-z A-Z < input.txt > output.txt\n"),
                List.of(), dir, Map.of());
        RunOutcome outcome = node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(outcome.exitCode()).hasValue(0);
        Path back = workDir.resolve("output-back.txt");
        node.download(dir + "/output.txt", back);
        assertThat(Files.readString(back)).isEqualTo("STAGED INPUT");
        node.download(dir + "/" + DetachedRun.STDERR, workDir.resolve("stderr-back.log"));
        assertThat(workDir.resolve("stderr-back.log")).isEmptyFile();
    }

    private static List<String> listTree(Path root) throws Exception {
        try (var walk = Files.walk(root)) {
            return walk.filter(p -> !p.equals(root)).map(p -> root.relativize(p).toString()).sorted().toList();
        }
    }

    /*
     * Gate-level cases (issue 13): what the engine relies on from any gate, beside running one script. Kept together
     * so that other additions to this class merge beside them.
     */

    @Test
    void everyListedNodeHasCapacityAPartitionAndItsOwnAccess() {
        List<Node> nodes = gate.nodes();
        assertThat(nodes.stream().map(Node::name).distinct().count()).as("node names are unique")
                .isEqualTo(nodes.size());
        for (Node n : nodes) {
            assertThat(n.cpus()).isPositive();
            assertThat(n.memoryBytes()).isNotNegative();
            assertThat(n.partition()).isNotBlank();
            assertThat(gate.access(n.name()).node()).isEqualTo(n.name());
        }
    }

    @Test
    void aGateWithFixedNodesDescribesThemAsFlavorsAndRefusesToCreatePartitions() {
        if (gate.createsPartitions()) {
            return; // such a gate's flavors are what it can create; its own contract test covers creation
        }
        assertThat(gate.flavors()).isNotEmpty().allSatisfy(f -> assertThat(gate.nodes()).anyMatch(n ->
                n.cpus() == f.cpus() && n.memoryBytes() == f.memoryBytes() && n.gpus() == f.gpus()));
        PartitionSpec spec = new PartitionSpec("swm-contract", Optional.empty(), 1, Optional.empty(),
                Optional.empty(), List.of(), Map.of());
        assertThatThrownBy(() -> gate.createPartition(spec))
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse());
    }

    @Test
    void aReopenedGateListsTheSameNodesAndPlacesAJobInTheSameDirectory() {
        List<String> before = gate.nodes().stream().map(Node::name).toList();
        JobId job = new JobId(UUID.randomUUID());
        Path engineDir = workDir.resolve("jobs").resolve(job.toString());
        String dir = firstNode().directoryOf(job, engineDir);
        reopen();
        assertThat(gate.nodes().stream().map(Node::name).toList()).isEqualTo(before);
        assertThat(firstNode().directoryOf(job, engineDir)).as("re-attachment finds the run where it was started")
                .isEqualTo(dir);
    }

    @Test
    void aRunFoundAfterReopenCanBeStoppedAndIsThenEnded() throws Exception {
        RunRequest req = script("#!/bin/sh\necho up > started\nexec sleep 300\n");
        firstNode().launch(req);
        awaitContent(req.directory() + "/started");
        reopen();
        NodeAccess node = firstNode();
        RunProbe probe = node.probe(req);
        assertThat(probe.state()).isEqualTo(RunProbe.State.RUNNING);
        node.signal(probe.handle().orElseThrow(), RunSignal.KILL);
        RunOutcome outcome = node.watch(probe.handle().orElseThrow()).get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(outcome.isLost() || outcome.signal().isPresent()).as("killed: %s", outcome).isTrue();
        assertThat(node.probe(req).state()).isEqualTo(RunProbe.State.ENDED);
        node.signal(probe.handle().orElseThrow(), RunSignal.TERM); // an ended run: not an error
    }

    @Test
    void transferErrorsAreClassified() {
        NodeAccess node = firstNode();
        assertThatThrownBy(() -> node.upload(workDir.resolve("no-such-file"), jobRoot() + "/x/in.txt"))
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse());
        assertThatThrownBy(() -> node.download(jobRoot() + "/" + UUID.randomUUID() + "/missing.txt",
                workDir.resolve("out.txt")))
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse());
        assertThat(workDir.resolve("out.txt")).as("nothing half-written").doesNotExist();
    }

    private void awaitContent(String path) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(WAIT_SECONDS));
        while (Instant.now().isBefore(deadline)) {
            try {
                if (!readOnNode(path).isBlank()) {
                    return;
                }
            } catch (Exception notYet) {
                // not there yet
            }
            TimeUnit.MILLISECONDS.sleep(10);
        }
        throw new AssertionError("no content in " + path + " after " + WAIT_SECONDS + " s");
    }
}
