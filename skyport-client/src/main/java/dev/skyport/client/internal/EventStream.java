package dev.skyport.client.internal;

import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.Subscription;
import dev.skyport.client.internal.wire.WireError;
import dev.skyport.client.internal.wire.WireJson;
import okhttp3.Call;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.BufferedSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One subscription to {@code GET /api/v1/events}: a thread of its own reads the stream and calls the listener (the
 * {@code Events} contract: one thread per subscription, a slow listener delays only itself). When the connection
 * drops it reconnects with back-off and {@code Last-Event-ID} set to the last sequence it delivered, so the daemon
 * replays exactly what came after; an event at or below that sequence is never delivered twice. The first
 * connection is made before {@link #open} returns, so a bad resume point fails the call and no event that happens
 * after it returns is missed.
 */
final class EventStream implements Subscription {
    private static final Logger LOG = LoggerFactory.getLogger(EventStream.class);
    private static final AtomicInteger THREADS = new AtomicInteger();
    /** The daemon sends a keep-alive comment every 15 s: a connection silent for longer than this is dead. */
    static final Duration SILENCE = Duration.ofSeconds(45);

    private final RemoteSkyPort port;
    private final Transport transport;
    private final OkHttpClient client;
    private final Consumer<? super SkyPortEvent> listener;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean closed;
    private volatile Call current;
    /** The sequence of the last event delivered (or the resume point asked for); empty before either. */
    private volatile OptionalLong last;
    private Thread thread;

    private EventStream(RemoteSkyPort port, OptionalLong after, Consumer<? super SkyPortEvent> listener) {
        this.port = port;
        this.transport = port.transport();
        this.client = transport.http().newBuilder().readTimeout(SILENCE).callTimeout(Duration.ZERO).build();
        this.listener = listener;
        this.last = after;
    }

    static EventStream open(RemoteSkyPort port, OptionalLong after, Consumer<? super SkyPortEvent> listener) {
        EventStream stream = new EventStream(port, after, listener);
        Response first = stream.connectFirst();
        port.open().add(stream);
        stream.thread = new Thread(() -> stream.run(first), "skyport-events-" + THREADS.incrementAndGet());
        stream.thread.setDaemon(true);
        stream.thread.start();
        return stream;
    }

    /** The sequence of the last event delivered; for tests. */
    OptionalLong lastDelivered() {
        return last;
    }

    private Request request() {
        Request.Builder b = port.request(transport.url("events").build()).header("Accept", "text/event-stream");
        OptionalLong resume = last;
        if (resume.isPresent()) {
            b.header("Last-Event-ID", Long.toString(resume.getAsLong()));
        }
        return b.build();
    }

    /** The first connection, retried like any GET; a refusal (a bad resume point, a forbidden view) is thrown. */
    private Response connectFirst() {
        for (int attempt = 0; ; attempt++) {
            Call call = client.newCall(request());
            current = call;
            Response response;
            try {
                response = call.execute();
            } catch (IOException e) {
                if (attempt < transport.settings().retries() && !transport.isClosed()) {
                    sleep(transport.backoff().delay(attempt));
                    continue;
                }
                throw transport.unreachable(e);
            }
            if (response.isSuccessful()) {
                return response;
            }
            throw refusal(response);
        }
    }

    private RuntimeException refusal(Response response) {
        int code = response.code();
        byte[] body = Transport.bytesOf(response);
        if (code == 400) {
            try {
                WireError e = WireJson.readError(WireJson.parse(body));
                if (e.field().filter(f -> f.equals("Last-Event-ID") || f.equals("after")).isPresent()) {
                    return new IllegalArgumentException(e.message());
                }
            } catch (RuntimeException notJson) {
                // mapped below
            }
        }
        return ErrorMapping.toException(code, body, Optional.empty(), "subscribe");
    }

    private void run(Response first) {
        Response response = first;
        int failures = 0;
        try {
            while (!closed) {
                if (response != null) {
                    OptionalLong before = last;
                    read(response);
                    response = null;
                    if (!last.equals(before)) {
                        failures = 0; // it worked for a while: start the back-off afresh
                    }
                }
                if (closed) {
                    break;
                }
                if (!sleep(transport.backoff().delay(Math.min(failures++, 30)))) {
                    break;
                }
                try {
                    Call call = client.newCall(request());
                    current = call;
                    if (closed) {
                        break;
                    }
                    Response next = call.execute();
                    if (next.isSuccessful()) {
                        response = next;
                    } else {
                        RuntimeException refused = refusal(next);
                        LOG.warn("The event stream could not resume after sequence {}: {}; trying again",
                                last.isPresent() ? last.getAsLong() : "(none)", refused.getMessage());
                    }
                } catch (IOException e) {
                    if (!closed) {
                        LOG.debug("Reconnecting the event stream failed: {}", e.toString());
                    }
                }
            }
        } finally {
            if (response != null) {
                response.close();
            }
            stopped.countDown();
        }
    }

    /**
     * Delivers the events of one connection until it ends, breaks or the subscription is closed. The format is the
     * WHATWG one ({@code field: value} lines, a blank line ends an event, {@code :} starts a comment); parsed here
     * because okhttp-sse 4.12's {@code EventSources.processResponse} fails on a response it did not call itself (an
     * uninitialised {@code lateinit call}), and its asynchronous factory cannot report a refused resume point to the
     * caller of {@code subscribeAfter}.
     */
    private void read(Response response) {
        try (response) {
            ResponseBody body = response.body();
            if (body == null) {
                return;
            }
            BufferedSource source = body.source();
            String id = null;
            StringBuilder data = null;
            String line;
            while (!closed && (line = source.readUtf8Line()) != null) {
                if (line.isEmpty()) {
                    if (data != null) {
                        deliver(id, data.toString());
                    }
                    data = null;
                    continue;
                }
                if (line.startsWith(":")) {
                    continue; // a keep-alive comment
                }
                int colon = line.indexOf(':');
                String field = colon < 0 ? line : line.substring(0, colon);
                String value = colon < 0 ? "" : line.substring(colon + 1);
                if (value.startsWith(" ")) {
                    value = value.substring(1);
                }
                switch (field) {
                    case "data" -> data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                    case "id" -> id = value;
                    default -> {
                        // "event" names the type, which the data carries too; "retry" is the client's to choose
                    }
                }
            }
        } catch (IOException e) {
            if (!closed) {
                LOG.debug("The event stream broke off after sequence {}: {}",
                        last.isPresent() ? last.getAsLong() : "(none)", e.toString());
            }
        } catch (RuntimeException e) {
            if (!closed) {
                LOG.warn("The event stream failed; reconnecting", e);
            }
        }
    }

    private void deliver(String id, String data) {
        if (closed) {
            return;
        }
        long sequence;
        try {
            sequence = Long.parseLong(id == null ? "" : id.trim());
        } catch (NumberFormatException e) {
            LOG.warn("Skipping an event without a numeric id");
            return;
        }
        OptionalLong seen = last;
        if (seen.isPresent() && sequence <= seen.getAsLong()) {
            return; // replayed after a reconnect: delivered already
        }
        SkyPortEvent event;
        try {
            event = WireJson.readEvent(WireJson.parse(data));
        } catch (RuntimeException e) {
            LOG.warn("Skipping event {}: it cannot be read ({})", sequence, e.getMessage());
            last = OptionalLong.of(sequence);
            return;
        }
        try {
            listener.accept(event);
        } catch (RuntimeException e) {
            LOG.warn("An event listener failed on event {}; the subscription goes on", sequence, e);
        }
        last = OptionalLong.of(sequence);
    }

    /** Waits {@code d} unless closed meanwhile; false when closed. */
    private boolean sleep(Duration d) {
        try {
            return !stopped.await(0, TimeUnit.MILLISECONDS) && !awaitClosed(d);
        } catch (InterruptedException e) {
            return false;
        }
    }

    private final Object gate = new Object();

    private boolean awaitClosed(Duration d) throws InterruptedException {
        long end = System.nanoTime() + d.toNanos();
        synchronized (gate) {
            while (!closed) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(gate, left);
            }
            return true;
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        synchronized (gate) {
            gate.notifyAll();
        }
        Call call = current;
        if (call != null) {
            call.cancel();
        }
        port.open().remove(this);
        Thread t = thread;
        if (t != null && t != Thread.currentThread()) {
            try {
                // The listener may be running; wait briefly so no event is delivered after close returns.
                stopped.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "event subscription after " + (last.isPresent() ? last.getAsLong() : "now");
    }

}
