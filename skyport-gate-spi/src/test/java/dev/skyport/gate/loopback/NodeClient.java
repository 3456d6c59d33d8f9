package dev.skyport.gate.loopback;

import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionNode;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.digest.BuiltinDigests;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A test's SSH login to one node of a loopback partition, as the engine makes it: the partition's user and key, the
 * host key checked against the node's pinned fingerprints (a key that does not match refuses the connection).
 */
final class NodeClient implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final SshClient client;
    final ClientSession session;
    /** The host key the server presented. */
    final PublicKey hostKey;

    private NodeClient(SshClient client, ClientSession session, PublicKey hostKey) {
        this.client = client;
        this.session = session;
        this.hostKey = hostKey;
    }

    static NodeClient login(PartitionHandle p, PartitionNode node) throws IOException {
        return login(p.sshUser(), node, readKey(p.sshKey().orElseThrow()));
    }

    static NodeClient login(String user, PartitionNode node, KeyPair key) throws IOException {
        SshClient client = SshClient.setUpDefaultClient();
        AtomicReference<PublicKey> seen = new AtomicReference<>();
        client.setServerKeyVerifier((session, address, key1) -> {
            seen.set(key1);
            return node.hostKeyFingerprints().contains(KeyUtils.getFingerPrint(BuiltinDigests.sha256, key1));
        });
        client.start();
        try {
            ClientSession s = client.connect(user, node.host(), node.port()).verify(TIMEOUT).getSession();
            s.addPublicKeyIdentity(key);
            s.auth().verify(TIMEOUT);
            return new NodeClient(client, s, seen.get());
        } catch (IOException | RuntimeException e) {
            client.stop();
            throw e;
        }
    }

    static KeyPair readKey(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return SecurityUtils.loadKeyPairIdentities(null, NamedResource.ofName(file.toString()), in, null)
                    .iterator().next();
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    /** Runs {@code command} and returns its standard output; a non-zero exit is an exception. */
    String run(String command) throws IOException {
        return session.executeRemoteCommand(command);
    }

    void upload(String path, String content) throws IOException {
        try (SftpClient sftp = SftpClientFactory.instance().createSftpClient(session);
             OutputStream out = sftp.write(path)) {
            out.write(content.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The SFTP server's idea of ".", where relative paths resolve. */
    String sftpHome() throws IOException {
        try (SftpClient sftp = SftpClientFactory.instance().createSftpClient(session)) {
            return sftp.canonicalPath(".");
        }
    }

    @Override
    public void close() throws IOException {
        try {
            session.close();
        } finally {
            client.stop();
        }
    }
}
