package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An {@code Idempotency-Key} holds across {@code kill -9} of the real daemon (a child JVM): a submit retried with
 * its key after the daemon died and came back returns the job the first try made, whether or not that try's reply
 * got out before the kill; there is one job per key.
 */
class ApiV1IdempotencyCrashTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MediaType TEXT = MediaType.get("text/plain");

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
    void aKeyedSubmitRetriedAfterKill9ReturnsTheFirstJobAndMakesNoSecond() throws Exception {
        daemon = new DaemonProcess(dir);
        OkHttpClient client = daemon.client("alice");
        int port = daemon.start();

        // The plain case: acknowledged, killed, retried.
        String soloId;
        try (Response first = submit(client, port, "solo")) {
            assertThat(first.code()).isEqualTo(201);
            soloId = JSON.readTree(first.body().string()).get("id").asText();
        }

        // Submitters that keep going while the daemon is killed: some tries are committed but never answered.
        Map<String, String> acknowledged = new ConcurrentHashMap<>();
        Set<String> unanswered = ConcurrentHashMap.newKeySet();
        CountDownLatch enough = new CountDownLatch(20);
        List<Thread> submitters = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int thread = t;
            Thread submitter = new Thread(() -> {
                for (int i = 0; ; i++) {
                    String key = "t" + thread + "-" + i;
                    try (Response r = submit(client, port, key)) {
                        if (r.code() == 201) {
                            acknowledged.put(key, JSON.readTree(r.body().string()).get("id").asText());
                            enough.countDown();
                        }
                    } catch (IOException e) {
                        unanswered.add(key); // the daemon is gone: committed or not, nobody knows
                        return;
                    }
                }
            }, "keyed-submitter-" + t);
            submitter.start();
            submitters.add(submitter);
        }
        assertThat(enough.await(60, TimeUnit.SECONDS)).as("20 acknowledged submissions").isTrue();
        daemon.kill9();
        for (Thread t : submitters) {
            t.join(Duration.ofSeconds(30).toMillis());
        }

        int restarted = daemon.start();
        try (Response again = submit(client, restarted, "solo")) {
            assertThat(again.code()).isEqualTo(200);
            assertThat(again.header("Idempotent-Replayed")).isEqualTo("true");
            assertThat(JSON.readTree(again.body().string()).get("id").asText()).isEqualTo(soloId);
        }
        for (Map.Entry<String, String> acked : Map.copyOf(acknowledged).entrySet()) {
            try (Response again = submit(client, restarted, acked.getKey())) {
                assertThat(again.code()).as(acked.getKey()).isEqualTo(200);
                assertThat(JSON.readTree(again.body().string()).get("id").asText()).isEqualTo(acked.getValue());
            }
        }
        for (String key : unanswered) {
            try (Response retried = submit(client, restarted, key)) {
                assertThat(retried.code()).as(key).isIn(200, 201);
            }
        }
        Map<String, Integer> jobsPerKey = new HashMap<>();
        try (Response list = client.newCall(new Request.Builder()
                .url("https://localhost:" + restarted + "/api/v1/jobs?limit=1000&scripts=false").build()).execute()) {
            JsonNode page = JSON.readTree(list.body().string());
            assertThat(page.has("nextCursor")).isFalse();
            for (JsonNode job : page.get("items")) {
                jobsPerKey.merge(job.get("spec").get("idempotencyKey").asText(), 1, Integer::sum);
            }
        }
        assertThat(jobsPerKey.values()).as("one job per key").containsOnly(1);
        assertThat(jobsPerKey.keySet()).containsAll(acknowledged.keySet()).containsAll(unanswered).contains("solo");
    }

    private static Response submit(OkHttpClient client, int port, String key) throws IOException {
        return client.newCall(new Request.Builder().url("https://localhost:" + port + "/api/v1/jobs")
                .header(ApiV1.IDEMPOTENCY_KEY, key)
                .post(RequestBody.create("#!/bin/sh\necho " + key + "\n", TEXT)).build()).execute();
    }
}
