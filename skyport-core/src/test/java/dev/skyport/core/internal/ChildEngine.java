package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * An engine in a separate JVM that the crash tests {@code kill -9}. It prints one line per fact the test relies on,
 * flushed at once: {@code ACK <id>} after {@code submit} returned (the job is durable), {@code RUNNING <id>} when a
 * job started.
 *
 * <ul>
 *   <li>{@code submit-loop <dataDir> <marker>}: four threads submit jobs that append their id to {@code marker},
 *       until the JVM is killed.</li>
 *   <li>{@code time-limit <dataDir>}: submits one job with a short time limit that exits 0 a second after its
 *       SIGTERM; prints {@code EVENT <id> <details>} for every transition.</li>
 *   <li>{@code run-one <dataDir>}: submits one job that prints {@code start}, waits for a file {@code release} in its
 *       job directory, prints {@code end}; then idles until killed.</li>
 *   <li>{@code submit-keyed <dataDir>}: four threads submit jobs with the idempotency keys {@code k-<thread>-<n>},
 *       printing {@code TRY <key>} before each submit and {@code KEYED <key> <id>} after it returned.</li>
 * </ul>
 */
public final class ChildEngine {
    private ChildEngine() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Path dataDir = Path.of(args[1]);
        // The submit loop's jobs append to one shared marker file, which isolated jobs cannot see; the other modes
        // run isolated, so re-attachment is proven for sandboxed runs.
        SkyPort sky = SkyPort.embedded().dataDir(dataDir).localCpus(8)
                .jobIsolation(args[0].equals("submit-loop") ? JobIsolation.NONE : JobIsolation.AUTO).start();
        sky.events().subscribe(e -> {
            if (e instanceof JobTransitioned t) {
                if (t.to() == JobState.RUNNING) {
                    out.println("RUNNING " + t.jobId());
                }
                out.println("EVENT " + t.jobId() + " " + t.details());
            }
        });
        switch (args[0]) {
            case "submit-loop" -> submitLoop(sky, Path.of(args[2]), out);
            case "submit-keyed" -> submitKeyed(sky, out);
            case "run-one" -> {
                Job job = sky.jobs().submit(JobSpec.builder().retryPolicy(RetryPolicy.none()).script(
                        // Gone with its test's directory: a run the test left must not poll for ever.
                        "#!/bin/sh\necho start\nwhile [ ! -e \"$SKYPORT_JOB_DIR/release\" ]; do\n"
                                + "[ -d \"$SKYPORT_JOB_DIR\" ] || exit 1; sleep 0.02; done\necho end\n").build());
                out.println("ACK " + job.id());
            }
            case "time-limit" -> {
                // On SIGTERM the job cleans up for a while and exits 0: only the recorded intent says why it ended.
                Job job = sky.jobs().submit(JobSpec.builder().retryPolicy(RetryPolicy.none())
                        .timeLimit(java.time.Duration.ofMillis(300))
                        .script("#!/bin/sh\ntrap 'sleep 1; exit 0' TERM\nsleep 600 &\nwait\n").build());
                out.println("ACK " + job.id());
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
        new CountDownLatch(1).await();
    }

    /** The spec {@code submit-keyed} submits under {@code key}; the crash test submits it again to compare. */
    static JobSpec keyedSpec(String key) {
        return JobSpec.builder().idempotencyKey(key).command(java.util.List.of("true")).build();
    }

    private static void submitKeyed(SkyPort sky, PrintStream out) {
        for (int t = 0; t < 4; t++) {
            int thread = t;
            new Thread(() -> {
                for (int n = 0; ; n++) {
                    String key = "k-" + thread + "-" + n;
                    synchronized (out) {
                        out.println("TRY " + key);
                    }
                    Job job = sky.jobs().submit(keyedSpec(key));
                    synchronized (out) {
                        out.println("KEYED " + key + " " + job.id());
                    }
                }
            }, "keyed-submitter-" + t).start();
        }
    }

    private static void submitLoop(SkyPort sky, Path marker, PrintStream out) {
        JobSpec spec = JobSpec.builder()
                .retryPolicy(RetryPolicy.defaults().withMaxAttempts(10))
                .script("#!/bin/sh\necho \"$SKYPORT_JOB_ID\" >> '" + marker + "'\n")
                .build();
        for (int t = 0; t < 4; t++) {
            Thread thread = new Thread(() -> {
                while (true) {
                    Job job = sky.jobs().submit(spec);
                    synchronized (out) {
                        out.println("ACK " + job.id());
                    }
                }
            }, "submitter-" + t);
            thread.start();
        }
    }
}
