package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static dev.skyport.core.internal.CrashTest.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kill -9} of the engine while a job runs: after a restart the job is followed again (still running), gets its
 * exit code (ended meanwhile) or is reported lost (vanished).
 */
class ReattachTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path data;

    /** Starts a child engine with one waiting job, kills the engine once the job runs; returns the job's id. */
    private JobId runningJobOfAKilledEngine() throws Exception {
        try (CrashTest.Child child = new CrashTest.Child("run-one", data.toString())) {
            child.awaitAcked(1);
            String id = child.acked.iterator().next();
            child.awaitRunning(id);
            Path stdout = jobDir(JobId.parse(id)).resolve("stdout.log");
            awaitCondition(() -> read(stdout).equals("start\n"), "the job printed start");
            child.kill9();
            return JobId.parse(id);
        }
    }

    private Path jobDir(JobId id) {
        return data.resolve("jobs").resolve(id.toString());
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    @Test
    void aJobStillRunningAfterARestartIsFollowedToItsEnd() throws Exception {
        JobId id = runningJobOfAKilledEngine();
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(8).start()) {
            assertThat(sky.jobs().get(id).state()).isEqualTo(JobState.RUNNING);
            Files.createFile(jobDir(id).resolve("release"));
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.exitCode()).hasValue(0);
            assertThat(done.attempts()).hasSize(1);
            assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
        }
    }

    @Test
    void aJobThatEndedWhileTheEngineWasDownGetsItsExitCode() throws Exception {
        JobId id = runningJobOfAKilledEngine();
        Files.createFile(jobDir(id).resolve("release"));
        Path exitCode = jobDir(id).resolve("run.1").resolve("exitcode");
        awaitCondition(() -> read(exitCode).equals("0\n"), "the job ended");
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(8).start()) {
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
        }
    }

    @Test
    void aJobThatVanishedWhileTheEngineWasDownEndsNodeLost() throws Exception {
        JobId id = runningJobOfAKilledEngine();
        long group = Long.parseLong(Files.readString(jobDir(id).resolve("run.1").resolve("pid")).trim());
        Process kill = new ProcessBuilder("kill", "-9", "--", "-" + group).inheritIO().start();
        assertThat(kill.waitFor()).isZero();
        awaitCondition(() -> !dev.skyport.core.internal.local.LocalGateAccess.isRunning(group), "the job vanished");
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(8).start()) {
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.NODE_LOST);
            assertThat(done.attempts()).hasSize(1);
        }
    }

    @Test
    void aTimeLimitReachedBeforeACrashStillEndsTheJobTimeLimit() throws Exception {
        JobId id;
        try (CrashTest.Child child = new CrashTest.Child("time-limit", data.toString())) {
            child.awaitAcked(1);
            id = JobId.parse(child.acked.iterator().next());
            awaitCondition(() -> child.events.contains(id + " Time limit reached"), "the time limit was recorded");
            child.kill9();
        }
        Path exitCode = jobDir(id).resolve("run.1").resolve("exitcode");
        awaitCondition(() -> read(exitCode).equals("0\n"), "the job exited 0 after its clean-up");
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(8).start()) {
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.TIME_LIMIT);
            assertThat(done.exitCode()).hasValue(0);
        }
    }
}
