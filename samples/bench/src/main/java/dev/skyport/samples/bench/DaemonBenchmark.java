package dev.skyport.samples.bench;

import dev.skyport.samples.daemon.Daemon;
import dev.skyport.samples.daemon.DaemonConfig;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import okhttp3.ConnectionPool;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The daemon's request path over real mTLS on loopback: submits as the upstream Python client sends them (multipart,
 * a new TLS connection for every call) and with keep-alive, then job lookups. Prints {@code figure <name> <value>
 * <unit>} lines like {@link EngineBenchmark}. The submitted jobs run on the local gate meanwhile, so the figures
 * include that load, as a real daemon would see it.
 */
public final class DaemonBenchmark {
    private static final int THREADS = 4;
    private static final long SECONDS = 5;
    private static final String BOUNDARY = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

    private DaemonBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("skyport-daemon-bench");
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        IssuedUser user = pki.issueUser("bench", false);
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
    }

    /** Calls for {@link #SECONDS} from {@link #THREADS} threads; prints rate and latency percentiles. */
    private static List<String> run(String name, OkHttpClient client, String url, boolean submit) throws Exception {
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        List<String> ids = Collections.synchronizedList(new ArrayList<>());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            Thread thread = new Thread(() -> {
                while (System.nanoTime() < end) {
                    Request request = submit
                            ? new Request.Builder().url(url + "/user/job").post(multipart()).build()
                            : new Request.Builder().url(url).build();
                    long start = System.nanoTime();
                    try (Response r = client.newCall(request).execute()) {
                        String body = r.body().string();
                        if (r.code() != 200) {
                            throw new IllegalStateException(r.code() + " " + body);
                        }
                        latencies.add(System.nanoTime() - start);
                        if (submit) {
                            ids.add(body);
                        }
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }, name + "-" + t);
            thread.start();
            threads.add(thread);
        }
        for (Thread thread : threads) {
            thread.join();
        }
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        figure(name + "_per_s", sorted.size() / (double) SECONDS, "1/s");
        figure(name + "_p50_ms", sorted.get(sorted.size() / 2) / 1e6, "ms");
        figure(name + "_p99_ms", sorted.get((int) (sorted.size() * 0.99)) / 1e6, "ms");
        return ids;
    }

    private static RequestBody multipart() {
        String body = "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"script_content\"\r\n\r\n"
                + "#!/bin/sh\ntrue\n\r\n--" + BOUNDARY + "--\r\n";
        return RequestBody.create(body, MediaType.get("multipart/form-data; boundary=" + BOUNDARY));
    }

    private static void figure(String name, double value, String unit) {
        System.out.printf(Locale.ROOT, "figure daemon_%s %.1f %s%n", name, value, unit);
    }
}
