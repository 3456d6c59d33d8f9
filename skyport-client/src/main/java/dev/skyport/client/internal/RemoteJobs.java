package dev.skyport.client.internal;

import dev.skyport.api.AwaitTimeoutException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Jobs;
import dev.skyport.api.Page;
import dev.skyport.api.SkyPortException;
import dev.skyport.client.internal.wire.WireJson;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/** {@link Jobs} over {@code /api/v1/jobs}. */
final class RemoteJobs implements Jobs {
    private static final MediaType JSON = MediaType.get("application/json");
    private static final RequestBody EMPTY = RequestBody.create(new byte[0], null);
    /**
     * The longest long poll asked for, in seconds. The daemon serves up to 300, but its connections close after 30 s
     * without traffic (Jetty's idle timeout, the daemon's default), and a silent long poll is no traffic: 25 s stays
     * under it, at the cost of one small request per waiter every 25 s.
     */
    static final int MAX_WAIT_SECONDS = 25;
    /** The long poll {@link #onTerminal} repeats. */
    private static final int FUTURE_WAIT_SECONDS = MAX_WAIT_SECONDS;

    private final RemoteSkyPort port;
    private final Transport transport;

    RemoteJobs(RemoteSkyPort port) {
        this.port = port;
        this.transport = port.transport();
    }

    private HttpUrl.Builder job(JobId id, String... more) {
        HttpUrl.Builder b = transport.url("jobs", id.toString());
        for (String m : more) {
            b.addPathSegment(m);
        }
        return b;
    }

    private Job jobOf(byte[] body) {
        return WireJson.readJob(WireJson.parse(body));
    }

    @Override
    public Job submit(JobSpec spec) {
        Objects.requireNonNull(spec, "spec");
        Request.Builder request = port.request(transport.url("jobs").build())
                .post(RequestBody.create(WireJson.bytes(WireJson.writeSpecRequest(spec)), JSON));
        spec.idempotencyKey().ifPresent(key -> request.header("Idempotency-Key", key));
        // Only a keyed submit may be sent twice: the daemon answers a replay with the first job.
        return jobOf(transport.executeForBytes(request.build(), spec.idempotencyKey().isPresent(), Optional.empty(),
                "submit"));
    }

    @Override
    public List<Job> submitAll(List<JobSpec> specs) {
        Objects.requireNonNull(specs, "specs");
        specs.forEach(s -> Objects.requireNonNull(s, "spec"));
        if (specs.isEmpty()) {
            return List.of();
        }
        Request request = port.request(transport.url("jobs", "batch").build())
                .post(RequestBody.create(WireJson.bytes(WireJson.writeBatchRequest(specs)), JSON)).build();
        return WireJson.readItems(WireJson.parse(transport.executeForBytes(request, false, Optional.empty(),
                "submit")), WireJson::readJob);
    }

    @Override
    public Job get(JobId id) {
        Objects.requireNonNull(id, "id");
        return jobOf(transport.executeForBytes(port.request(job(id).build()).build(), true, Optional.of(id), "get"));
    }

    @Override
    public Page<Job> list(JobQuery query) {
        Objects.requireNonNull(query, "query");
        HttpUrl.Builder url = transport.url("jobs");
        query.states().stream().map(JobState::name).sorted().forEach(s -> url.addQueryParameter("state", s));
        query.owner().ifPresent(o -> url.addQueryParameter("owner", o));
        query.namePrefix().ifPresent(n -> url.addQueryParameter("name", n));
        for (Map.Entry<String, String> tag : query.tags().entrySet()) {
            url.addQueryParameter("tag", tag.getKey() + "=" + tag.getValue());
        }
        url.addQueryParameter("limit", Integer.toString(query.limit()));
        query.pageToken().ifPresent(t -> url.addQueryParameter("cursor", t));
        if (!query.withScripts()) {
            url.addQueryParameter("scripts", "false");
        }
        return WireJson.readPage(port.getJson(Optional.empty(), url.build()), WireJson::readJob);
    }

