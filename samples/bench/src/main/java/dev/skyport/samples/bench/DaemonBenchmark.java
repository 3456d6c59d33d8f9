package dev.skyport.samples.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.samples.daemon.Daemon;
import dev.skyport.samples.daemon.DaemonConfig;
import dev.skyport.samples.daemon.SkyportCommand;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSource;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The daemon's request path over real mTLS on loopback: submits as the upstream Python client sends them (multipart,
 * a new TLS connection for every call) and with keep-alive, then job lookups. Prints {@code figure <name> <value>
 * <unit>} lines like {@link EngineBenchmark}. The submitted jobs run on the local gate meanwhile, so the figures
 * include that load, as a real daemon would see it.
 */
public final class DaemonBenchmark {
    private static final int THREADS = 4;
    /** Seconds per figure; -Dbench.seconds=N for longer runs (steadier figures on a shared machine, longer profiles). */
    private static final long SECONDS = Long.getLong("bench.seconds", 5);
    /**
     * Warm-up per path of the separate-JVM figures. 5 s was too short on a busy 2-core machine: the daemon's JIT was
     * still compiling the request path during the measured run, and the same code measured 2,000 or 4,000 /s
     * depending only on the warm-up. A daemon runs for days, so the figures are of the warmed-up path.
     */
    private static final long WARMUP_SECONDS = Long.getLong("bench.warmup-seconds", 15);
    private static final String BOUNDARY = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    /** Concurrent clients of the separate-JVM figures, as the issue sets them. */
    private static final int CLIENTS = 16;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final boolean TLS_ONLY = Boolean.getBoolean("bench.tls-only");
    /**
     * Python processes of the new-TLS figures: one process is one core's worth of Python, and 4 keep both cores of
     * this machine busy with the daemon's share, as many upstream clients calling at once would.
     */
    private static final int PYTHON_PROCESSES = 4;
    private static final Pattern LISTENING = Pattern.compile("listening on port (\\d+)");

