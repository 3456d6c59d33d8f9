package dev.skyport.gate.loopback;

import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.forward.AcceptAllForwardingFilter;
import org.apache.sshd.server.shell.ProcessShellFactory;
import org.apache.sshd.sftp.server.SftpSubsystem;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.List;
import java.util.function.Predicate;

/**
 * One node of a loopback partition: Apache MINA SSHD on 127.0.0.1 with the node's own host key, accepting only the
 * partition's client key, running exec requests through {@code /bin/sh -c} in the node's home directory (also its
 * {@code HOME} and the SFTP default directory), with SFTP and TCP forwarding both ways. {@link #configure} and
 * {@link HomeSftp} also serve the other modules' test servers that stand for a machine of its own (the fake Azure's
 * heads, skyport-core's MINA helper).
 */
public final class LoopbackNodeServer implements AutoCloseable {
    /*
     * Every command starts in the node's home with HOME set to it, as a login on a VM would: the engine's relative job
     * directories and "$HOME" then name this node's directory, so two nodes of one partition never share a job
     * directory. The command itself runs in a second shell so that it is parsed exactly as `sh -c` parses it.
     */
    private static final String IN_HOME = "cd -- \"$1\" && HOME=\"$1\" && export HOME && exec /bin/sh -c \"$2\"";

    private final SshServer server;

    private LoopbackNodeServer(SshServer server) {
        this.server = server;
    }

    /** Starts a server on {@code port} (0: a free one) and returns once it listens. */
    static LoopbackNodeServer start(int port, KeyPair hostKey, PublicKey clientKey, Path home) throws IOException {
        SshServer s = configure("127.0.0.1", port, List.of(hostKey), key -> KeyUtils.compareKeys(key, clientKey), home);
        try {
            s.start();
        } catch (IOException | RuntimeException e) {
            s.stop(true);
            throw e;
        }
        return new LoopbackNodeServer(s);
    }

    /**
     * A server, not yet started, on {@code host}:{@code port} with {@code hostKeys}, accepting the client keys
     * {@code accepted} takes (no password or keyboard-interactive login), running exec requests in {@code home} with
     * {@code HOME} set to it, SFTP relative to it, and TCP forwarding both ways.
     */
    public static SshServer configure(String host, int port, List<KeyPair> hostKeys, Predicate<PublicKey> accepted,
                                      Path home) {
        SshServer s = SshServer.setUpDefaultServer();
        s.setHost(host);
        s.setPort(port);
        s.setKeyPairProvider(KeyPairProvider.wrap(hostKeys));
        s.setPublickeyAuthenticator((user, key, session) -> accepted.test(key));
        s.setPasswordAuthenticator(null);
        s.setKeyboardInteractiveAuthenticator(null);
        String dir = home.toString();
        s.setCommandFactory((channel, command) -> new ProcessShellFactory("/bin/sh",
                "/bin/sh", "-c", IN_HOME, "loopback-node", dir, command).createShell(channel));
        s.setSubsystemFactories(List.of(new HomeSftp(home)));
        s.setForwardingFilter(AcceptAllForwardingFilter.INSTANCE);
        return s;
    }

    int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        try {
            server.stop(true);
        } catch (IOException ignored) {
            // stopping immediately closes the sockets; nothing is left to report
        }
    }

    /** SFTP whose relative paths resolve in the node's home, while absolute paths stay what they say. */
    public static final class HomeSftp extends SftpSubsystemFactory {
        private final Path home;

        public HomeSftp(Path home) {
            this.home = home;
        }

        @Override
        public Command createSubsystem(ChannelSession channel) throws IOException {
            SftpSubsystem subsystem = new SftpSubsystem(channel, this) {
                {
                    defaultDir = home;
                }

                @Override
                public void setFileSystem(FileSystem fileSystem) {
                    super.setFileSystem(fileSystem);
                    // the default file system's "" is the JVM's working directory; a node's is its home
                    defaultDir = home;
                }
            };
            getRegisteredListeners().forEach(subsystem::addSftpEventListener);
            return subsystem;
        }
    }
}
