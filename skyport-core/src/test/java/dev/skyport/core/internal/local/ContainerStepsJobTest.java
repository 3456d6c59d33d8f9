package dev.skyport.core.internal.local;

import dev.skyport.api.Attempt;
import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.EndReason;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Limits;
import dev.skyport.api.OutputLog;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;
import dev.skyport.api.SkyPort;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.StepLayout;
import dev.skyport.gate.StepsRun;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Jobs of container steps through the whole embedded engine on the local gate: staged inputs, steps run by the real
 * podman in an image imported from busybox (as the mapped account {@code nobody}), step logs, outputs copied to the
 * owner's input directory, end reasons, and the store's round trip over a restart.
 */
class ContainerStepsJobTest {
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final String OWNER = "alice";

    @RegisterExtension
    static final BusyboxImage.PerClass IMAGE = new BusyboxImage.PerClass();

    @TempDir
    Path data;
    @TempDir
    Path files;
    Path root;

    @BeforeEach
    void makeRoot() throws Exception {
        root = Files.createDirectories(files.resolve(OWNER));
    }

    private SkyPort start() {
        return start(true);
    }

    private SkyPort start(boolean containers) {
        var b = SkyPort.embedded().dataDir(data).owner(OWNER).localCpus(2).jobIsolation(JobIsolation.ACCOUNT)
                .inputRoot(files.resolve("{owner}"))
                .limits(Limits.defaults().withKillGracePeriod(Duration.ofSeconds(2)));
        if (containers) {
            b.gateOption("container-runtime", "podman")
                    .gateOption("container-runtime-args", BusyboxImage.RUNTIME_ARGS);
        }
        return b.start();
    }

    private ContainerStep sh(String script) {
        return ContainerStep.of(IMAGE.tag(), "sh", "-c", script);
    }

    private static JobSpec steps(ContainerSteps steps) {
        return JobSpec.builder().name("steps").containerSteps(steps).build();
    }

    @Test
    void stepsShareInputsVolumesAndOutputsAndTheirLogsAndOutputsSurviveARestart() throws Exception {
        Files.writeString(root.resolve("ref.txt"), "ref\n");
        Files.createDirectories(root.resolve("refdir/deep"));
        Files.writeString(root.resolve("refdir/deep/x.txt"), "x\n");
        ContainerSteps spec = new ContainerSteps(List.of(
                sh("cat /in/greeting.txt /in/ref.txt /in/refdir/deep/x.txt > /scratch/joined; echo step-one;"
                        + " echo warn >&2"),
                sh("tr a-z A-Z < /scratch/joined > /out/result.txt; cp /scratch/joined /out/a.csv;"
                        + " echo bb > /out/b.csv; echo hidden > /out/.c.csv; echo no > /out/d.txt; echo step-two")),
                List.of(StepInput.content("/in/greeting.txt", "hello\n"),
                        StepInput.file("/in/ref.txt", root.resolve("ref.txt").toString()),
                        StepInput.directory("/in/refdir", root.resolve("refdir").toString())),
                List.of(StepOutput.file("/out/result.txt", root.resolve("results/result.txt").toString()),
                        new StepOutput("/out/*.csv", Optional.of("/out/"), root.resolve("tables").toString(), false)),
                List.of("/scratch"));
        Job done;
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(steps(spec));
            done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
        }
        assertThat(root.resolve("results/result.txt")).hasContent("HELLO\nREF\nX");
        assertThat(root.resolve("tables/a.csv")).hasContent("hello\nref\nx");
        assertThat(root.resolve("tables/b.csv")).hasContent("bb");
        assertThat(root.resolve("tables/.c.csv")).doesNotExist();
        assertThat(root.resolve("tables/d.txt")).doesNotExist();

