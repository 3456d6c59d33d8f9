package dev.skyport.core.internal;

import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kill -9} of an engine (a child JVM) while one thread keeps thousands of {@code submitAsync} calls in flight:
 * every job whose future had completed (the child printed its id) is in the store afterwards. Jobs still in flight
 * may or may not be there; none is required.
 */
class AsyncSubmitCrashTest {
    private static final int ACKED_BEFORE_KILL = 20_000;

    @TempDir
    Path tmp;

    @Test
    void everyCompletedFuturesJobSurvivesKill9() throws Exception {
        Path data = tmp.resolve("data");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx512m", AsyncChildEngine.class.getName(),
                data.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<JobId> acked = new ArrayList<>();
        JobId[] holder = new JobId[1];
        CountDownLatch enough = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.startsWith("HOLDER ")) {
                        holder[0] = JobId.parse(line.substring(7));
                    } else if (line.startsWith("ACK ")) {
                        synchronized (acked) {
                            acked.add(JobId.parse(line.substring(4)));
                            if (acked.size() >= ACKED_BEFORE_KILL) {
                                enough.countDown();
                            }
                        }
                    }
                }
            } catch (IOException ignored) {
                // killed
            }
        });
        reader.start();
        List<JobId> seen;
        try {
            assertThat(enough.await(120, TimeUnit.SECONDS)).as("the child acknowledged " + ACKED_BEFORE_KILL
                    + " jobs").isTrue();
        } finally {
            // While it still submits: futures are in flight at the kill.
            // Through the handle: Process.destroyForcibly also closes our end of the child's output, losing the
            // acknowledgements the reader had not read yet.
            child.toHandle().destroyForcibly();
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            reader.join(TimeUnit.SECONDS.toMillis(30));
        }
        synchronized (acked) {
            seen = List.copyOf(acked);
        }
        assertThat(holder[0]).isNotNull();
        // One thread's submissions complete in the order of the calls, so their ids rise.
        for (int i = 1; i < seen.size(); i++) {
            assertThat(seen.get(i)).isGreaterThan(seen.get(i - 1));
        }
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(1).jobIsolation(JobIsolation.NONE).start()) {
            List<JobId> lost = seen.stream().filter(id -> !stored(sky, id)).limit(5).toList();
            assertThat(lost).as("acknowledged jobs missing after kill -9 (of " + seen.size() + ")").isEmpty();
            // The holder's process outlived its engine: stop it rather than leave it on the machine.
            sky.jobs().cancel(holder[0]);
            sky.jobs().await(holder[0], Duration.ofSeconds(60));
        }
    }

    private static boolean stored(SkyPort sky, JobId id) {
        try {
            sky.jobs().get(id);
            return true;
        } catch (NoSuchJobException e) {
            return false;
        }
    }
}
