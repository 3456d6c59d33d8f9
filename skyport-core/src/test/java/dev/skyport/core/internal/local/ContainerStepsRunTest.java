package dev.skyport.core.internal.local;

import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.JobId;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepOutput;
import dev.skyport.gate.ContainerRun;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;
import dev.skyport.gate.StepLayout;
import dev.skyport.gate.StepsRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Container steps on the local gate, driven through {@link NodeAccess} with requests built here and mounts placed by
 * hand as the engine's staging does, run by the real podman in an image imported from busybox. The gate runs jobs as
 * mapped accounts (the tests run as root), so the steps run as {@code nobody} on mounts handed over to it.
 */
class ContainerStepsRunTest {
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final String NOBODY = "65534";

    @RegisterExtension
    static final BusyboxImage.PerClass IMAGE = new BusyboxImage.PerClass();

    @TempDir
    Path tmp;

    private LocalGate gate(String runtime) {
        return new LocalGate(new GateConfig(tmp.resolve("gate"), Map.of("container-runtime", runtime,
                "container-runtime-args", runtime.equals("none") ? "" : BusyboxImage.RUNTIME_ARGS,
                "job-isolation", "account"),
                Clock.systemUTC()));
    }

    private RunRequest request(JobId job, ContainerSteps steps) throws IOException {
        String dir = Files.createDirectories(tmp.resolve("jobs").resolve(job.toString())).toString();
        return new RunRequest(job, 1, dir, Optional.empty(), List.of(), dir, Map.of("JOB_LEVEL", "from the job"),
                "alice", 1, 0, Optional.empty(), List.of(), Optional.of(steps));
    }

    private ContainerStep step(List<String> command) {
        return new ContainerStep(IMAGE.tag(), command, Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Map.of(), false);
    }

    private ContainerStep sh(String script) {
        return step(List.of("sh", "-c", script));
    }