    @Override
    public Job cancel(JobId id) {
        return change(id, "cancel");
    }

    @Override
    public Job requeue(JobId id) {
        return change(id, "requeue");
    }

    /** A state change: not idempotent, so never resent after it may have reached the daemon. */
    private Job change(JobId id, String operation) {
        Objects.requireNonNull(id, "id");
        Request request = port.request(job(id, operation).build()).post(EMPTY).build();
        return jobOf(transport.executeForBytes(request, false, Optional.of(id), operation));
    }

    @Override
    public Job await(JobId id, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(timeout, "timeout");
        Instant deadline = deadline(timeout);
        while (true) {
            Duration left = Duration.between(Instant.now(), deadline);
            if (left.isNegative() || left.isZero()) {
                Job last = get(id);
                if (last.state().isTerminal()) {
                    return last;
                }
                throw new AwaitTimeoutException(last);
            }
            // The daemon waits in whole seconds; the local deadline cuts a longer poll short.
            int seconds = (int) Math.max(1, Math.min(MAX_WAIT_SECONDS, (left.toMillis() + 999) / 1000));
            CompletableFuture<Job> poll = snapshot(id, seconds);
            try {
                Job job = poll.get(left.toNanos(), TimeUnit.NANOSECONDS);
                if (job.state().isTerminal()) {
                    return job;
                }
            } catch (TimeoutException e) {
                poll.cancel(true);
            } catch (InterruptedException e) {
                poll.cancel(true);
                throw e;
            } catch (ExecutionException e) {
                throw unwrap(e);
            }
        }
    }

    private static Instant deadline(Duration timeout) {
        try {
            return Instant.now().plus(timeout.isNegative() ? Duration.ZERO : timeout);
        } catch (ArithmeticException | java.time.DateTimeException forever) {
            return Instant.MAX;
        }
    }

    @Override
    public CompletableFuture<Job> onTerminal(JobId id) {
        Job now = get(id); // an unknown id fails here, at the call, as the interface says
        if (now.state().isTerminal()) {
            return CompletableFuture.completedFuture(now);
        }
        CompletableFuture<Job> result = new CompletableFuture<>();
        AtomicReference<CompletableFuture<Job>> current = new AtomicReference<>();
        result.whenComplete((job, failure) -> {
            CompletableFuture<Job> poll = current.get();
            if (poll != null) {
                poll.cancel(true); // cancelling the caller's future cancels the call in flight
            }
        });
        pollUntilTerminal(id, result, current);
        return result;
    }

    private void pollUntilTerminal(JobId id, CompletableFuture<Job> result,
                                   AtomicReference<CompletableFuture<Job>> current) {
        if (result.isDone()) {
            return;
        }
        CompletableFuture<Job> poll = snapshot(id, FUTURE_WAIT_SECONDS);
        current.set(poll);
        if (result.isDone()) {
            poll.cancel(true);
            return;
        }
        poll.whenComplete((job, failure) -> {
            if (failure != null) {
                if (!(failure instanceof CancellationException)) {
                    result.completeExceptionally(failure instanceof java.util.concurrent.CompletionException c
                            && c.getCause() != null ? c.getCause() : failure);
                }
            } else if (job.state().isTerminal()) {
                result.complete(job);
            } else {
                pollUntilTerminal(id, result, current);
            }
        });
    }

    /**
     * The job's snapshot once it is terminal or {@code seconds} have passed, without a thread waiting: an
     * asynchronous long poll, retried with back-off after a transport failure (a GET is idempotent). Cancelling the
     * future cancels the call.
     */
    CompletableFuture<Job> snapshot(JobId id, int seconds) {
        CompletableFuture<Job> future = new CompletableFuture<>();
        Request request = port.request(job(id).addQueryParameter("wait", Integer.toString(seconds)).build()).build();
        // The reply comes after up to `seconds` of silence: the read timeout must outlast it.
        OkHttpClient client = transport.http().newBuilder()
                .readTimeout(Duration.ofSeconds(seconds).plus(transport.settings().readTimeout())).build();
        AtomicReference<Call> call = new AtomicReference<>();
        future.whenComplete((j, f) -> {
            Call c = call.get();
            if (f instanceof CancellationException && c != null) {
                c.cancel();
            }
        });
        send(client, request, id, future, call, 0);
        return future;
    }

