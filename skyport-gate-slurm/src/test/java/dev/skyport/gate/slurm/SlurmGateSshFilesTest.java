package dev.skyport.gate.slurm;

import dev.skyport.api.JobId;
import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.gate.BatchJob;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.BatchRequest;
import dev.skyport.gate.BatchStatus;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.loopback.LoopbackNodeServer;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.server.SshServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code files=ssh}: job directories reached through a login node (MINA SSHD on loopback over the cluster's work root)
 * with the SSH transport, jobs run by the real Slurm.
 */
class SlurmGateSshFilesTest {
    private static SlurmCluster cluster;
    private static SshServer login;
    private static KeyPair hostKey;
    private static Path clientKeyFile;

    @TempDir
    Path workDir;

    @BeforeAll
    static void start(@TempDir Path keys) throws Exception {
        cluster = SlurmCluster.start();
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        hostKey = g.generateKeyPair();
        KeyPair client = g.generateKeyPair();
        clientKeyFile = keys.resolve("id_rsa");
        Files.writeString(clientKeyFile, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(client.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n");
        Files.setPosixFilePermissions(clientKeyFile, PosixFilePermissions.fromString("rw-------"));
        login = LoopbackNodeServer.configure("127.0.0.1", 0, List.of(hostKey),
                key -> KeyUtils.compareKeys(key, client.getPublic()), cluster.workRoot());
        login.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (login != null) {
            login.stop(true);
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private Map<String, String> options() {
        Map<String, String> o = cluster.restGateOptions();
        o.put("files", "ssh");
        o.put("ssh-host", "127.0.0.1");
        o.put("ssh-port", Integer.toString(login.getPort()));
        o.put("ssh-key", clientKeyFile.toString());
        o.put("host-key-fingerprints", SshConnections.fingerprint(hostKey.getPublic()));
        return o;
    }

    @Test
    void aJobsFilesGoThroughTheLoginNode() throws Exception {
        try (Gate gate = new SlurmGateProvider().create(new GateConfig(workDir, options(), Clock.systemUTC()))) {
            BatchQueue queue = gate.batchQueue().orElseThrow();
            JobId id = new JobId(UUID.randomUUID());
            String dir = queue.files().directoryOf(id, workDir.resolve("engine"));
            assertThat(dir).isEqualTo(cluster.workRoot() + "/" + id);
            // The login user here (the test's MINA server) is not the Slurm user: the site's job directory is shared.
            Files.createDirectories(Path.of(dir));
            Files.setPosixFilePermissions(Path.of(dir), PosixFilePermissions.fromString("rwxrwxrwx"));
            Path input = workDir.resolve("input.txt");
            Files.writeString(input, "data through ssh\n");
            queue.files().upload(input, dir + "/input.txt");
            BatchRequest r = new BatchRequest(id, 1, "ssh", dir, "#!/bin/sh\ncat input.txt\n", dir, Map.of(), "alice",
                    1, 1, 0, 0, Optional.of(Duration.ofMinutes(5)), Optional.empty(), Optional.empty());

            BatchJob job = queue.submit(r);
            Instant deadline = Instant.now().plusSeconds(60);
            BatchStatus s = queue.status(List.of(job)).get(job);
            while (!s.state().isTerminal()) {
                assertThat(Instant.now()).as("job ends").isBefore(deadline);
                Thread.sleep(100);
                s = queue.status(List.of(job)).get(job);
            }

            assertThat(s.state()).isEqualTo(BatchStatus.State.COMPLETED);
            Path out = workDir.resolve("stdout.log");
            queue.files().download(dir + "/stdout.log", out);
            assertThat(Files.readString(out)).isEqualTo("data through ssh\n");
        }
    }

    @Test
    void aLoginNodeWithAnotherHostKeyIsRefused() throws Exception {
        Map<String, String> o = options();
        o.put("host-key-fingerprints", "SHA256:" + "A".repeat(43));
        try (Gate gate = new SlurmGateProvider().create(new GateConfig(workDir, o, Clock.systemUTC()))) {
            Path input = workDir.resolve("x.txt");
            Files.writeString(input, "x\n");
            assertThatThrownBy(() -> gate.batchQueue().orElseThrow().files().upload(input,
                    cluster.workRoot() + "/x.txt")).isInstanceOf(GateException.class);
        }
        assertThat(cluster.workRoot().resolve("x.txt")).doesNotExist();
    }
}
