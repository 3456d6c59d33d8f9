package dev.skyport.gate.slurm;

import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.core.internal.ChildJvm;

import java.nio.file.Path;
import java.util.Map;

/**
 * An engine with the slurm batch site {@code hpc} in a JVM of its own, for {@code kill -9}: {@code <dataDir> <script>
 * key=value...} starts it with those site options, submits the script to {@code hpc} once, prints {@code ACK <id>}
 * once the submit returned, then idles until killed.
 */
public final class SlurmChildEngine {
    private SlurmChildEngine() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = ChildJvm.options(args, 2);
        SkyPort sky = SlurmSiteEndToEndTest.engine(Path.of(args[0]), options);
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.none())
                .script(args[1]).build());
        ChildJvm.acknowledgeAndIdle(job.id());
    }
}
