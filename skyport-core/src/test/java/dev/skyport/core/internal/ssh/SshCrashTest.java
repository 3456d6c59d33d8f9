package dev.skyport.core.internal.ssh;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

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
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "-Xmx256m", SshChildEngine.class.getName(),
                    data.toString(), "#!/bin/sh\necho start\ni=0\nwhile [ ! -e \"$SKYPORT_JOB_DIR/release\" ]"
                            + " && [ $i -lt 3000 ]; do sleep 0.05; i=$((i+1)); done\necho end\n"));
            options.forEach((k, v) -> cmd.add(k + "=" + v));
            Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            AtomicReference<String> acked = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(
                        new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        if (line.startsWith("ACK ")) {
                            acked.set(line.substring(4));
                        }
                    }
                } catch (IOException ignored) {
                    // killed
                }
            });
            reader.start();
            JobId id;
            try {
                await(() -> acked.get() != null, "the child acknowledged its job");
                id = JobId.parse(acked.get());
                Path stdout = hosts.remoteRoot.resolve(id.toString()).resolve("stdout.log");
                await(() -> read(stdout).equals("start\n"), "the job runs on the ssh node");
            } finally {
                child.destroyForcibly();
                assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
                reader.join(TimeUnit.SECONDS.toMillis(30));
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
