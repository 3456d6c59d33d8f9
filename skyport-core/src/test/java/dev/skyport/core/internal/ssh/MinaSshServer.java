package dev.skyport.core.internal.ssh;

import dev.skyport.gate.loopback.LoopbackNodeServer;
import net.schmizz.sshj.common.Buffer;
import net.schmizz.sshj.common.KeyType;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.forward.AcceptAllForwardingFilter;
import org.apache.sshd.server.shell.ProcessShellFactory;
import org.apache.sshd.sftp.server.SftpEventListener;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * Apache MINA SSHD on loopback: a fixed host key, one accepted client key, SFTP, exec through /bin/sh -c, and TCP
 * forwarding both ways.
 */
final class MinaSshServer implements AutoCloseable {
    final KeyPair hostKey;
    final PublicKey clientKey;
    private final SshServer server;

    private MinaSshServer(SshServer server, KeyPair hostKey, PublicKey clientKey) {
        this.server = server;
        this.hostKey = hostKey;
        this.clientKey = clientKey;
    }

    static MinaSshServer start(int port, KeyPair hostKey, PublicKey clientKey, Optional<SftpEventListener> listener)
            throws IOException {
        return start(port, hostKey, clientKey, listener, Optional.empty());
    }

    /** As above; commands run with {@code HOME} set to {@code home} when given, as on a machine of its own. */
    static MinaSshServer start(int port, KeyPair hostKey, PublicKey clientKey, Optional<SftpEventListener> listener,
                               Optional<Path> home) throws IOException {
        String prefix = home.map(h -> "HOME='" + h + "'; export HOME; cd; ").orElse("");
        SshServer s = SshServer.setUpDefaultServer();
        s.setHost("127.0.0.1");
        s.setPort(port);
        s.setKeyPairProvider(KeyPairProvider.wrap(hostKey));
        s.setPublickeyAuthenticator((user, key, session) -> KeyUtils.compareKeys(key, clientKey));
        s.setPasswordAuthenticator(null);
        s.setKeyboardInteractiveAuthenticator(null);
        s.setCommandFactory((channel, command) -> new ProcessShellFactory("/bin/sh", "/bin/sh", "-c", prefix + command)
                .createShell(channel));
        SftpSubsystemFactory sftp = home.<SftpSubsystemFactory>map(LoopbackNodeServer.HomeSftp::new).orElseGet(SftpSubsystemFactory::new);
        listener.ifPresent(sftp::addSftpEventListener);
        s.setSubsystemFactories(List.of(sftp));
        s.setForwardingFilter(AcceptAllForwardingFilter.INSTANCE);
        s.start();
        return new MinaSshServer(s, hostKey, clientKey);
    }

    int port() {
        return server.getPort();
    }

    void stop() throws IOException {
        server.stop(true);
    }

    @Override
    public void close() throws IOException {
        stop();
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
    static String pem(KeyPair pair) {
        return "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                        .encodeToString(pair.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
    }

    /** A known_hosts line for {@code key} at 127.0.0.1:port, as OpenSSH writes one for a port other than 22. */
    static String knownHostsLine(int port, PublicKey key) {
        byte[] blob = new Buffer.PlainBuffer().putPublicKey(key).getCompactData();
        return "[127.0.0.1]:" + port + " " + KeyType.fromKey(key) + " " + Base64.getEncoder().encodeToString(blob)
                + "\n";
    }

    static Path writeKnownHosts(Path dir, int port, PublicKey key) throws IOException {
        Path f = Files.createTempFile(dir, "known_hosts", "");
        Files.writeString(f, knownHostsLine(port, key));
        return f;
    }

    /** From now on only {@code user} may log in (with the client key); the server accepts any user by default. */
    void onlyUser(String user) {
        server.setPublickeyAuthenticator((u, key, session) -> u.equals(user) && KeyUtils.compareKeys(key, clientKey));
    }
}
