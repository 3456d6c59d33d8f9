package dev.skyport.samples.daemon;

import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A submission the daemon acknowledged (200 with the id) survives {@code kill -9} of the daemon: the real
 * {@code skyport daemon} runs as a child process, is killed while clients submit, and restarted over the same data.
 */
class DaemonCrashTest {
    @TempDir
    Path dir;
    private DaemonProcess daemon;

    @AfterEach
    void kill() throws InterruptedException {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void acknowledgedSubmissionsSurviveKill9() throws Exception {

        daemon = new DaemonProcess(dir);
        OkHttpClient client = daemon.client("alice");
        int port = daemon.start();
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        CountDownLatch enough = new CountDownLatch(40);
        List<Thread> submitters = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int thread = t;
            Thread submitter = new Thread(() -> {
                for (int i = 0; ; i++) {
                    String script = "#!/bin/sh\necho submitter " + thread + " job " + i + "\n";
                    Request submit = new Request.Builder().url("https://localhost:" + port + "/user/job")
                            .post(RequestBody.create(script, MediaType.get("text/plain"))).build();
                    try (Response r = client.newCall(submit).execute()) {
                        if (r.code() == 200) {
                            acknowledged.add(r.body().string());
                            enough.countDown();
                        }
                    } catch (IOException e) {
                        return; // the daemon is gone
                    }
                }
            }, "submitter-" + t);
            submitter.start();
            submitters.add(submitter);
        }
        assertThat(enough.await(60, TimeUnit.SECONDS)).as("40 acknowledged submissions").isTrue();
        daemon.kill9(); // while the submitters keep going
        for (Thread t : submitters) {
            t.join(Duration.ofSeconds(30).toMillis());
        }
        Set<String> acked = Set.copyOf(acknowledged);

        daemon.start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
        Map<String, String> states = Map.of();
        while (Instant.now().isBefore(deadline)) {
            Map<String, String> now = daemon.states(client);
            states = now;
            if (now.keySet().containsAll(acked) && acked.stream().allMatch(id -> now.get(id).equals("F"))) {
                break;
            }
            Thread.sleep(100); // polling interval, bounded by the deadline
        }
        assertThat(states.keySet()).containsAll(acked);
        Map<String, String> finalStates = states;
        assertThat(acked).allSatisfy(id -> assertThat(finalStates.get(id)).as(id).isEqualTo("F"));
    }
}
