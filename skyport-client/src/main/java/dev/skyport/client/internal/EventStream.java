package dev.skyport.client.internal;

import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.Subscription;
import dev.skyport.client.internal.wire.WireError;
import dev.skyport.client.internal.wire.WireJson;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.sse.EventSource;
import okhttp3.sse.EventSourceListener;
import okhttp3.sse.EventSources;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One subscription to {@code GET /api/v1/events}, read with okhttp-sse. Each connection is an {@link EventSource}
 * whose reader runs on a thread of the client's call pool and calls the listener (the {@code Events} contract: one
 * thread per subscription, a slow listener delays only itself). When a connection ends or breaks, a timer opens the
 * next one after a back-off (or the daemon's {@code Retry-After} when it asks for more) with {@code Last-Event-ID} set
 * to the last sequence delivered, so the daemon replays exactly what came after; an event at or below that sequence
 * is never delivered twice. {@link #open} waits for the first connection's reply, so a bad resume point or a refused
 * view fails the call with the daemon's error, and no event that happens after it returns is missed.
 */
final class EventStream implements Subscription {
    private static final Logger LOG = LoggerFactory.getLogger(EventStream.class);
    /** The daemon sends a keep-alive comment every 15 s: a connection silent for longer than this is dead. */
    static final Duration SILENCE = Duration.ofSeconds(45);

    private final RemoteSkyPort port;
    private final Transport transport;
    private final EventSource.Factory sources;
    private final Consumer<? super SkyPortEvent> listener;
    /** Held while the listener runs, so {@link #close} can wait for a delivery in progress. */
    private final ReentrantLock delivering = new ReentrantLock();
    /** Opened when {@link #open} returns: no event reaches the listener before its caller holds the subscription. */
    private final CountDownLatch returned = new CountDownLatch(1);
    /** Failed connections since an event was last delivered: the back-off step. */
    private final AtomicInteger failures = new AtomicInteger();
    private volatile boolean closed;
    private volatile EventSource current;
    private volatile Future<?> reconnect;
    /** The sequence of the last event delivered (or the resume point asked for); empty before either. */
    private volatile OptionalLong last;

    private EventStream(RemoteSkyPort port, OptionalLong after, Consumer<? super SkyPortEvent> listener) {
        this.port = port;
        this.transport = port.transport();
        // A dispatcher of its own on the shared call pool: a stream holds its call for its whole life, and must not
        // count against the limits that keep request-reply calls, long polls and log follows flowing.
        OkHttpClient client = transport.streaming().newBuilder().readTimeout(SILENCE)
                .dispatcher(new Dispatcher(transport.http().dispatcher().executorService())).build();
        this.sources = EventSources.createFactory(client);
        this.listener = listener;
        this.last = after;
    }

    static EventStream open(RemoteSkyPort port, OptionalLong after, Consumer<? super SkyPortEvent> listener) {
        EventStream stream = new EventStream(port, after, listener);
        try {
            stream.connectFirst();
            port.open().add(stream);
        } finally {
            stream.returned.countDown();
        }
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

    /**
     * Opens the first connection and waits for the daemon's reply, retried as an idempotent GET: after a transport
     * failure, and after a 429/502/503/504 honouring its {@code Retry-After}; any other refusal is thrown.
     */
    private void connectFirst() {
        ClientSettings settings = transport.settings();
        Duration deadline = settings.connectTimeout().plus(settings.readTimeout());
        for (int attempt = 0; ; attempt++) {
            Connection connection = new Connection(true);
            current = sources.newEventSource(request(), connection);
            Refusal refused;
            try {
                connection.replied.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
                return;
            } catch (TimeoutException e) {
                current.cancel();
                throw new SkyPortException("the Sky Port daemon did not answer the event stream within " + deadline);
            } catch (InterruptedException e) {
                current.cancel();
                Thread.currentThread().interrupt();
                throw new SkyPortException("interrupted while opening the event stream", e);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof Refusal r)) {
                    throw new SkyPortException("the event stream failed: " + e.getCause(), e.getCause());
                }
                refused = r;
            }
            Optional<Duration> wait;
            if (refused.status.isPresent()) {
                wait = transport.retryWait(refused.status.getAsInt(), refused.retryAfter, attempt);
            } else {
                wait = attempt < settings.retries() && !transport.isClosed()
                        ? Optional.of(transport.backoff().delay(attempt)) : Optional.empty();
            }
            if (wait.isEmpty()) {
                throw refused.error;
            }
            Transport.pause(wait.get());
        }
    }

    /** Why a connection ended before it opened: the daemon's error reply, or a transport failure. */
    private static final class Refusal extends Exception {
        final OptionalInt status;
        final Optional<Duration> retryAfter;
        final RuntimeException error;

        Refusal(OptionalInt status, Optional<Duration> retryAfter, RuntimeException error) {
            super(error.getMessage(), null, false, false);
            this.status = status;
            this.retryAfter = retryAfter;
            this.error = error;
        }
    }

    private RuntimeException mapRefusal(Response response) {
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

    /** The listener of one connection; okhttp-sse calls it from the connection's reader thread. */
    private final class Connection extends EventSourceListener {
        final boolean first;
        final CompletableFuture<Void> replied = new CompletableFuture<>();

        Connection(boolean first) {
            this.first = first;
        }

        @Override
        public void onOpen(EventSource eventSource, Response response) {
            replied.complete(null);
        }

        @Override
        public void onEvent(EventSource eventSource, String id, String type, String data) {
            deliver(id, data);
        }

        @Override
        public void onClosed(EventSource eventSource) {
            ended(Optional.empty());
        }

        @Override
        public void onFailure(EventSource eventSource, Throwable t, Response response) {
            if (replied.isDone()) {
                if (!closed) {
                    LOG.debug("The event stream broke off after sequence {}: {}", describe(last), String.valueOf(t));
                }
                ended(Optional.empty());
                return;
            }
            Refusal refusal;
            if (response != null && !response.isSuccessful()) {
                // The body is readable only here: okhttp-sse closes the response when this returns.
                refusal = new Refusal(OptionalInt.of(response.code()), Transport.retryAfter(response),
                        mapRefusal(response));
            } else if (t instanceof IOException io) {
                refusal = new Refusal(OptionalInt.empty(), Optional.empty(), transport.unreachable(io));
            } else {
                // A 2xx that is not an event stream: a status the first connection does not retry.
                String why = t == null ? "no reason given" : t.getMessage();
                refusal = new Refusal(OptionalInt.of(response == null ? 200 : response.code()), Optional.empty(),
                        new SkyPortException("the daemon's event stream cannot be read: " + why));
            }
            replied.completeExceptionally(refusal);
            if (first) {
                return; // connectFirst decides
            }
            int failed = failures.get();
            // Once per streak: a refusal that lasts (a revoked user) would otherwise log every few seconds.
            if (failed == 1 && refusal.status.isPresent() && !closed) {
                LOG.warn("The event stream could not resume after sequence {}: {}; trying again", describe(last),
                        refusal.error.getMessage());
            }
            ended(refusal.retryAfter);
        }
    }

    /** Schedules the next connection after the back-off, or after {@code retryAfter} (capped) when that is longer. */
    private void ended(Optional<Duration> retryAfter) {
        if (closed || transport.isClosed()) {
            return;
        }
        Duration wait = transport.backoff().delay(Math.min(failures.getAndIncrement(), 30));
        Duration cap = transport.settings().maxRetryAfter();
        Duration asked = retryAfter.map(d -> d.compareTo(cap) > 0 ? cap : d).orElse(Duration.ZERO);
        if (asked.compareTo(wait) > 0) {
            wait = asked;
        }
        try {
            reconnect = transport.timer().schedule(this::reconnect, wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException clientClosed) {
            // the timer is gone with the client: nothing to resume
        }
    }

    private void reconnect() {
        if (closed) {
            return;
        }
        current = sources.newEventSource(request(), new Connection(false));
        if (closed) {
            current.cancel(); // close() ran between the check and the assignment
        }
    }

    private void deliver(String id, String data) {
        try {
            returned.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
        delivering.lock();
        try {
            if (closed) {
                return;
            }
            listener.accept(event);
        } catch (RuntimeException e) {
            LOG.warn("An event listener failed on event {}; the subscription goes on", sequence, e);
        } finally {
            delivering.unlock();
        }
        last = OptionalLong.of(sequence);
        failures.set(0); // it worked for a while: start the back-off afresh
    }

    private static String describe(OptionalLong sequence) {
        return sequence.isPresent() ? Long.toString(sequence.getAsLong()) : "(none)";
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Future<?> pending = reconnect;
        if (pending != null) {
            pending.cancel(false);
        }
        EventSource source = current;
        if (source != null) {
            source.cancel();
        }
        port.open().remove(this);
        if (!delivering.isHeldByCurrentThread()) {
            try {
                // The listener may be running; wait briefly so no event is delivered after close returns.
                if (delivering.tryLock(5, TimeUnit.SECONDS)) {
                    delivering.unlock();
                }
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
