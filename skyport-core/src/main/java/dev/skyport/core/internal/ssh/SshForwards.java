package dev.skyport.core.internal.ssh;

import dev.skyport.gate.GateException;
import dev.skyport.gate.PortForward;
import net.schmizz.sshj.SSHClient;
import net.schmizz.sshj.connection.channel.Channel;
import net.schmizz.sshj.connection.channel.OpenFailException;
import net.schmizz.sshj.connection.channel.forwarded.RemotePortForwarder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * TCP port forwards over a node's SSH connection, between the engine's loopback and the node's. Each forward is
 * bound to the connection it was opened on: when that connection dies (SSHJ's keep-alive notices a dead peer within
 * the connection timeout) the forward closes itself, so a client of it sees its connection end instead of hanging.
 *
 * <p>The bytes are carried by threads of this class, not by SSHJ's LocalPortForwarder and
 * SocketForwardingConnectListener: those keep no hold of the connections they carry, and closing a forward must end
 * them too.
 */
final class SshForwards implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SshForwards.class);
    private static final String LOOPBACK = "127.0.0.1";
    private static final long LIVENESS_MILLIS = 250;
    private static final int BUFFER = 32 * 1024;

    private final String node;
    private final SshTarget target;
    private final SshConnections connections;
    private final ScheduledExecutorService timer;
    private final Set<Forward> open = ConcurrentHashMap.newKeySet();

    SshForwards(String node, SshTarget target, SshConnections connections, ScheduledExecutorService timer) {
        this.node = node;
        this.target = target;
        this.connections = connections;
        this.timer = timer;
    }

    /** A port on the engine's 127.0.0.1, chosen by the system, whose connections reach the node's 127.0.0.1:remotePort. */
    PortForward toNode(int remotePort) {
        checkPort(remotePort, "remote port");
        SSHClient client = connections.client(target);
        ServerSocket listener;
        try {
            listener = new ServerSocket(0, 50, InetAddress.getByName(LOOPBACK));
        } catch (IOException e) {
            throw GateException.transientFailure("cannot open a local port for " + node + ":" + remotePort + ": "
                    + e.getMessage(), e, Optional.empty());
        }
        Forward f = new Forward(client, listener.getLocalPort(), remotePort) {
            @Override
            void stop() {
                closeQuietly(listener);
            }
        };
        start(f);
        Thread acceptor = new Thread(() -> {
            while (!f.closed.get()) {
                Socket s;
                try {
                    s = listener.accept();
                } catch (IOException e) {
                    break;
                }
                try {
                    Channel ch = client.newDirectConnection(LOOPBACK, remotePort);
                    f.link(s, ch);
                } catch (IOException | RuntimeException e) {
                    // the node's port refused or the connection died: this client sees its socket close
                    LOG.debug("forward to {}:{} failed: {}", node, remotePort, e.getMessage());
                    closeQuietly(s);
                }
            }
            f.close();
        }, "skyport-ssh-forward-" + node + "-" + remotePort);
        acceptor.setDaemon(true);
        acceptor.start();
        return f;
    }

    /** The node's 127.0.0.1:remotePort (0: the node chooses), whose connections reach the engine's 127.0.0.1:localPort. */
    PortForward fromNode(int remotePort, int localPort) {
        if (remotePort != 0) {
            checkPort(remotePort, "remote port");
        }
        checkPort(localPort, "local port");
        SSHClient client = connections.client(target);
        RemotePortForwarder forwarder = client.getRemotePortForwarder();
        Forward[] holder = new Forward[1];
        RemotePortForwarder.Forward bound;
        try {
            bound = forwarder.bind(new RemotePortForwarder.Forward(LOOPBACK, remotePort), channel -> {
                Forward f = holder[0];
                if (f == null || f.closed.get()) {
                    channel.reject(OpenFailException.Reason.ADMINISTRATIVELY_PROHIBITED, "the forward is closed");
                    return;
                }
                Socket s = new Socket();
                try {
                    s.connect(new InetSocketAddress(LOOPBACK, localPort), (int) connections.timeout().toMillis());
                } catch (IOException e) {
                    closeQuietly(s);
                    channel.reject(OpenFailException.Reason.CONNECT_FAILED, "nothing listens on the engine's "
                            + LOOPBACK + ":" + localPort);
                    return;
                }
                channel.confirm();
                f.link(s, channel);
            });
        } catch (IOException e) {
            throw GateException.transientFailure("cannot forward " + node + ":" + remotePort + " to the engine: "
                    + e.getMessage(), e, Optional.empty());
        }
        Forward f = new Forward(client, localPort, bound.getPort()) {
            @Override
            void stop() {
                try {
                    forwarder.cancel(bound);
                } catch (IOException | RuntimeException e) {
                    // a dead connection took the node's listener with it
                    LOG.debug("cancelling forward from {}:{}: {}", node, bound.getPort(), e.getMessage());
                }
            }
        };
        holder[0] = f;
        start(f);
        return f;
    }

    private void start(Forward f) {
        open.add(f);
        f.liveness = timer.scheduleWithFixedDelay(() -> {
            if (!f.client.isConnected()) {
                LOG.debug("the connection to {} ended; closing the forward of port {}", node, f.remotePort);
                f.close();
            }
        }, LIVENESS_MILLIS, LIVENESS_MILLIS, TimeUnit.MILLISECONDS);
    }

    private static void checkPort(int port, String what) {
        if (port < 1 || port > 65535) {
            throw GateException.permanent(what + " must be in 1..65535: " + port);
        }
    }

    @Override
    public void close() {
        for (Forward f : open) {
            f.close();
        }
    }

    /** One open forward and the connections it carries. */
    private abstract class Forward implements PortForward {
        final SSHClient client;
        final int localPort;
        final int remotePort;
        final AtomicBoolean closed = new AtomicBoolean();
        final Set<Closeable> carried = ConcurrentHashMap.newKeySet();
        volatile ScheduledFuture<?> liveness;

        Forward(SSHClient client, int localPort, int remotePort) {
            this.client = client;
            this.localPort = localPort;
            this.remotePort = remotePort;
        }

        /** Stops accepting new connections. */
        abstract void stop();

        @Override
        public int localPort() {
            return localPort;
        }

        @Override
        public int remotePort() {
            return remotePort;
        }

        /** Carries bytes both ways between {@code socket} and {@code channel} until both ends are done. */
        void link(Socket socket, Channel channel) {
            carried.add(socket);
            carried.add(channel);
            if (closed.get()) {
                end(socket, channel);
                return;
            }
            AtomicInteger directions = new AtomicInteger(2);
            pump("up", socket, channel, directions, () -> socket.getInputStream(), () -> channel.getOutputStream(),
                    () -> channel.getOutputStream().close());
            pump("down", socket, channel, directions, () -> channel.getInputStream(), () -> socket.getOutputStream(),
                    socket::shutdownOutput);
        }

        private void pump(String way, Socket socket, Channel channel, AtomicInteger directions, Source in, Sink out,
                          HalfClose halfClose) {
            Thread t = new Thread(() -> {
                try {
                    InputStream from = in.get();
                    OutputStream to = out.get();
                    byte[] buf = new byte[BUFFER];
                    for (int n; (n = from.read(buf)) >= 0; ) {
                        to.write(buf, 0, n);
                        to.flush();
                    }
                    // the other side may still be talking: pass the end of this direction on and let it finish
                    halfClose.run();
                    if (directions.decrementAndGet() == 0) {
                        end(socket, channel);
                    }
                } catch (IOException | RuntimeException e) {
                    end(socket, channel);
                }
            }, "skyport-ssh-forward-" + way + "-" + node + "-" + remotePort);
            t.setDaemon(true);
            t.start();
        }

        private void end(Socket socket, Channel channel) {
            closeQuietly(socket);
            closeQuietly(channel);
            carried.remove(socket);
            carried.remove(channel);
        }

        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            ScheduledFuture<?> l = liveness;
            if (l != null) {
                l.cancel(false);
            }
            stop();
            for (Closeable c : carried) {
                closeQuietly(c);
            }
            carried.clear();
            open.remove(this);
        }
    }

    private interface Source {
        InputStream get() throws IOException;
    }

    private interface Sink {
        OutputStream get() throws IOException;
    }

    private interface HalfClose {
        void run() throws IOException;
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException | RuntimeException ignored) {
            // closing is all that is left to do with it
        }
    }
}
