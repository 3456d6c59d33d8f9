package dev.skyport.core.internal.ssh;

import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.core.internal.ChildJvm;

import java.nio.file.Path;

/**
 * An engine with the {@code fakecloud} gate in external mode, in a JVM of its own, for {@code kill -9}:
 * {@code <dataDir> <script> key=value...} starts it with those cloud gate options, submits the script once naming a
 * cloud flavor and prints {@code ACK <id>}, then idles until killed.
 */
public final class CloudChildEngine {
    private CloudChildEngine() {
    }

    public static void main(String[] args) throws Exception {
        var b = engine(Path.of(args[0]));
        ChildJvm.options(args, 2).forEach(b::cloudGateOption);
        SkyPort sky = b.start();
        Job job = sky.jobs().submit(JobSpec.builder().retryPolicy(RetryPolicy.none()).script(args[1])
                .flavor(FakeCloudGate.SMALL.name()).build());
        ChildJvm.acknowledgeAndIdle(job.id());
    }

    static dev.skyport.api.EmbeddedBuilder engine(Path data) {
        return SkyPort.embedded().dataDir(data).localCpus(2).jobIsolation(JobIsolation.NONE)
                .cloudGate(FakeCloudGate.NAME);
    }
}
