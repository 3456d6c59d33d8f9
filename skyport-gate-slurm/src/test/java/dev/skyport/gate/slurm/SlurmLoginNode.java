package dev.skyport.gate.slurm;

import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.core.internal.ssh.SshTarget;
import dev.skyport.gate.loopback.LoopbackNodeServer;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.shell.ProcessShellFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A cluster's login node for the SSH backend's tests: Apache MINA SSHD on loopback with its own host key (pinned by
 * the client), accepting one client key, running exec requests through {@code /bin/sh -c} on this machine with the
 * cluster's {@code SLURM_CONF} in their environment (as a login node's slurm.conf would be found), and SFTP. The test
 * JVM itself has no {@code SLURM_CONF}: a command that reaches the cluster went through this server.
 */
final class SlurmLoginNode implements AutoCloseable {
    /*
     * The command runs in a second shell so that it is parsed exactly as `sh -c` parses it on a real login node, with
     * the cluster's configuration and home directory as positional parameters, never spliced into the text.
     */
    private static final String LOGIN = "SLURM_CONF=\"$1\" && export SLURM_CONF && cd -- \"$2\" && HOME=\"$2\""
            + " && export HOME && exec /bin/sh -c \"$3\"";

    private final SshServer server;
    private final KeyPair hostKey;
    private final Path clientKeyFile;

    private SlurmLoginNode(SshServer server, KeyPair hostKey, Path clientKeyFile) {
        this.server = server;
        this.hostKey = hostKey;
        this.clientKeyFile = clientKeyFile;
    }

    static SlurmLoginNode start(SlurmCluster cluster, Path dir) throws IOException {
        KeyPair hostKey = rsa();
        KeyPair clientKey = rsa();
        Path home = Files.createDirectories(dir.resolve("login-home"));
        Path keyFile = dir.resolve("client-key.pem");
        Files.writeString(keyFile, pem(clientKey), StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        SshServer s = LoopbackNodeServer.configure("127.0.0.1", 0, List.of(hostKey),
                key -> KeyUtils.compareKeys(key, clientKey.getPublic()), home);
        String conf = cluster.env().get("SLURM_CONF");
        s.setCommandFactory((channel, command) -> new ProcessShellFactory("/bin/sh", "/bin/sh", "-c", LOGIN,
                "login-node", conf, home.toString(), command).createShell(channel));
        s.start();
        return new SlurmLoginNode(s, hostKey, keyFile);
    }

    int port() {
        return server.getPort();
    }

    String user() {
        return System.getProperty("user.name");
    }

    String fingerprint() {
        return SshConnections.fingerprint(hostKey.getPublic());
    }

    Path clientKeyFile() {
        return clientKeyFile;
    }

    /** The login node with its host key pinned. */
    SshTarget target() {
        return new SshTarget("127.0.0.1", port(), user(), Optional.of(clientKeyFile), Optional.empty(),
                Optional.empty(), Set.of(fingerprint()));
    }

    /** The slurm gate's options for this login node, without backend and rest-url: SSH is chosen from ssh-host. */
    Map<String, String> gateOptions(SlurmCluster cluster) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("ssh-host", "127.0.0.1");
        o.put("ssh-port", Integer.toString(port()));
        o.put("ssh-user", user());
        o.put("ssh-key", clientKeyFile.toString());
        o.put("host-key-fingerprints", fingerprint());
        o.put("work-root", cluster.workRoot().toString());
        o.put("poll-interval", "1s");
        return o;
    }

    @Override
    public void close() throws IOException {
        server.stop(true);
    }

    static KeyPair rsa() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The private key as PKCS#8 PEM, a format SSHJ reads. */
    private static String pem(KeyPair pair) {
        return "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(pair.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
    }
}
