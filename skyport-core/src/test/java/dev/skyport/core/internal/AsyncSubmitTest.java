package dev.skyport.core.internal;

import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Limits;
import dev.skyport.api.Page;
import dev.skyport.api.QueueFullException;
import dev.skyport.api.QuotaExceededException;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code submitAsync}: futures complete with stored jobs in call order, refusals complete them exceptionally with the
 * blocking submit's exceptions and store nothing, and one thread cannot have more than the bound in flight. Every
 * engine here has one cpu held by a sleeping job, so the submitted jobs stay queued; it is canceled at the end.
 */
class AsyncSubmitTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final JobSpec TRIVIAL = JobSpec.command("true");

    @TempDir
    Path data;

    private SkyPort sky;
    private JobId holder;

    private SkyPort start(Limits limits) {
        sky = SkyPort.embedded().dataDir(data).localCpus(1).jobIsolation(JobIsolation.NONE).limits(limits).start();
        holder = sky.jobs().submit(JobSpec.command("sleep", "600")).id();
        return sky;
    }

    @AfterEach
    void stopHolder() throws InterruptedException {
        if (sky != null) {
            sky.jobs().cancel(holder);
            sky.jobs().await(holder, WAIT);
            sky.close();
        }
    }

    private static long count(SkyPort view) {
        long n = 0;
        java.util.Optional<String> token = java.util.Optional.empty();
        do {
            JobQuery q = JobQuery.all().withLimit(JobQuery.MAX_LIMIT).withoutScripts();
            Page<Job> page = view.jobs().list(new JobQuery(q.states(), q.owner(), q.limit(), token, false));
            n += page.items().size();
            token = page.nextPageToken();
        } while (token.isPresent());
        return n;
    }

    @Test
    void futuresCompleteWithStoredJobsWhoseIdsFollowTheCalls() throws Exception {
        start(Limits.defaults());
        List<CompletableFuture<Job>> futures = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            futures.add(sky.jobs().submitAsync(TRIVIAL.toBuilder().name("n" + i).build()));
        }
        List<Job> jobs = new ArrayList<>();
        for (CompletableFuture<Job> f : futures) {
            jobs.add(f.get(60, TimeUnit.SECONDS));
        }
        for (int i = 0; i < jobs.size(); i++) {
            Job job = jobs.get(i);
            assertThat(job.name()).isEqualTo("n" + i);
            assertThat(job.state()).isEqualTo(JobState.QUEUED);
            if (i > 0) {
                assertThat(job.id()).isGreaterThan(jobs.get(i - 1).id());
            }
        }
        // A completed future's job is registered: the engine answers for it at once, and can cancel it.
        assertThat(sky.jobs().get(jobs.get(2999).id()).state()).isEqualTo(JobState.QUEUED);
        assertThat(sky.jobs().cancel(jobs.get(0).id()).state()).isIn(JobState.CANCELED, JobState.CANCELING);
        assertThat(count(sky)).isEqualTo(3001);
        // And stored: a new engine on the same directory has them all.
        sky.close();
        sky = SkyPort.embedded().dataDir(data).localCpus(1).jobIsolation(JobIsolation.NONE).start();
        assertThat(count(sky)).isEqualTo(3001);
        assertThat(sky.jobs().get(jobs.get(1500).id()).name()).isEqualTo("n1500");
    }

    @Test
    void aUserViewSubmitsAsItsUser() throws Exception {
        start(Limits.defaults());
        Job job = sky.asUser("alice-id", "alice").jobs().submitAsync(TRIVIAL).get(60, TimeUnit.SECONDS);
        assertThat(job.owner()).isEqualTo("alice-id");
        assertThat(job.ownerName()).isEqualTo("alice");
        assertThat(sky.asUser("alice-id", "alice").jobs().get(job.id()).id()).isEqualTo(job.id());
    }

    @Test
    void badInputCompletesExceptionallyAsSubmitThrowsAndStoresNothing() {
        start(Limits.defaults().withMaxScriptBytes(1000));
        CompletableFuture<Job> tooBig = sky.jobs().submitAsync(JobSpec.command("true").toBuilder().cpus(64).build());
        assertThat(tooBig).isCompletedExceptionally();
        assertThatThrownBy(tooBig::get).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(InvalidJobSpecException.class).hasMessageContaining("64 cpus");
        CompletableFuture<Job> nul = sky.jobs().submitAsync(JobSpec.script("#!/bin/sh\necho a\0b\n"));
        assertThatThrownBy(nul::join).cause().isInstanceOf(InvalidJobSpecException.class)
                .satisfies(e -> assertThat(((InvalidJobSpecException) e).field()).isEqualTo("script"));
        CompletableFuture<Job> script = sky.jobs().submitAsync(JobSpec.script("#!/bin/sh\n# " + "x".repeat(2000)));
        assertThatThrownBy(script::join).cause().isInstanceOf(InvalidJobSpecException.class);
        assertThatThrownBy(() -> sky.jobs().submitAsync(null)).isInstanceOf(NullPointerException.class);
        assertThat(count(sky)).isEqualTo(1); // the holder only
    }

    @Test
    void aFullQueueRefusesCountingTheSubmissionsStillInFlight() {
        start(Limits.defaults().withMaxActiveJobs(10));
        List<CompletableFuture<Job>> futures = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            futures.add(sky.jobs().submitAsync(TRIVIAL));
        }
        CompletableFuture.allOf(futures.stream().map(f -> f.exceptionally(e -> null))
                .toArray(CompletableFuture[]::new)).join();
        // The first nine fit beside the holder, whether or not their commits had ended when the rest were asked.
        assertThat(futures.subList(0, 9)).allSatisfy(f -> assertThat(f).isCompleted().isNotCompletedExceptionally());
        assertThat(futures.subList(9, 30)).allSatisfy(f -> assertThatThrownBy(f::join).cause()
                .isInstanceOf(QueueFullException.class).hasMessageContaining("10 jobs have not ended"));
        assertThat(count(sky)).isEqualTo(10);
    }

    @Test
    void aUserPastTheirQuotaGetsQuotaExceeded() {
        start(Limits.defaults().withMaxActiveJobsPerUser(2));
        var alice = sky.asUser("alice").jobs();
        List<CompletableFuture<Job>> futures = List.of(alice.submitAsync(TRIVIAL), alice.submitAsync(TRIVIAL),
                alice.submitAsync(TRIVIAL));
        assertThat(futures.get(0).join().ownerName()).isEqualTo("alice");
        assertThat(futures.get(1).join().ownerName()).isEqualTo("alice");
        assertThatThrownBy(futures.get(2)::join).cause().isInstanceOf(QuotaExceededException.class);
        assertThat(count(sky.asUser("alice"))).isEqualTo(2);
    }

    @Test
    void oneThreadNeverHasMoreThanTheBoundInFlight() throws Exception {
        start(Limits.defaults().withMaxActiveJobsPerUser(100_000));
        int n = AsyncSubmits.MAX_IN_FLIGHT * 3;
        AtomicInteger completed = new AtomicInteger();
        int most = 0;
        List<CompletableFuture<Job>> futures = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            CompletableFuture<Job> f = sky.jobs().submitAsync(TRIVIAL);
            f.whenComplete((j, e) -> completed.incrementAndGet());
            futures.add(f);
            most = Math.max(most, i + 1 - completed.get());
        }
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        assertThat(most).isLessThanOrEqualTo(AsyncSubmits.MAX_IN_FLIGHT);
        // Many were in flight at once from this one thread: that is what fills the group commit.
        assertThat(most).isGreaterThan(100);
        assertThat(count(sky)).isEqualTo(n + 1L);
    }
}
