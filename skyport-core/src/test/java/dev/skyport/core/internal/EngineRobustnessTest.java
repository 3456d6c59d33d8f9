package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Limits;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import dev.skyport.core.internal.local.LocalGateAccess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

import static dev.skyport.core.internal.CrashTest.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Stopping stubborn jobs, interrupted callers, a data directory used twice. */
class EngineRobustnessTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path data;

    private SkyPort start() {
        // The jobs report their pids to the test, which must be this machine's, not a sandbox's.
        return SkyPort.embedded().dataDir(data).localCpus(4).jobIsolation(JobIsolation.NONE)
                .limits(Limits.defaults().withKillGracePeriod(Duration.ofMillis(300))).start();
    }

    private static long pid(Path file) throws Exception {
        awaitCondition(() -> {
            try {
                return Files.readString(file).endsWith("\n");
            } catch (java.io.IOException e) {
                return false;
            }
        }, file + " written");
        return Long.parseLong(Files.readString(file).trim());
    }

    @Test
    void aJobThatIgnoresSigtermIsKilledAfterTheGracePeriodBeforeItIsCanceled() throws Exception {
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(JobSpec.script(
                    "#!/bin/sh\ntrap '' TERM\necho $$ > \"$SKYPORT_JOB_DIR/job.pid\"\nsleep 600\n"));
            long pid = pid(data.resolve("jobs").resolve(job.id().toString()).resolve("job.pid"));
            sky.jobs().cancel(job.id());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.CANCELED);
            assertThat(LocalGateAccess.isRunning(pid)).as("the job's process is gone when it is CANCELED").isFalse();
        }
    }

    @Test
    void aRequeuedJobThatIgnoresSigtermNeverRunsTwiceAtOnce() throws Exception {
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\n"
                    + "if [ \"$SKYPORT_ATTEMPT\" = 1 ]; then trap '' TERM; echo $$ > \"$SKYPORT_JOB_DIR/first.pid\";"
                    + " exec sleep 600; fi\n"
                    + "echo second\n"));
            long first = pid(data.resolve("jobs").resolve(job.id().toString()).resolve("first.pid"));
            sky.jobs().requeue(job.id());
            awaitCondition(() -> sky.jobs().get(job.id()).attempts().size() == 2, "the second attempt started");
            assertThat(LocalGateAccess.isRunning(first)).as("the first attempt is gone when the second starts")
                    .isFalse();
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts().get(0).endReason()).hasValue(EndReason.PREEMPTED);
        }
    }

    @Test
    void aJobThatStopsCleanlyOnSigtermKeepsItsExitStatus() throws Exception {
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(4).start()) {
            Job job = sky.jobs().submit(JobSpec.builder().timeLimit(Duration.ofMillis(300)).script(
                    "#!/bin/sh\ntrap 'echo cleaning up; exit 7' TERM\nsleep 600 &\nwait\n").build());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.endReason()).hasValue(EndReason.TIME_LIMIT);
            assertThat(done.exitCode()).hasValue(7);
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("cleaning up\n");
        }
    }

    @Test
    void anInterruptedSubmitterStillGetsItsDurableJob() throws Exception {
        try (SkyPort sky = start()) {
            Thread.currentThread().interrupt();
            Job job;
            try {
                job = sky.jobs().submit(JobSpec.script("#!/bin/sh\necho ok\n"));
            } finally {
                assertThat(Thread.interrupted()).as("the interrupt is kept for the caller").isTrue();
            }
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    @Test
    void aDataDirectoryServesOneEngineAtATime() {
        try (SkyPort first = start()) {
            assertThatThrownBy(this::start).isInstanceOf(SkyPortException.class).hasMessageContaining("in use");
            assertThat(first.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n")).state()).isEqualTo(JobState.QUEUED);
        }
        try (SkyPort again = start()) {
            assertThat(again.nodes()).isNotEmpty();
        }
    }

    @Test
    void aMistypedSchedulerOrGateIsRefusedNamingWhatExists() {
        assertThatThrownBy(() -> SkyPort.embedded().dataDir(data).scheduler("bakfill").start())
                .isInstanceOf(SkyPortException.class)
                .hasMessageContaining("bakfill").hasMessageContaining("backfill").hasMessageContaining("fcfs");
        assertThatThrownBy(() -> SkyPort.embedded().dataDir(data).gate("locl").start())
                .isInstanceOf(SkyPortException.class)
                .hasMessageContaining("locl").hasMessageContaining("local");
        // Nothing was left open: the data directory is free for a correct start.
        try (SkyPort sky = SkyPort.embedded().dataDir(data).scheduler("fair-share").start()) {
            assertThat(sky.nodes()).isNotEmpty();
        }
    }

    @Test
    void aNewDataDirectoryAndItsStoreAreTheOwnersOnly() throws Exception {
        Path fresh = data.resolve("fresh");
        try (SkyPort sky = SkyPort.embedded().dataDir(fresh).start()) {
            sky.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh))).isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh.resolve("skyport.db"))))
                    .isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh.resolve("skyport.db-wal"))))
                    .isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh.resolve("jobs"))))
                    .isEqualTo("rwx------");
        }
    }

    /**
     * An operator's data directory may be open to others; its jobs directory must not be: where jobs run as mapped
     * accounts, their job directories are written through the account's group.
     */
    @Test
    void anExistingJobsDirectoryOpenToOthersBecomesTheEnginesOnly() throws Exception {
        Path shared = Files.createDirectories(data.resolve("shared/jobs")).getParent();
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(shared.resolve("jobs"), PosixFilePermissions.fromString("rwxrwxr-x"));
        try (SkyPort sky = SkyPort.embedded().dataDir(shared).start()) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(shared.resolve("jobs"))))
                    .isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(shared))).isEqualTo("rwxr-xr-x");
        }
    }
}
