package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.MutableClock;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.core.internal.store.SqliteJobStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The retry jitter is injected like the clock: the same seed and clock give the same back-off, another seed another. */
class RandomSeedTest {
    private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");

    @TempDir
    Path dir;

    @Test
    void theSameSeedChoosesTheSameRetryDelay() throws Exception {
        Instant first = retryAt(dir.resolve("a"), 42);
        Instant again = retryAt(dir.resolve("b"), 42);
        Instant other = retryAt(dir.resolve("c"), 7);
        assertThat(again).isEqualTo(first);
        // Full jitter in [5 s, 10 s] after the failure, at the frozen clock's instant.
        assertThat(first).isBetween(T0.plusSeconds(5), T0.plusSeconds(10));
        assertThat(other).isBetween(T0.plusSeconds(5), T0.plusSeconds(10)).isNotEqualTo(first);
    }

    /** When an engine seeded with {@code seed} retries a job that failed once, read back from its store. */
    private static Instant retryAt(Path data, long seed) throws Exception {
        MutableClock clock = new MutableClock(T0);
        Job job;
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(1).clock(clock).randomSeed(seed)
                .jobIsolation(JobIsolation.NONE).start()) {
            job = sky.jobs().submit(JobSpec.builder().command(List.of("false")).retryPolicy(RetryPolicy.defaults()
                    .withMaxAttempts(2).withRetryUserFailures(true)
                    .withBackoff(Duration.ofSeconds(10), Duration.ofSeconds(10))).build());
            Instant deadline = Instant.now().plusSeconds(30);
            while (sky.events().history(job.id()).stream().noneMatch(e -> e.details().startsWith("Retrying"))) {
                assertThat(Instant.now()).as("no retry of %s", job.id()).isBefore(deadline);
                Thread.sleep(20); // polling interval, bounded by the deadline
            }
        }
        try (SqliteJobStore store = SqliteJobStore.open(data)) {
            return store.find(job.id()).orElseThrow().notBefore().orElseThrow();
        }
    }
}
