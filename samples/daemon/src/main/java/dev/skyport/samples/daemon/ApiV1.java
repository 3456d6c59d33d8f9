package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skyport.api.Health;
import dev.skyport.api.IdempotencyKeyReusedException;
import dev.skyport.api.IllegalJobStateException;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.Page;
import dev.skyport.api.PortSpec;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import dev.skyport.client.internal.wire.WireError;
import dev.skyport.client.internal.wire.WireFormatException;
import dev.skyport.client.internal.wire.WireJson;
import dev.skyport.client.internal.wire.WireUser;
import dev.skyport.samples.daemon.Callers.Caller;
import dev.skyport.samples.daemon.Callers.UnregisteredException;
import org.eclipse.jetty.http.BadMessageException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.thread.Scheduler;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.skyport.samples.daemon.Replies.BYTES;
import static dev.skyport.samples.daemon.Replies.sendJson;
import static dev.skyport.samples.daemon.Requests.abbreviate;
import static dev.skyport.samples.daemon.Requests.allow;
import static dev.skyport.samples.daemon.Requests.noQuery;
import static dev.skyport.samples.daemon.Requests.notFound;
import static dev.skyport.samples.daemon.Requests.onlyParameters;

/**
 * The native REST API {@code /api/v1}: everything the embedded {@link SkyPort} does, over HTTPS, in the JSON of
 * {@link WireJson} (the contract is {@code openapi/skyport-api-v1.yaml}, served at {@code /api/v1/openapi.yaml}).
 * Identity and isolation are those of {@code /user}: the client certificate names the user, a user sees their own jobs
 * only (another user's job is a 404 with the body of an unknown one), an admin sees all and may act as another user
 * with {@code SkyPort-Act-As-User}. Nothing here holds a thread while it waits for a client or a job: bodies are read
 * and replies written asynchronously, long polls wait on {@link dev.skyport.api.Jobs#onTerminal}, follows and event
 * streams on the server's scheduler.
 */
