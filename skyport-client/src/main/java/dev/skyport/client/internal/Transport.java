package dev.skyport.client.internal;

import dev.skyport.api.JobId;
import dev.skyport.api.SkyPortException;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One OkHttpClient per Sky Port client, so every call reuses the same pooled TLS connections, and the retry rule:
 * a call is retried (with {@link Backoff}) after a transport failure or a 429/502/503/504 only when it is idempotent,
 * or when the connection was refused, which proves the request was never sent. OkHttp's own silent retry is off, as
 * it would resend a cancel or a submit without a key.
 */
public final class Transport implements AutoCloseable {
    private static final AtomicInteger CLIENTS = new AtomicInteger();

    private final HttpUrl base;
    private final OkHttpClient http;
    private final OkHttpClient waiting;
    private final OkHttpClient streaming;
    private final ClientSettings settings;
    private final Backoff backoff;
    private final ScheduledExecutorService timer;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Transport(HttpUrl base, OkHttpClient http, ClientSettings settings, ScheduledExecutorService timer) {
        this.base = base;
        this.http = http;
        // Same pool and dispatcher. A long poll is silent for up to its wait; a log follow or an event stream for as
        // long as the job or the daemon is quiet; neither is bounded by the call timeout of request-reply calls.
        this.waiting = http.newBuilder().callTimeout(Duration.ZERO)
                .readTimeout(Duration.ofSeconds(RemoteJobs.MAX_WAIT_SECONDS).plus(settings.readTimeout())).build();
        this.streaming = http.newBuilder().callTimeout(Duration.ZERO).readTimeout(Duration.ZERO).build();
        this.settings = settings;
        this.backoff = new Backoff(settings.initialBackoff(), settings.maxBackoff(),
                () -> ThreadLocalRandom.current().nextDouble());
        this.timer = timer;
    }

