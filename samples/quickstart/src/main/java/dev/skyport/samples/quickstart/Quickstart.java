package dev.skyport.samples.quickstart;

import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPort;
import dev.skyport.api.Subscription;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The README's first command: starts Sky Port in this JVM on the local gate, submits a {@code #SWM} script, prints
 * each state transition as it happens, then the job's output. Then a sweep of small jobs, submitted and waited for
 * with progress: one line redrawn in place on a terminal, plain lines otherwise (or with {@code --plain}).
 *
 * <p>Arguments: {@code [--plain] [DATA_DIR]} (the data directory defaults to {@code ~/.skyport}).
 */
public final class Quickstart {
    private static final String SCRIPT = """
            #!/bin/bash
            #SWM name hello-skyport
            #SWM cpus 1
            #SWM mem 64M
            #SWM time 00:01:00
            echo "Hello from job $SKYPORT_JOB_ID on $(hostname)"
            echo "running as $(id -un) in $(pwd)"
            for i in 1 2 3; do echo "step $i"; sleep 0.2; done
            """;
    /** Jobs in the sweep: enough for the progress to be seen, few enough to end in seconds. */
    static final int SWEEP = 40;
    /** Jobs per submitAll of the sweep: one durable write each. */
    private static final int BATCH = 10;

    private Quickstart() {
    }

    public static void main(String[] args) throws InterruptedException {
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        boolean plain = rest.remove("--plain");
        Path dataDir = !rest.isEmpty() ? Path.of(rest.get(0))
                : Path.of(System.getProperty("user.home"), ".skyport");
        run(dataDir, System.out, !plain && System.console() != null, SWEEP);
    }

    /** Everything {@link #main} does, printing to {@code out}; {@code terminal} chooses how progress is shown. */
    static void run(Path dataDir, PrintStream out, boolean terminal, int sweep) throws InterruptedException {
        try (SkyPort sky = SkyPort.embedded().dataDir(dataDir).start()) {
            try (Subscription ignored = sky.events().subscribe(event -> {
                if (event instanceof JobTransitioned t) {
                    out.printf("%s  %-9s -> %-9s %s%n", t.time(), t.from().map(Enum::name).orElse("(new)"),
                            t.to(), t.details());
                }
            })) {
                out.println("Sky Port is running with data in " + dataDir.toAbsolutePath()
                        + " on nodes " + sky.nodes());
                Job job = sky.jobs().submit(JobSpec.script(SCRIPT));
                out.println("submitted job " + job.id() + " (" + job.name() + ")");
                Job done = sky.jobs().await(job.id(), Duration.ofMinutes(2));
                out.println("job " + done.id() + " ended " + done.state() + " with exit code "
                        + done.exitCode().orElse(-1));
                out.println("---- stdout ----");
                out.print(sky.jobs().stdout(job.id()));
                out.println("----------------");
            }
            sweep(sky, out, terminal, sweep);
        }
    }

    /** A parameter sweep: one job per value of x, each printing x². */
    private static void sweep(SkyPort sky, PrintStream out, boolean terminal, int size) throws InterruptedException {
        List<JobSpec> specs = new ArrayList<>();
        for (int x = 1; x <= size; x++) {
            specs.add(JobSpec.script("#!/bin/sh\n#SWM name square-" + x + "\n#SWM cpus 1\necho $((" + x + " * "
                    + x + "))\n"));
        }
        ProgressLine submitting = new ProgressLine(out, terminal, "submitted", size);
        List<Job> jobs = new ArrayList<>();
        for (int from = 0; from < size; from += BATCH) {
            jobs.addAll(sky.jobs().submitAll(specs.subList(from, Math.min(size, from + BATCH))));
            submitting.update(jobs.size());
        }
        submitting.finish(jobs.size());
        ProgressLine waiting = new ProgressLine(out, terminal, "ended", size);
        int succeeded = 0;
        long sum = 0;
        for (int i = 0; i < jobs.size(); i++) {
            Job done = sky.jobs().await(jobs.get(i).id(), Duration.ofMinutes(2));
            if (done.state() == JobState.SUCCEEDED) {
                succeeded++;
                sum += Long.parseLong(sky.jobs().stdout(done.id()).trim());
            }
            waiting.update(i + 1);
        }
        waiting.finish(jobs.size());
        out.println("sweep: " + succeeded + " of " + size + " jobs succeeded; the squares add up to " + sum);
    }
}
