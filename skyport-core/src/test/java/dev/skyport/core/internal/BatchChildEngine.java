package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.gate.loopback.LoopbackBatchGate;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * An engine with batch site {@code hpc} (a {@code loopback-batch} gate over the queue directory {@code <queue>}) in a
 * separate JVM that the batch crash tests {@code kill -9} (or that halts itself inside the gate's submit, {@link
 * LoopbackBatchGate#haltAfterSubmit}). {@code <dataDir> <queue>}: submits {@link #waitingJob()}, prints {@code ACK <id>}
 * once the submit returned and {@code RUNNING <id>} once the site runs it, then idles until killed.
 */
public final class BatchChildEngine {
    private BatchChildEngine() {
    }

    /** A job that prints {@code start}, waits for a file {@code release} in its directory, prints {@code end}. */
    static JobSpec waitingJob() {
        return waitingJob("hpc");
    }

    static JobSpec waitingJob(String site) {
        return JobSpec.builder().remoteSite(site).retryPolicy(RetryPolicy.none()).script(
                "#!/bin/sh\necho start\nwhile [ ! -e \"$SKYPORT_JOB_DIR/release\" ]; do\n"
                        + "[ -d \"$SKYPORT_JOB_DIR\" ] || exit 1; sleep 0.02; done\necho end\n").build();
    }

    static SkyPort engine(Path dataDir, Path queue) {
        return engine(dataDir, queue, Map.of());
    }

    /** An engine whose site {@code hpc} has the options {@code extra} on top of its queue and a 100 ms poll. */
    static SkyPort engine(Path dataDir, Path queue, Map<String, String> extra) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("queue-dir", queue.toString());
        options.put("poll-interval", "100ms");
        options.putAll(extra);
        return SkyPort.embedded().dataDir(dataDir).localCpus(1).batchSite("hpc", LoopbackBatchGate.NAME, options)
                .start();
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        SkyPort sky = engine(Path.of(args[0]), Path.of(args[1]));
        sky.events().subscribe(e -> {
            if (e instanceof JobTransitioned t && t.to() == JobState.RUNNING) {
                out.println("RUNNING " + t.jobId());
            }
        });
        Job job = sky.jobs().submit(waitingJob());
        out.println("ACK " + job.id());
        new CountDownLatch(1).await();
    }
}