    /**
     * A transport to {@code base} (its path is the API root, e.g. {@code https://host:8443/api/v1}). With
     * {@code sockets} and {@code trust} absent it speaks plain HTTP (tests of the client's own logic only).
     */
    public static Transport create(HttpUrl base, ClientSettings settings, Optional<SSLSocketFactory> sockets,
                                   Optional<X509TrustManager> trust) {
        int n = CLIENTS.incrementAndGet();
        ExecutorService calls = Executors.newCachedThreadPool(r -> daemonThread(r, "skyport-client-" + n + "-call"));
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
                r -> daemonThread(r, "skyport-client-" + n + "-timer"));
        Dispatcher dispatcher = new Dispatcher(calls);
        // Long polls and log follows each hold a connection; the default of 5 per host would queue the sixth.
        dispatcher.setMaxRequests(256);
        dispatcher.setMaxRequestsPerHost(256);
        OkHttpClient.Builder builder = new OkHttpClient.Builder()
                .dispatcher(dispatcher)
                // Shorter than Jetty's 30 s idle timeout, so a pooled connection is not reused as the server closes it.
                .connectionPool(new ConnectionPool(16, 20, TimeUnit.SECONDS))
                .connectTimeout(settings.connectTimeout())
                .readTimeout(settings.readTimeout())
                .writeTimeout(settings.readTimeout())
                .callTimeout(settings.callTimeout())
                .retryOnConnectionFailure(false)
                .addNetworkInterceptor(Transport::hideRetryAfterFromOkHttp)
                .followRedirects(false)
                .followSslRedirects(false);
        if (sockets.isPresent() && trust.isPresent()) {
            builder.sslSocketFactory(sockets.get(), trust.get());
        }
        return new Transport(base, builder.build(), settings, timer);
    }

    /** Where {@link #hideRetryAfterFromOkHttp} moves a 503's {@code Retry-After}. */
    static final String RETRY_AFTER = "SkyPort-Client-Retry-After";

    /**
     * OkHttp resends a request at once, whatever its method, when a 503 says {@code Retry-After: 0}: a cancel would
     * go out twice. Moving the header out of its sight leaves every retry decision to {@link #execute}.
     */
    private static Response hideRetryAfterFromOkHttp(okhttp3.Interceptor.Chain chain) throws IOException {
        Response response = chain.proceed(chain.request());
        String retryAfter = response.header("Retry-After");
        if (response.code() != 503 || retryAfter == null) {
            return response;
        }
        return response.newBuilder().removeHeader("Retry-After").header(RETRY_AFTER, retryAfter).build();
    }

    static Optional<Duration> retryAfter(Response response) {
        String value = response.header("Retry-After");
        return Backoff.retryAfter(value != null ? value : response.header(RETRY_AFTER), Instant.now());
    }

    private static Thread daemonThread(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** {@code base} with {@code segments} appended as path segments (each encoded). */
    public HttpUrl.Builder url(String... segments) {
        HttpUrl.Builder b = base.newBuilder();
        for (String s : segments) {
            b.addPathSegment(s);
        }
        return b;
    }

    public OkHttpClient http() {
        return http;
    }

    /** For long polls of up to {@link RemoteJobs#MAX_WAIT_SECONDS}. */
    OkHttpClient waiting() {
        return waiting;
    }

    /** For streams that may be silent for long: log follows (event streams set their own silence bound). */
    OkHttpClient streaming() {
        return streaming;
    }

    public ClientSettings settings() {
        return settings;
    }

    public Backoff backoff() {
        return backoff;
    }

    public ScheduledExecutorService timer() {
        return timer;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Executes {@code request} and returns its 2xx response (the caller closes it), retrying as the class says.
     *
     * @param idempotent whether sending the request twice does no harm
     * @param subject    the job the request is about, for the error mapping
     * @param operation  the verb the error mapping names for an illegal state
     * @throws SkyPortException (or the mapped subclass) for an error reply or when the daemon cannot be reached
     */
    public Response execute(OkHttpClient client, Request request, boolean idempotent, Optional<JobId> subject,
                            String operation) {
        for (int attempt = 0; ; attempt++) {
            checkOpen();
            Response response;
            try {
                response = client.newCall(request).execute();
            } catch (IOException e) {
                checkOpen();
                boolean neverSent = e instanceof ConnectException;
                if ((idempotent || neverSent) && attempt < settings.retries() && !(e instanceof InterruptedIOException
                        && Thread.currentThread().isInterrupted())) {
                    pause(backoff.delay(attempt));
                    continue;
                }
                throw unreachable(e);
            }
            if (response.isSuccessful()) {
                return response;
            }
            int code = response.code();
            byte[] body = bytesOf(response);
            Optional<Duration> wait = idempotent ? retryWait(code, retryAfter(response), attempt) : Optional.empty();
            if (wait.isPresent()) {
                pause(wait.get());
                continue;
            }
            throw ErrorMapping.toException(code, body, subject, operation);
        }
    }

    /**
     * How long to wait before sending an idempotent request again after a reply with status {@code code}: for
     * 429/502/503/504 while retries are left, the back-off or the server's {@code Retry-After} when that is longer;
     * empty when the reply is final (another status, no retries left, or a Retry-After beyond the cap).
     */
    Optional<Duration> retryWait(int code, Optional<Duration> asked, int attempt) {
        if (attempt >= settings.retries() || !(code == 429 || code == 502 || code == 503 || code == 504)) {
            return Optional.empty();
        }
        if (asked.isPresent() && asked.get().compareTo(settings.maxRetryAfter()) > 0) {
            return Optional.empty();
        }
        Duration wait = backoff.delay(attempt);
        return Optional.of(asked.filter(a -> a.compareTo(wait) > 0).orElse(wait));
    }

    /** As {@link #execute}, returning the whole body. */
    public byte[] executeForBytes(Request request, boolean idempotent, Optional<JobId> subject, String operation) {
        try (Response response = execute(http, request, idempotent, subject, operation)) {
            return bytesOf(response);
        }
    }

    /** Sends {@code request} once, asynchronously; {@code callback} gets the response or the failure. */
    public Call enqueue(OkHttpClient client, Request request, Callback callback) {
        Call call = client.newCall(request);
        call.enqueue(callback);
        return call;
    }

    public SkyPortException unreachable(IOException e) {
        if (closed.get()) {
            return new SkyPortException("the client is closed");
        }
        return new SkyPortException("cannot reach the Sky Port daemon at " + base.host() + ":" + base.port() + ": "
                + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
    }

    public static byte[] bytesOf(Response response) {
        ResponseBody body = response.body();
        if (body == null) {
            return new byte[0];
        }
        try {
            return body.bytes();
        } catch (IOException e) {
            throw new SkyPortException("the daemon's reply broke off: " + e.getMessage(), e);
        } finally {
            response.close();
        }
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new SkyPortException("the client is closed");
        }
    }

    static void pause(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SkyPortException("interrupted while waiting to retry", e);
        }
    }

    /** Cancels every call in flight, stops the threads and closes the pooled connections. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        http.dispatcher().cancelAll();
        http.dispatcher().executorService().shutdown();
        timer.shutdownNow();
        http.connectionPool().evictAll();
    }
}
