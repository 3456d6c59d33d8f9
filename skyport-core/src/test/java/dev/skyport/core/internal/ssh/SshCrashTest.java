package dev.skyport.core.internal.ssh;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.core.internal.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.skyport.core.internal.ssh.SshNodes.WAIT;
import static dev.skyport.core.internal.ssh.SshNodes.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kill -9} of an engine (a child JVM) while its job sleeps on an ssh node, whose MINA server stays up in this
 * JVM; a new engine on the same data directory follows the remote run to its end.
 */
class SshCrashTest {
    @TempDir
    Path tmp;

    @Test
    void anEngineKilledDuringARemoteJobFollowsItAfterARestart() throws Exception {
        try (SshNodes hosts = new SshNodes(Files.createDirectories(tmp.resolve("hosts"))).node("n1")) {
            Path data = tmp.resolve("data");
            Map<String, String> options = hosts.options();
            List<String> args = new ArrayList<>(List.of(data.toString(), "#!/bin/sh\necho start\ni=0\n"
                    + "while [ ! -e \"$SKYPORT_JOB_DIR/release\" ] && [ $i -lt 3000 ]; do sleep 0.05; i=$((i+1)); done\n"
                    + "echo end\n"));
            options.forEach((k, v) -> args.add(k + "=" + v));
            JobId id;
            try (ChildJvm child = ChildJvm.start(SshChildEngine.class, args)) {
                id = JobId.parse(child.line("ACK ", WAIT));
                Path stdout = hosts.remoteRoot.resolve(id.toString()).resolve("stdout.log");
                await(() -> read(stdout).equals("start\n"), "the job runs on the ssh node");
                child.kill9();
            }
            try (SkyPort sky = SshNodes.engine(data, options).start()) {
                assertThat(sky.jobs().get(id).state()).isEqualTo(JobState.RUNNING);
                Files.createFile(hosts.remoteRoot.resolve(id.toString()).resolve("release"));
                Job done = sky.jobs().await(id, WAIT);
                assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
                assertThat(done.attempts()).hasSize(1);
                assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
            }
        }
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return "";
        }
    }
}
