package dev.skyport.consumer;

import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Starts the embedded engine, runs one {@code #SWM} job and prints one line verify.groovy checks: the mode, the job's
 * state and output, and which module the API and the engine were loaded from (unnamed on the class path).
 */
public final class RunOneJob {
    private RunOneJob() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        Path dataDir = Files.createDirectories(Path.of(args[1]));
        try (SkyPort sky = SkyPort.embedded().dataDir(dataDir).start()) {
            Job job = sky.jobs().submit(JobSpec.script(
                    "#!/bin/bash\n#SWM name consumer\necho hello from the " + mode + "\n"));
            Job done = sky.jobs().await(job.id(), Duration.ofMinutes(1));
            String engineModule = ModuleLayer.boot().findModule("dev.skyport.core").map(Module::getName)
                    .orElse("unnamed");
            System.out.println("consumer " + mode + ": state=" + done.state()
                    + " stdout=" + sky.jobs().stdout(job.id()).strip()
                    + " api-module=" + name(SkyPort.class.getModule()) + " core-module=" + engineModule);
            if (done.state() != JobState.SUCCEEDED) {
                System.exit(1);
            }
        }
    }

    private static String name(Module module) {
        return module.isNamed() ? module.getName() : "unnamed";
    }
}