    @Test
    void stepsPassFilesThroughAVolumeReadAnInputOnStdinAndWriteStdoutToAnOutputDirectory() throws Exception {
        ContainerSteps steps = new ContainerSteps(List.of(
                new ContainerStep(IMAGE.tag(), List.of("sh", "-c", "echo from-step-0 > /work/a.txt; "
                        + "echo \"$GREETING|$JOB_LEVEL|$SKYPORT_ATTEMPT|$(id -u)|$(pwd)\"; echo oops >&2"),
                        Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                        Map.of("GREETING", "hi there", "JOB_LEVEL", "the step's wins"), false),
                new ContainerStep(IMAGE.tag(), List.of("sh", "-c", "cat a.txt; tr a-z A-Z; echo done >&2"),
                        Optional.of("/work"), Optional.of("/in/data.txt"), Optional.of("/out/sub/result.txt"),
                        Optional.of("/out/err.txt"), Map.of(), false)),
                List.of(StepInput.content("/in/data.txt", "line one\n")),
                List.of(StepOutput.file("/out/sub/result.txt", tmp.resolve("result").toString())),
                List.of("/work", "/out"));
        JobId job = new JobId(UUID.randomUUID());
        RunRequest r = request(job, steps);
        // What staging does: the input at its mount; the shared directories are left to the gate.
        Path input = Files.createDirectories(Path.of(r.directory(), "mounts", "1", "inputs")).resolve("0");
        Files.writeString(input, "line one\n");
        try (LocalGate gate = gate("podman")) {
            NodeAccess access = gate.access(LocalGate.NODE);
            RunHandle h = access.launch(r);
            RunOutcome outcome = access.watch(h).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            String run = r.runDirectory();
            assertThat(outcome.exitCode()).as(describe(r)).hasValue(0);
            Path work = Path.of(r.directory(), "mounts", "1", "shared", "0");
            Path out = Path.of(r.directory(), "mounts", "1", "shared", "1");
            assertThat(Path.of(StepLayout.stdout(run, 0))).hasContent("hi there|the step's wins|1|" + NOBODY + "|/");
            assertThat(Path.of(StepLayout.stderr(run, 0))).hasContent("oops");
            assertThat(work.resolve("a.txt")).hasContent("from-step-0");
            assertThat(out.resolve("sub/result.txt")).hasContent("from-step-0\nLINE ONE");
            assertThat(out.resolve("err.txt")).hasContent("done");
            // Mapped streams go to their files only.
            assertThat(Path.of(StepLayout.stdout(run, 1))).doesNotExist();
            // What the driver made in a mount is the account's, like the rest of the mounts.
            assertThat(Files.getAttribute(out.resolve("sub"), "unix:uid").toString()).isEqualTo(NOBODY);
            assertThat(Files.getAttribute(out.resolve("sub/result.txt"), "unix:uid").toString()).isEqualTo(NOBODY);
            for (int i = 0; i < 2; i++) {
                StepLayout.StepRecord rec = record(r, i);
                assertThat(rec.status()).hasValue(0);
                assertThat(rec.end().orElseThrow()).isAfterOrEqualTo(rec.start());
                Path env = Path.of(run, StepsRun.envFileName(i));
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(env))).isEqualTo("rw-------");
            }
            assertThat(record(r, 1).start()).isAfterOrEqualTo(record(r, 0).end().orElseThrow());
            assertThat(Files.readString(Path.of(run, StepsRun.envFileName(0)))).contains("GREETING=hi there\n")
                    .contains("SKYPORT_JOB_ID=" + job + "\n");
            assertThat(Path.of(run, ContainerRun.MARK)).hasContent(StepsRun.name(job, 1, 0) + "\n"
                    + StepsRun.name(job, 1, 1));
            assertNoContainers(job, 2);
        }
    }

    @Test
    void aFailingStepEndsTheRunWithItsStatusUnlessItIgnoresErrorsAndOnlyAMissingImageIsNoContainer() throws Exception {
        ContainerSteps steps = ContainerSteps.of(
                step(List.of("true")).withIgnoreError(true),
                sh("echo own; exit 125").withIgnoreError(true),
                sh("echo ignored; exit 3").withIgnoreError(true),
                sh("echo failing; exit 4"),
                sh("echo never"));
        JobId job = new JobId(UUID.randomUUID());
        RunRequest r = request(job, steps);
        ContainerSteps missing = ContainerSteps.of(sh("true"),
                new ContainerStep("localhost/skyport-no-such-image:none", List.of("true"), Optional.empty(),
                        Optional.empty(), Optional.empty(), Optional.empty(), Map.of(), true),
                sh("echo never"));
        JobId job2 = new JobId(UUID.randomUUID());
        RunRequest r2 = request(job2, missing);
        try (LocalGate gate = gate("podman")) {
            NodeAccess access = gate.access(LocalGate.NODE);
            RunOutcome outcome = access.watch(access.launch(r)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(outcome.exitCode()).as(describe(r)).hasValue(4);
            assertThat(record(r, 0).status()).hasValue(0);
            assertThat(record(r, 1).status()).hasValue(125);
            assertThat(record(r, 1).noContainer()).as("the command's own 125").isFalse();
            assertThat(Path.of(StepLayout.stdout(r.runDirectory(), 1))).hasContent("own");
            assertThat(record(r, 2).status()).hasValue(3);
            assertThat(record(r, 3).status()).hasValue(4);
            assertThat(Path.of(StepLayout.stdout(r.runDirectory(), 3))).hasContent("failing");
            assertThat(Path.of(StepLayout.record(r.runDirectory(), 4))).doesNotExist();
            assertThat(Path.of(StepLayout.stdout(r.runDirectory(), 4))).doesNotExist();
            assertNoContainers(job, 5);

            RunOutcome none = access.watch(access.launch(r2)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(none.exitCode()).as(describe(r2)).hasValue(StepLayout.RUNTIME_FAILURE);
            assertThat(record(r2, 1).status()).hasValue(StepLayout.RUNTIME_FAILURE);
            assertThat(record(r2, 1).noContainer()).isTrue();
            assertThat(Files.readString(Path.of(StepLayout.stderr(r2.runDirectory(), 1)))).contains("no-such-image");
            assertThat(Path.of(StepLayout.record(r2.runDirectory(), 2))).as("ignoring errors does not cover it")
                    .doesNotExist();
            assertNoContainers(job2, 3);
        }
    }

    @Test
    void aStepThatPlantedALinkCannotMakeTheDriverWriteOrReadThroughIt() throws Exception {
        Path victim = Files.writeString(tmp.resolve("victim.txt"), "the node's file\n");
        ContainerSteps steps = new ContainerSteps(List.of(
                sh("ln -s " + victim + " /out/log.txt"),
                new ContainerStep(IMAGE.tag(), List.of("echo", "overwritten"), Optional.empty(), Optional.empty(),
                        Optional.of("/out/log.txt"), Optional.empty(), Map.of(), true),
                new ContainerStep(IMAGE.tag(), List.of("cat"), Optional.empty(), Optional.of("/out/log.txt"),
                        Optional.empty(), Optional.empty(), Map.of(), false)),
                List.of(), List.of(StepOutput.file("/out/log.txt", tmp.resolve("log").toString())), List.of());
        JobId job = new JobId(UUID.randomUUID());
        RunRequest r = request(job, steps);
        try (LocalGate gate = gate("podman")) {
            NodeAccess access = gate.access(LocalGate.NODE);
            RunOutcome outcome = access.watch(access.launch(r)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(outcome.exitCode()).as(describe(r)).hasValue(StepLayout.RUNTIME_FAILURE);
            assertThat(victim).hasContent("the node's file");
            assertThat(record(r, 1).status()).hasValue(StepLayout.RUNTIME_FAILURE);
            assertThat(Path.of(StepLayout.stderr(r.runDirectory(), 1))).content().contains("symbolic link");
            assertThat(Path.of(StepLayout.stdout(r.runDirectory(), 2))).doesNotExist();
            assertThat(Files.isSymbolicLink(Path.of(r.directory(), "mounts/1/shared/0/log.txt"))).isTrue();
        }
    }

    @Test
    void aSigtermFromANewGateAfterReattachingStopsTheStepAndRunsNoFurtherStep() throws Exception {
        ContainerSteps steps = ContainerSteps.of(sh("echo started; exec sleep 300"), sh("echo never"));
        JobId job = new JobId(UUID.randomUUID());
        RunRequest r = request(job, steps);
        String name = StepsRun.name(job, 1, 0);
        try (LocalGate first = gate("podman")) {
            NodeAccess access = first.access(LocalGate.NODE);
            access.launch(r);
            awaitTrue(() -> !BusyboxImage.containersNamed(name).isEmpty()
                    && Files.exists(Path.of(StepLayout.stdout(r.runDirectory(), 0)))
                    && Files.readString(Path.of(StepLayout.stdout(r.runDirectory(), 0))).contains("started"),
                    "the step's container runs");
        }
        // The first gate is gone; the run and its container are not.
        assertThat(BusyboxImage.containersNamed(name)).containsExactly(name);
        try (LocalGate second = gate("podman")) {
            NodeAccess access = second.access(LocalGate.NODE);
            RunProbe probe = access.probe(r);
            assertThat(probe.state()).as(probe + describe(r)).isEqualTo(RunProbe.State.RUNNING);
            RunHandle h = probe.handle().orElseThrow();
            access.signal(h, RunSignal.TERM);
            RunOutcome outcome = access.watch(h).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(outcome.signal()).as(describe(r)).hasValue(15);
            assertThat(record(r, 0).status()).hasValue(StepsRun.TERMINATED_STATUS);
            assertThat(Path.of(StepLayout.record(r.runDirectory(), 1))).doesNotExist();
            assertNoContainers(job, 2);
        }
    }

    @Test
    void aSigkillLeavesNoContainer() throws Exception {
        ContainerSteps steps = ContainerSteps.of(sh("trap '' TERM; echo started; while :; do sleep 1; done"),
                sh("echo never"));
        JobId job = new JobId(UUID.randomUUID());
        RunRequest r = request(job, steps);
        String name = StepsRun.name(job, 1, 0);
        try (LocalGate gate = gate("podman")) {
            NodeAccess access = gate.access(LocalGate.NODE);
            RunHandle h = access.launch(r);
            awaitTrue(() -> !BusyboxImage.containersNamed(name).isEmpty()
                    && Files.exists(Path.of(StepLayout.stdout(r.runDirectory(), 0)))
                    && Files.readString(Path.of(StepLayout.stdout(r.runDirectory(), 0))).contains("started"),
                    "the step's container runs");
            access.signal(h, RunSignal.KILL);
            RunOutcome outcome = access.watch(h).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            // The cgroup's members die first: whether the wrapper records the driver's 137 before its own SIGKILL
            // arrives is a race, as for any run.
            assertThat(outcome.isLost() || outcome.signal().equals(OptionalInt.of(9)))
                    .as(outcome.toString()).isTrue();
            // signal() has killed and removed the containers before it returned.
            assertThat(BusyboxImage.containersNamed(name)).isEmpty();
            assertThat(Path.of(StepLayout.record(r.runDirectory(), 1))).doesNotExist();
        }
    }

    @Test
    void aGateWithoutAContainerRuntimeRefusesSteps() throws Exception {
        JobId job = new JobId(UUID.randomUUID());
        RunRequest r = request(job, ContainerSteps.of(sh("true")));
        try (LocalGate gate = gate("none")) {
            assertThatThrownBy(() -> gate.access(LocalGate.NODE).launch(r)).isInstanceOf(GateException.class)
                    .satisfies(e -> assertThat(((GateException) e).isTransient()).isFalse())
                    .hasMessageContaining("runs no container images");
        }
        assertThat(Path.of(r.runDirectory())).doesNotExist();
    }

    private static StepLayout.StepRecord record(RunRequest r, int step) throws IOException {
        Path file = Path.of(StepLayout.record(r.runDirectory(), step));
        assertThat(file).as(describe(r)).exists();
        return StepLayout.parseRecord(Files.readString(file)).orElseThrow();
    }

    private static void assertNoContainers(JobId job, int steps) throws Exception {
        for (int i = 0; i < steps; i++) {
            assertThat(BusyboxImage.containersNamed(StepsRun.name(job, 1, i))).isEmpty();
        }
    }

    /** What the run left in its run directory and the job's logs, for a failure's message. */
    private static String describe(RunRequest r) {
        StringBuilder b = new StringBuilder();
        try (var files = Files.list(Path.of(r.runDirectory()))) {
            for (Path f : files.sorted().toList()) {
                if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS) && !f.getFileName().toString().endsWith(".env")) {
                    b.append(f.getFileName()).append(": ").append(Files.readString(f)).append('\n');
                }
            }
            b.append("stderr.log: ").append(Files.readString(Path.of(r.directory(), "stderr.log")));
        } catch (IOException e) {
            b.append(e);
        }
        return b.toString();
    }

    private static void awaitTrue(Callable<Boolean> condition, String what) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        while (!condition.call()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out waiting: " + what);
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }
}
