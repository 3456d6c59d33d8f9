package dev.skyport.samples.quickstart;

import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPort;
import dev.skyport.api.Subscription;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The README's first command: starts Sky Port in this JVM on the local gate, submits a {@code #SWM} script, prints
 * each state transition as it happens, then the job's output.
 *
 * <p>Argument: the data directory (default {@code ~/.skyport}).
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

    private Quickstart() {
    }

    public static void main(String[] args) throws InterruptedException {
        Path dataDir = args.length > 0 ? Path.of(args[0])
                : Path.of(System.getProperty("user.home"), ".skyport");
        try (SkyPort sky = SkyPort.embedded().dataDir(dataDir).start();
             Subscription ignored = sky.events().subscribe(event -> {
                 if (event instanceof JobTransitioned t) {
                     System.out.printf("%s  %-9s -> %-9s %s%n", t.time(), t.from().map(Enum::name).orElse("(new)"),
                             t.to(), t.details());
                 }
             })) {
            System.out.println("Sky Port is running with data in " + dataDir.toAbsolutePath()
                    + " on nodes " + sky.nodes());
            Job job = sky.jobs().submit(JobSpec.script(SCRIPT));
            System.out.println("submitted job " + job.id() + " (" + job.name() + ")");
            Job done = sky.jobs().await(job.id(), Duration.ofMinutes(2));
            System.out.println("job " + done.id() + " ended " + done.state() + " with exit code "
                    + done.exitCode().orElse(-1));
            System.out.println("---- stdout ----");
            System.out.print(sky.jobs().stdout(job.id()));
            System.out.println("----------------");
        }
    }
}
