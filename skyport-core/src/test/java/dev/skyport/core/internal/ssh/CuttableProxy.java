package dev.skyport.core.internal.ssh;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay on 127.0.0.1 to a server's port whose connections can be cut at once, as a network failure would cut
 * them, while it goes on accepting new ones.
 */
final class CuttableProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();

    CuttableProxy(int serverPort) throws IOException {
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (true) {
                Socket client;
                try {
                    client = listener.accept();
                } catch (IOException closed) {
                    return;
                }
                accepted.incrementAndGet();
                try {
                    Socket server = new Socket();
                    server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), serverPort), 5000);
                    open.add(client);
                    open.add(server);
                    relay(client, server);
                    relay(server, client);
                } catch (IOException e) {
                    close(client);
                }
            }
        }, "cuttable-proxy");
        t.setDaemon(true);
        t.start();
    }

    private void relay(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                in.transferTo(out);
            } catch (IOException ignored) {
                // cut, or the other side closed
            }
            close(from);
            close(to);
        }, "cuttable-proxy-relay");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** How many connections it has accepted so far. */
    int accepted() {
        return accepted.get();
    }

    /** Cuts every open connection; returns how many it cut. */
    int cut() {
        int n = 0;
        for (Socket s : open) {
            close(s);
            n++;
        }
        return n / 2;
    }

    private void close(Socket s) {
        open.remove(s);
        try {
            s.close();
        } catch (IOException ignored) {
            // closing is all that is left to do with it
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        cut();
    }
}
