package dev.skyport.core.internal.ssh;

import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.JobId;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;
import dev.skyport.core.internal.StepStagingBridge;
import dev.skyport.core.internal.local.BusyboxImage;
import dev.skyport.gate.ContainerRun;
import dev.skyport.gate.ContainerRuntime;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateException;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;
import dev.skyport.gate.StepLayout;
import dev.skyport.gate.StepsRun;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Container runs through {@link SshNodeAccess} against the MINA test server, whose exec runs a real shell on this
 * machine: the node's podman is this machine's.
 */
class SshContainerTest {
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    static final BusyboxImage.PerClass IMAGE = new BusyboxImage.PerClass();

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
        connections = new SshConnections(Duration.ofSeconds(30));
    }

    @AfterEach
    void stop() throws IOException {
        connections.close();
        server.close();
    }

    private SshNodeAccess access(String... candidates) {
        return new SshNodeAccess("node-1", target, connections, Optional.of(new ContainerRuntime(List.of(candidates),
                List.of(BusyboxImage.RUNTIME_ARGS.split("\\s+")))));
    }

    private RunRequest request(String dir, String script) {
        return new RunRequest(new JobId(UUID.randomUUID()), 1, dir, Optional.of("#!/bin/sh\n" + script), List.of(),
                dir, Map.of("GREETING", "hello over ssh"), "alice", 1, 32L << 20, Optional.of(IMAGE.tag()), List.of());
    }

    @Test
    void aRunStartsInItsImageOverSshAndRecordsItsExitCode() throws Exception {
        try (SshNodeAccess access = access("podman", "docker")) {
            assertThat(access.runsContainerImages()).isTrue();
            String dir = tmp.resolve("jobs/a").toString();
            RunRequest req = request(dir, "cat /etc/os-release; echo \"$GREETING $USER\"; "
                    + "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; "
                    + "echo inside > inside.txt; exit 5\n");
            RunHandle h = access.launch(req);
            assertThat(await(access, h)).isEqualTo(RunOutcome.exited(5));
            String out = Files.readString(Path.of(dir, DetachedRun.STDOUT));
            assertThat(out).contains(BusyboxImage.OS_NAME, "hello over ssh alice", Long.toString(32L << 20));
            assertThat(Path.of(dir, "inside.txt")).hasContent("inside");
            assertThat(Path.of(req.runDirectory(), ContainerRun.MARK)).hasContent(ContainerRun.name(req.job(), 1));
            assertThat(BusyboxImage.containersNamed(ContainerRun.name(req.job(), 1))).isEmpty();
        }
    }

    @Test
    void aNewAccessFindsTheRunningContainerAndItsSigkillRemovesIt() throws Exception {
        String dir = tmp.resolve("jobs/b").toString();
        RunRequest req = request(dir, "trap '' TERM; echo started; while :; do sleep 1; done\n");
        String name = ContainerRun.name(req.job(), 1);
        try (SshNodeAccess first = access("podman")) {
            first.launch(req);
            until(() -> !BusyboxImage.containersNamed(name).isEmpty()
                    && Files.exists(Path.of(dir, DetachedRun.STDOUT))
                    && Files.readString(Path.of(dir, DetachedRun.STDOUT)).contains("started"));
        }
        // As after an engine restart: another access, which has not looked for the runtime yet.
        try (SshNodeAccess again = access("podman")) {
            RunProbe probe = again.probe(req);
            assertThat(probe.state()).isEqualTo(RunProbe.State.RUNNING);
            RunHandle h = probe.handle().orElseThrow();
            again.signal(h, RunSignal.TERM);
            again.signal(h, RunSignal.KILL);
            assertThat(await(again, h).isLost()).as("SIGKILL takes the wrapper too").isTrue();
            until(() -> BusyboxImage.containersNamed(name).isEmpty());
        }
    }

    @Test
    void aNodeWithoutTheRuntimeRefusesTheRunNamingTheNode() {
        try (SshNodeAccess access = access("skyport-no-such-runtime")) {
            String dir = tmp.resolve("jobs/c").toString();
            assertThatThrownBy(() -> access.launch(request(dir, "exit 0\n")))
                    .isInstanceOf(GateException.class)
                    .matches(e -> !((GateException) e).isTransient())
                    .hasMessage("no container runtime (skyport-no-such-runtime) on node node-1: "
                            + "skyport-no-such-runtime not found");
            assertThat(Path.of(dir)).doesNotExist();
        }
    }

    private static RunRequest stepsRequest(String dir, ContainerSteps steps) {
        return new RunRequest(new JobId(UUID.randomUUID()), 1, dir, Optional.empty(), List.of(), dir,
                Map.of("GREETING", "hello over ssh"), "alice", 1, 0, Optional.empty(), List.of(), Optional.of(steps));
    }

    @Test
    void stepsRunInOrderOverSshWithTheirMountsStreamsAndRecords() throws Exception {
        ContainerSteps steps = new ContainerSteps(List.of(
                ContainerStep.of(IMAGE.tag(), "sh", "-c", "echo \"$GREETING\" > /work/a; exit 2").withIgnoreError(true),
                new ContainerStep(IMAGE.tag(), List.of("sh", "-c", "cat /work/a -"), Optional.empty(),
                        Optional.of("/in/data"), Optional.of("/out/result"), Optional.empty(), Map.of(), false)),
                List.of(StepInput.content("/in/data", "input\n")),
                List.of(StepOutput.file("/out/result", "/dest/result")), List.of("/work"));
        try (SshNodeAccess access = access("podman")) {
            String dir = tmp.resolve("jobs/s").toString();
            RunRequest req = stepsRequest(dir, steps);
            // What staging does; the shared directories are the gate's to create when missing.
            Files.writeString(Files.createDirectories(Path.of(dir, "mounts/1/inputs")).resolve("0"), "input\n");
            RunHandle h = access.launch(req);
            assertThat(await(access, h)).isEqualTo(RunOutcome.exited(0));
            String run = req.runDirectory();
            assertThat(StepLayout.parseRecord(Files.readString(Path.of(StepLayout.record(run, 0)))).orElseThrow()
                    .status()).hasValue(2);
            assertThat(StepLayout.parseRecord(Files.readString(Path.of(StepLayout.record(run, 1)))).orElseThrow()
                    .status()).hasValue(0);
            assertThat(Path.of(dir, "mounts/1/shared/1/result")).hasContent("hello over ssh\ninput");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(run,
                    StepsRun.envFileName(1))))).isEqualTo("rw-------");
            assertThat(Path.of(run, ContainerRun.MARK)).hasContent(StepsRun.mark(req).strip());
            for (int i = 0; i < 2; i++) {
                assertThat(BusyboxImage.containersNamed(StepsRun.name(req.job(), 1, i))).isEmpty();
            }
        }
    }

    @Test
    void aNewAccessFindsARunningStepAndItsSigkillRemovesTheContainer() throws Exception {
        String dir = tmp.resolve("jobs/k").toString();
        RunRequest req = stepsRequest(dir, ContainerSteps.of(ContainerStep.of(IMAGE.tag(), "sh", "-c",
                "trap '' TERM; echo started; while :; do sleep 1; done"), ContainerStep.of(IMAGE.tag(), "true")));
        String name = StepsRun.name(req.job(), 1, 0);
        Path out = Path.of(StepLayout.stdout(req.runDirectory(), 0));
        try (SshNodeAccess first = access("podman")) {
            first.launch(req);
            until(() -> !BusyboxImage.containersNamed(name).isEmpty() && Files.exists(out)
                    && Files.readString(out).contains("started"));
        }
        try (SshNodeAccess again = access("podman")) {
            RunProbe probe = again.probe(req);
            assertThat(probe.state()).isEqualTo(RunProbe.State.RUNNING);
            RunHandle h = probe.handle().orElseThrow();
            again.signal(h, RunSignal.KILL);
            assertThat(await(again, h).isLost()).isTrue();
            until(() -> BusyboxImage.containersNamed(name).isEmpty());
            assertThat(Path.of(StepLayout.record(req.runDirectory(), 1))).doesNotExist();
        }
    }

    /**
     * A step plants links where the engine collects: for a plain output, a directory output's root, a pattern's base
     * directory and its own mapped stdout, all naming files of the node's account outside the job directory. Over
     * SFTP the engine copies none of them: each output fails the stage-out naming its path (what ends the attempt
     * STAGING_FAILED), and the stdout tail stays empty.
     */
    @Test
    void linksAStepPlantsAreNeverFollowedByTheStageOutOverSftp() throws Exception {
        Path secrets = Files.createDirectories(tmp.resolve("home/.ssh"));
        Files.writeString(secrets.resolve("id_ed25519"), "PRIVATE KEY OF THE ACCOUNT");
        Files.writeString(secrets.resolve("notes.txt"), "PRIVATE NOTES OF THE ACCOUNT");
        String key = secrets.resolve("id_ed25519").toString();
        String plant = "ln -s " + key + " /out/k && ln -s " + secrets + " /vol/d && ln -s " + secrets + " /vol/p"
                + " && rm -f /vol/log && ln -s " + key + " /vol/log";
        Path storage = Files.createDirectories(tmp.resolve("storage")).toRealPath();
        List<StepOutput> outputs = List.of(StepOutput.file("/out/k", storage.resolve("k").toString()),
                new StepOutput("/vol/d", Optional.empty(), storage.resolve("d").toString(), true),
                new StepOutput("/vol/p/*.txt", Optional.of("/vol/p/"), storage.resolve("p").toString(), false));
        ContainerSteps steps = new ContainerSteps(List.of(new ContainerStep(IMAGE.tag(), List.of("sh", "-c", plant),
                Optional.empty(), Optional.empty(), Optional.of("/vol/log"), Optional.empty(), Map.of(), false)),
                List.of(), outputs, List.of("/out", "/vol"));
        String jobs = tmp.resolve("jobs").toString();
        try (SshNodeAccess access = access("podman")) {
            access.trustBelow(() -> jobs);
            RunRequest req = stepsRequest(jobs + "/l", steps);
            StepStagingBridge.stageIn(steps, access, req);
            assertThat(await(access, access.launch(req))).isEqualTo(RunOutcome.exited(0));
            String mounts = StepLayout.mountsOf(req.directory(), 1);
            assertThat(Files.isSymbolicLink(Path.of(mounts, "shared/0/k"))).as("the step planted its links").isTrue();

            Path local = Files.createDirectories(tmp.resolve("engine"));
            List<StepLog> logs = StepStagingBridge.readLogs(steps, access, req, local);
            assertThat(logs).hasSize(1);
            assertThat(logs.get(0).stdoutTail()).isEmpty();
            for (StepOutput o : outputs) {
                ContainerSteps one = new ContainerSteps(steps.steps(), List.of(), List.of(o), List.of("/out", "/vol"));
                assertThat(one.sharedDirectories()).isEqualTo(steps.sharedDirectories());
                assertThatThrownBy(() -> StepStagingBridge.collect(one, access, req, storage, local))
                        .as(o.path()).isInstanceOf(GateException.class)
                        .matches(e -> !((GateException) e).isTransient())
                        .hasMessageContaining("output '" + o.path() + "'")
                        .hasMessageContaining("symbolic link")
                        .hasMessageNotContaining("PRIVATE");
            }
            try (var copied = Files.walk(storage); var kept = Files.walk(local)) {
                assertThat(copied.filter(Files::isRegularFile)).isEmpty();
                assertThat(kept.filter(Files::isRegularFile).map(p -> {
                    try {
                        return Files.readString(p);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                })).noneMatch(text -> text.contains("PRIVATE"));
            }
        }
    }

    /**
     * docker's daemon would run a container as root, leaving root's files (a setuid program) in the job's mounts:
     * docker on an ssh node runs steps and plain container runs as the login's {@code uid:gid}. "docker" here passes
     * its arguments on to podman and keeps them.
     */
    @Test
    void dockerRunsStepsAndContainerRunsAsTheLoginsUidAndGid() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path log = tmp.resolve("docker.log");
        Path docker = bin.resolve("docker");
        Files.writeString(docker, "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + log + "\nexec podman \"$@\"\n");
        Files.setPosixFilePermissions(docker, PosixFilePermissions.fromString("rwx------"));
        String login = Files.getAttribute(Path.of("/proc/self"), "unix:uid") + ":"
                + Files.getAttribute(Path.of("/proc/self"), "unix:gid");
        try (SshNodeAccess access = access(docker.toString())) {
            RunRequest plain = request(tmp.resolve("jobs/d1").toString(), "id -u\n");
            assertThat(await(access, access.launch(plain))).isEqualTo(RunOutcome.exited(0));
            RunRequest steps = stepsRequest(tmp.resolve("jobs/d2").toString(),
                    ContainerSteps.of(ContainerStep.of(IMAGE.tag(), "true")));
            assertThat(await(access, access.launch(steps))).isEqualTo(RunOutcome.exited(0));
        }
        // A plain container run is one "run"; a step is "create", then "start -a".
        List<String> runs = Files.readAllLines(log).stream()
                .filter(l -> l.startsWith("run ") || l.startsWith("create ")).toList();
        assertThat(runs).hasSize(2).allSatisfy(l -> assertThat(l).contains(" --user " + login + " "));
    }

    private static RunOutcome await(SshNodeAccess access, RunHandle h) throws Exception {
        return access.watch(h).get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }

    private static void until(Callable<Boolean> condition) throws Exception {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.call()) {
            assertThat(System.nanoTime()).as("condition within deadline").isLessThan(end);
            Thread.sleep(50);
        }
    }
}
