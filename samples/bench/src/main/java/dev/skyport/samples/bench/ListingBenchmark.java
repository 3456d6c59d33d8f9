package dev.skyport.samples.bench;

import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.Limits;
import dev.skyport.api.SkyPort;
import dev.skyport.samples.daemon.Daemon;
import dev.skyport.samples.daemon.DaemonConfig;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Listing jobs whose scripts are large: 1,000 jobs of 1 MiB scripts, listed through the engine with and without
 * scripts, and through the daemon's {@code GET /user/job} (time to the first byte and to the last). The upstream
 * clients give up after 5 s. Prints {@code figure} lines like the other benchmarks.
 */
public final class ListingBenchmark {
    private static final int JOBS = 1000;
    private static final int SCRIPT_BYTES = 1 << 20;
    private static final int ROUNDS = 7;

    private ListingBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("skyport-listing-bench");
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        IssuedUser user = pki.issueUser("bench", false);
        Path data = dir.resolve("data");
        String script = "#!/bin/sh\n# " + "x".repeat(SCRIPT_BYTES - 64) + "\ntrue\n";
        Limits roomy = Limits.defaults().withMaxStoredBytesPerUser(4L << 30);
        try (SkyPort sky = SkyPort.embedded().dataDir(data).limits(roomy).start()) {
            SkyPort bench = sky.asUser(user.uuid().toString(), user.name());
            for (int i = 0; i < JOBS; i += 50) {
                bench.jobs().submitAll(Collections.nCopies(50, JobSpec.script(script)));
            }
            JobQuery all = JobQuery.all().withLimit(JobQuery.MAX_LIMIT);
            double full = median(() -> bench.jobs().list(all).items().size());
            double light = median(() -> bench.jobs().list(all.withoutScripts()).items().size());
            figure("engine_list_1000x1MiB_with_scripts_ms", full);
            figure("engine_list_1000x1MiB_without_scripts_ms", light);
            figure("engine_list_speedup", full / light);
        }
        try (Daemon daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1")
                .withSpool(dir.resolve("spool")).withDataDir(data))) {
            OkHttpClient client = BenchTls.client(user, pki.layout().caChain());
            Request list = new Request.Builder().url("https://localhost:" + daemon.port() + "/user/job").build();
            List<Double> first = new ArrayList<>();
            List<Double> last = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                long start = System.nanoTime();
                try (Response r = client.newCall(list).execute(); InputStream body = r.body().byteStream()) {
                    if (r.code() != 200 || body.read() < 0) {
                        throw new IllegalStateException("listing answered " + r.code());
                    }
                    first.add((System.nanoTime() - start) / 1e6);
                    body.transferTo(OutputStreamSink.INSTANCE);
                    last.add((System.nanoTime() - start) / 1e6);
                }
            }
            figure("daemon_list_1000x1MiB_first_byte_ms", median(first));
            figure("daemon_list_1000x1MiB_last_byte_ms", median(last));
        }
    }

    private interface Listing {
        int run();
    }

    private static double median(Listing listing) {
        List<Double> times = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            long start = System.nanoTime();
            if (listing.run() != JOBS) {
                throw new IllegalStateException("listed the wrong number of jobs");
            }
            times.add((System.nanoTime() - start) / 1e6);
        }
        return median(times);
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    private static void figure(String name, double value) {
        System.out.printf(Locale.ROOT, "figure %s %.1f%n", name, value);
    }

    /** Discards what it is given. */
    private static final class OutputStreamSink extends java.io.OutputStream {
        static final OutputStreamSink INSTANCE = new OutputStreamSink();

        @Override
        public void write(int b) {
        }

        @Override
        public void write(byte[] b, int off, int len) {
        }
    }
}
