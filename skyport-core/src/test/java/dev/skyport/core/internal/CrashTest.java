package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortContractTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kill -9} of a real engine process while it accepts and runs jobs: no acknowledged job is lost, and no job
 * runs or ends twice.
 */
class CrashTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    /** A child JVM running {@link ChildEngine}, with the ids it acknowledged and saw running. */
    static final class Child implements AutoCloseable {
        final Process process;
        final Set<String> acked = ConcurrentHashMap.newKeySet();
        final Set<String> running = ConcurrentHashMap.newKeySet();
        final Set<String> events = ConcurrentHashMap.newKeySet();
        /** Keys a submit was started for, and the job id each acknowledged submit returned. */
        final Set<String> tried = ConcurrentHashMap.newKeySet();
        final Map<String, String> keyed = new ConcurrentHashMap<>();
        private final Thread reader;

        Child(String... args) throws IOException {
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "-Xmx256m",
                    ChildEngine.class.getName()));
            cmd.addAll(List.of(args));
            process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        if (line.startsWith("ACK ")) {
                            acked.add(line.substring(4));
                        } else if (line.startsWith("RUNNING ")) {
                            running.add(line.substring(8));
                        } else if (line.startsWith("EVENT ")) {
                            events.add(line.substring(6));
                        } else if (line.startsWith("TRY ")) {
                            tried.add(line.substring(4));
                        } else if (line.startsWith("KEYED ")) {
                            String[] keyAndId = line.substring(6).split(" ");
                            keyed.put(keyAndId[0], keyAndId[1]);
                        }
                    }
                } catch (IOException ignored) {
                    // the child was killed
                }
            });
            reader.start();
        }

        void awaitAcked(int n) throws InterruptedException {
            awaitCondition(() -> acked.size() >= n, "child acknowledged " + n + " jobs");
        }

        void awaitRunning(String id) throws InterruptedException {
            awaitCondition(() -> running.contains(id), "job " + id + " running");
        }

        /** SIGKILL, then wait until the process and its output are gone. */
        void kill9() throws InterruptedException {
            // Through the handle: Process.destroyForcibly also closes our end of the child's output, and the lines it
            // wrote just before the kill that the reader had not read yet (a TRY before a submit) were lost with it.
            process.toHandle().destroyForcibly();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            reader.join(TimeUnit.SECONDS.toMillis(30));
        }

        @Override
        public void close() throws InterruptedException {
            if (process.isAlive()) {
                kill9();
            }
        }
    }

    static void awaitCondition(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out waiting until " + what);
            }
            TimeUnit.MILLISECONDS.sleep(5);
        }
    }

    /**
     * {@code kill -9} while submissions with idempotency keys are in flight: a submission retried after the crash
     * gets the job its first try made, whether that try was acknowledged or died between the commit and the reply,
     * and no key ends up with two jobs.
     */
    @Test
    void aKeyedSubmissionRetriedAfterKillNineGetsTheJobItsFirstTryMade() throws Exception {
        Path data = dir.resolve("data");
        Set<String> tried = new java.util.HashSet<>();
        Map<String, String> acked = new HashMap<>();
        Random random = new Random(7);
        for (int round = 0; round < 3; round++) {
            // Each child numbers its keys from 0 again: it first retries the keys of the children before it.
            try (Child child = new Child("submit-keyed", data.toString())) {
                int n = acked.size() + 20 + random.nextInt(200);
                awaitCondition(() -> child.keyed.size() >= n, "child acknowledged " + n + " keys");
                child.kill9();
                tried.addAll(child.tried);
                child.keyed.forEach((key, id) -> {
                    assertThat(acked.getOrDefault(key, id)).as("key %s after a restart", key).isEqualTo(id);
                    acked.put(key, id);
                });
            }
        }
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(8).jobIsolation(JobIsolation.NONE).start()) {
            assertThat(SkyPortContractTest.listAll(sky)).as("every acknowledged key has its job")
                    .hasSizeGreaterThanOrEqualTo(acked.size());
            for (String key : tried) {
                Job again = sky.jobs().submit(ChildEngine.keyedSpec(key));
                if (acked.containsKey(key)) {
                    assertThat(again.id().toString()).as("key %s", key).isEqualTo(acked.get(key));
                }
                assertThat(sky.jobs().submit(ChildEngine.keyedSpec(key)).id()).isEqualTo(again.id());
            }
            List<Job> all = SkyPortContractTest.listAll(sky);
            assertThat(all).extracting(j -> j.spec().idempotencyKey().orElseThrow()).doesNotHaveDuplicates()
                    .containsExactlyInAnyOrderElementsOf(tried);
        }
    }

    @Test
    void acknowledgedJobsSurviveKillNineAndEveryJobRunsAndEndsExactlyOnce() throws Exception {
        Path data = dir.resolve("data");
        Path marker = dir.resolve("marker.txt");
        Files.createFile(marker);
        Random random = new Random(42);
        Set<String> acked = new java.util.HashSet<>();
        int kills = 6;
        for (int round = 0; round < kills; round++) {
            try (Child child = new Child("submit-loop", data.toString(), marker.toString())) {
                // Kill at a different moment each round: after a random number of acknowledgements.
                child.awaitAcked(20 + random.nextInt(300));
                child.kill9();
                acked.addAll(child.acked);
            }
        }
        assertThat(acked).hasSizeGreaterThan(kills * 20);

        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(8).jobIsolation(JobIsolation.NONE).start()) {
            Map<String, Job> stored = SkyPortContractTest.listAll(sky).stream()
                    .collect(Collectors.toMap(j -> j.id().toString(), Function.identity()));
            assertThat(stored.keySet()).as("every acknowledged job is stored").containsAll(acked);
            for (String id : stored.keySet()) {
                Job done = sky.jobs().await(JobId.parse(id), WAIT);
                assertThat(done.state()).as("job %s", done).isEqualTo(JobState.SUCCEEDED);
                List<JobTransitioned> history = sky.events().history(done.id());
                assertThat(history.stream().filter(t -> t.to().isTerminal()).count())
                        .as("terminal transitions of %s", id).isEqualTo(1);
            }
            Map<String, Integer> runs = new HashMap<>();
            for (String line : Files.readAllLines(marker)) {
                runs.merge(line.trim(), 1, Integer::sum);
            }
            assertThat(runs.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList())
                    .as("jobs that ran twice").isEmpty();
            assertThat(runs.keySet()).as("every stored job ran once").isEqualTo(stored.keySet());
        }
    }
}
