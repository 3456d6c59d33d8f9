package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.samples.daemon.Callers.UnregisteredException;
import dev.skyport.samples.daemon.DaemonConfig.ClientLimits;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Keeps one client from stalling the daemon for the others (see {@link ClientLimits}). Each registered user, known by
 * the certificate of the connection, has at most {@code max-requests-per-user} requests in flight; one more is answered
 * 429 at once and its connection closed. Long-lived exchanges are counted apart ({@link Kind}), so that a client
 * waiting for many jobs or following events never uses up the slots its ordinary calls need, while it still cannot
 * open unbounded streams. A request body must arrive at {@code min-data-rate} in every
 * {@link ClientLimits#RATE_WINDOW} and whole within {@code request-timeout}, or the handler's next read fails with a
 * {@link TimeoutException} (the API answers 408). A reply write of n bytes must be taken by the client within
 * max(window, n / rate), or the connection is closed. Peers that send or read nothing at all are the connector's idle
 * timeout's business.
 *
 * <p>Nothing here holds a thread while it waits: the API reads and writes asynchronously, and the checks run on the
 * server's scheduler once a {@link #TICK} per exchange in flight. Thread-safe.
 */
final class ClientGuard extends Handler.Wrapper {
    private static final Logger LOG = LoggerFactory.getLogger(ClientGuard.class);
    private static final long TICK = TimeUnit.SECONDS.toNanos(1);

    private final Callers callers;
    private final ClientLimits limits;
    private final ObjectMapper json;
    private final ConcurrentHashMap<String, Integer> inFlight = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Integer> streams = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Integer> waits = new ConcurrentHashMap<>();

    /** Which count an exchange goes to; each has its own per-user limit. */
    enum Kind {
        /** Answered as soon as the work is done. */
        ORDINARY("max-requests-per-user", "requests"),
        /** {@code GET /api/v1/events}: open until the client goes away, holding an ordered subscription (a thread). */
        STREAM("max-streams-per-user", "event streams"),
        /** A long poll ({@code ?wait=}) or a log follow ({@code follow=true}): open for as long as a job runs. */
        WAIT("max-waits-per-user", "long polls and log follows");

        final String limit;
        final String what;

        Kind(String limit, String what) {
            this.limit = limit;
            this.what = what;
        }
    }

    ClientGuard(Callers callers, ClientLimits limits, ObjectMapper json, Handler api) {
        super(api);
        this.callers = callers;
        this.limits = limits;
        this.json = json;
    }

    /** Ordinary requests of {@code user} now in flight (for tests and diagnostics). */
    int inFlight(String user) {
        return inFlight.getOrDefault(user, 0);
    }

    /** Exchanges of {@code user} of the given kind now in flight (for tests and diagnostics). */
    int inFlight(String user, Kind kind) {
        return counts(kind).getOrDefault(user, 0);
    }

    /**
     * The kind of a request, from its method, path and query alone (before the API has parsed anything): a request
     * that is not what it claims gets its 400 at once, so claiming a long-lived kind buys nothing.
     */
    static Kind kind(Request request) {
        if (!"GET".equals(request.getMethod())) {
            return Kind.ORDINARY;
        }
        String path = request.getHttpURI().getPath();
        if (path == null || !path.startsWith(ApiV1.PREFIX + "/")) {
            return Kind.ORDINARY;
        }
        String rest = path.substring(ApiV1.PREFIX.length() + 1);
        if (rest.equals("events")) {
            return Kind.STREAM;
        }
        if (!rest.startsWith("jobs/")) {
            return Kind.ORDINARY;
        }
        String[] parts = rest.split("/", -1);
        String query = request.getHttpURI().getQuery();
        if (query == null) {
            return Kind.ORDINARY;
        }
        boolean job = parts.length == 2 && !parts[1].isEmpty() && !parts[1].equals("batch");
        boolean log = parts.length == 3 && (parts[2].equals("stdout") || parts[2].equals("stderr"));
        for (String parameter : query.split("&")) {
            if (job && parameter.startsWith("wait=") || log && parameter.equalsIgnoreCase("follow=true")) {
                return Kind.WAIT;
            }
        }
        return Kind.ORDINARY;
    }

    private ConcurrentHashMap<String, Integer> counts(Kind kind) {
        return switch (kind) {
            case ORDINARY -> inFlight;
            case STREAM -> streams;
            case WAIT -> waits;
        };
    }

    private int max(Kind kind) {
        return switch (kind) {
            case ORDINARY -> limits.maxRequestsPerUser();
            case STREAM -> limits.maxStreamsPerUser();
            case WAIT -> limits.maxWaitsPerUser();
        };
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        Optional<String> user = registeredUser(request);
        if (user.isEmpty()) {
            // The API refuses it before reading anything; counting it would let strangers use up a user's share.
            return super.handle(request, response, callback);
        }
        Kind kind = kind(request);
        int now = counts(kind).merge(user.get(), 1, Integer::sum);
        if (now > max(kind)) {
            release(user.get(), kind);
            tooMany(kind, response, callback);
            return true;
        }
        Exchange exchange = new Exchange(user.get(), kind, request, response, callback);
        boolean handled;
        try {
            handled = super.handle(exchange.request, exchange.response, exchange);
        } catch (Exception | Error e) {
            exchange.finish();
            throw e;
        }
        if (!handled) {
            exchange.finish();
        } else {
            exchange.schedule();
        }
        return handled;
    }

    private Optional<String> registeredUser(Request request) {
        try {
            return Optional.of(callers.identify(request).id());
        } catch (UnregisteredException e) {
            return Optional.empty();
        }
    }

    private void release(String user, Kind kind) {
        counts(kind).computeIfPresent(user, (u, n) -> n > 1 ? n - 1 : null);
    }

    private void tooMany(Kind kind, Response response, Callback callback) {
        // Closing the connection too: a client that floods should also pay the next TLS handshake.
        response.getHeaders().put(HttpHeader.CONNECTION, "close");
        response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        String body = json.createObjectNode().put("error", "too_many_requests")
                .put("message", "you already have " + max(kind) + " " + kind.what + " in flight ("
                        + kind.limit + "); retry when one has finished")
                .put("limit", kind.limit)
                .toString();
        Replies.send(response, callback, HttpStatus.TOO_MANY_REQUESTS_429, Replies.JSON, body);
    }

    /** One request in flight: its guarded body and reply, the periodic check, and the release of the user's slot. */
    private final class Exchange extends Callback.Nested implements Runnable {
        private final String user;
        private final Kind kind;
        private final long start = System.nanoTime();
        private final GuardedRequest request;
        private final GuardedResponse response;
        private final AtomicBoolean finished = new AtomicBoolean();
        private volatile Scheduler.Task tick;

        Exchange(String user, Kind kind, Request request, Response response, Callback callback) {
            super(callback);
            this.user = user;
            this.kind = kind;
            this.request = new GuardedRequest(request, start);
            this.response = new GuardedResponse(this.request, response);
        }

        void schedule() {
            if (!finished.get()) {
                tick = getServer().getScheduler().schedule(this, TICK, TimeUnit.NANOSECONDS);
                if (finished.get()) {
                    tick.cancel(); // finished while being scheduled
                }
            }
        }

        @Override
        public void run() {
            if (finished.get()) {
                return;
            }
            long now = System.nanoTime();
            request.check(now);
            response.check(now);
            schedule();
        }

        void finish() {
            if (finished.compareAndSet(false, true)) {
                Scheduler.Task t = tick;
                if (t != null) {
                    t.cancel();
                }
                release(user, kind);
            }
        }

        @Override
        public void succeeded() {
            finish();
            super.succeeded();
        }

        @Override
        public void failed(Throwable x) {
            finish();
            super.failed(x);
        }
    }

    /** The request whose body must keep up with the rate and the deadline. */
    private final class GuardedRequest extends Request.Wrapper {
        private final long start;
        private final AtomicReference<Runnable> demand = new AtomicReference<>();
        private volatile long bytesRead;
        private volatile boolean complete;
        private volatile Throwable failure;
        /** Only touched by the tick, which never runs twice at once. */
        private long windowStart;
        private long windowBytes;

        GuardedRequest(Request request, long start) {
            super(request);
            this.start = start;
            this.windowStart = start;
            // Without a body there is nothing to keep up with (HTTP/1.1: a body has a length or is chunked).
            this.complete = request.getLength() <= 0 && !request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
        }

        @Override
        public Content.Chunk read() {
            Throwable f = failure;
            if (f != null) {
                return Content.Chunk.from(f, true);
            }
            Content.Chunk chunk = super.read();
            if (chunk != null) {
                if (!Content.Chunk.isFailure(chunk)) {
                    bytesRead += chunk.remaining();
                }
                if (chunk.isLast()) {
                    complete = true;
                }
            }
            return chunk;
        }

        @Override
        public void demand(Runnable onContent) {
            if (failure != null) {
                getContext().execute(onContent);
                return;
            }
            demand.set(onContent);
            if (failure != null) {
                // fail() ran between the check above and the set: it found no demand to run, so run it here.
                Runnable pending = demand.getAndSet(null);
                if (pending != null) {
                    getContext().execute(pending);
                }
                return;
            }
            super.demand(() -> {
                Runnable pending = demand.getAndSet(null);
                if (pending != null) {
                    pending.run();
                }
            });
        }

        void check(long now) {
            if (complete || failure != null) {
                return;
            }
            if (now - start > limits.requestTimeout().toNanos()) {
                fail(new TimeoutException("the request body did not arrive within request-timeout ("
                        + limits.requestTimeout().toSeconds() + " s)"));
                return;
            }
            if (limits.minDataRate() > 0 && now - windowStart >= ClientLimits.RATE_WINDOW.toNanos()) {
                long bytes = bytesRead;
                long expected = limits.minDataRate() * ClientLimits.RATE_WINDOW.toSeconds();
                if (bytes - windowBytes < expected) {
                    fail(new TimeoutException("the request body arrived slower than min-data-rate ("
                            + limits.minDataRate() + " bytes/s)"));
                    return;
                }
                windowStart = now;
                windowBytes = bytes;
            }
        }

        private void fail(TimeoutException cause) {
            LOG.debug("{} {}: {}", getMethod(), getHttpURI().getPath(), cause.getMessage());
            failure = cause;
            Runnable pending = demand.getAndSet(null);
            if (pending != null) {
                getContext().execute(pending);
            }
        }
    }

    /** The reply, whose writes the client must take at the minimum rate. */
    private final class GuardedResponse extends Response.Wrapper {
        /** When the write now pending started; 0 when none is. */
        private volatile long pendingSince;
        private volatile int pendingBytes;
        private final AtomicBoolean aborted = new AtomicBoolean();

        GuardedResponse(Request request, Response response) {
            super(request, response);
        }

        @Override
        public void write(boolean last, ByteBuffer content, Callback callback) {
            pendingBytes = content == null ? 0 : content.remaining();
            pendingSince = Math.max(1, System.nanoTime());
            super.write(last, content, Callback.from(Invocable.getInvocationType(callback), () -> {
                pendingSince = 0;
                callback.succeeded();
            }, x -> {
                pendingSince = 0;
                callback.failed(x);
            }));
        }

        void check(long now) {
            long since = pendingSince;
            if (since == 0 || limits.minDataRate() == 0) {
                return;
            }
            long allowed = Math.max(ClientLimits.RATE_WINDOW.toNanos(),
                    TimeUnit.SECONDS.toNanos(pendingBytes) / limits.minDataRate());
            if (now - since > allowed && aborted.compareAndSet(false, true)) {
                TimeoutException cause = new TimeoutException("the client read the reply slower than min-data-rate ("
                        + limits.minDataRate() + " bytes/s)");
                LOG.debug("{} {}: {}", getRequest().getMethod(), getRequest().getHttpURI().getPath(),
                        cause.getMessage());
                // Fails the pending write, which ends the exchange; no thread was waiting on it.
                getRequest().getConnectionMetaData().getConnection().getEndPoint().close(cause);
            }
        }
    }
}
