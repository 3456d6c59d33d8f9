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
import java.util.ArrayList;
import java.util.Collection;
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
    private static final MediaType SCRIPT = MediaType.get("text/x-shellscript; charset=utf-8");
    private static final RequestBody EMPTY = RequestBody.create(new byte[0], null);
    /**
     * The longest long poll asked for, in seconds. The daemon serves up to 300 and lifts its idle timeout while a long
     * poll waits, so the daemon does not bound this: a silent connection of 25 s stays under the idle cut-off of the
     * proxies and NAT tables commonly in between (30 s and up), and a reply lost on the way is noticed within this
     * plus the read timeout. Waiting for jobs uses the view's one event subscription ({@link TerminalWaits}); long
     * polls serve {@link #await} and {@link #onTerminal} only when the event stream cannot be opened.
     */
    static final int MAX_WAIT_SECONDS = 25;
    /** The long poll {@link #onTerminal} repeats. */
    private static final int FUTURE_WAIT_SECONDS = MAX_WAIT_SECONDS;

    private final RemoteSkyPort port;
    private final Transport transport;
    private final TerminalWaits waits;

    RemoteJobs(RemoteSkyPort port) {
        this.port = port;
        this.transport = port.transport();
        this.waits = new TerminalWaits(port, id -> snapshot(id, 0));
    }

    /** The view's shared wait for terminal states (for tests). */
    TerminalWaits terminalWaits() {
        return waits;
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
        RequestBody body = parsedFromItsScript(spec)
                ? RequestBody.create(spec.script().orElseThrow().getBytes(StandardCharsets.UTF_8), SCRIPT)
                : RequestBody.create(WireJson.bytes(WireJson.writeSpecRequest(spec)), JSON);
        Request.Builder request = port.request(transport.url("jobs").build()).post(body);
        spec.idempotencyKey().ifPresent(key -> request.header("Idempotency-Key", key));
        // Only a keyed submit may be sent twice: the daemon answers a replay with the first job.
        return jobOf(transport.executeForBytes(request.build(), spec.idempotencyKey().isPresent(), Optional.empty(),
                "submit"));
    }

    /**
     * Whether {@code spec} is exactly what parsing its script gives and carries warnings from that parse. Warnings are
     * not part of a JSON request (the daemon refuses them there), so such a spec goes as the script itself, which the
     * daemon parses the same way: the job then keeps its warnings, as an embedded submit does.
     */
    private static boolean parsedFromItsScript(JobSpec spec) {
        if (spec.warnings().isEmpty() || spec.script().isEmpty()) {
            return false;
        }
        try {
            JobSpec.Builder parsed = JobSpec.parseScript(spec.script().get());
            spec.idempotencyKey().ifPresent(parsed::idempotencyKey);
            return parsed.build().equals(spec);
        } catch (RuntimeException notTheSame) {
            return false;
        }
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
        CompletableFuture<Job> end = onTerminal(id);
        try {
            return end.get(nanos(timeout), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            end.cancel(true);
            Job last = get(id);
            if (last.state().isTerminal()) {
                return last;
            }
            throw new AwaitTimeoutException(last);
        } catch (InterruptedException e) {
            end.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    /** {@code timeout} in nanoseconds, saturated: a negative one is 0, a huge one is about forever. */
    private static long nanos(Duration timeout) {
        if (timeout.isNegative()) {
            return 0;
        }
        try {
            return timeout.toNanos();
        } catch (ArithmeticException forever) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Every job's future first (so every id is checked before the first wait, and all share the view's one event
     * subscription), then each under the one deadline.
     */
    @Override
    public List<Job> awaitAll(Collection<JobId> ids, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(timeout, "timeout");
        List<JobId> order = List.copyOf(ids);
        long start = System.nanoTime();
        long budget = nanos(timeout);
        List<CompletableFuture<Job>> ends = new ArrayList<>(order.size());
        try {
            for (JobId id : order) {
                ends.add(onTerminal(Objects.requireNonNull(id, "id")));
            }
            List<Job> jobs = new ArrayList<>(order.size());
            for (int i = 0; i < order.size(); i++) {
                long left = budget == Long.MAX_VALUE ? Long.MAX_VALUE : budget - (System.nanoTime() - start);
                try {
                    jobs.add(ends.get(i).get(Math.max(0, left), TimeUnit.NANOSECONDS));
                } catch (TimeoutException e) {
                    return endedMeanwhile(order, ends, jobs, i);
                } catch (ExecutionException e) {
                    throw unwrap(e);
                }
            }
            return List.copyOf(jobs);
        } finally {
            ends.forEach(f -> f.cancel(true));
        }
    }

    /** After the deadline: the jobs from {@code from} on that still run make the exception (or all ended after all). */
    private List<Job> endedMeanwhile(List<JobId> order, List<CompletableFuture<Job>> ends, List<Job> ended, int from) {
        List<Job> jobs = new ArrayList<>(ended);
        List<Job> notEnded = new ArrayList<>();
        for (int j = from; j < order.size(); j++) {
            Job now = ends.get(j).isDone() && !ends.get(j).isCompletedExceptionally() ? ends.get(j).join()
                    : get(order.get(j));
            jobs.add(now);
            if (!now.state().isTerminal()) {
                notEnded.add(now);
            }
        }
        if (notEnded.isEmpty()) {
            return List.copyOf(jobs);
        }
        throw new AwaitTimeoutException(notEnded);
    }

    @Override
    public CompletableFuture<Job> onTerminal(JobId id) {
        Objects.requireNonNull(id, "id");
        Job now = get(id); // an unknown id fails here, at the call, as the interface says
        if (now.state().isTerminal()) {
            return CompletableFuture.completedFuture(now);
        }
        CompletableFuture<Job> result = new CompletableFuture<>();
        if (waits.register(id, result)) {
            // Registered, and the subscription covers every event from before this read: an end either shows here
            // or arrives as an event.
            try {
                Job again = get(id);
                if (again.state().isTerminal()) {
                    result.complete(again);
                }
            } catch (RuntimeException e) {
                result.cancel(false);
                throw e;
            }
            return result;
        }
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
     * The job's snapshot once it is terminal or {@code seconds} have passed (0: at once), without a thread waiting:
     * an asynchronous (long) poll, retried with back-off after a transport failure (a GET is idempotent). Cancelling
     * the future cancels the call.
     */
    CompletableFuture<Job> snapshot(JobId id, int seconds) {
        CompletableFuture<Job> future = new CompletableFuture<>();
        HttpUrl.Builder url = job(id);
        if (seconds > 0) {
            url.addQueryParameter("wait", Integer.toString(seconds));
        }
        Request request = port.request(url.build()).build();
        OkHttpClient client = seconds > 0 ? transport.waiting() : transport.http(); // a wait outlasts read timeouts
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
                    Optional<Duration> wait = transport.retryWait(response.code(), Transport.retryAfter(response),
                            attempt);
                    if (wait.isPresent()) {
                        try {
                            transport.timer().schedule(() -> send(client, request, id, future, call, attempt + 1),
                                    wait.get().toMillis(), TimeUnit.MILLISECONDS);
                            return;
                        } catch (java.util.concurrent.RejectedExecutionException closed) {
                            future.completeExceptionally(new SkyPortException("the client is closed"));
                            return;
                        }
                    }
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
            client = transport.streaming();
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
