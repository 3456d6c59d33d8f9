package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * An engine with the {@code loopback} cloud gate in a JVM of its own: {@code <dataDir> <nodes> key=value...} starts it
 * with those cloud gate options, submits one job of {@code nodes} nodes of flavor {@code small} and prints
 * {@code ACK <id>}, then idles (until {@code crash-mid-create} halts it, or it is killed).
 */
public final class LoopbackChildEngine {
    static final String SCRIPT = "#!/bin/sh\necho survived\n";

    private LoopbackChildEngine() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        var b = engine(Path.of(args[0]));
        for (int i = 2; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            b.cloudGateOption(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        SkyPort sky = b.start();
        Job job = sky.jobs().submit(JobSpec.builder().retryPolicy(RetryPolicy.none()).script(SCRIPT)
                .flavor("small").nodes(Integer.parseInt(args[1])).build());
        out.println("ACK " + job.id());
        new CountDownLatch(1).await();
    }

    static dev.skyport.api.EmbeddedBuilder engine(Path data) {
        return SkyPort.embedded().dataDir(data).localCpus(2).jobIsolation(JobIsolation.NONE).cloudGate("loopback")
                .partitionPolicy(dev.skyport.api.PartitionPolicy.defaults()
                        .withReadyTimeout(java.time.Duration.ofSeconds(30)));
    }
}
