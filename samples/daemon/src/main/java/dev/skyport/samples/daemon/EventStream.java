package dev.skyport.samples.daemon;

import dev.skyport.api.Events;
import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.Subscription;
import dev.skyport.client.internal.wire.WireJson;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.IteratingCallback;
import org.eclipse.jetty.util.thread.Scheduler;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code GET /api/v1/events}: job and node transitions as Server-Sent Events, one frame per event
 * ({@code id: <sequence>}, {@code event: job|node}, {@code data: <event JSON>}), from {@link Events#subscribeAfter} so
 * that the ids strictly increase and a client resuming with {@code Last-Event-ID} misses nothing. A comment every
 * {@link #KEEPALIVE_SECONDS} keeps proxies from closing a quiet stream and finds a client that went away.
 *
 * <p>A client that closes its stream is noticed at once: Jetty does not read an HTTP/1.1 connection while its reply
 * streams, so {@link #watchPeer} asks to be told when it becomes readable (the peer's close), and
 * {@link Request#addFailureListener} covers failures Jetty sees itself. Should neither fire, a write finds the close:
 * the first write after it still succeeds (the kernel takes it and the peer answers with a reset), the next fails.
 *
 * <p>No thread waits here: the subscription's listener queues frames, and queued frames go out in asynchronous
 * writes. A client that stops reading is cut off: by ClientGuard when a write stalls, and here when more than
 * {@link #MAX_QUEUED} frames wait (the client reconnects with its last id and misses nothing).
 */
final class EventStream extends IteratingCallback {
    /**
     * When the close is not seen on the read side (a proxy in between keeps its connection to the daemon open), the
     * second write after the close finds it, so within two keepalives, 10 s: until then the stream holds an ordered
     * subscription (a thread) and one of the user's stream slots (ClientGuard). 5 s (it was 15) costs ~20 bytes per
     * stream per 5 s, nothing for a client, and sits well under the idle cut-offs of proxies.
     */
    static final long KEEPALIVE_SECONDS = 5;
    /** Frames a slow client may have waiting before it is cut off; a second or two of a busy engine's events. */
    static final int MAX_QUEUED = 10_000;
    private static final byte[] KEEPALIVE = ": keepalive\n\n".getBytes(StandardCharsets.US_ASCII);
    /** Frames written in one go at most, so one write stays near a TLS record or a few. */
    private static final int BATCH_BYTES = 32 * 1024;

    private final Request request;
    private final Response response;
    private final Callback callback;
    private final ConcurrentLinkedQueue<byte[]> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private volatile Subscription subscription;
    private volatile Scheduler.Task keepalive;
    private volatile boolean closed;
    private volatile boolean started;

    private EventStream(Request request, Response response, Callback callback) {
        this.request = request;
        this.response = response;
        this.callback = callback;
    }

    /** Sends the events after {@code afterSequence} as they come, until the client goes away or the server stops. */
    static void start(Request request, Response response, Callback callback, Events events, long afterSequence) {
        EventStream stream = new EventStream(request, response, callback);
        // A stream is quiet between events by nature; the keepalive comments and ClientGuard look after the peer.
        request.addIdleTimeoutListener(t -> false);
        // Writing now fails at once on a failed exchange, which ends the stream and its subscription.
        request.addFailureListener(failure -> stream.enqueue(KEEPALIVE));
        stream.watchPeer(request.getConnectionMetaData().getConnection().getEndPoint());
        stream.queue.add(KEEPALIVE); // the first write sends the headers at once: the client knows it is subscribed
        stream.queued.incrementAndGet();
        try {
            // Stored events may arrive before this returns: they wait in the queue until the stream has started.
            stream.subscription = events.subscribeAfter(afterSequence, stream::offer);
        } catch (IllegalArgumentException e) {
            stream.closed = true;
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_parameter", "no such event sequence: "
                    + afterSequence, "after");
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        stream.started = true;
        stream.scheduleKeepalive();
        stream.iterate();
    }

    /**
     * Notices a peer that closed its end at once instead of at the second write after: over HTTP/1.1 nothing reads the
     * connection while the reply streams, so this asks to be told when it becomes readable. An SSE client sends
     * nothing after its request, so readable means closed (end of stream) or a client breaking the protocol: either
     * way the connection is closed, which fails the next write and ends the stream (a client that was still there
     * reconnects with its Last-Event-ID and misses nothing). When the connection already reads (another protocol),
     * this does nothing and the writes find the close.
     */
    private void watchPeer(EndPoint endPoint) {
        Callback readable = Callback.from(() -> {
            if (closed) {
                return;
            }
            try {
                ByteBuffer probe = ByteBuffer.allocate(1);
                int n = endPoint.fill(probe);
                if (n == 0) {
                    watchPeer(endPoint); // woken without data (TLS records of no application data)
                    return;
                }
                endPoint.close(new IOException(n < 0 ? "the client closed the event stream"
                        : "the client sent data on an event stream"));
            } catch (IOException | RuntimeException e) {
                endPoint.close(e);
            }
            enqueue(KEEPALIVE);
        }, failure -> enqueue(KEEPALIVE));
        endPoint.tryFillInterested(readable);
    }

    private void offer(SkyPortEvent event) {
        String frame = "id: " + event.sequence() + "\nevent: " + WireJson.eventType(event) + "\ndata: "
                + WireJson.text(WireJson.writeEvent(event)) + "\n\n";
        enqueue(frame.getBytes(StandardCharsets.UTF_8));
    }

    private void enqueue(byte[] frame) {
        if (closed) {
            return;
        }
        if (queued.incrementAndGet() > MAX_QUEUED) {
            closed = true;
            // Fails the pending write, which ends the stream: the client reconnects with its Last-Event-ID.
            request.getConnectionMetaData().getConnection().getEndPoint().close(
                    new IOException("the client fell " + MAX_QUEUED + " events behind"));
            return;
        }
        queue.add(frame);
        if (started) {
            iterate();
        }
    }

    private void scheduleKeepalive() {
        keepalive = request.getComponents().getScheduler().schedule(() -> {
            if (!closed) {
                enqueue(KEEPALIVE);
                scheduleKeepalive();
            }
        }, KEEPALIVE_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    protected Action process() {
        if (queue.isEmpty()) {
            return Action.IDLE;
        }
        ByteArrayOutputStream batch = new ByteArrayOutputStream();
        byte[] frame;
        while (batch.size() < BATCH_BYTES && (frame = queue.poll()) != null) {
            queued.decrementAndGet();
            batch.writeBytes(frame);
        }
        response.write(false, ByteBuffer.wrap(batch.toByteArray()), this);
        return Action.SCHEDULED;
    }

    @Override
    protected void onCompleteFailure(Throwable cause) {
        release();
        Replies.answer(request, response, callback, cause instanceof IOException ? cause
                : new IOException(cause.toString(), cause));
    }

    @Override
    protected void onCompleteSuccess() {
        release(); // not reached: the stream has no end of its own
        callback.succeeded();
    }

    private void release() {
        closed = true;
        Scheduler.Task k = keepalive;
        if (k != null) {
            k.cancel();
        }
        Subscription s = subscription;
        if (s != null) {
            s.close();
        }
    }
}
