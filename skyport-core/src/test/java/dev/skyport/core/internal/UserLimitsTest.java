package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Limits;
import dev.skyport.api.MutableClock;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.QuotaExceededException;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Per-user bounds: one user's jobs and bytes cannot take the engine from the others; ended jobs go away in time. */
class UserLimitsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final JobSpec LONG = JobSpec.command("sleep", "600");

    @TempDir
    Path data;

    private SkyPort start(Limits limits) {
        return SkyPort.embedded().dataDir(data).localCpus(1).limits(limits).start();
    }

    private static long count(SkyPort view) {
        return view.jobs().list(JobQuery.all().withLimit(JobQuery.MAX_LIMIT)).items().size();
    }

    @Test
    void aUserPastTheirUnfinishedJobLimitIsRefusedAndOthersAreNot() throws InterruptedException {
        Limits limits = Limits.defaults().withMaxActiveJobsPerUser(3).withKillGracePeriod(Duration.ZERO);
        try (SkyPort sky = start(limits)) {
            SkyPort alice = sky.asUser("alice-id", "alice");
            SkyPort bob = sky.asUser("bob-id", "bob");
            List<Job> mine = List.of(alice.jobs().submit(LONG), alice.jobs().submit(LONG), alice.jobs().submit(LONG));
            assertThatThrownBy(() -> alice.jobs().submit(LONG))
                    .isInstanceOf(QuotaExceededException.class)
                    .hasMessageContaining("3 jobs that have not ended")
                    .satisfies(e -> assertThat(((QuotaExceededException) e).limit()).isEqualTo("maxActiveJobsPerUser"));
            assertThatThrownBy(() -> alice.jobs().submitAll(List.of(LONG)))
                    .isInstanceOf(QuotaExceededException.class);
            assertThat(count(alice)).isEqualTo(3);
            bob.jobs().submit(LONG); // another user is not affected
            assertThat(count(bob)).isEqualTo(1);

            alice.jobs().cancel(mine.get(0).id());
            assertThat(alice.jobs().await(mine.get(0).id(), WAIT).state()).isEqualTo(JobState.CANCELED);
            Job again = alice.jobs().submit(LONG);
            assertThat(again.owner()).isEqualTo("alice-id");
            assertThat(again.ownerName()).isEqualTo("alice");
            // Requeueing an ended job counts again: alice is back at her limit.
            assertThatThrownBy(() -> alice.jobs().submit(LONG)).isInstanceOf(QuotaExceededException.class);
        }
        // The bound holds across a restart: it is rebuilt from the store.
        try (SkyPort sky = start(limits)) {
            assertThatThrownBy(() -> sky.asUser("alice-id", "alice").jobs().submit(LONG))
                    .isInstanceOf(QuotaExceededException.class);
            sky.asUser("carol-id", "carol").jobs().submit(LONG);
        }
    }

    @Test
    void aUserPastTheirStoredBytesIsRefusedWithASizeAPersonCanRead() {
        Limits limits = Limits.defaults().withMaxStoredBytesPerUser(20_000).withKillGracePeriod(Duration.ZERO);
        String big = "#!/bin/sh\n# " + "x".repeat(12_000) + "\nsleep 600\n";
        try (SkyPort sky = start(limits)) {
            SkyPort alice = sky.asUser("alice");
            alice.jobs().submit(JobSpec.script(big));
            assertThatThrownBy(() -> alice.jobs().submit(JobSpec.script(big)))
                    .isInstanceOf(QuotaExceededException.class)
                    .hasMessageContaining("KiB")
                    .hasMessageContaining("19.5 KiB")
                    .satisfies(e -> assertThat(((QuotaExceededException) e).limit()).isEqualTo("maxStoredBytesPerUser"));
            assertThat(count(alice)).isEqualTo(1);
            sky.asUser("bob").jobs().submit(JobSpec.script(big));
        }
    }

    @Test
    void endedJobsArePurgedWithTheirDirectoriesAfterTheRetentionAndTheirBytesCountNoMore() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        Limits limits = Limits.defaults().withJobRetention(Duration.ofHours(2)).withMaxStoredBytesPerUser(20_000);
        String big = "#!/bin/sh\n# " + "x".repeat(12_000) + "\necho done\n";
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(1).limits(limits).clock(clock).start()) {
            SkyPort alice = sky.asUser("alice");
            Job old = alice.jobs().submit(JobSpec.script(big));
            assertThat(alice.jobs().await(old.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            Path dir = data.resolve("jobs").resolve(old.id().toString());
            assertThat(dir.resolve("stdout.log")).exists();
            assertThatThrownBy(() -> alice.jobs().submit(JobSpec.script(big))).isInstanceOf(QuotaExceededException.class);

            clock.advance(Duration.ofHours(1));
            Job recent = alice.jobs().submit(JobSpec.command("true"));
            alice.jobs().await(recent.id(), WAIT);
            clock.advance(Duration.ofMinutes(70)); // the first is 2h10m old, the second 1h10m

            Instant deadline = Instant.now().plus(WAIT);
            while (Files.exists(dir) || alice.jobs().list(JobQuery.all()).items().size() > 1) {
                assertThat(Instant.now()).as("job %s not purged", old.id()).isBefore(deadline);
                clock.advance(Duration.ofSeconds(61)); // the next purge is due a minute after the last
                Thread.sleep(20); // polling interval, bounded by the deadline
            }
            assertThatThrownBy(() -> alice.jobs().get(old.id())).isInstanceOf(NoSuchJobException.class);
            assertThatThrownBy(() -> sky.events().history(old.id())).isInstanceOf(NoSuchJobException.class);
            assertThatThrownBy(() -> alice.jobs().requeue(old.id())).isInstanceOf(NoSuchJobException.class);
            // Its bytes are free again.
            alice.jobs().submit(JobSpec.script(big));
        }
    }

    @Test
    void aRequeueRacingWithThePurgeEitherKeepsTheJobOrFindsItGone() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        Limits limits = Limits.defaults().withJobRetention(Duration.ofMinutes(1));
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(2).limits(limits).clock(clock).start()) {
            List<Job> jobs = sky.jobs().submitAll(java.util.Collections.nCopies(40, JobSpec.command("true")));
            for (Job j : jobs) {
                sky.jobs().await(j.id(), WAIT);
            }
            clock.advance(Duration.ofMinutes(3));
            List<Job> kept = new java.util.ArrayList<>();
            for (Job j : jobs) {
                try {
                    kept.add(sky.jobs().requeue(j.id()));
                } catch (NoSuchJobException gone) {
                    // purged first
                }
            }
            // A requeued job was not purged under it: it runs again, to its end, with both attempts on record.
            for (Job j : kept) {
                Job done = sky.jobs().await(j.id(), WAIT);
                assertThat(done.attempts()).hasSize(2);
                assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            }
            for (Job j : jobs) {
                if (kept.stream().noneMatch(k -> k.id().equals(j.id()))) {
                    assertThatThrownBy(() -> sky.jobs().get(j.id())).isInstanceOf(NoSuchJobException.class);
                }
            }
        }
    }
}
