package dev.skyport.core.internal.ssh;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.core.internal.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kill -9} of an engine (a child JVM) while its job's partition is being created, and while its job runs there.
 * The partition is an SSH server in this JVM, which a kill does not take down, as a cloud's VM outlives its engine; a
 * new engine on the same data directory finishes the job and deletes the partition, and nothing is left.
 */
class CloudCrashTest {
    private static final Duration WAIT = Duration.ofSeconds(90);

    @TempDir
    Path tmp;

    @AfterEach
    void reset() {
        FakeCloudGate.reset();
    }

    private static final String SCRIPT = "#!/bin/sh\necho start\ni=0\nwhile [ ! -e \"$SKYPORT_JOB_DIR/release\" ]"
            + " && [ $i -lt 3000 ]; do sleep 0.05; i=$((i+1)); done\necho end\n";

    @Test
    void anEngineKilledWhileCreatingAPartitionResumesItAfterARestart() throws Exception {
        try (Cloud cloud = new Cloud(tmp)) {
            Files.writeString(cloud.dir.resolve("hold"), "");
            Path data = tmp.resolve("data");
            JobId id = runChildUntil(data, cloud, acked -> Files.exists(cloud.dir.resolve(name(acked) + ".entered")));
            Files.delete(cloud.dir.resolve("hold"));
            try (SkyPort sky = cloud.engine(data)) {
                assertThat(sky.jobs().get(id).state()).isIn(JobState.PROVISIONING, JobState.RUNNING,
                        JobState.STAGING_IN);
                poll(() -> read(cloud.jobDir(id).resolve("stdout.log")).equals("start\n"), "the job runs");
                Files.createFile(cloud.jobDir(id).resolve("release"));
                Job done = sky.jobs().await(id, WAIT);
                assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
                assertThat(done.attempts()).hasSize(1);
                assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
                poll(() -> read(cloud.dir.resolve("deletes.log")).contains(name(id)), "the partition deleted");
                poll(() -> rows(data) == 0, "no partition row left");
            }
        }
    }

    @Test
    void anEngineKilledWhileItsJobRunsOnAPartitionFollowsItAndDeletesThePartition() throws Exception {
        try (Cloud cloud = new Cloud(tmp)) {
            Path data = tmp.resolve("data");
            JobId id = runChildUntil(data, cloud,
                    acked -> read(cloud.jobDir(acked).resolve("stdout.log")).equals("start\n"));
            assertThat(read(cloud.dir.resolve("deletes.log"))).isEmpty();
            try (SkyPort sky = cloud.engine(data)) {
                assertThat(sky.jobs().get(id).state()).isEqualTo(JobState.RUNNING);
                Files.createFile(cloud.jobDir(id).resolve("release"));
                Job done = sky.jobs().await(id, WAIT);
                assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
                assertThat(done.attempts()).hasSize(1);
                assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
                poll(() -> read(cloud.dir.resolve("deletes.log")).contains(name(id)), "the partition deleted");
                poll(() -> rows(data) == 0, "no partition row left");
            }
        }
    }

    /** The partition rows in the store file, read on a connection of its own. */
    private static int rows(Path data) {
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("skyport.db"));
             var s = c.createStatement(); var rs = s.executeQuery("SELECT count(*) FROM partitions")) {
            return rs.getInt(1);
        } catch (java.sql.SQLException e) {
            return -1;
        }
    }

    private interface Until {
        boolean reached(JobId id) throws IOException;
    }

    /** Runs the child engine until {@code until} holds for its job, then kills it with SIGKILL. */
    private static JobId runChildUntil(Path data, Cloud cloud, Until until) throws Exception {
        List<String> args = new ArrayList<>(List.of(data.toString(), SCRIPT));
        cloud.options().forEach((k, v) -> args.add(k + "=" + v));
        try (ChildJvm child = ChildJvm.start(CloudChildEngine.class, args)) {
            JobId id = JobId.parse(child.line("ACK ", WAIT));
            poll(() -> {
                try {
                    return until.reached(id);
                } catch (IOException e) {
                    return false;
                }
            }, "the child reached the phase to kill it in");
            child.kill9();
            return id;
        }
    }

    private static String name(JobId id) {
        String text = id.toString();
        return "swm-" + text.substring(text.length() - 8);
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return "";
        }
    }

    private static void poll(BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            TimeUnit.MILLISECONDS.sleep(20); // a poll's pace
        }
    }

    /** The one SSH server every partition is, with its own home, in this JVM. */
    private static final class Cloud implements AutoCloseable {
        final Path dir;
        final Path home;
        final Path key;
        final KeyPair hostKey = MinaSshServer.rsa();
        final KeyPair clientKey = MinaSshServer.rsa();
        final MinaSshServer server;

        Cloud(Path tmp) throws IOException {
            this.dir = Files.createDirectories(tmp.resolve("cloud"));
            this.home = Files.createDirectories(tmp.resolve("home"));
            this.key = dir.resolve("id_rsa");
            Files.writeString(key, MinaSshServer.pem(clientKey));
            this.server = MinaSshServer.start(0, hostKey, clientKey.getPublic(), Optional.empty(), Optional.of(home));
        }

        Map<String, String> options() {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("external-dir", dir.toString());
            o.put("external-port", Integer.toString(server.port()));
            o.put("external-key", key.toString());
            o.put("external-fingerprint", SshConnections.fingerprint(hostKey.getPublic()));
            return o;
        }

        SkyPort engine(Path data) {
            var b = CloudChildEngine.engine(data);
            options().forEach(b::cloudGateOption);
            return b.start();
        }

        Path jobDir(JobId id) {
            return home.resolve(".skyport/jobs").resolve(id.toString());
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
