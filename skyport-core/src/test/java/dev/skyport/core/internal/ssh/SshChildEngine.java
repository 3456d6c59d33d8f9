package dev.skyport.core.internal.ssh;

import dev.skyport.api.EmbeddedBuilder;
import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.core.internal.ChildJvm;

import java.nio.file.Path;
import java.util.Map;

/**
 * An engine over the ssh gate in a JVM of its own, for {@code kill -9}: {@code <dataDir> <script> key=value...} starts
 * it with those gate options, submits the script once and prints {@code ACK <id>}, then idles until killed.
 */
public final class SshChildEngine {
    private SshChildEngine() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = ChildJvm.options(args, 2);
        EmbeddedBuilder b = SshNodes.engine(Path.of(args[0]), options);
        SkyPort sky = b.start();
        Job job = sky.jobs().submit(JobSpec.builder().retryPolicy(RetryPolicy.none()).script(args[1]).build());
        ChildJvm.acknowledgeAndIdle(job.id());
    }
}
