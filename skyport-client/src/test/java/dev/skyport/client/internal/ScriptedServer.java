package dev.skyport.client.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import okhttp3.HttpUrl;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A plain-HTTP server on loopback that answers each request with the next scripted reply and records what it got:
 * for tests of the client's own logic (retries, error mapping, stream resume), not of the daemon.
 */
final class ScriptedServer implements AutoCloseable {
    /** One reply: writes to the exchange and closes it. */
    interface Reply {
        void send(HttpExchange exchange) throws IOException;
    }

    record Seen(String method, String path, String query, Map<String, List<String>> headers) {
        Optional<String> header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().get(0)).findFirst();
        }
    }

    private final HttpServer server;
    private final BlockingQueue<Reply> replies = new LinkedBlockingQueue<>();
    final List<Seen> seen = new CopyOnWriteArrayList<>();

    ScriptedServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "scripted-server");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            seen.add(new Seen(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
                    exchange.getRequestURI().getRawQuery(), Map.copyOf(exchange.getRequestHeaders())));
            Reply reply;
            try {
                reply = replies.poll(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (reply == null) {
                json(599, "{\"error\":\"unscripted\",\"message\":\"no reply scripted\"}").send(exchange);
                return;
            }
            reply.send(exchange);
        });
        server.start();
    }

    void then(Reply reply) {
        replies.add(reply);
    }

    HttpUrl base() {
        return HttpUrl.get("http://127.0.0.1:" + server.getAddress().getPort() + "/api/v1");
    }

    static Reply json(int status, String body, String... headers) {
        return exchange -> {
            for (int i = 0; i + 1 < headers.length; i += 2) {
                exchange.getResponseHeaders().add(headers[i], headers[i + 1]);
            }
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        };
    }

    /** Closes the connection without any reply, as a daemon that died mid-request. */
    static Reply hangUp() {
        return HttpExchange::close;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
