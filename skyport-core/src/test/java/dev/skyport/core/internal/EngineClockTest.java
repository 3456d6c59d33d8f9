package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.MutableClock;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Time-driven behaviour runs on the injected clock: tests move time instead of waiting for it. */
class EngineClockTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path data;

    private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

    private SkyPort start() {
        // A job kills its wrapper (kill -9 0) to stand for a lost node, which an isolated job cannot.
        return SkyPort.embedded().dataDir(data).localCpus(2).clock(clock).jobIsolation(JobIsolation.NONE).start();
    }

    @Test
    void timestampsComeFromTheInjectedClock() throws Exception {
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
            assertThat(job.submitTime()).isEqualTo(Instant.parse("2030-01-01T00:00:00Z"));
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.startTime()).hasValue(Instant.parse("2030-01-01T00:00:00Z"));
            assertThat(sky.events().history(job.id())).allSatisfy(
                    t -> assertThat(t.time()).isEqualTo(Instant.parse("2030-01-01T00:00:00Z")));
        }
    }

    @Test
    void theTimeLimitIsMeasuredOnTheInjectedClock() throws Exception {
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(JobSpec.builder().timeLimit(Duration.ofHours(1))
                    .script("#!/bin/sh\nexec sleep 600\n").build());
            awaitState(sky, job, JobState.RUNNING);
            clock.advance(Duration.ofMinutes(59));
            TimeUnit.MILLISECONDS.sleep(1500); // longer than the engine's idle tick: the limit must not fire early
            assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.RUNNING);
            clock.advance(Duration.ofMinutes(2));
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.TIME_LIMIT);
        }
    }

    @Test
    void aRetryWaitsForItsBackOffOnTheInjectedClock() throws Exception {
        try (SkyPort sky = start()) {
            Job job = sky.jobs().submit(JobSpec.builder()
                    .retryPolicy(RetryPolicy.defaults().withBackoff(Duration.ofMinutes(10), Duration.ofMinutes(10)))
                    .script("#!/bin/sh\nif [ \"$SKYPORT_ATTEMPT\" = 1 ]; then kill -9 0; fi\necho again\n").build());
            Job waiting = awaitJob(sky, job, j -> j.state() == JobState.QUEUED && j.attempts().size() == 1);
            assertThat(waiting.stateDetails()).startsWith("Retrying after Node lost");
            TimeUnit.MILLISECONDS.sleep(1500); // longer than the engine's idle tick: no retry before the back-off
            assertThat(sky.jobs().get(job.id()).attempts()).hasSize(1);
            clock.advance(Duration.ofMinutes(11));
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(2);
        }
    }

    private static Job awaitState(SkyPort sky, Job job, JobState state) throws InterruptedException {
        return awaitJob(sky, job, j -> j.state() == state);
    }

    private static Job awaitJob(SkyPort sky, Job job, java.util.function.Predicate<Job> condition)
            throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        Job current = sky.jobs().get(job.id());
        while (!condition.test(current)) {
            assertThat(Instant.now()).as("waiting on %s", current).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(10);
            current = sky.jobs().get(job.id());
        }
        return current;
    }
}
