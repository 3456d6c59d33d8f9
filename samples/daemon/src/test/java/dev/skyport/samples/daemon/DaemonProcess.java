package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real {@code skyport daemon} in a child JVM over one spool ({@code <dir>/spool}) and data directory
 * ({@code <dir>/data}), with its log in {@code <dir>/daemon.log}: started, killed with SIGKILL and started again over
 * the same data. Not thread-safe: one test thread starts and kills it; {@link #port()} may be read from any thread.
 */
final class DaemonProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on port (\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A child JVM on a loaded 2-core machine starts in a few seconds; this is only the bound of a broken start. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Path dir;
    private ClusterPki pki;
    private Process process;
    private volatile int port;

    DaemonProcess(Path dir) {
        this.dir = dir;
    }

    Path dataDir() {
        return dir.resolve("data");
    }

    Path log() {
        return dir.resolve("daemon.log");
    }

    /**
     * An mTLS client with the certificate of a new registered user {@code name}, issued by the spool's CA (created
     * by the first call, before the first {@link #start}: the daemon reads its server certificate from the spool).
     */
    OkHttpClient client(String name) {
        if (pki == null) {
            pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        }
        IssuedUser user = pki.issueUser(name, false);
        return Mtls.client(user, pki.layout().caChain());
    }

    /** Starts the daemon and returns its port once it listens; a start that hangs or fails is an AssertionError. */
    int start() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("the daemon is already running");
        }
        // C1 only and the serial collector: a start on a loaded 2-core machine takes 1.5 to 4 s instead of 4 to 6 s,
        // which matters to a test that starts the daemon six times.
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", SkyportCommand.class.getName(), "daemon")
                .redirectError(ProcessBuilder.Redirect.appendTo(log().toFile()));
        pb.environment().put("SKYPORT_PORT", "0");
        pb.environment().put("SKYPORT_BIND", "127.0.0.1");
        pb.environment().put("SKYPORT_SPOOL", dir.resolve("spool").toString());
        pb.environment().put("SKYPORT_DATA_DIR", dataDir().toString());
        pb.directory(dir.toFile());
        Process started = pb.start();
        process = started;
        // Read on another thread so that a daemon that neither listens nor ends cannot hang the test.
        CompletableFuture<Optional<Integer>> listening = CompletableFuture.supplyAsync(() -> awaitPort(started));
        try {
            Optional<Integer> found = listening.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            port = found.orElseThrow(() -> new AssertionError("the daemon ended before listening; see " + log()));
            return port;
        } catch (TimeoutException e) {
            started.destroyForcibly(); // also ends the reader: its stream closes
            throw new AssertionError("the daemon did not listen within " + START_TIMEOUT + "; see " + log());
        } catch (ExecutionException e) {
            throw new IOException("reading the daemon's output", e.getCause());
        }
    }

    private static Optional<Integer> awaitPort(Process started) {
        BufferedReader out = new BufferedReader(new InputStreamReader(started.getInputStream(),
                StandardCharsets.UTF_8));
        try {
            for (String line; (line = out.readLine()) != null; ) {
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    return Optional.of(Integer.parseInt(m.group(1)));
                }
            }
        } catch (IOException e) {
            // the process was killed while starting: same as ending before listening
        }
        return Optional.empty();
    }

    /** The port of the latest start. */
    int port() {
        return port;
    }

    /** {@code kill -9}, then waits until the process is gone. */
    void kill9() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("the daemon survived SIGKILL for 30 s");
        }
    }

    /** Every job the client may see, by id, with its upstream state letter. */
    Map<String, String> states(OkHttpClient client) throws IOException {
        Request list = new Request.Builder().url("https://localhost:" + port + "/user/job").build();
        try (Response r = client.newCall(list).execute()) {
            String body = r.body().string();
            if (r.code() != 200) {
                throw new AssertionError("GET /user/job answered " + r.code() + ": " + body);
            }
            Map<String, String> states = new HashMap<>();
            for (JsonNode job : JSON.readTree(body)) {
                states.put(job.get("id").asText(), job.get("state").asText());
            }
            return states;
        }
    }

    /** Kills the daemon, if it runs, and waits a bounded time for it to be gone, so its files can be deleted. */
    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
