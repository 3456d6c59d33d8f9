package dev.skyport.core.internal;

import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.JobId;
import dev.skyport.api.OutputLog;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;
import dev.skyport.core.internal.local.LocalGate;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.StepLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The engine's side of {@link StepLayout} without a container: mounts and inputs placed, records and output files
 * written by hand as the gate's driver writes them, then read back and collected through the local gate's
 * {@link NodeAccess}, both as the node sharing the engine's files ({@code shared}) and as a remote node whose files
 * are downloaded.
 */
class StepStagingTest {
    @TempDir
    Path tmp;
    private LocalGate gate;
    private NodeAccess node;
    private Path root;
    private Path jobDir;
    private Path local;

    @BeforeEach
    void setUp() throws Exception {
        gate = new LocalGate(new GateConfig(tmp.resolve("gate"), Map.of("job-isolation", "none"), Clock.systemUTC()));
        node = gate.access(LocalGate.NODE);
        root = Files.createDirectories(tmp.resolve("files/alice")).toRealPath();
        jobDir = Files.createDirectories(tmp.resolve("jobs/node"));
        local = Files.createDirectories(tmp.resolve("jobs/engine"));
    }

    @AfterEach
    void tearDown() {
        gate.close();
    }

    private RunRequest request(ContainerSteps steps) {
        return request(steps, 1);
    }

    private RunRequest request(ContainerSteps steps, int attempt) {
        return new RunRequest(new JobId(UUID.randomUUID()), attempt, jobDir.toString(), Optional.empty(), List.of(),
                jobDir.toString(), Map.of(), "alice", 1, 0, Optional.empty(), List.of(), Optional.of(steps));
    }

    private Path runDir() throws Exception {
        return Files.createDirectories(jobDir.resolve(DetachedRun.runDirectoryName(1)));
    }

    private Path mount(ContainerSteps steps, String containerPath) {
        return mount(steps, 1, containerPath);
    }

    private Path mount(ContainerSteps steps, int attempt, String containerPath) {
        return Path.of(StepLayout.hostPath(jobDir.toString(), attempt, steps, containerPath).orElseThrow());
    }

