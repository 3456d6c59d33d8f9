package dev.skyport.gate.slurm;

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
 * An engine with the slurm batch site {@code hpc} in a JVM of its own, for {@code kill -9}: {@code <dataDir> <script>
 * key=value...} starts it with those site options, submits the script to {@code hpc} once, prints {@code ACK <id>}
 * once the submit returned, then idles until killed.
 */
public final class SlurmChildEngine {
    private SlurmChildEngine() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 2; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            options.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        SkyPort sky = SlurmSiteEndToEndTest.engine(Path.of(args[0]), options);
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.none())
                .script(args[1]).build());
        out.println("ACK " + job.id());
        new CountDownLatch(1).await();
    }
}
