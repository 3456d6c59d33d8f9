package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Limits;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/** A queued job says why it waits and, where the plan reserved nodes for it, when it expects to start. */
class WaitReasonTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path data;

    @Test
    void aQueuedJobSaysWhatItWaitsForHowManyAreAheadAndWhenThePlanStartsIt() throws Exception {
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(2).jobIsolation(JobIsolation.NONE)
                .limits(Limits.defaults().withKillGracePeriod(Duration.ZERO)).start()) {
            Job running = sky.jobs().submit(JobSpec.builder().command(java.util.List.of("sleep", "600")).cpus(2)
                    .timeLimit(Duration.ofMinutes(10)).build());
            Job started = awaitJob(sky, running, j -> j.state() == JobState.RUNNING);
            Job first = sky.jobs().submit(JobSpec.builder().command(java.util.List.of("true")).cpus(2)
                    .memoryBytes(1L << 30).timeLimit(Duration.ofMinutes(5)).build());
            Job second = sky.jobs().submit(JobSpec.builder().command(java.util.List.of("true")).cpus(1)
                    .timeLimit(Duration.ofMinutes(5)).build());

            Job waiting = awaitJob(sky, second, j -> j.stateDetails().startsWith("Waiting"));
            Instant runningEnds = started.startTime().orElseThrow().plus(Duration.ofMinutes(10));
            assertThat(waiting.stateDetails()).startsWith("Waiting for 1 cpu on partition local; 1 job ahead;")
                    // Conservative backfill: after the job ahead, which needs both cpus for its 5 minutes.
                    .contains("expected to start at " + runningEnds.plus(Duration.ofMinutes(5)) + " (backfill plan)");
            Job firstWaiting = awaitJob(sky, first, j -> j.stateDetails().startsWith("Waiting"));
            assertThat(firstWaiting.stateDetails())
                    .startsWith("Waiting for 2 cpus and 1 GiB on partition local; 0 jobs ahead; expected to start at "
                            + runningEnds);
            // The same details in a listing and through a user's view; never stored.
            assertThat(sky.jobs().list(JobQuery.inStates(JobState.QUEUED)).items())
                    .extracting(Job::stateDetails).allMatch(d -> d.startsWith("Waiting for"));
            assertThat(sky.asUser(running.owner()).jobs().get(second.id()).stateDetails()).startsWith("Waiting for");
            assertThat(sky.events().history(second.id())).extracting(e -> e.details()).containsExactly("Submitted");

            sky.jobs().cancel(running.id());
            assertThat(sky.jobs().await(first.id(), WAIT).stateDetails()).isEqualTo("Completed");
            assertThat(sky.jobs().await(second.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    private static Job awaitJob(SkyPort sky, Job job, Predicate<Job> condition) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        Job now = sky.jobs().get(job.id());
        while (!condition.test(now)) {
            assertThat(Instant.now()).as("job %s: %s", job.id(), now.stateDetails()).isBefore(deadline);
            Thread.sleep(20); // polling interval, bounded by the deadline
            now = sky.jobs().get(job.id());
        }
        return now;
    }
}
