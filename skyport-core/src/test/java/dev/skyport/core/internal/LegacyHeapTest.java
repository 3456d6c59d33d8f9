package dev.skyport.core.internal;

import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.Health;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPort;
import dev.skyport.core.internal.store.SqliteJobStore;
import dev.skyport.core.store.StoredJob;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reproduction, scaled to a small heap: a store holding finished jobs with 1 MiB accounts (written before
 * accounts were bounded) made the scheduling thread die of {@code OutOfMemoryError} in the usage replay on every
 * start, while submissions were still accepted. An engine in a separate JVM with a 64 MiB heap over 100 such jobs
 * (100 MiB of accounts) must replay (or degrade) and still run a new job.
 */
class LegacyHeapTest {
    private static final int LEGACY_JOBS = 100;

    @TempDir
    Path data;

    @Test
    void anEngineWithASmallHeapOverAHistoryOfMebibyteAccountsStillRunsJobs() throws Exception {
        writeLegacyHistory();
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx64m", Child.class.getName(), data.toString());
        Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                lines.add(line);
            }
        } finally {
            if (!child.waitFor(120, TimeUnit.SECONDS)) {
                child.destroyForcibly();
            }
        }
        assertThat(lines).as("the child's report").contains("JOB SUCCEEDED");
        assertThat(lines).as("the child's report").anyMatch(l -> l.startsWith("HEALTH UP "));
    }

    /** Finished jobs as an engine before the limits stored them: built with the canonical constructor. */
    private void writeLegacyHistory() {
        String account = "a".repeat(1 << 20);
        JobSpec base = JobSpec.script("#!/bin/sh\ntrue\n");
        Instant end = Instant.now().minus(Duration.ofHours(1)).truncatedTo(ChronoUnit.MILLIS);
        try (SqliteJobStore store = SqliteJobStore.open(data)) {
            for (int i = 0; i < LEGACY_JOBS; i++) {
                JobSpec spec = new JobSpec(base.name(), base.script(), base.command(), base.containerImage(),
                        base.cloudImage(), 1, 1, 0, 0, base.flavor(), base.remoteSite(), true, List.of(), List.of(),
                        List.of(), Optional.empty(), Map.of(), Optional.of(account + i), 0, Optional.empty(),
                        base.retryPolicy(), Map.of(), "", Optional.empty(), Optional.empty(), Optional.empty(), List.of(), false);
                Attempt attempt = new Attempt(1, List.of("localhost"), Optional.empty(), end.minusSeconds(60),
                        Optional.of(end), OptionalInt.of(0), OptionalInt.empty(), Optional.of(EndReason.COMPLETED));
                JobId id = new JobId(UUID.randomUUID());
                Job job = new Job(id, "legacy", "legacy", spec, JobState.SUCCEEDED, "Completed",
                        Optional.of(EndReason.COMPLETED), end.minusSeconds(120), end, List.of(attempt));
                store.insert(StoredJob.of(job), new JobTransitioned(i + 1, end, id, Optional.empty(),
                        JobState.SUCCEEDED, Optional.of(EndReason.COMPLETED), "Completed"));
            }
        }
    }

    /** The engine on the small heap: prints {@code JOB <state>} and {@code HEALTH <status>}, then exits. */
    public static final class Child {
        private Child() {
        }

        public static void main(String[] args) throws Exception {
            try (SkyPort sky = SkyPort.embedded().dataDir(Path.of(args[0])).localCpus(2).start()) {
                Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\necho ok\n"));
                System.out.println("JOB " + sky.jobs().await(job.id(), Duration.ofSeconds(60)).state());
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                Health health = sky.health();
                while (health.status() != Health.Status.UP && System.nanoTime() < deadline) {
                    Thread.sleep(50); // polling, bounded by the deadline
                    health = sky.health();
                }
                System.out.println("HEALTH " + health.status() + " " + health.problems());
            }
            System.exit(0);
        }
    }
}