    private DaemonBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("skyport-daemon-bench");
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        IssuedUser user = pki.issueUser("bench", false);
        // -Dbench.separate-only=true: just the separate-JVM figures, e.g. while profiling the daemon;
        // -Dbench.tls-only=true: just the new-TLS-per-call figures with Python clients
        if (Boolean.getBoolean("bench.separate-only") || TLS_ONLY) {
            separateJvms(dir, pki, user);
            return;
        }
        try (Daemon daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1")
                .withSpool(dir.resolve("spool")).withDataDir(dir.resolve("data")))) {
            String base = "https://localhost:" + daemon.port();
            BenchTls tls = BenchTls.of(user, pki.layout().caChain());
            OkHttpClient fresh = tls.client(new ConnectionPool(0, 1, TimeUnit.SECONDS));
            OkHttpClient reused = tls.client(new ConnectionPool(THREADS, 1, TimeUnit.MINUTES));
            run("submit_new_tls", fresh, base, true);
            List<String> ids = run("submit_keepalive", reused, base, true);
            System.err.println("submitted " + ids.size() + " jobs in the keep-alive run");
            run("get_job_keepalive", reused, base + "/user/job/" + ids.get(0), false);
            run("get_job_new_tls", fresh, base + "/user/job/" + ids.get(0), false);
        }
        separateJvms(dir, pki, user);
    }

    /**
     * The daemon in a JVM of its own (as {@code skyport daemon} runs), 16 clients with keep-alive in this one:
     * JSON submits to {@code /api/v1/jobs}, multipart submits to {@code /user/job}, and the lag from a submit to its
     * job's first event on {@code /api/v1/events}. Figures without the {@code daemon_} prefix, as the issue names them.
     */
    private static void separateJvms(Path dir, ClusterPki pki, IssuedUser user) throws Exception {
        Path config = dir.resolve("skyport.yaml");
        Files.writeString(config, "port: 0\nbind: 127.0.0.1\nspool: " + dir.resolve("spool") + "\ndata-dir: "
                + dir.resolve("data-separate") + "\nmax-active-jobs: 1000000\nmax-jobs-per-user: 1000000\n"
                + "max-requests-per-user: 64\nmax-connections-per-user: 64\n");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", classPath()));
        // e.g. -Ddaemon.jvm=-XX:StartFlightRecording=filename=daemon.jfr to profile the daemon
        String extra = System.getProperty("daemon.jvm", "");
        if (!extra.isBlank()) {
            command.addAll(List.of(extra.strip().split("\\s+")));
        }
        command.addAll(List.of(SkyportCommand.class.getName(), "daemon", "--config", config.toString()));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("daemon.log").toFile()));
        // -Ddaemon.tls=jdk: the daemon on the JDK's TLS, to compare with the native provider (ServerTls)
        String tlsProvider = System.getProperty("daemon.tls", "");
        if (!tlsProvider.isBlank()) {
            builder.environment().put("SKYPORT_TLS_PROVIDER", tlsProvider);
        }
        Process daemon = builder.start();
        try {
            int port = port(daemon);
            if (TLS_ONLY) {
                pythonNewTls(daemon, port, dir, user, pki.layout().caChain());
                return;
            }
            String base = "https://localhost:" + port;
            BenchTls tls = BenchTls.of(user, pki.layout().caChain());
            OkHttpClient clients = tls.client(new ConnectionPool(CLIENTS, 1, TimeUnit.MINUTES)).newBuilder()
                    .dispatcher(dispatcher()).build();
            byte[] spec = "{\"command\":[\"true\"]}".getBytes(StandardCharsets.UTF_8);
            MediaType json = MediaType.get("application/json");
            // A fresh JVM runs interpreted at first: warm both paths up so that neither figure pays for it alone.
            for (String path : List.of("/api/v1/jobs", "/user/job")) {
                boolean rest = path.startsWith("/api");
                run("warmup", clients, CLIENTS, () -> new Request.Builder().url(base + path)
                        .post(rest ? RequestBody.create(spec, json) : multipart()).build(), rest ? 201 : 200);
            }
            cpu("rest_submits", daemon, () -> run("rest_submits", clients, CLIENTS,
                    () -> new Request.Builder().url(base + "/api/v1/jobs").post(RequestBody.create(spec, json)).build(),
                    201).size());
            cpu("user_submits", daemon, () -> run("user_submits", clients, CLIENTS,
                    () -> new Request.Builder().url(base + "/user/job").post(multipart()).build(), 200).size());
            sseLag(clients, base, spec, json);
            pythonNewTls(daemon, port, dir, user, pki.layout().caChain());
        } finally {
            daemon.destroy();
            daemon.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** A measured run that returns how many calls it made. */
    private interface Measured {
        int run() throws Exception;
    }

    /**
     * Runs {@code measured} and prints the CPU time per call of the daemon's JVM and of this one (the clients), and
     * how busy the machine's cores were: on a small machine the two JVMs share the cores, so this says who bounds.
     */
    private static void cpu(String name, Process daemon, Measured measured) throws Exception {
        long daemonBefore = cpuNanos(daemon.toHandle());
        long clientBefore = cpuNanos(ProcessHandle.current());
        System.err.println(name + " runs from " + java.time.Instant.now()); // to cut a profile to the run
        long start = System.nanoTime();
        int calls = measured.run();
        long elapsed = System.nanoTime() - start;
        long daemonCpu = cpuNanos(daemon.toHandle()) - daemonBefore;
        long clientCpu = cpuNanos(ProcessHandle.current()) - clientBefore;
        figure(name + "_daemon_cpu_us_per_call", daemonCpu / 1e3 / calls, "us");
        figure(name + "_client_cpu_us_per_call", clientCpu / 1e3 / calls, "us");
        figure(name + "_daemon_cores_busy", daemonCpu / (double) elapsed, "cores");
        figure(name + "_client_cores_busy", clientCpu / (double) elapsed, "cores of "
                + Runtime.getRuntime().availableProcessors() + " in all");
    }

    /**
     * Multipart submits as the upstream Python client makes them, a new TLS connection per call, from
     * {@link #PYTHON_PROCESSES} Python processes ({@code new_tls_client.py}): without resumption as upstream does,
     * then offering the previous session (a TLS 1.3 ticket), then again without resumption while a job holds every cpu so
     * that the submitted jobs stay queued (the daemon's own work per call, without their process starts). Prints rate, latencies, the CPU per call of the daemon and
     * of the clients, and the cores that other programs kept busy meanwhile (the machine is shared). Without python3 it says so.
     */
    private static void pythonNewTls(Process daemon, int port, Path dir, IssuedUser user, Path ca) throws Exception {
        Path script = dir.resolve("new_tls_client.py");
        try (var in = DaemonBenchmark.class.getResourceAsStream("/bench/new_tls_client.py")) {
            Files.write(script, in.readAllBytes());
        }
        List<String> command = List.of("python3", script.toString(), String.valueOf(port), user.cert().toString(),
                user.key().toString(), ca.toString());
        try {
            // The handshake path (Jetty's SslConnection, the provider's engine) is not on the keep-alive path: warm it.
            python(command, false, WARMUP_SECONDS);
        } catch (IOException e) {
            System.err.println("no new-TLS figures from Python clients: " + e.getMessage());
            return;
        }
        String holding = null;
        for (String name : List.of("submit_new_tls_python", "submit_resumed_tls_python", "submit_new_tls_python_queued")) {
            boolean resume = name.equals("submit_resumed_tls_python");
            if (name.endsWith("_queued")) {
                holding = holdEveryCpu(port, user, ca);
            }
            long daemonBefore = cpuNanos(daemon.toHandle());
            long benchBefore = cpuNanos(ProcessHandle.current());
            long machineBefore = machineCpuNanos();
            long start = System.nanoTime();
            JsonNode r = python(command, resume, SECONDS);
            long elapsed = System.nanoTime() - start;
            long daemonCpu = cpuNanos(daemon.toHandle()) - daemonBefore;
            long benchCpu = cpuNanos(ProcessHandle.current()) - benchBefore;
            long calls = r.get("calls").asLong();
            double clientCpu = r.get("client_cpu_ms_per_call").asDouble() * 1e6 * calls;
            figure(name + "_per_s", r.get("per_s").asDouble(), "1/s");
            figure(name + "_p50_ms", r.get("p50_ms").asDouble(), "ms");
            figure(name + "_p99_ms", r.get("p99_ms").asDouble(), "ms");
            figure(name + "_resumed_share", r.get("resumed").asDouble() / calls, "of the connections");
            figure(name + "_daemon_cpu_us_per_call", daemonCpu / 1e3 / calls, "us");
            figure(name + "_client_cpu_us_per_call", clientCpu / 1e3 / calls, "us");
            figure(name + "_others_cores_busy", Math.max(0, machineCpuNanos() - machineBefore - daemonCpu - benchCpu
                    - clientCpu) / (double) elapsed, "cores (other programs, the daemon's jobs among them)");
        }
        if (holding != null) {
            // A run outlives the daemon by design: the holding job would sleep on for the rest of its hour.
            cancel(port, user, ca, holding);
        }
    }

    /**
     * Submits a job that takes every cpu of the daemon's local node for an hour and waits until it runs, so that the
     * jobs submitted next stay queued: the {@code _queued} figure is the daemon's handshake and submit alone, without
     * the submitted jobs' process starts on the same two cores.
     */
    private static String holdEveryCpu(int port, IssuedUser user, Path ca) throws Exception {
        String base = "https://localhost:" + port + "/api/v1/jobs";
        OkHttpClient client = BenchTls.of(user, ca).client(new ConnectionPool(1, 1, TimeUnit.SECONDS));
        byte[] spec = ("{\"command\":[\"sleep\",\"3600\"],\"cpus\":" + Runtime.getRuntime().availableProcessors()
                + "}").getBytes(StandardCharsets.UTF_8);
        String id;
        try (Response r = client.newCall(new Request.Builder().url(base)
                .post(RequestBody.create(spec, MediaType.get("application/json"))).build()).execute()) {
            if (r.code() != 201) {
                throw new IllegalStateException("the holding job was refused: " + r.code() + " " + r.body().string());
            }
            id = JSON.readTree(r.body().bytes()).get("id").asText();
        }
        // It starts once the jobs of the figures before have run: thousands, at the local node's pace.
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (true) {
            try (Response r = client.newCall(new Request.Builder().url(base + "/" + id).build()).execute()) {
                if ("RUNNING".equals(JSON.readTree(r.body().bytes()).get("state").asText())) {
                    break;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the holding job " + id + " did not start within 5 minutes");
            }
            Thread.sleep(50); // polling for the job's start, bounded by the deadline
        }
        System.err.println("job " + id + " holds every cpu: the next submissions stay queued");
        return id;
    }

    /** Cancels job {@code id} ({@code DELETE /user/job/{id}}). */
    private static void cancel(int port, IssuedUser user, Path ca, String id) throws Exception {
        OkHttpClient client = BenchTls.of(user, ca).client(new ConnectionPool(1, 1, TimeUnit.SECONDS));
        try (Response r = client.newCall(new Request.Builder().url("https://localhost:" + port + "/user/job/" + id)
                .delete().build()).execute()) {
            if (r.code() != 200) {
                System.err.println("the holding job " + id + " was not canceled: " + r.code() + " " + r.body().string());
            }
        }
    }

    /** Runs {@code new_tls_client.py} for {@code seconds}; its JSON summary. */
    private static JsonNode python(List<String> command, boolean resume, long seconds) throws Exception {
        List<String> full = new ArrayList<>(command);
        full.addAll(List.of(resume ? "1" : "0", String.valueOf(PYTHON_PROCESSES), String.valueOf(seconds),
                "TLSv1_3"));
        Process python = new ProcessBuilder(full).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!python.waitFor(seconds + 60, TimeUnit.SECONDS) || python.exitValue() != 0) {
            python.destroyForcibly();
            throw new IllegalStateException("the Python clients failed: " + out);
        }
        return JSON.readTree(out);
    }

    /** CPU time of every program on this machine (/proc/stat: user, nice, system, irq, softirq, steal). */
    private static long machineCpuNanos() throws IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long ticks = 0;
        for (int i : new int[]{1, 2, 3, 6, 7, 8}) {
            ticks += Long.parseLong(f[i]);
        }
        return ticks * 10_000_000L; // USER_HZ is 100 on Linux
    }

    private static long cpuNanos(ProcessHandle process) {
        return process.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    /** Submits one job at a time and times each until its QUEUED event arrives on the event stream. */
    private static void sseLag(OkHttpClient client, String base, byte[] spec, MediaType json) throws Exception {
        Map<String, Long> received = new ConcurrentHashMap<>();
        OkHttpClient streaming = client.newBuilder().readTimeout(Duration.ZERO).build();
        Response stream = streaming.newCall(new Request.Builder().url(base + "/api/v1/events").build()).execute();
        BufferedSource source = stream.body().source();
        source.readUtf8Line(); // the first keepalive: the subscription is in place
        Thread reader = new Thread(() -> {
            try {
                for (String line; (line = source.readUtf8Line()) != null; ) {
                    if (line.startsWith("data: ") && line.contains("\"to\":\"QUEUED\"")) {
                        long now = System.nanoTime();
                        JsonNode event = JSON.readTree(line.substring(6));
                        received.putIfAbsent(event.get("jobId").asText(), now);
                    }
                }
            } catch (IOException | IllegalStateException e) {
                // the stream was closed: the measurement is over
            }
        }, "sse-reader");
        reader.start();
        Map<String, Long> submitted = new HashMap<>();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
        while (System.nanoTime() < end) {
            long start = System.nanoTime();
            try (Response r = client.newCall(new Request.Builder().url(base + "/api/v1/jobs")
                    .post(RequestBody.create(spec, json)).build()).execute()) {
                submitted.put(JSON.readTree(r.body().bytes()).get("id").asText(), start);
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!received.keySet().containsAll(submitted.keySet()) && System.nanoTime() < deadline) {
            Thread.sleep(10); // polling for the last events, bounded by the deadline
        }
        stream.close();
        List<Double> lags = new ArrayList<>();
        submitted.forEach((id, start) -> lags.add((received.getOrDefault(id, Long.MAX_VALUE) - start) / 1e6));
        Collections.sort(lags);
        System.err.println("timed " + lags.size() + " submits on the event stream");
        figure("sse_event_lag_ms_p50", lags.get(lags.size() / 2), "ms");
        figure("sse_event_lag_ms_p99", lags.get((int) (lags.size() * 0.99)), "ms");
    }

    /** This program's class path: under {@code mvn exec:java} it is a class loader's, not the JVM's. */
    private static String classPath() {
        if (DaemonBenchmark.class.getClassLoader() instanceof URLClassLoader loader) {
            List<String> entries = new ArrayList<>();
            for (URL url : loader.getURLs()) {
                try {
                    entries.add(Path.of(url.toURI()).toString());
                } catch (URISyntaxException e) {
                    throw new IllegalStateException(e);
                }
            }
            return String.join(File.pathSeparator, entries);
        }
        return System.getProperty("java.class.path");
    }

    private static Dispatcher dispatcher() {
        Dispatcher d = new Dispatcher();
        d.setMaxRequests(CLIENTS);
        d.setMaxRequestsPerHost(CLIENTS);
        return d;
    }

    /** The port the child daemon prints once it listens. */
    private static int port(Process daemon) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(daemon.getInputStream(),
                StandardCharsets.UTF_8));
        for (String line; (line = out.readLine()) != null; ) {
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
        }
        throw new IllegalStateException("the daemon ended before listening");
    }

    /** Calls for {@link #SECONDS} from {@link #THREADS} threads; prints rate and latency percentiles. */
    private static List<String> run(String name, OkHttpClient client, String url, boolean submit) throws Exception {
        return run(name, client, THREADS, () -> submit
                ? new Request.Builder().url(url + "/user/job").post(multipart()).build()
                : new Request.Builder().url(url).build(), 200);
    }

    /**
     * Calls for {@link #SECONDS} from {@code threads} threads, each call expecting {@code expected}; prints rate and
     * latency percentiles and returns the bodies.
     */
    private static List<String> run(String name, OkHttpClient client, int threads, Supplier<Request> call,
                                    int expected) throws Exception {
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        List<String> bodies = Collections.synchronizedList(new ArrayList<>());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(name.equals("warmup") ? WARMUP_SECONDS : SECONDS);
        List<Thread> running = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread thread = new Thread(() -> {
                while (System.nanoTime() < end) {
                    Request request = call.get();
                    long start = System.nanoTime();
                    try (Response r = client.newCall(request).execute()) {
                        String body = r.body().string();
                        if (r.code() != expected) {
                            throw new IllegalStateException(r.code() + " " + body);
                        }
                        latencies.add(System.nanoTime() - start);
                        bodies.add(body);
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }, name + "-" + t);
            thread.start();
            running.add(thread);
        }
        for (Thread thread : running) {
            thread.join();
        }
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        figure(name + "_per_s", sorted.size() / (double) SECONDS, "1/s");
        figure(name + "_p50_ms", sorted.get(sorted.size() / 2) / 1e6, "ms");
        figure(name + "_p99_ms", sorted.get((int) (sorted.size() * 0.99)) / 1e6, "ms");
        return bodies;
    }

    private static RequestBody multipart() {
        String body = "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"script_content\"\r\n\r\n"
                + "#!/bin/sh\ntrue\n\r\n--" + BOUNDARY + "--\r\n";
        return RequestBody.create(body, MediaType.get("multipart/form-data; boundary=" + BOUNDARY));
    }

    private static void figure(String name, double value, String unit) {
        if (name.startsWith("warmup")) {
            return;
        }
        boolean separate = name.startsWith("rest_") || name.startsWith("user_") || name.startsWith("sse_");
        System.out.printf(Locale.ROOT, "figure %s%s %.1f %s%n", separate ? "" : "daemon_", name, value, unit);
    }
}