        Attempt attempt = done.attempts().get(0);
        assertThat(attempt.outputs()).containsExactly(
                new OutputLog("/out/result.txt", root.resolve("results/result.txt").toString(), 12),
                new OutputLog("/out/a.csv", root.resolve("tables/a.csv").toString(), 12),
                new OutputLog("/out/b.csv", root.resolve("tables/b.csv").toString(), 3));
        List<StepLog> logs = attempt.steps();
        assertThat(logs).hasSize(2);
        assertThat(logs.get(0).exitCode()).hasValue(0);
        assertThat(logs.get(0).stdoutTail()).isEqualTo("step-one\n");
        assertThat(logs.get(0).stderrTail()).isEqualTo("warn\n");
        assertThat(logs.get(1).exitCode()).hasValue(0);
        assertThat(logs.get(1).stdoutTail()).isEqualTo("step-two\n");
        assertThat(logs.get(0).endTime().orElseThrow()).isBeforeOrEqualTo(logs.get(1).startTime());
        assertThat(logs.get(0).startTime()).isAfterOrEqualTo(attempt.startTime().minusSeconds(1));

        try (SkyPort again = start()) {
            assertThat(again.jobs().get(done.id())).isEqualTo(done);
        }
    }

    @Test
    void aFailingStepEndsTheJobUnlessItIgnoresErrors() throws Exception {
        try (SkyPort sky = start()) {
            Job failing = sky.jobs().submit(steps(ContainerSteps.of(sh("echo one; echo bad >&2; exit 3"),
                    sh("echo never"))));
            Job ignoring = sky.jobs().submit(steps(ContainerSteps.of(sh("exit 4").withIgnoreError(true),
                    sh("echo after"))));
            Job noOutput = sky.jobs().submit(steps(new ContainerSteps(List.of(sh("echo other > /out/other")),
                    List.of(), List.of(StepOutput.file("/out/wanted", root.resolve("wanted").toString())),
                    List.of())));

            Job failed = sky.jobs().await(failing.id(), WAIT);
            assertThat(failed.state()).as(failed.stateDetails()).isEqualTo(JobState.FAILED);
            assertThat(failed.endReason()).contains(EndReason.NON_ZERO_EXIT);
            assertThat(failed.exitCode()).hasValue(3);
            assertThat(failed.attempts()).hasSize(1);
            List<StepLog> logs = failed.attempts().get(0).steps();
            assertThat(logs).as("no log for the step that never ran").hasSize(1);
            assertThat(logs.get(0).exitCode()).hasValue(3);
            assertThat(logs.get(0).stdoutTail()).isEqualTo("one\n");
            assertThat(logs.get(0).stderrTail()).isEqualTo("bad\n");

            Job succeeded = sky.jobs().await(ignoring.id(), WAIT);
            assertThat(succeeded.state()).as(succeeded.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            List<StepLog> both = succeeded.attempts().get(0).steps();
            assertThat(both).extracting(l -> l.exitCode().orElse(-1)).containsExactly(4, 0);
            assertThat(both.get(1).stdoutTail()).isEqualTo("after\n");

            Job missing = sky.jobs().await(noOutput.id(), WAIT);
            assertThat(missing.state()).as(missing.stateDetails()).isEqualTo(JobState.FAILED);
            assertThat(missing.endReason()).contains(EndReason.STAGING_FAILED);
            assertThat(missing.stateDetails()).contains("/out/wanted");
            assertThat(missing.attempts()).as("the steps will not write it on a retry either").hasSize(1);
            assertThat(missing.attempts().get(0).steps()).hasSize(1);
            assertThat(root.resolve("wanted")).doesNotExist();
        }
    }

    @Test
    void aMissingImageIsASystemErrorThatIsNotRetriedEvenIgnoringErrorsButACommandsOwn125IsItsExit() throws Exception {
        try (SkyPort sky = start()) {
            String missing = "localhost/skyport-no-such-image:1";
            Job job = sky.jobs().submit(steps(ContainerSteps.of(sh("echo first"),
                    ContainerStep.of(missing, "true"))));
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).contains(EndReason.SYSTEM_ERROR);
            assertThat(done.stateDetails()).contains("step 2 of 2").contains(missing);
            assertThat(done.attempts()).as("a missing image does not appear by retrying").hasSize(1);
            assertThat(done.attempts().get(0).steps()).extracting(l -> l.exitCode().orElse(-1))
                    .containsExactly(0, StepLayout.RUNTIME_FAILURE);

            // Ignoring errors covers the command's failures, not a container that could not be made.
            Job ignored = sky.jobs().submit(steps(ContainerSteps.of(ContainerStep.of(missing, "true")
                    .withIgnoreError(true), sh("echo never"))));
            Job ignoredDone = sky.jobs().await(ignored.id(), WAIT);
            assertThat(ignoredDone.state()).as(ignoredDone.stateDetails()).isEqualTo(JobState.FAILED);
            assertThat(ignoredDone.endReason()).contains(EndReason.SYSTEM_ERROR);
            assertThat(ignoredDone.stateDetails()).contains("step 1 of 2").contains(missing);
            assertThat(ignoredDone.attempts()).hasSize(1);
            assertThat(ignoredDone.attempts().get(0).steps()).as("no step after it").hasSize(1);

            // A command that exits 125 itself failed on its own: the runtime passes its status through.
            Job own = sky.jobs().submit(steps(ContainerSteps.of(sh("echo mine >&2; exit 125"))));
            Job ownDone = sky.jobs().await(own.id(), WAIT);
            assertThat(ownDone.state()).as(ownDone.stateDetails()).isEqualTo(JobState.FAILED);
            assertThat(ownDone.endReason()).contains(EndReason.NON_ZERO_EXIT);
            assertThat(ownDone.attempts().get(0).steps()).singleElement().satisfies(l -> {
                assertThat(l.exitCode()).hasValue(125);
                assertThat(l.stderrTail()).isEqualTo("mine\n");
            });
        }
    }

    @Test
    void aCancelDuringALongStepStopsItsContainerAndKeepsItsLog() throws Exception {
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(steps(ContainerSteps.of(sh("echo started; sleep 600"), sh("echo never"))));
            Path out = data.resolve("jobs").resolve(job.id().toString()).resolve(DetachedRun.runDirectoryName(1))
                    .resolve("step.0.stdout");
            Instant deadline = Instant.now().plus(WAIT);
            while (!(Files.exists(out) && Files.readString(out).equals("started\n"))) {
                assertThat(Instant.now()).as("step 0 starts").isBefore(deadline);
                Thread.sleep(50); // polling a file with a deadline; nothing to wait on
            }
            sky.jobs().cancel(job.id());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.CANCELED);
            List<StepLog> logs = done.attempts().get(0).steps();
            assertThat(logs).hasSize(1);
            assertThat(logs.get(0).stdoutTail()).isEqualTo("started\n");
            // The driver closes the record of the step it stopped: ended by SIGTERM, as a shell reports it.
            assertThat(logs.get(0).exitCode()).hasValue(StepsRun.TERMINATED_STATUS);
            assertThat(logs.get(0).endTime()).isPresent();
            assertThat(BusyboxImage.containersNamed(StepsRun.name(job.id(), 1, 0))).isEmpty();
            assertThat(BusyboxImage.containersNamed(StepsRun.name(job.id(), 1, 1))).isEmpty();
        }
    }

    @Test
    void aRestartedEngineFollowsTheStepsItLeftRunningAndCollectsTheirOutputs() throws Exception {
        Path release = Files.createDirectories(root.resolve("gate"));
        Job job;
        try (SkyPort sky = start()) {
            // The step waits for a file the test writes once the engine that started it is gone.
            job = sky.jobs().submit(steps(new ContainerSteps(List.of(
                    sh("echo waiting; while [ ! -e /gate/go ]; do sleep 0.1; done; echo done > /out/r.txt")),
                    List.of(StepInput.directory("/gate", release.toString())),
                    List.of(StepOutput.file("/out/r.txt", root.resolve("r.txt").toString())), List.of())));
            Path out = data.resolve("jobs").resolve(job.id().toString()).resolve(DetachedRun.runDirectoryName(1))
                    .resolve("step.0.stdout");
            Instant deadline = Instant.now().plus(WAIT);
            while (!(Files.exists(out) && Files.readString(out).equals("waiting\n"))) {
                assertThat(Instant.now()).as("step 0 starts").isBefore(deadline);
                Thread.sleep(50); // polling a file with a deadline; nothing to wait on
            }
        }
        // The input is the engine's copy in the job's mount, read-only for the step: write the go there.
        Path mount = Path.of(StepLayout.mountsOf(data.resolve("jobs").resolve(job.id().toString()).toString(), 1),
                "inputs", "0");
        Files.writeString(mount.resolve("go"), "");
        try (SkyPort again = start()) {
            Job done = again.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
            assertThat(done.attempts().get(0).steps()).singleElement()
                    .satisfies(l -> assertThat(l.stdoutTail()).isEqualTo("waiting\n"));
            assertThat(done.attempts().get(0).outputs()).extracting(OutputLog::sizeBytes).containsExactly(5L);
            assertThat(root.resolve("r.txt")).hasContent("done");
        }
    }

    @Test
    void sourcesAndDestinationsOutsideTheInputDirectoryAndStepsWithoutARuntimeAreRefusedAndNothingIsStored()
            throws Exception {
        Path outside = Files.writeString(files.resolve("bob-secret.txt"), "secret");
        try (SkyPort sky = start()) {
            assertThatThrownBy(() -> sky.jobs().submit(steps(new ContainerSteps(List.of(sh("true")),
                    List.of(StepInput.file("/in/x", outside.toString())), List.of(), List.of()))))
                    .isInstanceOf(InvalidJobSpecException.class)
                    .satisfies(e -> assertThat(((InvalidJobSpecException) e).field()).isEqualTo("inputs"))
                    .hasMessageContaining("outside the input directory");
            assertThatThrownBy(() -> sky.jobs().submit(steps(new ContainerSteps(List.of(sh("true")),
                    List.of(StepInput.file("/in/x", root + "/../bob-secret.txt")), List.of(), List.of()))))
                    .isInstanceOf(InvalidJobSpecException.class)
                    .hasMessageContaining("outside the input directory");
            assertThatThrownBy(() -> sky.jobs().submit(steps(new ContainerSteps(List.of(sh("true")), List.of(),
                    List.of(StepOutput.file("/out/x", files.resolve("x").toString())), List.of()))))
                    .isInstanceOf(InvalidJobSpecException.class)
                    .satisfies(e -> assertThat(((InvalidJobSpecException) e).field()).isEqualTo("outputs"))
                    .hasMessageContaining("outside the input directory");
            assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().containerSteps(ContainerSteps.of(sh("true")))
                    .inputFile("ref.txt").build()))
                    .isInstanceOf(InvalidJobSpecException.class)
                    .satisfies(e -> assertThat(((InvalidJobSpecException) e).field()).isEqualTo("inputFiles"));
            String half = "x".repeat(Limits.defaults().maxScriptBytes() / 2 + 1);
            assertThatThrownBy(() -> sky.jobs().submit(steps(new ContainerSteps(List.of(sh("true")),
                    List.of(StepInput.content("/in/a", half), StepInput.content("/in/b", half)), List.of(),
                    List.of()))))
                    .isInstanceOf(InvalidJobSpecException.class)
                    .satisfies(e -> assertThat(((InvalidJobSpecException) e).field()).isEqualTo("inputs"))
                    .hasMessageContaining("the content of all inputs together");
            assertThat(sky.jobs().list(JobQuery.all()).items()).isEmpty();
        }
        try (SkyPort sky = start(false)) {
            assertThatThrownBy(() -> sky.jobs().submit(steps(ContainerSteps.of(sh("true")))))
                    .isInstanceOf(InvalidJobSpecException.class)
                    .satisfies(e -> assertThat(((InvalidJobSpecException) e).field()).isEqualTo("containerSteps"))
                    .hasMessageContaining("runs no container images");
            assertThat(sky.jobs().list(JobQuery.all()).items()).isEmpty();
        }
    }
}