    private void send(OkHttpClient client, Request request, JobId id, CompletableFuture<Job> future,
                      AtomicReference<Call> call, int attempt) {
        if (future.isDone()) {
            return;
        }
        if (transport.isClosed()) {
            future.completeExceptionally(new SkyPortException("the client is closed"));
            return;
        }
        Call c;
        try {
            c = client.newCall(request);
        } catch (RuntimeException e) {
            future.completeExceptionally(e);
            return;
        }
        call.set(c);
        if (future.isCancelled()) {
            return;
        }
        c.enqueue(new Callback() {
            @Override
            public void onFailure(Call failed, IOException e) {
                if (future.isDone()) {
                    return;
                }
                if (attempt < transport.settings().retries() && !transport.isClosed() && !failed.isCanceled()) {
                    try {
                        transport.timer().schedule(() -> send(client, request, id, future, call, attempt + 1),
                                transport.backoff().delay(attempt).toMillis(), TimeUnit.MILLISECONDS);
                        return;
                    } catch (java.util.concurrent.RejectedExecutionException closed) {
                        // the client closed meanwhile
                    }
                }
                future.completeExceptionally(transport.unreachable(e));
            }

            @Override
            public void onResponse(Call done, Response response) {
                try (response) {
                    byte[] body = Transport.bytesOf(response);
                    if (response.isSuccessful()) {
                        future.complete(jobOf(body));
                    } else {
                        future.completeExceptionally(ErrorMapping.toException(response.code(), body, Optional.of(id),
                                "await"));
                    }
                } catch (RuntimeException e) {
                    future.completeExceptionally(e);
                }
            }
        });
    }

    private static RuntimeException unwrap(ExecutionException e) {
        if (e.getCause() instanceof RuntimeException r) {
            return r;
        }
        return new SkyPortException("waiting for the job failed", e.getCause());
    }

    @Override
    public String stdout(JobId id) {
        return text(id, "stdout");
    }

    @Override
    public String stderr(JobId id) {
        return text(id, "stderr");
    }

    private String text(JobId id, String stream) {
        Objects.requireNonNull(id, "id");
        return new String(transport.executeForBytes(port.request(job(id, stream).build()).build(), true,
                Optional.of(id), "read"), StandardCharsets.UTF_8);
    }

    @Override
    public InputStream openStdout(JobId id) {
        return open(id, "stdout", false);
    }

    @Override
    public InputStream openStderr(JobId id) {
        return open(id, "stderr", false);
    }

    @Override
    public InputStream followStdout(JobId id) {
        return open(id, "stdout", true);
    }

    @Override
    public InputStream followStderr(JobId id) {
        return open(id, "stderr", true);
    }

    /**
     * The log as a stream, opened before returning: the status (404 for an id the caller may not see) is known once
     * the headers arrived, so the failure comes from this call, not from the first read.
     */
    private InputStream open(JobId id, String stream, boolean follow) {
        Objects.requireNonNull(id, "id");
        HttpUrl.Builder url = job(id, stream);
        OkHttpClient client = transport.http();
        if (follow) {
            url.addQueryParameter("follow", "true");
            // A quiet job sends nothing for as long as it likes; the stream ends when the job does.
            client = client.newBuilder().readTimeout(Duration.ZERO).build();
        }
        Response response = transport.execute(client, port.request(url.build()).build(), true, Optional.of(id),
                "read");
        ResponseBody body = response.body();
        if (body == null) {
            response.close();
            return InputStream.nullInputStream();
        }
        return new FilterInputStream(body.byteStream()) {
            @Override
            public void close() throws IOException {
                try {
                    super.close();
                } finally {
                    response.close();
                }
            }
        };
    }
}
