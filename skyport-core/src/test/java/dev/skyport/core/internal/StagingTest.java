package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.MutableClock;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Input and output files around a job's run, on the local gate (through {@code switchable}, which can hold an upload
 * and keep job directories apart as a remote node does) with real files and processes.
 */
class StagingTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path data;
    @TempDir
    Path files;

    private SkyPort start() {
        return start(b -> {
        });
    }

    private SkyPort start(Consumer<dev.skyport.api.EmbeddedBuilder> more) {
        var builder = SkyPort.embedded().dataDir(data).gate("switchable").localCpus(2)
                .jobIsolation(JobIsolation.NONE);
        more.accept(builder);
        return builder.start();
    }

    @AfterEach
    void reset() {
        CountDownLatch held = SwitchableGate.uploadsHeld;
        SwitchableGate.uploadsHeld = null;
        if (held != null) {
            held.countDown();
        }
        CountDownLatch downloads = SwitchableGate.downloadsHeld;
        SwitchableGate.downloadsHeld = null;
        if (downloads != null) {
            downloads.countDown();
        }
        SwitchableGate.downloadsEntered.clear();
        SwitchableGate.uploadsEntered.clear();
        SwitchableGate.uploadsInterrupted.set(0);
        SwitchableGate.separateDirectory = false;
        SwitchableGate.directoryOfFails = null;
        SwitchableGate.uploadsIgnoreInterrupts = false;
        SwitchableGate.uploadsMost.set(0);
    }

    private static JobSpec.Builder script(String body) {
        return JobSpec.builder().script("#!/bin/sh\n" + body + "\n");
    }

    private static List<JobState> states(SkyPort sky, Job job) {
        return sky.events().history(job.id()).stream().map(JobTransitioned::to).toList();
    }

    @Test
    void inputsAreInTheWorkdirBeforeTheJobRuns() throws Exception {
        Path input = files.resolve("data.csv");
        Files.writeString(input, "a,b\n1,2\n");
        Path dir = Files.createDirectories(files.resolve("set"));
        Files.createDirectories(dir.resolve("nested"));
        Files.writeString(dir.resolve("nested/x.txt"), "x");
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("cat data.csv; cat set/nested/x.txt").inputFile(input.toString())
                    .inputFile(dir.toString()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("a,b\n1,2\nx");
            assertThat(states(sky, job)).containsSubsequence(JobState.QUEUED, JobState.STAGING_IN, JobState.RUNNING,
                    JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
        }
    }

    @Test
    void outputsAndLogsComeBackFromANodeWithADirectoryOfItsOwn() throws Exception {
        SwitchableGate.separateDirectory = true;
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("echo result > result.txt; mkdir -p out/deep; echo d > out/deep/d.txt;"
                    + " echo to-stdout; echo to-stderr >&2").outputFile("result.txt").outputFile("out/").build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            Path jobDir = data.resolve("jobs").resolve(job.id().toString());
            assertThat(jobDir.resolve("result.txt")).hasContent("result");
            assertThat(jobDir.resolve("out/deep/d.txt")).hasContent("d");
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("to-stdout\n");
            assertThat(sky.jobs().stderr(job.id())).isEqualTo("to-stderr\n");
            assertThat(states(sky, job)).containsSubsequence(JobState.RUNNING, JobState.STAGING_OUT,
                    JobState.SUCCEEDED);
        }
    }

    @Test
    void aFailedJobFromARemoteNodeStillBringsItsLogsBack() throws Exception {
        SwitchableGate.separateDirectory = true;
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("echo why >&2; exit 3").outputFile("never.txt")
                    .retryPolicy(dev.skyport.api.RetryPolicy.none()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.NON_ZERO_EXIT);
            assertThat(sky.jobs().stderr(job.id())).isEqualTo("why\n");
        }
    }

    @Test
    void aMissingOutputAfterExitZeroFailsTheJobNamingTheFile() throws Exception {
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("echo made > made.txt").outputFile("made.txt")
                    .outputFile("sub/missing.txt").build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.STAGING_FAILED);
            assertThat(done.stateDetails()).contains("sub/missing.txt");
            assertThat(done.attempts()).as("a missing output is permanent").hasSize(1);
            assertThat(done.attempts().get(0).exitCode()).hasValue(0);
            assertThat(states(sky, job)).contains(JobState.STAGING_OUT);
        }
    }

    @Test
    void aFifoInputFailsAtOnceInsteadOfHoldingAStagingThread() throws Exception {
        Path fifo = files.resolve("pipe");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        SwitchableGate.separateDirectory = true; // a node whose upload would open the source by itself
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("echo ran").inputFile(fifo.toString()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.STAGING_FAILED);
            assertThat(done.stateDetails()).contains("is not a regular file (a FIFO, socket or device)");
            assertThat(done.attempts()).hasSize(1);
        }
    }

    @Test
    void aMissingInputFailsPermanentlyBeforeAnyRun() throws Exception {
        Path missing = files.resolve("no-such-input.bin");
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("echo ran").inputFile(missing.toString()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.STAGING_FAILED);
            assertThat(done.stateDetails()).contains(missing.toString());
            assertThat(done.attempts()).hasSize(1);
            assertThat(states(sky, job)).contains(JobState.STAGING_IN).doesNotContain(JobState.RUNNING);
            assertThat(data.resolve("jobs").resolve(job.id().toString()).resolve("run.1")).doesNotExist();
        }
    }

    @Test
    void aCancelDuringASlowStagingStopsTheTransferAndEndsCanceled() throws Exception {
        Path input = files.resolve("big.bin");
        Files.writeString(input, "data");
        SwitchableGate.uploadsHeld = new CountDownLatch(1);
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("echo ran").inputFile(input.toString()).build());
            assertThat(SwitchableGate.uploadsEntered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
            assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.STAGING_IN);
            sky.jobs().cancel(job.id());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.CANCELED);
            awaitTrue(() -> SwitchableGate.uploadsInterrupted.get() == 1, "the held upload was interrupted");
            assertThat(states(sky, job)).doesNotContain(JobState.RUNNING);
        }
    }

    @Test
    void theTimeLimitCountsOnlyTheRunNotTheStaging() throws Exception {
        Path input = files.resolve("in.txt");
        Files.writeString(input, "in");
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        SwitchableGate.uploadsHeld = new CountDownLatch(1);
        try (SkyPort sky = start(b -> b.clock(clock))) {
            Job job = sky.jobs().submit(script("sleep 1; cat in.txt").timeLimit(Duration.ofMinutes(10))
                    .inputFile(input.toString()).build());
            assertThat(SwitchableGate.uploadsEntered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
            // Half an hour of staging (within its timeout): a limit counted from the attempt's start would stop the
            // run at once.
            clock.advance(Duration.ofMinutes(30));
            CountDownLatch held = SwitchableGate.uploadsHeld;
            SwitchableGate.uploadsHeld = null;
            held.countDown();
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("in");
        }
    }

    @Test
    void aRequeueDuringStagingStagesAgainInANewAttempt() throws Exception {
        Path input = files.resolve("in.txt");
        Files.writeString(input, "in");
        SwitchableGate.uploadsHeld = new CountDownLatch(1);
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("cat in.txt").inputFile(input.toString()).build());
            assertThat(SwitchableGate.uploadsEntered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
            CountDownLatch held = SwitchableGate.uploadsHeld;
            SwitchableGate.uploadsHeld = null;
            sky.jobs().requeue(job.id());
            held.countDown();
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(2);
            assertThat(done.attempts().get(0).endReason()).hasValue(EndReason.PREEMPTED);
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("in");
        }
    }

    @Test
    void aRestartDuringStagingInStagesAgainAndRunsOnce() throws Exception {
        Path input = files.resolve("in.txt");
        Files.writeString(input, "staged");
        Path ran = files.resolve("ran.log");
        SwitchableGate.uploadsHeld = new CountDownLatch(1);
        Job job;
        try (SkyPort sky = start()) {
            job = sky.jobs().submit(script("cat in.txt; echo ran >> " + ran).inputFile(input.toString()).build());
            assertThat(SwitchableGate.uploadsEntered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
        }
        CountDownLatch held = SwitchableGate.uploadsHeld;
        SwitchableGate.uploadsHeld = null;
        held.countDown();
        try (SkyPort sky = start()) {
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).as("a staging cut by a restart is no failed attempt").hasSize(1);
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("staged");
            assertThat(Files.readAllLines(ran)).containsExactly("ran");
            assertThat(states(sky, job).stream().filter(s -> s == JobState.STAGING_IN)).hasSize(1);
        }
    }

    @Test
    void aRestartDuringStagingOutFindsTheRunsEndAndCopiesAgain() throws Exception {
        SwitchableGate.separateDirectory = true;
        SwitchableGate.downloadsHeld = new CountDownLatch(1);
        Path ran = files.resolve("ran.log");
        Job job;
        try (SkyPort sky = start()) {
            job = sky.jobs().submit(script("echo out > result.txt; echo ran >> " + ran + "; echo done")
                    .outputFile("result.txt").build());
            assertThat(SwitchableGate.downloadsEntered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
            assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.STAGING_OUT);
        }
        CountDownLatch held = SwitchableGate.downloadsHeld;
        SwitchableGate.downloadsHeld = null;
        held.countDown();
        try (SkyPort sky = start()) {
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
            assertThat(done.attempts().get(0).exitCode()).hasValue(0);
            assertThat(data.resolve("jobs").resolve(job.id().toString()).resolve("result.txt")).hasContent("out");
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("done\n");
            assertThat(Files.readAllLines(ran)).as("the run is not started again").containsExactly("ran");
        }
    }

    @Test
    void pathTraversalAndCollidingInputsAreRefusedAtSubmitWithNothingStored() {
        try (SkyPort sky = start()) {
            assertThatThrownBy(() -> sky.jobs().submit(JobSpec.script(
                    "#!/bin/sh\n#SWM output-files ../../../etc/passwd\ntrue\n")))
                    .isInstanceOf(InvalidJobSpecException.class).hasMessageContaining("path traversal");
            assertThatThrownBy(() -> sky.jobs().submit(JobSpec.script(
                    "#!/bin/sh\n#SWM input-files /a/data.csv /b/data.csv\ntrue\n")))
                    .isInstanceOf(InvalidJobSpecException.class).hasMessageContaining("data.csv");
            assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().command(List.of("true"))
                    .inputFile("/etc/../root/x").build()))
                    .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field())
                            .isEqualTo("inputFiles"));
            assertThat(sky.jobs().list(JobQuery.all()).items()).isEmpty();
        }
    }

    @Test
    void anInputOutsideTheOwnersRootIsRefusedAtSubmitOrWhenALinkLeadsThere() throws Exception {
        Path root = Files.createDirectories(files.resolve("inputs"));
        Path mine = Files.createDirectories(root.resolve("alice"));
        Files.writeString(mine.resolve("ok.txt"), "alice's");
        Path secret = Files.writeString(files.resolve("secret.txt"), "TOP-SECRET-CONTENT");
        Files.createSymbolicLink(mine.resolve("sneaky.txt"), secret);
        try (SkyPort engine = start(b -> b.inputRoot(root.resolve("{owner}")))) {
            SkyPort alice = engine.asUser("alice");
            assertThatThrownBy(() -> alice.jobs().submit(script("true").inputFile(secret.toString()).build()))
                    .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                        assertThat(e.field()).isEqualTo("inputFiles");
                        assertThat(e.reason()).contains(secret.toString());
                    });
            assertThatThrownBy(() -> alice.jobs().submit(script("true").inputFile("../bob/x").build()))
                    .isInstanceOf(InvalidJobSpecException.class);
            assertThat(engine.jobs().list(JobQuery.all()).items()).isEmpty();

            Job ok = alice.jobs().submit(script("cat ok.txt").inputFile("ok.txt").build());
            assertThat(alice.jobs().await(ok.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(alice.jobs().stdout(ok.id())).isEqualTo("alice's");

            Job linked = alice.jobs().submit(script("cat sneaky.txt").inputFile("sneaky.txt").build());
            Job done = alice.jobs().await(linked.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.STAGING_FAILED);
            assertThat(done.stateDetails()).contains("sneaky.txt").doesNotContain("TOP-SECRET");
            assertThat(done.attempts()).hasSize(1);
            assertNowhere(data, "TOP-SECRET-CONTENT");
        }
    }

    @Test
    void withAnInputRootAJobCannotTurnTheEnginesCopiesThroughALinkOrOutOfItsDirectory() throws Exception {
        Path root = Files.createDirectories(files.resolve("inputs"));
        Files.writeString(Files.createDirectories(root.resolve("alice")).resolve("ok.txt"), "ok");
        Path secrets = Files.createDirectories(files.resolve("secrets"));
        Files.writeString(secrets.resolve("secret.txt"), "TOP-SECRET-CONTENT");
        try (SkyPort engine = start(b -> b.inputRoot(root.resolve("{owner}")))) {
            SkyPort alice = engine.asUser("alice");
            Job linked = alice.jobs().submit(JobSpec.builder().script("#!/bin/sh\nln -s " + secrets + " sub\n")
                    .workdir("w").inputFile("ok.txt").outputFile("sub/secret.txt").build());
            Job done = alice.jobs().await(linked.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.STAGING_FAILED);
            assertThat(done.stateDetails()).contains("symbolic link").doesNotContain("TOP-SECRET");
            assertNowhere(data, "TOP-SECRET-CONTENT");

            Job outside = alice.jobs().submit(JobSpec.builder().script("#!/bin/sh\ntrue\n")
                    .workdir(files.resolve("elsewhere").toString()).inputFile("ok.txt").build());
            Job refused = alice.jobs().await(outside.id(), WAIT);
            assertThat(refused.endReason()).hasValue(EndReason.STAGING_FAILED);
            assertThat(refused.stateDetails()).contains("outside the job's directory");
            assertThat(files.resolve("elsewhere")).doesNotExist();
        }
    }

    @Test
    void withoutAnInputRootALinkInTheJobsDirectoryStillCannotTakeTheStageOutElsewhere() throws Exception {
        Path elsewhere = Files.createDirectories(files.resolve("elsewhere/b"));
        Path input = Files.writeString(files.resolve("in.txt"), "in"); // staged in, it makes the workdir w
        try (SkyPort sky = start()) {
            // The run's workdir is w, the engine's copy goes to <jobdir>/a/b/x: through the planted link a, outside.
            Job job = sky.jobs().submit(JobSpec.builder().script("#!/bin/sh\nmkdir -p a/b; echo PLANTED > a/b/x;"
                    + " ln -s " + elsewhere.getParent() + " ../a\n").workdir("w").inputFile(input.toString()).outputFile("a/b/x")
                    .retryPolicy(dev.skyport.api.RetryPolicy.none()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(sky.jobs().stderr(job.id())).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).as(sky.jobs().stderr(job.id())).hasValue(EndReason.STAGING_FAILED);
            assertThat(done.stateDetails()).contains("a/b/x").contains("symbolic link");
            assertThat(elsewhere.resolve("x")).doesNotExist();
        }
    }

    /**
     * A job keeps its directory between attempts and may fill it with links: the next attempt's stage-in must not be
     * turned through one of them into a directory outside (in account mode the engine is root and the input the
     * user's, e.g. an authorized_keys file).
     */
    @Test
    void aLinkAnAttemptLeftInItsDirectoryCannotTurnTheNextStageInElsewhere() throws Exception {
        Path tree = Files.createDirectories(files.resolve("in/a/b"));
        Files.writeString(tree.resolve("f.txt"), "STAGED");
        Path elsewhere = Files.createDirectories(files.resolve("elsewhere/b"));
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("if [ \"$SKYPORT_ATTEMPT\" = 1 ]; then rm -rf in/a; ln -s "
                    + elsewhere.getParent() + " in/a; : > planted; exec sleep 300; fi\ncat in/a/b/f.txt")
                    .inputFile(files.resolve("in").toString()).retryPolicy(dev.skyport.api.RetryPolicy.none())
                    .build());
            Path dir = data.resolve("jobs").resolve(job.id().toString());
            awaitTrue(() -> Files.exists(dir.resolve("planted")), "the first attempt planted its link");
            sky.jobs().requeue(job.id());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(elsewhere).as("the directory the planted link led to").isEmptyDirectory();
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.STAGING_FAILED);
            assertThat(done.stateDetails()).contains("in/a").contains("symbolic link");
        }
    }

    @Test
    void aNodeThatCannotTellTheJobsDirectoryBeforeStagingEndsTheAttemptAsLost() throws Exception {
        Path input = Files.writeString(files.resolve("in.txt"), "in");
        SwitchableGate.directoryOfFails = dev.skyport.gate.GateException.transientFailure("node unreachable", null,
                java.util.Optional.empty());
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("cat in.txt").inputFile(input.toString())
                    .retryPolicy(dev.skyport.api.RetryPolicy.none()).build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.NODE_LOST);
            assertThat(done.stateDetails()).contains("node unreachable");
        }
    }

    @Test
    void aNodeThatCannotTellTheJobsDirectoryWhenTheRunEndsStillEndsIt() throws Exception {
        Path go = files.resolve("go");
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("while [ ! -e " + go + " ]; do sleep 0.05; done; echo ended")
                    .retryPolicy(dev.skyport.api.RetryPolicy.none()).build());
            awaitTrue(() -> sky.jobs().get(job.id()).state() == JobState.RUNNING, "the job runs");
            SwitchableGate.directoryOfFails = dev.skyport.gate.GateException.transientFailure("node unreachable",
                    null, java.util.Optional.empty());
            Files.writeString(go, "");
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    @Test
    void afterARestartTheTimeLimitStillCountsOnlyTheRun() throws Exception {
        Path input = Files.writeString(files.resolve("in.txt"), "in");
        Path go = files.resolve("go");
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        SwitchableGate.uploadsHeld = new CountDownLatch(1);
        Job job;
        try (SkyPort sky = start(b -> b.clock(clock))) {
            job = sky.jobs().submit(script("while [ ! -e " + go + " ]; do sleep 0.05; done; cat in.txt")
                    .timeLimit(Duration.ofMinutes(10)).inputFile(input.toString()).build());
            assertThat(SwitchableGate.uploadsEntered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
            clock.advance(Duration.ofMinutes(30));
            CountDownLatch held = SwitchableGate.uploadsHeld;
            SwitchableGate.uploadsHeld = null;
            held.countDown();
            awaitTrue(() -> sky.jobs().get(job.id()).state() == JobState.RUNNING, "the job runs");
        }
        // Restarted five minutes into the run: the limit counted from the staging's start would be long past.
        clock.advance(Duration.ofMinutes(5));
        try (SkyPort sky = start(b -> b.clock(clock))) {
            awaitTrue(() -> sky.jobs().get(job.id()).state() == JobState.RUNNING, "the job is followed again");
            Files.writeString(go, "");
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("in");
        }
    }

    @Test
    void aStagingThatDoesNotEndInItsTimeFailsTransiently() throws Exception {
        Path input = Files.writeString(files.resolve("in.txt"), "in");
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        SwitchableGate.uploadsHeld = new CountDownLatch(1);
        try (SkyPort sky = start(b -> b.clock(clock))) {
            Job job = sky.jobs().submit(script("cat in.txt").inputFile(input.toString())
                    .retryPolicy(dev.skyport.api.RetryPolicy.none()).build());
            assertThat(SwitchableGate.uploadsEntered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
            clock.advance(Staging.TIMEOUT.plusMinutes(1));
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.STAGING_FAILED);
            assertThat(done.stateDetails()).contains("did not end within 60 min");
            awaitTrue(() -> SwitchableGate.uploadsInterrupted.get() == 1, "the held upload was interrupted");
        }
    }

    @Test
    void aNewAttemptDoesNotStageWhileTheStoppedAttemptsTransferStillRuns() throws Exception {
        Path input = Files.writeString(files.resolve("in.txt"), "in");
        SwitchableGate.uploadsHeld = new CountDownLatch(1);
        SwitchableGate.uploadsIgnoreInterrupts = true;
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(script("cat in.txt").inputFile(input.toString()).build());
            assertThat(SwitchableGate.uploadsEntered.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
            sky.jobs().requeue(job.id());
            awaitTrue(() -> {
                Job j = sky.jobs().get(job.id());
                return j.attempts().size() == 2 && j.state() == JobState.STAGING_IN;
            }, "the second attempt stages");
            // Gives the second attempt's transfer the time to reach the node if nothing held it back.
            assertThat(SwitchableGate.uploadsEntered.poll(500, TimeUnit.MILLISECONDS)).isNull();
            CountDownLatch held = SwitchableGate.uploadsHeld;
            SwitchableGate.uploadsHeld = null;
            held.countDown();
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts().get(0).endReason()).hasValue(EndReason.PREEMPTED);
            assertThat(SwitchableGate.uploadsMost.get()).as("uploads at once").isEqualTo(1);
        }
    }

    /** No file under {@code dir} holds {@code text}. */
    static void assertNowhere(Path dir, String text) throws Exception {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                assertThat(new String(Files.readAllBytes(p), java.nio.charset.StandardCharsets.ISO_8859_1))
                        .as(p.toString()).doesNotContain(text);
            }
        }
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        while (!condition.getAsBoolean()) {
            assertThat(Instant.now()).as(what).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }
}
