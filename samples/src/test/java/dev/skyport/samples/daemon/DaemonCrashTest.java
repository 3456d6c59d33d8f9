package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A submission the daemon acknowledged (200 with the id) survives {@code kill -9} of the daemon: the real
 * {@code skyport daemon} runs as a child process, is killed while clients submit, and restarted over the same data.
 */
class DaemonCrashTest {
    private static final Pattern LISTENING = Pattern.compile("listening on port (\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private Process daemon;

    @AfterEach
    void kill() {
        if (daemon != null) {
            daemon.destroyForcibly();
        }
    }

    @Test
    void acknowledgedSubmissionsSurviveKill9() throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        IssuedUser alice = pki.issueUser("alice", false);
        OkHttpClient client = Mtls.client(alice, pki.layout().caChain());

        int port = start();
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
        daemon.destroyForcibly(); // SIGKILL while the submitters keep going
        assertThat(daemon.waitFor(30, TimeUnit.SECONDS)).isTrue();
        for (Thread t : submitters) {
            t.join(Duration.ofSeconds(30).toMillis());
        }
        Set<String> acked = Set.copyOf(acknowledged);

        int again = start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
        Map<String, String> states = Map.of();
        while (Instant.now().isBefore(deadline)) {
            Map<String, String> now = states(client, again);
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

    private Map<String, String> states(OkHttpClient client, int port) throws IOException {
        try (Response r = client.newCall(new Request.Builder().url("https://localhost:" + port + "/user/job").build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            Map<String, String> states = new HashMap<>();
            for (JsonNode job : JSON.readTree(r.body().string())) {
                states.put(job.get("id").asText(), job.get("state").asText());
            }
            return states;
        }
    }

    /** Starts {@code skyport daemon} in a child JVM and returns its port once it listens. */
    private int start() throws IOException {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx256m", SkyportCommand.class.getName(), "daemon")
                .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("daemon.log").toFile()));
        pb.environment().put("SKYPORT_PORT", "0");
        pb.environment().put("SKYPORT_BIND", "127.0.0.1");
        pb.environment().put("SKYPORT_SPOOL", dir.resolve("spool").toString());
        pb.environment().put("SKYPORT_DATA_DIR", dir.resolve("data").toString());
        pb.directory(dir.toFile());
        daemon = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(daemon.getInputStream(), StandardCharsets.UTF_8));
        for (String line; (line = out.readLine()) != null; ) {
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("the daemon ended before listening; see " + dir.resolve("daemon.log"));
    }
}
