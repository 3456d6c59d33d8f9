package dev.skyport.core.internal.ssh;

import dev.skyport.api.EmbeddedBuilder;
import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * An engine over the ssh gate in a JVM of its own, for {@code kill -9}: {@code <dataDir> <script> key=value...} starts
 * it with those gate options, submits the script once and prints {@code ACK <id>}, then idles until killed.
 */
public final class SshChildEngine {
    private SshChildEngine() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 2; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            options.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        EmbeddedBuilder b = SshNodes.engine(Path.of(args[0]), options);
        SkyPort sky = b.start();
        Job job = sky.jobs().submit(JobSpec.builder().retryPolicy(RetryPolicy.none()).script(args[1]).build());
        out.println("ACK " + job.id());
        new CountDownLatch(1).await();
    }
}