final class ApiV1 extends Handler.Abstract {
    static final String PREFIX = "/api/v1";
    static final String OPENAPI_RESOURCE = "/openapi/skyport-api-v1.yaml";
    static final String ACT_AS = "SkyPort-Act-As-User";
    static final String ACT_AS_NAME = "SkyPort-Act-As-User-Name";
    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    /** Longest {@code ?wait=} of a long poll, in seconds. */
    static final int MAX_WAIT_SECONDS = 300;
    private static final int DEFAULT_LIMIT = 100;
    /** Room for JSON's escaping of a script of the maximum size, and for the other members (env and command: 1 MiB). */
    private static final long JSON_OVERHEAD = 4L * 1024 * 1024;
    /** Largest batch body: a thousand specs of a few KiB each, with room. */
    private static final long MAX_BATCH_BYTES = 32L * 1024 * 1024;
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d{1,18})-(\\d{0,18})");
    private static final Pattern SEQUENCE = Pattern.compile("\\d{1,18}");
    private static final int MAX_HEADER_USER_LENGTH = 256;

    private final SkyPort sky;
    private final Callers callers;
    private final int maxScriptBytes;
    private final byte[] openApi;

    ApiV1(SkyPort sky, Callers callers, int maxScriptBytes) {
        this.sky = sky;
        this.callers = callers;
        this.maxScriptBytes = maxScriptBytes;
        try (InputStream in = ApiV1.class.getResourceAsStream(OPENAPI_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the daemon's jar lacks " + OPENAPI_RESOURCE);
            }
            this.openApi = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whom a request acts for: {@code view} answers reads and changes (the manager itself for an admin), {@code owner}
     * submits, so that even an admin's own jobs are the admin's.
     */
    private record Acting(SkyPort view, SkyPort owner, WireUser user) {
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        try {
            route(request, response, callback);
        } catch (RuntimeException | IOException e) {
            Replies.answer(request, response, callback, mapped(e));
        }
        return true;
    }

    private void route(Request request, Response response, Callback callback) throws IOException {
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        if (!path.startsWith(PREFIX)) {
            throw notFound(path);
        }
        String[] parts = path.substring(PREFIX.length()).split("/", -1); // "", "jobs", ...
        Acting acting = acting(request);
        if (parts.length == 1) {
            if (!parts[0].isEmpty()) {
                throw notFound(path);
            }
            allow(method, "GET");
            noQuery(request);
            // lastSequence: where a client's Events.lastSequence() comes from (subscribe from now, in order).
            sendJson(response, callback, 200, WireJson.writeWhoAmI(acting.user)
                    .put("lastSequence", acting.view.events().lastSequence()));
            return;
        }
        switch (parts.length == 2 ? parts[1] : parts[1] + "/") {
            case "health" -> health(request, method, response, callback);
            case "openapi.yaml" -> {
                allow(method, "GET");
                noQuery(request);
                Replies.send(response, callback, 200, "application/yaml", openApi);
            }
            case "nodes" -> catalogue(request, method, response, callback, acting.view.nodes(), WireJson::writeNode);
            case "flavors" -> catalogue(request, method, response, callback, acting.view.flavors(),
                    WireJson::writeFlavor);
            case "images" -> catalogue(request, method, response, callback, acting.view.images(),
                    WireJson::writeImage);
            case "remotes" -> catalogue(request, method, response, callback, acting.view.remotes(),
                    WireJson::writeRemoteSite);
            case "partitions" -> catalogue(request, method, response, callback, acting.view.partitions(),
                    WireJson::writePartition);
            case "events" -> {
                allow(method, "GET");
                events(acting, request, response, callback);
            }
            case "jobs" -> {
                allow(method, "GET", "POST");
                if (method.equals("GET")) {
                    list(acting, request, response, callback);
                } else {
                    submit(acting, request, response, callback);
                }
            }
            case "jobs/" -> job(acting, path, parts, request, method, response, callback);
            default -> throw notFound(path);
        }
    }

    private void job(Acting acting, String path, String[] parts, Request request, String method, Response response,
                     Callback callback) throws IOException {
        if (parts.length == 3 && parts[2].equals("batch")) {
            allow(method, "POST");
            batch(acting, request, response, callback);
            return;
        }
        if (parts.length == 3) {
            allow(method, "GET");
            get(acting, jobId(parts[2]), request, response, callback);
            return;
        }
        if (parts.length != 4) {
            throw notFound(path);
        }
        JobId id = jobId(parts[2]);
        switch (parts[3]) {
            case "cancel" -> {
                allow(method, "POST");
                noQuery(request);
                sendJob(response, callback, 200, acting.view.jobs().cancel(id));
            }
            case "requeue" -> {
                allow(method, "POST");
                noQuery(request);
                sendJob(response, callback, 200, acting.view.jobs().requeue(id));
            }
            case "events" -> {
                allow(method, "GET");
                noQuery(request);
                sendJson(response, callback, 200,
                        WireJson.writeItems(acting.view.events().history(id), WireJson::writeEvent));
            }
            case "stdout", "stderr" -> {
                allow(method, "GET");
                log(acting, id, parts[3].equals("stdout"), request, response, callback);
            }
            default -> throw notFound(path);
        }
    }

    private static void sendJob(Response response, Callback callback, int status, Job job) {
        Replies.send(response, callback, status, Replies.JSON, WireJson.jobBytes(job));
    }

    // ---- identity

    private Acting acting(Request request) {
        Caller caller;
        try {
            caller = callers.identify(request);
        } catch (UnregisteredException e) {
            throw new ApiError(HttpStatus.FORBIDDEN_403, "unregistered_user", e.getMessage());
        }
        Optional<String> actAs = userHeader(request, ACT_AS);
        Optional<String> actAsName = userHeader(request, ACT_AS_NAME);
        if (actAs.isEmpty()) {
            if (actAsName.isPresent()) {
                throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_header",
                        ACT_AS_NAME + " needs " + ACT_AS, ACT_AS_NAME);
            }
            SkyPort own = sky.asUser(caller.id(), caller.user());
            return new Acting(caller.admin() ? sky : own, own, new WireUser(caller.id(), caller.user(),
                    caller.admin()));
        }
        if (!caller.admin()) {
            if (!actAs.get().equals(caller.id())) {
                throw new ApiError(HttpStatus.FORBIDDEN_403, "forbidden",
                        "only an admin may act as another user (" + ACT_AS + ")");
            }
            SkyPort own = sky.asUser(caller.id(), caller.user());
            return new Acting(own, own, new WireUser(caller.id(), caller.user(), false));
        }
        String name = actAsName.orElse(actAs.get());
        SkyPort as = sky.asUser(actAs.get(), name);
        return new Acting(as, as, new WireUser(actAs.get(), name, false));
    }

    /** A user id or name header: at most once, not blank, printable, as {@link SkyPort#asUser} takes it. */
    private static Optional<String> userHeader(Request request, String name) {
        List<String> values = request.getHeaders().getValuesList(name);
        if (values.isEmpty()) {
            return Optional.empty();
        }
        String value = values.get(0);
        String problem = values.size() > 1 ? "must be given once"
                : value.isBlank() ? "must not be blank"
                : value.length() > MAX_HEADER_USER_LENGTH ? "must be at most " + MAX_HEADER_USER_LENGTH + " characters"
                : value.chars().anyMatch(Character::isISOControl) ? "must not contain control characters"
                : null;
        if (problem != null) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_header", name + " " + problem, name);
        }
        return Optional.of(value);
    }

    // ---- health and catalogue

    private void health(Request request, String method, Response response, Callback callback) {
        allow(method, "GET");
        noQuery(request);
        Health health = sky.health();
        if (!health.isAvailable()) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, String.valueOf(ApiError.retryAfterSeconds(health)));
        }
        sendJson(response, callback, health.isAvailable() ? 200 : 503, WireJson.writeHealth(health));
    }

    private static <T> void catalogue(Request request, String method, Response response, Callback callback,
                                      List<T> items, Function<T, JsonNode> item) {
        allow(method, "GET");
        noQuery(request);
        sendJson(response, callback, 200, WireJson.writeItems(items, item));
    }

    // ---- submit

    private void submit(Acting acting, Request request, Response response, Callback callback) {
        noQuery(request);
        boolean json = bodyKind(request, true);
        Optional<String> key = idempotencyKey(request);
        // The engine's times are whole milliseconds: a job it makes for this request is not before this.
        Instant start = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        long limit = json ? 2L * maxScriptBytes + JSON_OVERHEAD : maxScriptBytes;
        BodyReader.read(request, response, callback, limit, () -> tooLarge(limit), body -> {
            try {
                JobSpec spec = json ? WireJson.readSpecRequest(WireJson.parse(body), "")
                        : JobSpec.script(UserApi.scriptText(body, "invalid_spec"));
                JobSpec sent = withRequestDefaults(spec, key, request);
                // Asynchronous: the request's thread goes back to Jetty while the job waits for its group commit, and
                // the reply is written on Jetty's executor, never on the engine's completer thread.
                acting.owner.jobs().submitAsync(sent).whenCompleteAsync((job, failure) -> {
                    try {
                        if (failure != null) {
                            throw failure instanceof CompletionException && failure.getCause() != null
                                    ? failure.getCause() : failure;
                        }
                        // A replay returns the job an earlier request made: it was submitted before this request
                        // began. (Two requests racing with one key may both answer 201; the job is one all the same.)
                        boolean replayed = sent.idempotencyKey().isPresent() && job.submitTime().isBefore(start);
                        if (replayed) {
                            response.getHeaders().put("Idempotent-Replayed", "true");
                        } else {
                            response.getHeaders().put(HttpHeader.LOCATION, PREFIX + "/jobs/" + job.id());
                        }
                        sendJob(response, callback, replayed ? 200 : 201, job);
                    } catch (Throwable e) {
                        Replies.answer(request, response, callback, mapped(e));
                    }
                }, request.getComponents().getExecutor());
            } catch (RuntimeException e) {
                Replies.answer(request, response, callback, mapped(e));
            }
        });
    }

    private JobSpec withRequestDefaults(JobSpec spec, Optional<String> key, Request request) {
        JobSpec.Builder b = null;
        if (key.isPresent()) {
            if (spec.idempotencyKey().isPresent() && !spec.idempotencyKey().equals(key)) {
                throw new ApiError(HttpStatus.BAD_REQUEST_400, WireError.of("invalid_spec",
                        "idempotencyKey: the body's key differs from the " + IDEMPOTENCY_KEY + " header")
                        .withField("idempotencyKey").withReason("differs from the " + IDEMPOTENCY_KEY + " header"));
            }
            b = spec.toBuilder().idempotencyKey(key.get());
        }
        if (spec.submissionAddress().isEmpty()
                && spec.ports().stream().anyMatch(p -> p.direction() == PortSpec.Direction.OUT)) {
            // As /user does: out ports reach back to where the job was submitted from.
            b = (b == null ? spec.toBuilder() : b).submissionAddress(Request.getRemoteAddr(request));
        }
        return b == null ? spec : b.build();
    }

    private void batch(Acting acting, Request request, Response response, Callback callback) {
        noQuery(request);
        bodyKind(request, false);
        if (request.getHeaders().contains(IDEMPOTENCY_KEY)) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_header", IDEMPOTENCY_KEY
                    + " names one submission; give each spec of a batch its own idempotencyKey", IDEMPOTENCY_KEY);
        }
        BodyReader.read(request, response, callback, MAX_BATCH_BYTES, () -> tooLarge(MAX_BATCH_BYTES), body -> {
            try {
                List<JobSpec> specs = WireJson.readBatchRequest(WireJson.parse(body));
                List<Job> jobs = acting.owner.jobs().submitAll(specs);
                sendJson(response, callback, 201, WireJson.writeItems(jobs, WireJson::writeJob));
            } catch (RuntimeException e) {
                Replies.answer(request, response, callback, mapped(e));
            }
        });
    }

    /** True for a JSON body, false for a script; 415 for anything else (a script only where {@code scripts}). */
    private static boolean bodyKind(Request request, boolean scripts) {
        String type = Optional.ofNullable(request.getHeaders().get(HttpHeader.CONTENT_TYPE)).orElse("");
        String mime = type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (mime.equals("application/json")) {
            return true;
        }
        if (scripts && (mime.equals("text/plain") || mime.equals("text/x-shellscript"))) {
            return false;
        }
        throw new ApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE_415, "unsupported_media_type",
                "send " + (scripts ? "application/json (a job spec) or text/plain (a #SWM script)"
                        : "application/json") + ", not '" + abbreviate(type) + "'", "Content-Type");
    }

    private static Optional<String> idempotencyKey(Request request) {
        List<String> values = request.getHeaders().getValuesList(IDEMPOTENCY_KEY);
        if (values.isEmpty()) {
            return Optional.empty();
        }
        if (values.size() > 1) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_header", IDEMPOTENCY_KEY + " must be given once",
                    IDEMPOTENCY_KEY);
        }
        try {
            // The builder's rules for a key, so the header and the member accept the same keys.
            JobSpec.builder().idempotencyKey(values.get(0));
        } catch (InvalidJobSpecException e) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_header", IDEMPOTENCY_KEY + " " + e.reason(),
                    IDEMPOTENCY_KEY);
        }
        return Optional.of(values.get(0));
    }

    private static ApiError tooLarge(long limit) {
        return new ApiError(HttpStatus.PAYLOAD_TOO_LARGE_413, "payload_too_large",
                "the body is larger than the limit of " + limit + " bytes");
    }

    // ---- list and get

    private static void list(Acting acting, Request request, Response response, Callback callback) {
        Fields q = Request.extractQueryParameters(request);
        onlyParameters(q, "state", "owner", "name", "tag", "limit", "cursor", "scripts");
        Set<JobState> states = EnumSet.noneOf(JobState.class);
        for (String s : values(q, "state")) {
            try {
                states.add(JobState.valueOf(s));
            } catch (IllegalArgumentException e) {
                throw invalidParameter("state", "must be one of " + List.of(JobState.values()));
            }
        }
        Map<String, String> tags = new LinkedHashMap<>();
        for (String t : values(q, "tag")) {
            int eq = t.indexOf('=');
            if (eq < 1) {
                throw invalidParameter("tag", "must be KEY=VALUE");
            }
            if (tags.putIfAbsent(t.substring(0, eq), t.substring(eq + 1)) != null) {
                // A job has one value per key, so two values never both match: refused rather than one silently kept.
                throw invalidParameter("tag", "names the key '" + abbreviate(t.substring(0, eq)) + "' twice");
            }
        }
        int limit = single(q, "limit").map(v -> intParameter("limit", v, 1, JobQuery.MAX_LIMIT)).orElse(DEFAULT_LIMIT);
        boolean scripts = single(q, "scripts").map(v -> boolParameter("scripts", v)).orElse(true);
        Optional<String> cursor = single(q, "cursor");
        if (cursor.isPresent() && cursor.get().isEmpty()) {
            throw invalidParameter("cursor", "must not be empty");
        }
        Page<Job> page;
        try {
            JobQuery query = new JobQuery(states, single(q, "owner"), limit, cursor, scripts, single(q, "name"), tags);
            page = acting.view.jobs().list(query);
        } catch (InvalidJobSpecException e) {
            String field = switch (e.field()) {
                case "pageToken" -> "cursor";
                case "tags" -> "tag";
                default -> e.field();
            };
            throw invalidParameter(field, e.reason());
        }
        sendJson(response, callback, 200, WireJson.writePage(page, WireJson::writeJob));
    }

    /**
     * A job; with {@code ?wait=N} a long poll that answers when the job is terminal or after N seconds. The wait holds
     * no thread: the reply is sent from the job's terminal future or from the server's scheduler, whichever is first.
     */
    private static void get(Acting acting, JobId id, Request request, Response response, Callback callback) {
        Fields q = Request.extractQueryParameters(request);
        onlyParameters(q, "wait");
        Optional<Integer> wait = single(q, "wait").map(v -> intParameter("wait", v, 1, MAX_WAIT_SECONDS));
        Job job = acting.view.jobs().get(id);
        if (wait.isEmpty() || job.state().isTerminal()) {
            sendJob(response, callback, 200, job);
            return;
        }
        CompletableFuture<Job> terminal = acting.view.jobs().onTerminal(id);
        // Waiting without reading or writing is what a long poll does: not an idle peer to cut off.
        request.addIdleTimeoutListener(t -> false);
        AtomicBoolean answered = new AtomicBoolean();
        Scheduler.Task timer = request.getComponents().getScheduler().schedule(() -> {
            if (answered.compareAndSet(false, true)) {
                terminal.cancel(false);
                request.getContext().execute(() -> reply(request, response, callback,
                        () -> acting.view.jobs().get(id)));
            }
        }, wait.get(), TimeUnit.SECONDS);
        terminal.whenComplete((ended, failure) -> {
            if (answered.compareAndSet(false, true)) {
                timer.cancel();
                reply(request, response, callback, () -> ended != null ? ended : acting.view.jobs().get(id));
            }
        });
    }

    private static void reply(Request request, Response response, Callback callback,
                              java.util.function.Supplier<Job> job) {
        try {
            sendJob(response, callback, 200, job.get());
        } catch (RuntimeException e) {
            Replies.answer(request, response, callback, mapped(e));
        }
    }

    // ---- logs

    private static void log(Acting acting, JobId id, boolean stdout, Request request, Response response,
                            Callback callback) throws IOException {
        Fields q = Request.extractQueryParameters(request);
        onlyParameters(q, "follow");
        boolean follow = single(q, "follow").map(v -> boolParameter("follow", v)).orElse(false);
        String range = request.getHeaders().get(HttpHeader.RANGE);
        if (follow && range != null) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_header",
                    "Range cannot be combined with follow=true", "Range");
        }
        Matcher m = range == null ? null : RANGE.matcher(range.strip());
        if (m != null && (!m.matches() || !m.group(2).isEmpty()
                && Long.parseLong(m.group(2)) < Long.parseLong(m.group(1)))) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_header",
                    "Range must be bytes=FIRST-LAST or bytes=FIRST- with FIRST <= LAST", "Range");
        }
        // Opening the log is also the check that the job exists and is the caller's, before any byte is sent.
        InputStream log = open(acting, id, stdout);
        if (follow) {
            log.close();
            request.addIdleTimeoutListener(t -> false); // a quiet job is not an idle client
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, BYTES);
            LogStream.follow(request, response, callback, new LogStream.Followed() {
                @Override
                public InputStream open() {
                    return ApiV1.open(acting, id, stdout);
                }

                @Override
                public boolean ended() {
                    return acting.view.jobs().get(id).state().isTerminal();
                }
            });
            return;
        }
        response.getHeaders().put(HttpHeader.ACCEPT_RANGES, "bytes");
        if (m == null) {
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, BYTES);
            LogStream.send(request, response, callback, log, Long.MAX_VALUE);
            return;
        }
        long size;
        try (log) {
            size = log.skip(Long.MAX_VALUE);
        }
        long first = Long.parseLong(m.group(1));
        if (size == 0) {
            Replies.send(response, callback, 200, BYTES, new byte[0]);
            return;
        }
        if (first >= size) {
            throw new ApiError(HttpStatus.RANGE_NOT_SATISFIABLE_416, "range_not_satisfiable",
                    "the log has " + size + " bytes; the range starts at " + first, "Range")
                    .withHeader("Content-Range", "bytes */" + size);
        }
        long last = m.group(2).isEmpty() ? size - 1 : Math.min(size - 1, Long.parseLong(m.group(2)));
        InputStream part = open(acting, id, stdout);
        try {
            part.skipNBytes(first);
        } catch (IOException | RuntimeException e) {
            part.close();
            throw e;
        }
        response.setStatus(HttpStatus.PARTIAL_CONTENT_206);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, BYTES);
        response.getHeaders().put("Content-Range", "bytes " + first + "-" + last + "/" + size);
        response.getHeaders().put(new HttpField(HttpHeader.CONTENT_LENGTH, String.valueOf(last - first + 1)));
        LogStream.send(request, response, callback, part, last - first + 1);
    }

    private static InputStream open(Acting acting, JobId id, boolean stdout) {
        return stdout ? acting.view.jobs().openStdout(id) : acting.view.jobs().openStderr(id);
    }

    // ---- events

    private static void events(Acting acting, Request request, Response response, Callback callback) {
        Fields q = Request.extractQueryParameters(request);
        onlyParameters(q, "after");
        long last = acting.view.events().lastSequence();
        String header = request.getHeaders().get("Last-Event-ID");
        Optional<String> after = single(q, "after");
        long from = header != null ? sequence(header.strip(), "Last-Event-ID", "invalid_header", last)
                : after.map(a -> sequence(a, "after", "invalid_parameter", last)).orElse(last);
        EventStream.start(request, response, callback, acting.view.events(), from);
    }

    private static long sequence(String value, String field, String code, long last) {
        if (!SEQUENCE.matcher(value).matches() || Long.parseLong(value) > last) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, code, field
                    + " must be an event sequence number from 0 to the last one (" + last + ")", field);
        }
        return Long.parseLong(value);
    }

    // ---- parameters

    private static List<String> values(Fields q, String name) {
        return QueryParameters.values(q, name);
    }

    private static Optional<String> single(Fields q, String name) {
        return QueryParameters.single(q, name, message -> invalidParameter(name, message));
    }

    private static int intParameter(String name, String value, int min, int max) {
        try {
            int v = Integer.parseInt(value);
            if (v >= min && v <= max) {
                return v;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw invalidParameter(name, "must be an integer from " + min + " to " + max);
    }

    private static boolean boolParameter(String name, String value) {
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw invalidParameter(name, "must be true or false");
        };
    }

    private static ApiError invalidParameter(String name, String reason) {
        return new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_parameter", name + ": " + reason, name);
    }

    /** A job id of the path; one that is not a UUID names no job (404, without a {@code jobId} to map back). */
    private static JobId jobId(String text) {
        try {
            return JobId.parse(text);
        } catch (InvalidJobSpecException e) {
            throw new ApiError(HttpStatus.NOT_FOUND_404, "not_found", "no such job: " + abbreviate(text));
        }
    }

    // ---- errors

    /** The wire's name of the field: {@code jobs[i].member} for a spec of a batch, as the batch body names it. */
    private static String field(InvalidJobSpecException e) {
        return e.batchIndex().isPresent() ? "jobs[" + e.batchIndex().getAsInt() + "]." + e.field() : e.field();
    }

    /** The wire's answer to an engine exception; anything else is passed on as it is (a 500, logged). */
    static Throwable mapped(Throwable e) {
        if (e instanceof BadMessageException b && b.getCode() >= 400 && b.getCode() < 500) {
            // Jetty's decoding of the query string (not UTF-8, a stray %): the client's mistake, not a 500.
            return new ApiError(b.getCode(), "invalid_parameter", "the query string cannot be decoded: "
                    + abbreviate(String.valueOf(b.getReason())));
        }
        if (e instanceof WireFormatException w) {
            return new ApiError(HttpStatus.BAD_REQUEST_400, WireError.of(w.code(), w.getMessage())
                    .withField(w.field()).withReason(w.reason()));
        }
        if (e instanceof IdempotencyKeyReusedException r) {
            return new ApiError(HttpStatus.UNPROCESSABLE_ENTITY_422, WireError.of("idempotency_key_reused",
                    r.getMessage()).withField(field(r)).withJobId(r.existing().toString()));
        }
        if (e instanceof InvalidJobSpecException i) {
            WireError body = WireError.of("invalid_spec", i.getMessage()).withField(field(i)).withReason(i.reason());
            return new ApiError(HttpStatus.BAD_REQUEST_400, i.line().isPresent() ? body.withLine(i.line().getAsInt())
                    : body);
        }
        if (e instanceof NoSuchJobException n) {
            return new ApiError(HttpStatus.NOT_FOUND_404, WireError.of("not_found", "no such job: " + n.id())
                    .withJobId(n.id().toString()));
        }
        if (e instanceof IllegalJobStateException s) {
            return new ApiError(HttpStatus.CONFLICT_409, WireError.of("illegal_state", s.getMessage())
                    .withJobId(s.id().toString()).withState(s.state().name()));
        }
        if (e instanceof SkyPortException s) {
            return ApiError.fromEngine(s, true).<Throwable>map(a -> a).orElse(e);
        }
        return e;
    }
}
