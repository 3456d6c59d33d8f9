package dev.skyport.core.internal;

import dev.skyport.api.IdempotencyKeyReusedException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Limits;
import dev.skyport.api.MutableClock;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortContractTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Idempotency keys in the engine: concurrent submissions, restarts, purges (the contract has the single-call cases). */
class IdempotentSubmitTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path data;

    private SkyPort start() {
        return SkyPort.embedded().dataDir(data).localCpus(2).jobIsolation(JobIsolation.NONE).start();
    }

    private static JobSpec keyed(String key, String command) {
        return JobSpec.builder().idempotencyKey(key).command(List.of("/bin/sh", "-c", command)).build();
    }

    @Test
    void concurrentSubmissionsWithOneKeyMakeExactlyOneJob() throws Exception {
        int threads = 16;
        int rounds = 20;
        try (SkyPort sky = start()) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                for (int round = 0; round < rounds; round++) {
                    String key = "race-" + round;
                    CyclicBarrier go = new CyclicBarrier(threads);
                    List<Future<Object>> answers = new ArrayList<>();
                    for (int t = 0; t < threads; t++) {
                        // A quarter send another spec under the key; every sender races the others from the barrier.
                        String command = t % 4 == 3 ? "exit 1" : "true";
                        boolean batch = t % 2 == 0;
                        answers.add(pool.submit(() -> {
                            go.await();
                            try {
                                return batch ? sky.jobs().submitAll(List.of(keyed(key, command))).get(0)
                                        : sky.jobs().submit(keyed(key, command));
                            } catch (IdempotencyKeyReusedException e) {
                                return e;
                            }
                        }));
                    }
                    Set<JobId> jobs = new HashSet<>();
                    Set<JobId> named = new HashSet<>();
                    for (Future<Object> f : answers) {
                        Object answer = f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                        if (answer instanceof Job job) {
                            jobs.add(job.id());
                        } else {
                            named.add(((IdempotencyKeyReusedException) answer).existing());
                        }
                    }
                    assertThat(jobs).as("round %d: one job for the key", round).hasSize(1);
                    assertThat(named).as("refusals name that job").isSubsetOf(jobs);
                }
                assertThat(sky.jobs().list(JobQuery.all().withLimit(JobQuery.MAX_LIMIT)).items()).hasSize(rounds);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aKeyStillNamesItsJobAfterARestart() throws Exception {
        Job first;
        Job bobs;
        try (SkyPort sky = start()) {
            first = sky.jobs().submit(keyed("restart-key", "echo kept"));
            bobs = sky.asUser("bob").jobs().submit(keyed("restart-key", "echo bob"));
            sky.jobs().await(first.id(), WAIT);
            // Bob's too: a job still running at the restart would end in the next life and publish its end there,
            // which the replay check below must not count.
            sky.asUser("bob").jobs().await(bobs.id(), WAIT);
        }
        try (SkyPort sky = start()) {
            long last = sky.events().lastSequence();
            Job again = sky.jobs().submit(keyed("restart-key", "echo kept"));
            assertThat(again.id()).isEqualTo(first.id());
            assertThat(again.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.asUser("bob").jobs().submit(keyed("restart-key", "echo bob")).id()).isEqualTo(bobs.id());
            assertThatThrownBy(() -> sky.jobs().submit(keyed("restart-key", "echo changed")))
                    .isInstanceOfSatisfying(IdempotencyKeyReusedException.class,
                            e -> assertThat(e.existing()).isEqualTo(first.id()));
            assertThat(SkyPortContractTest.listAll(sky)).hasSize(2);
            assertThat(sky.events().lastSequence()).as("a replay publishes nothing").isEqualTo(last);
        }
    }

    @Test
    void aReplayIsAnsweredEvenWhenANewSubmissionWouldBeRefused() throws Exception {
        Limits limits = Limits.defaults().withMaxActiveJobsPerUser(1);
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(1).limits(limits)
                .jobIsolation(JobIsolation.NONE).start()) {
            SkyPort alice = sky.asUser("alice");
            Job held = alice.jobs().submit(keyed("at-the-limit", "sleep 600"));
            try {
                // Alice is at her limit: a new job would be refused, the one she already has is not a new job.
                assertThat(alice.jobs().submit(keyed("at-the-limit", "sleep 600")).id()).isEqualTo(held.id());
                assertThatThrownBy(() -> alice.jobs().submit(keyed("another", "true")))
                        .isInstanceOf(dev.skyport.api.QuotaExceededException.class);
            } finally {
                alice.jobs().cancel(held.id());
            }
        }
    }

    @Test
    void aPurgedJobFreesItsKey() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        Limits limits = Limits.defaults().withJobRetention(Duration.ofMinutes(1));
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(1).limits(limits).clock(clock)
                .jobIsolation(JobIsolation.NONE).start()) {
            Job old = sky.jobs().submit(keyed("reused-after-purge", "true"));
            sky.jobs().await(old.id(), WAIT);
            clock.advance(Duration.ofMinutes(3));
            Instant deadline = Instant.now().plus(WAIT);
            while (true) {
                try {
                    sky.jobs().get(old.id());
                } catch (NoSuchJobException purged) {
                    break;
                }
                assertThat(Instant.now()).as("job %s purged", old.id()).isBefore(deadline);
                clock.advance(Duration.ofSeconds(61)); // the next purge is due a minute after the last
                Thread.sleep(20); // polling interval, bounded by the deadline
            }
            Job fresh = sky.jobs().submit(keyed("reused-after-purge", "echo another spec is fine now"));
            assertThat(fresh.id()).isNotEqualTo(old.id());
            assertThat(sky.jobs().submit(keyed("reused-after-purge", "echo another spec is fine now")).id())
                    .isEqualTo(fresh.id());
        }
    }
}