    private List<OutputLog> collect(ContainerSteps steps, boolean shared) {
        return StepStaging.collect(steps, "alice", node, request(steps), Optional.of(root), Optional.of(root), shared,
                local);
    }

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {true, false})
    void inputsAreInTheirMountsAndSharedDirectoriesAreMadeEmpty(boolean shared) throws Exception {
        Files.writeString(root.resolve("ref.txt"), "ref");
        Files.createDirectories(root.resolve("tree/deep"));
        Files.writeString(root.resolve("tree/deep/x"), "x");
        ContainerSteps steps = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")),
                List.of(StepInput.content("/in/a.txt", "héllo"), StepInput.file("/data/ref.txt", "ref.txt"),
                        StepInput.directory("/tree", root.resolve("tree").toString())),
                List.of(StepOutput.file("/out/r.txt", root.resolve("r.txt").toString())), List.of("/data"));
        // A stage-in tried again for the same attempt starts from empty mounts, on the engine's files or a node's.
        Files.createDirectories(jobDir.resolve("mounts/1/shared/1"));
        Files.writeString(jobDir.resolve("mounts/1/shared/1/r.txt"), "left by an earlier try");

        StepStaging.stageIn(steps, "alice", node, request(steps), Optional.of(root), shared);

        assertThat(mount(steps, "/in/a.txt")).hasContent("héllo");
        assertThat(mount(steps, "/data/ref.txt")).hasContent("ref").startsWith(jobDir.resolve("mounts/1/shared"));
        assertThat(mount(steps, "/tree").resolve("deep/x")).hasContent("x");
        assertThat(mount(steps, "/out")).isEmptyDirectory();
    }

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {true, false})
    void aRetryHasMountsOfItsOwnAndNeverSeesNorWritesThroughWhatAnEarlierAttemptLeft(boolean shared)
            throws Exception {
        Path victim = Files.writeString(tmp.resolve("authorized_keys"), "the account's keys");
        ContainerSteps steps = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")),
                List.of(StepInput.content("/vol/x", "attacker key")),
                List.of(StepOutput.file("/vol/result", root.resolve("result").toString())), List.of("/vol"));
        StepStaging.stageIn(steps, "alice", node, request(steps, 1), Optional.of(root), shared);
        // What attempt 1's steps left: an output, and links where attempt 2's upload would write.
        Path first = mount(steps, 1, "/vol");
        Files.writeString(first.resolve("result"), "stale, from attempt 1");
        Files.delete(first.resolve("x"));
        Files.createSymbolicLink(first.resolve("x"), victim);
        Files.createSymbolicLink(first.resolve("x.skyport-part"), victim);

        RunRequest second = request(steps, 2);
        StepStaging.stageIn(steps, "alice", node, second, Optional.of(root), shared);

        Path fresh = mount(steps, 2, "/vol");
        assertThat(fresh).isNotEqualTo(first);
        try (var listed = Files.list(fresh)) {
            assertThat(listed.map(p -> p.getFileName().toString())).containsExactly("x");
        }
        assertThat(fresh.resolve("x")).isRegularFile().hasContent("attacker key");
        assertThat(victim).hasContent("the account's keys");
        assertThatThrownBy(() -> StepStaging.collect(steps, "alice", node, second, Optional.of(root),
                Optional.of(root), shared, local)).isInstanceOf(GateException.class)
                .hasMessageContaining("output '/vol/result' was not left by the steps");
        assertThat(root.resolve("result")).doesNotExist();
    }

    @Test
    void aSourceMissingOrLinkedOutOfTheInputDirectoryGetsOneMessageAndADirectoryMustBeOne() throws Exception {
        Path secret = Files.writeString(tmp.resolve("secret"), "s");
        Files.createSymbolicLink(root.resolve("link"), secret);
        Files.writeString(root.resolve("file"), "f");
        for (String source : List.of("missing", "link")) {
            ContainerSteps steps = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")),
                    List.of(StepInput.file("/in/x", source)), List.of(), List.of());
            assertThatThrownBy(() -> StepStaging.stageIn(steps, "alice", node, request(steps), Optional.of(root),
                    true)).isInstanceOf(GateException.class)
                    .hasMessage("input '" + source + "' does not exist in the input directory " + root
                            + " of user alice");
        }
        ContainerSteps tree = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")),
                List.of(StepInput.directory("/in/x", "file")), List.of(), List.of());
        assertThatThrownBy(() -> StepStaging.stageIn(tree, "alice", node, request(tree), Optional.of(root), true))
                .isInstanceOf(GateException.class).hasMessageContaining("is not a directory");
    }

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {true, false})
    void aFifoAsASourceIsRefusedAtOnceWithAClearError(boolean shared) throws Exception {
        assertThat(new ProcessBuilder("mkfifo", root.resolve("pipe").toString()).start().waitFor()).isZero();
        Files.createDirectories(root.resolve("tree"));
        assertThat(new ProcessBuilder("mkfifo", root.resolve("tree/pipe").toString()).start().waitFor()).isZero();
        ContainerSteps file = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")),
                List.of(StepInput.file("/in/x", "pipe")), List.of(), List.of());
        ContainerSteps tree = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")),
                List.of(StepInput.directory("/in/t", "tree")), List.of(), List.of());
        // Nobody ever writes the FIFO: a copy that opened it would hang here, not fail.
        java.util.concurrent.CompletableFuture<Throwable> f = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> thrown(() -> StepStaging.stageIn(file, "alice", node, request(file), Optional.of(root),
                        shared)));
        java.util.concurrent.CompletableFuture<Throwable> t = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> thrown(() -> StepStaging.stageIn(tree, "alice", node, request(tree), Optional.of(root),
                        shared)));
        assertThat(f.get(30, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOf(GateException.class)
                .hasMessage("input 'pipe' for /in/x is not a regular file (a FIFO, socket or device); only regular "
                        + "files and directories are staged");
        assertThat(t.get(30, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOf(GateException.class)
                .hasMessageContaining("tree/pipe is not a regular file (a FIFO, socket or device)");
    }

    private static Throwable thrown(Runnable r) {
        try {
            r.run();
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {true, false})
    void stepLogsComeFromTheRecordsAndKeepTheTailOfEachStreamUpToTheStepThatDidNotEnd(boolean shared)
            throws Exception {
        ContainerSteps steps = new ContainerSteps(List.of(ContainerStep.of("busybox", "a"),
                new ContainerStep("busybox", List.of("b"), Optional.empty(), Optional.empty(),
                        Optional.of("/out/b.log"), Optional.empty(), Map.of(), true),
                ContainerStep.of("busybox", "c"), ContainerStep.of("busybox", "d")),
                List.of(), List.of(StepOutput.file("/out/r", root.resolve("r").toString())), List.of());
        Path run = runDir();
        Files.writeString(run.resolve("step.0"), "start 1000\nend 2500 0\n");
        // 16 KiB + 1 of 'é' (2 bytes each): the cut falls inside a character.
        String big = "x" + "é".repeat(StepLog.MAX_TAIL_BYTES / 2) + "END";
        Files.writeString(run.resolve("step.0.stdout"), big);
        Files.writeString(run.resolve("step.1"), "start 3000\nend 4000 3\n");
        Files.createDirectories(mount(steps, "/out"));
        Files.writeString(mount(steps, "/out/b.log"), "to the mount\n");
        Files.writeString(run.resolve("step.1.stderr"), "b failed\n");
        // Killed while writing its end: the half line does not count.
        Files.writeString(run.resolve("step.2"), "start 5000\nend 60");
        Files.writeString(run.resolve("step.3"), "start 7000\n"); // never read: step 2 did not end

        List<StepLog> logs = StepStaging.readLogs(steps, node, request(steps), shared, local);

        assertThat(logs).hasSize(3);
        StepLog first = logs.get(0);
        assertThat(first.startTime()).isEqualTo(Instant.ofEpochMilli(1000));
        assertThat(first.endTime()).contains(Instant.ofEpochMilli(2500));
        assertThat(first.exitCode()).hasValue(0);
        assertThat(first.stdoutTail().getBytes(StandardCharsets.UTF_8).length)
                .isLessThanOrEqualTo(StepLog.MAX_TAIL_BYTES + 2);
        assertThat(first.stdoutTail()).startsWith("\uFFFDé").endsWith("ééEND").doesNotContain("x");
        assertThat(first.stderrTail()).isEmpty();
        assertThat(logs.get(1)).isEqualTo(new StepLog(Instant.ofEpochMilli(3000),
                Optional.of(Instant.ofEpochMilli(4000)), java.util.OptionalInt.of(3), "to the mount\n", "b failed\n"));
        assertThat(logs.get(2).endTime()).isEmpty();
        assertThat(logs.get(2).exitCode()).isEmpty();
        assertThat(StepStaging.failedStep(steps, logs)).isEmpty(); // step 1 ignores errors, step 2 has not ended
    }

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {true, false})
    void outputsAreCopiedAsFilesTreesAndMatchesWithALogPerFile(boolean shared) throws Exception {
        ContainerSteps steps = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")), List.of(),
                List.of(StepOutput.file("/out/r.txt", root.resolve("r/result.txt").toString()),
                        new StepOutput("/out/tree", Optional.empty(), root.resolve("tree").toString(), true),
                        new StepOutput("/out/*.csv", Optional.of("/out/"), root.resolve("csv").toString(), false),
                        new StepOutput("/out/none-*", Optional.of("/out"), root.resolve("none").toString(), false)),
                List.of());
        Path out = Files.createDirectories(mount(steps, "/out"));
        Files.writeString(out.resolve("r.txt"), "result");
        Files.createDirectories(out.resolve("tree/a"));
        Files.writeString(out.resolve("tree/a/one"), "1");
        Files.writeString(out.resolve("tree/two"), "22");
        Files.writeString(out.resolve("x.csv"), "xxx");
        Files.writeString(out.resolve(".y.csv"), "hidden");
        Files.writeString(root.resolve("existing"), "kept");

        List<OutputLog> logs = collect(steps, shared);

        assertThat(logs).containsExactly(
                new OutputLog("/out/r.txt", root.resolve("r/result.txt").toString(), 6),
                new OutputLog("/out/tree/a/one", root.resolve("tree/a/one").toString(), 1),
                new OutputLog("/out/tree/two", root.resolve("tree/two").toString(), 2),
                new OutputLog("/out/x.csv", root.resolve("csv/x.csv").toString(), 3));
        assertThat(root.resolve("r/result.txt")).hasContent("result");
        assertThat(root.resolve("tree/a/one")).hasContent("1");
        assertThat(root.resolve("csv/x.csv")).hasContent("xxx");
        assertThat(root.resolve("csv/.y.csv")).doesNotExist();
        assertThat(root.resolve("none")).doesNotExist();
        assertThat(local.resolve("collect.1")).doesNotExist();
    }

    @Test
    void aMissingOutputWithoutWildcardsFails() throws Exception {
        ContainerSteps steps = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")), List.of(),
                List.of(StepOutput.file("/out/r.txt", root.resolve("r.txt").toString())), List.of());
        Files.createDirectories(mount(steps, "/out"));
        for (boolean shared : new boolean[] {true, false}) {
            assertThatThrownBy(() -> collect(steps, shared)).isInstanceOf(GateException.class)
                    .hasMessageContaining("output '/out/r.txt' was not left by the steps")
                    .satisfies(e -> assertThat(((GateException) e).isTransient()).isFalse());
        }
    }

    @Test
    void linksAStepPlantedInItsMountsAreNeverFollowed() throws Exception {
        Path secret = Files.writeString(tmp.resolve("secret.csv"), "secret");
        Path secrets = Files.createDirectories(tmp.resolve("secrets"));
        Files.writeString(secrets.resolve("passwd"), "secret");
        ContainerSteps pattern = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")), List.of(),
                List.of(new StepOutput("/out/*.csv", Optional.of("/out/"), root.resolve("csv").toString(), false)),
                List.of());
        Path out = Files.createDirectories(mount(pattern, "/out"));
        Files.createSymbolicLink(out.resolve("a.csv"), secret);
        Files.writeString(out.resolve("b.csv"), "b");
        assertThat(collect(pattern, true)).extracting(OutputLog::path).containsExactly("/out/b.csv");
        assertThat(root.resolve("csv/a.csv")).doesNotExist();

        ContainerSteps through = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")), List.of(),
                List.of(StepOutput.file("/out/etc/passwd", root.resolve("passwd").toString())), List.of("/out"));
        Files.createSymbolicLink(out.resolve("etc"), secrets);
        assertThatThrownBy(() -> collect(through, true)).isInstanceOf(GateException.class)
                .hasMessageContaining("symbolic link");
        assertThat(root.resolve("passwd")).doesNotExist();

        ContainerSteps tree = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")), List.of(),
                List.of(new StepOutput("/out", Optional.empty(), root.resolve("all").toString(), true)), List.of());
        assertThatThrownBy(() -> collect(tree, true)).isInstanceOf(GateException.class)
                .hasMessageContaining("symbolic link");
    }

    @Test
    void aDestinationIsNeverWrittenThroughALinkButItsLastComponentIsReplaced() throws Exception {
        ContainerSteps steps = new ContainerSteps(List.of(ContainerStep.of("busybox", "true")), List.of(),
                List.of(StepOutput.file("/out/r.txt", root.resolve("linked/r.txt").toString())), List.of());
        Path out = Files.createDirectories(mount(steps, "/out"));
        Files.writeString(out.resolve("r.txt"), "result");
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.createSymbolicLink(root.resolve("linked"), elsewhere);
        assertThatThrownBy(() -> collect(steps, true)).isInstanceOf(GateException.class)
                .hasMessageContaining("is a symbolic link; nothing is written through it");
        assertThat(elsewhere).isEmptyDirectory();

        Files.delete(root.resolve("linked"));
        Files.createDirectories(root.resolve("linked"));
        Path victim = Files.writeString(tmp.resolve("victim"), "untouched");
        Files.createSymbolicLink(root.resolve("linked/r.txt"), victim);
        collect(steps, true);
        assertThat(victim).hasContent("untouched");
        assertThat(root.resolve("linked/r.txt")).isRegularFile().hasContent("result");
    }
}
