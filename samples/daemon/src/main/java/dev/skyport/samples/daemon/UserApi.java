package dev.skyport.samples.daemon;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.api.EngineUnavailableException;
import dev.skyport.api.Flavor;
import dev.skyport.api.Health;
import dev.skyport.api.IllegalJobStateException;
import dev.skyport.api.Image;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Node;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.Page;
import dev.skyport.api.QueueFullException;
import dev.skyport.api.QuotaExceededException;
import dev.skyport.api.StorageFullException;
import dev.skyport.api.RemoteSite;
import dev.skyport.api.SkyPort;
import dev.skyport.samples.daemon.Callers.Caller;
import dev.skyport.samples.daemon.Callers.UnregisteredException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.http.MultiPartFormData;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.content.ByteBufferContentSource;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.IteratingCallback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The upstream-compatible {@code /user} API ({@code docs/user-api.md}), served to the unmodified Python
 * client, console and Jupyter spawner. Replies the clients parse are byte-compatible with upstream: job lists and
 * objects, the bare job id after a submit, and the two-line texts of cancel and requeue. Unlike upstream, every
 * user sees and acts on their own jobs only (another user's job answers as an unknown id), bad input gets a 4xx
 * with a JSON error body ({@code {"error", "message", "field"}}) instead of a crash, and a submit never reads
 * daemon-side files.
 */
final class UserApi extends Handler.Abstract {
    private static final Logger LOG = LoggerFactory.getLogger(UserApi.class);
    static final String JSON = "application/json; charset=utf-8";
    static final String TEXT = "text/plain; charset=utf-8";
    static final String BYTES = "application/octet-stream";
    /** Upstream's job-specific routes take ids of exactly this many bytes. */
    private static final int ID_LENGTH = 36;
    /** Room for the multipart framing around a script of the maximum size. */
    private static final int MULTIPART_OVERHEAD = 16 * 1024;
    private static final String UPSTREAM_MULTIPART_PART = "\r\nContent-Disposition: form-data; name=\"script_content\"";

    private final SkyPort sky;
    private final Callers callers;
    private final int maxScriptBytes;
    private final ObjectMapper json;
    private final UpstreamJson shapes;

    UserApi(SkyPort sky, Callers callers, int maxScriptBytes, ObjectMapper json) {
        this.sky = sky;
        this.callers = callers;
        this.maxScriptBytes = maxScriptBytes;
        this.json = json;
        this.shapes = new UpstreamJson(json);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        try {
            route(request, response, callback);
        } catch (RuntimeException | IOException e) {
            answer(request, response, callback, e);
        }
        return true;
    }

    /** Ends a request that failed, wherever it failed: in {@link #handle} or in a read or write that completed later. */
    private void answer(Request request, Response response, Callback callback, Exception e) {
        if (e instanceof ApiError api) {
            error(response, callback, api);
        } else if (e instanceof IOException && response.isCommitted()) {
            // A write failed half-way through a reply: the client went away or was cut off for reading too slowly.
            // That is the client's business, and a client must not be able to flood the log with stack traces.
            LOG.debug("{} {}: the client stopped taking the reply: {}", request.getMethod(),
                    Request.getPathInContext(request), e.toString());
            callback.failed(e);
        } else {
            // Not the user's fault: say so without details, keep the details in the log.
            LOG.error("{} {} failed", request.getMethod(), Request.getPathInContext(request), e);
            error(response, callback, new ApiError(HttpStatus.INTERNAL_SERVER_ERROR_500, "internal",
                    "the daemon could not complete the request; see its log"));
        }
    }

    private void route(Request request, Response response, Callback callback) throws IOException {
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        String[] parts = path.split("/", -1); // "", "user", ...
        if (parts.length < 2 || !parts[1].equals("user")) {
            throw notFound(path);
        }
        Caller caller = caller(request, method.equals("POST") && parts.length == 3 && parts[2].equals("job"));
        SkyPort view = caller.admin() ? sky : sky.asUser(caller.id(), caller.user());
        switch (parts.length) {
            case 2 -> {
                allow(method, "GET");
                noQuery(request);
                send(response, callback, 200, JSON, "{\"api_version\": 1}");
            }
            case 3 -> {
                switch (parts[2]) {
                    case "job" -> {
                        allow(method, "GET", "POST");
                        if (method.equals("GET")) {
                            listJobs(view, limit(request), response, callback);
                        } else {
                            // Even an admin's own jobs are theirs, not the daemon's.
                            submit(sky.asUser(caller.id(), caller.user()), request, response, callback);
                        }
                    }
                    case "node" -> sendArray(response, callback, nodes(request, method));
                    case "flavor" -> sendArray(response, callback, flavors(request, method));
                    case "image" -> sendArray(response, callback, images(request, method));
                    case "remote" -> sendArray(response, callback, remotes(request, method));
                    case "health" -> health(request, method, response, callback);
                    default -> throw notFound(path);
                }
            }
            case 4 -> {
                if (!parts[2].equals("job")) {
                    throw notFound(path);
                }
                allow(method, "GET", "DELETE", "PATCH");
                noQuery(request);
                String id = parts[3];
                switch (method) {
                    case "GET" -> getJob(view, path, id, response, callback);
                    case "DELETE" -> cancel(view, id, response, callback);
                    default -> requeue(view, request, id, response, callback);
                }
            }
            case 5 -> {
                if (!parts[2].equals("job") || !(parts[4].equals("stdout") || parts[4].equals("stderr"))) {
                    throw notFound(path);
                }
                allow(method, "GET");
                noQuery(request);
                sendLog(view, request, path, parts[3], parts[4], response, callback);
            }
            default -> throw notFound(path);
        }
    }

    // ---- identity

    private Caller caller(Request request, boolean submitting) {
        X509Certificate[] chain = Optional.ofNullable(request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE))
                .map(d -> ((EndPoint.SslSessionData) d).peerCertificates()).orElse(null);
        if (chain == null || chain.length == 0) {
            // The TLS layer requires a certificate; this only happens if the connector is misconfigured.
            throw new ApiError(HttpStatus.UNAUTHORIZED_401, "unauthenticated", "a client certificate is required");
        }
        try {
            return callers.identify(chain[0]);
        } catch (UnregisteredException e) {
            // Upstream answers an unregistered submitter with 400 and this text; anything else is forbidden.
            throw new ApiError(submitting ? HttpStatus.BAD_REQUEST_400 : HttpStatus.FORBIDDEN_403,
                    "unregistered_user", e.getMessage());
        }
    }

    // ---- jobs

    private void listJobs(SkyPort view, int limit, Response response, Callback callback) throws IOException {
        Lookups lookups = lookups();
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, JSON);
        // Streamed page by page, so a long history never sits in memory as one reply. The stream is closed (ending
        // the reply) only when everything was written: a failure half-way must reach the client as a broken reply,
        // not as a shorter list that parses.
        OutputStream out = Content.Sink.asOutputStream(response);
        JsonGenerator g = json.getFactory().createGenerator(out)
                .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
                .disable(JsonGenerator.Feature.AUTO_CLOSE_JSON_CONTENT);
        g.writeStartArray();
        // The upstream job shape has no script: leave scripts in the store, so a listing costs the same whatever they hold.
        JobQuery query = JobQuery.all().withLimit(Math.min(limit, JobQuery.MAX_LIMIT)).withoutScripts();
        int written = 0;
        while (written < limit) {
            Page<Job> page = view.jobs().list(query);
            for (Job job : page.items()) {
                if (written == limit) {
                    break;
                }
                json.writeTree(g, shapes.job(job, lookups.nodes, lookups.flavorIds, lookups.remoteIds));
                written++;
            }
            if (page.nextPageToken().isEmpty()) {
                break;
            }
            query = query.after(page);
        }
        g.writeEndArray();
        g.close();
        out.close();
        callback.succeeded();
    }

    private void getJob(SkyPort view, String path, String id, Response response, Callback callback) {
        JobId jobId = jobId(id, "Can't parse the path: \"" + path + "\"");
        try {
            Lookups lookups = lookups();
            ObjectNode job = shapes.job(view.jobs().get(jobId), lookups.nodes, lookups.flavorIds, lookups.remoteIds);
            send(response, callback, 200, JSON, job.toString());
        } catch (NoSuchJobException e) {
            throw new ApiError(HttpStatus.NOT_FOUND_404, "not_found", "job " + id + " is not found");
        }
    }

    private void sendLog(SkyPort view, Request request, String path, String id, String stream, Response response,
                         Callback callback) {
        JobId jobId = jobId(id, "Can't parse the path: \"" + path + "\"");
        InputStream log;
        try {
            log = stream.equals("stdout") ? view.jobs().openStdout(jobId) : view.jobs().openStderr(jobId);
        } catch (NoSuchJobException e) {
            throw new ApiError(HttpStatus.NOT_FOUND_404, "not_found",
                    "Error: " + stream + " for job " + id + " is not found");
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, BYTES);
        new LogStream(request, response, callback, log).iterate();
    }

    /**
     * A log file sent chunk by chunk with asynchronous writes, so a client that reads slowly holds a buffer, never a
     * thread. The reply ends (last chunk) only after the whole file: a read error must not look like a complete reply.
     */
    private final class LogStream extends IteratingCallback {
        /** One TLS record's worth; ClientGuard gives a write of this size 16 s at its default minimum rate. */
        private static final int CHUNK = 16 * 1024;
        private final Request request;
        private final Response response;
        private final Callback callback;
        private final InputStream log;
        private final ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
        private boolean ended;

        LogStream(Request request, Response response, Callback callback, InputStream log) {
            this.request = request;
            this.response = response;
            this.callback = callback;
            this.log = log;
        }

        @Override
        protected Action process() {
            if (ended) {
                return Action.SUCCEEDED;
            }
            int n;
            try {
                n = log.read(buffer.array());
            } catch (IOException e) {
                throw new LogUnreadableException(e);
            }
            if (n < 0) {
                ended = true;
                response.write(true, null, this);
            } else {
                buffer.clear().limit(n);
                response.write(false, buffer, this);
            }
            return Action.SCHEDULED;
        }

        @Override
        protected void onCompleteSuccess() {
            closeLog();
            callback.succeeded();
        }

        @Override
        protected void onCompleteFailure(Throwable x) {
            closeLog();
            // A failed write is the client's (an IOException); a failed read of the file is the daemon's.
            Exception e = x instanceof LogUnreadableException u ? u
                    : x instanceof IOException io ? io
                    : new IOException(x.toString(), x);
            answer(request, response, callback, e);
        }

        private void closeLog() {
            try {
                log.close();
            } catch (IOException e) {
                LOG.debug("closing a job log: {}", e.toString());
            }
        }
    }

    /** The daemon could not read a job's log file. */
    private static final class LogUnreadableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        LogUnreadableException(IOException cause) {
            super("cannot read the job's log: " + cause.getMessage(), cause);
        }
    }

    private void submit(SkyPort view, Request request, Response response, Callback callback) {
        Fields query = Request.extractQueryParameters(request);
        if (query.get("path") != null) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "path_submit_disabled",
                    "submitting a file of the daemon's host (?path=) is disabled; send the script in the body", "path");
        }
        noQuery(request);
        readBody(request, response, callback, body -> submitScript(view, request, response, callback,
                scriptBytes(request, body)));
    }

    private void submitScript(SkyPort view, Request request, Response response, Callback callback, byte[] script) {
        String text = text(script);
        JobSpec.Builder spec;
        try {
            spec = JobSpec.script(text).toBuilder();
            if (!spec.hasSubmissionAddress()) {
                // As upstream: the job reaches back to where it was submitted from.
                spec.submissionAddress(Request.getRemoteAddr(request));
            }
            Job job = view.jobs().submit(spec.build());
            send(response, callback, 200, TEXT, job.id().toString());
        } catch (InvalidJobSpecException e) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_script", e.getMessage(), e.field());
        } catch (QueueFullException e) {
            throw new ApiError(HttpStatus.SERVICE_UNAVAILABLE_503, "queue_full", e.getMessage()).withRetryAfter(10);
        } catch (QuotaExceededException e) {
            throw new ApiError(HttpStatus.TOO_MANY_REQUESTS_429, "quota_exceeded", e.getMessage(), e.limit())
                    .withRetryAfter(60);
        } catch (StorageFullException e) {
            throw new ApiError(HttpStatus.INSUFFICIENT_STORAGE_507, "storage_full",
                    "the server's disk is full; the job was not stored").withRetryAfter(60);
        } catch (EngineUnavailableException e) {
            throw new ApiError(HttpStatus.SERVICE_UNAVAILABLE_503, "engine_unavailable", e.getMessage())
                    .withRetryAfter(retryAfterSeconds(e.health()));
        }
    }

    /**
     * {@code GET /user/health} (not upstream's): the engine's health as JSON, 200 while it takes and schedules jobs
     * (UP or DEGRADED), 503 with {@code Retry-After} while it cannot (DOWN), so a load balancer or a monitor can tell.
     */
    private void health(Request request, String method, Response response, Callback callback) {
        allow(method, "GET");
        noQuery(request);
        Health health = sky.health();
        ObjectNode body = json.createObjectNode().put("status", health.status().name());
        ArrayNode problems = body.putArray("problems");
        for (Health.Problem p : health.problems()) {
            ObjectNode o = problems.addObject().put("component", p.component()).put("message", p.message())
                    .put("since", p.since().toString()).put("failures", p.failures()).put("stops", p.stops());
            p.retryAt().ifPresent(at -> o.put("retry_at", at.toString()));
        }
        if (!health.isAvailable()) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, String.valueOf(retryAfterSeconds(health)));
        }
        send(response, callback, health.isAvailable() ? 200 : 503, JSON, body.toString());
    }

    /** Seconds until the engine next retries what stops it, at least 1; 10 when it does not say. */
    private static int retryAfterSeconds(Health health) {
        return health.problems().stream().filter(Health.Problem::stops).flatMap(p -> p.retryAt().stream())
                .min(Instant::compareTo)
                .map(at -> (int) Math.max(1, Math.min(3600, Duration.between(Instant.now(), at).toSeconds() + 1)))
                .orElse(10);
    }

    /**
     * Reads a submit's body without holding a thread while the client sends it (a slow client parks a demand callback,
     * and ClientGuard fails it when the client falls below the minimum rate or misses the deadline), then hands it on.
     */
    private void readBody(Request request, Response response, Callback callback, Consumer<byte[]> then) {
        long limit = (long) maxScriptBytes + MULTIPART_OVERHEAD;
        if (request.getLength() > limit) {
            throw tooLarge();
        }
        new BodyReader(request, response, callback, (int) limit, then).run();
    }

    /** Accumulates a body up to one byte past its limit, which is enough to refuse it. */
    private final class BodyReader implements Runnable {
        private final Request request;
        private final Response response;
        private final Callback callback;
        private final int limit;
        private final Consumer<byte[]> then;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();

        BodyReader(Request request, Response response, Callback callback, int limit, Consumer<byte[]> then) {
            this.request = request;
            this.response = response;
            this.callback = callback;
            this.limit = limit;
            this.then = then;
        }

        @Override
        public void run() {
            try {
                while (true) {
                    Content.Chunk chunk = request.read();
                    if (chunk == null) {
                        request.demand(this);
                        return;
                    }
                    if (Content.Chunk.isFailure(chunk)) {
                        throw unreadable(chunk.getFailure());
                    }
                    ByteBuffer bytes = chunk.getByteBuffer();
                    int n = Math.min(bytes.remaining(), limit + 1 - body.size());
                    byte[] copy = new byte[n];
                    bytes.get(copy);
                    body.writeBytes(copy);
                    boolean last = chunk.isLast();
                    chunk.release();
                    if (body.size() > limit) {
                        throw tooLarge();
                    }
                    if (last) {
                        then.accept(body.toByteArray());
                        return;
                    }
                }
            } catch (RuntimeException e) {
                answer(request, response, callback, e);
            }
        }

        private ApiError unreadable(Throwable failure) {
            if (failure instanceof TimeoutException) {
                return new ApiError(HttpStatus.REQUEST_TIMEOUT_408, "request_timeout",
                        Optional.ofNullable(failure.getMessage()).filter(m -> m.startsWith("the request body"))
                                .orElse("the request body did not arrive in time"));
            }
            return new ApiError(HttpStatus.BAD_REQUEST_400, "unreadable_body", "the request body could not be read");
        }
    }

    /** The script of a submit: the {@code script_content} part of a multipart form, or else the raw body. */
    private byte[] scriptBytes(Request request, byte[] body) {
        Optional<String> boundary = boundary(request.getHeaders().get(HttpHeader.CONTENT_TYPE), body);
        byte[] script = boundary.isPresent() ? scriptPart(body, boundary.get()) : body;
        if (script.length > maxScriptBytes) {
            throw tooLarge();
        }
        return script;
    }

    /**
     * The multipart boundary: from a {@code multipart/form-data} content type, or, as upstream decides by bytes, from
     * a body that starts like the client's form whatever its content type says.
     */
    private static Optional<String> boundary(String contentType, byte[] body) {
        if (contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("multipart/")) {
            String b;
            try {
                b = MultiPart.extractBoundary(contentType);
            } catch (IllegalArgumentException e) { // e.g. an unterminated quote
                b = null;
            }
            if (b == null || b.isEmpty()) {
                throw new ApiError(HttpStatus.BAD_REQUEST_400, "malformed_multipart",
                        "the multipart content type has no boundary", "Content-Type");
            }
            return Optional.of(b);
        }
        if (body.length > 2 && body[0] == '-' && body[1] == '-') {
            String head = new String(body, 0, Math.min(body.length, 200), StandardCharsets.ISO_8859_1);
            int end = head.indexOf(UPSTREAM_MULTIPART_PART);
            if (end > 2 && head.indexOf('\r') == end && end <= 72) {
                return Optional.of(head.substring(2, end));
            }
        }
        return Optional.empty();
    }

    private byte[] scriptPart(byte[] body, String boundary) {
        MultiPartFormData.Parser parser = new MultiPartFormData.Parser(boundary);
        parser.setMaxParts(16);
        parser.setMaxLength(body.length);
        parser.setMaxMemoryFileSize(body.length);
        parser.setUseFilesForPartsWithoutFileName(false);
        try (MultiPartFormData.Parts parts = parser.parse(new ByteBufferContentSource(ByteBuffer.wrap(body)))
                .get(10, TimeUnit.SECONDS)) {
            // Not parts.getFirst: it throws a NullPointerException when a part has no name (Jetty 12.0).
            MultiPart.Part part = null;
            for (MultiPart.Part p : parts) {
                if (part == null && "script_content".equals(p.getName())) {
                    part = p;
                }
            }
            if (part == null) {
                throw new ApiError(HttpStatus.BAD_REQUEST_400, "missing_part",
                        "the multipart form has no part named script_content (it has: "
                                + names(parts) + ")", "script_content");
            }
            return bytes(Content.Source.asByteBuffer(part.getContentSource()));
        } catch (ExecutionException | CompletionException e) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "malformed_multipart",
                    "the multipart body is malformed: " + Optional.ofNullable(e.getCause()).map(Throwable::getMessage)
                            .orElse("unreadable"));
        } catch (TimeoutException | IOException e) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "malformed_multipart", "the multipart body is malformed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiError(HttpStatus.SERVICE_UNAVAILABLE_503, "shutting_down", "the daemon is stopping");
        }
    }

    private static String names(MultiPartFormData.Parts parts) {
        Set<String> names = new HashSet<>();
        parts.forEach(p -> names.add(String.valueOf(p.getName())));
        return names.isEmpty() ? "none" : String.join(", ", names);
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    /** The script as text: non-empty UTF-8 without NUL bytes (a binary upload is a mistake, not a script). */
    private static String text(byte[] script) {
        String text;
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(script));
            text = chars.toString();
        } catch (CharacterCodingException e) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_script",
                    "the script is not UTF-8 text (binary upload?)", "script");
        }
        if (text.indexOf('\0') >= 0) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_script",
                    "the script contains NUL bytes (binary upload?)", "script");
        }
        if (text.isBlank()) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_script", "the script is empty", "script");
        }
        return text;
    }

    private ApiError tooLarge() {
        return new ApiError(HttpStatus.PAYLOAD_TOO_LARGE_413, "script_too_large",
                "the script is larger than the limit of " + maxScriptBytes + " bytes", "script");
    }

    /** DELETE: upstream's two lines; a job that already ended gets a third line instead of being canceled again. */
    private void cancel(SkyPort view, String id, Response response, Callback callback) {
        Optional<JobId> jobId = jobIdOrText(id);
        String reply = "Canceled: \nNot found: " + id;
        try {
            if (jobId.isPresent()) {
                view.jobs().cancel(jobId.get());
                reply = "Canceled: " + id + "\nNot found: ";
            }
        } catch (NoSuchJobException e) {
            // the reply already says so
        } catch (IllegalJobStateException e) {
            reply = "Canceled: \nNot found: \nAlready ended (" + letter(e.state()) + "): " + id;
        }
        send(response, callback, 200, TEXT, reply);
    }

    /** PATCH with {@code modification: requeue}: upstream's two lines, plus a third for a job that cannot go back. */
    private void requeue(SkyPort view, Request request, String id, Response response, Callback callback) {
        Optional<JobId> jobId = jobIdOrText(id);
        String modification = request.getHeaders().get("modification");
        if (modification == null || modification.isBlank()) {
            sendText(response, callback, 400, "Modification is not specified in the headers");
            return;
        }
        if (!modification.strip().equalsIgnoreCase("requeue")) {
            sendText(response, callback, 400, "Unknown modification; the only one is: requeue");
            return;
        }
        String reply = "Requeued: \nNot found: " + id;
        try {
            if (jobId.isPresent()) {
                view.jobs().requeue(jobId.get());
                reply = "Requeued: " + id + "\nNot found: ";
            }
        } catch (NoSuchJobException e) {
            // the reply already says so
        } catch (IllegalJobStateException e) {
            reply = "Requeued: \nNot found: \nNot requeued (" + letter(e.state()) + "): " + id;
        }
        send(response, callback, 200, TEXT, reply);
    }

    private static String letter(JobState state) {
        return String.valueOf(dev.skyport.api.UpstreamStates.letter(state, Optional.empty()));
    }

    /** A job id of a JSON route: not 36 bytes answers 404 with upstream's text; 36 bytes but not a UUID, 404 too. */
    private static JobId jobId(String id, String unparsable) {
        if (id.getBytes(StandardCharsets.UTF_8).length != ID_LENGTH) {
            throw new ApiError(HttpStatus.NOT_FOUND_404, "not_found", unparsable);
        }
        try {
            return JobId.parse(id);
        } catch (InvalidJobSpecException e) {
            throw new ApiError(HttpStatus.NOT_FOUND_404, "not_found", "job " + id + " is not found");
        }
    }

    /**
     * A job id of cancel and requeue, whose clients print the body: not 36 bytes is upstream's 404 text; 36 bytes that
     * are not a UUID name no job, which the reply reports under "Not found".
     */
    private static Optional<JobId> jobIdOrText(String id) {
        if (id.getBytes(StandardCharsets.UTF_8).length != ID_LENGTH) {
            throw new ApiError(HttpStatus.NOT_FOUND_404, "not_found", "Can't parse the request").asText();
        }
        try {
            return Optional.of(JobId.parse(id));
        } catch (InvalidJobSpecException e) {
            return Optional.empty();
        }
    }

    // ---- shared lists

    private record Lookups(Function<String, Optional<Node>> nodes, Map<String, String> flavorIds,
                           Map<String, String> remoteIds) {
    }

    private Lookups lookups() {
        Map<String, Node> nodes = sky.nodes().stream().collect(Collectors.toMap(Node::name, n -> n, (a, b) -> a));
        List<RemoteSite> remotes = sky.remotes();
        return new Lookups(name -> Optional.ofNullable(nodes.get(name)), UpstreamJson.flavorIds(sky.flavors()),
                UpstreamJson.remoteIds(remotes));
    }

    private ArrayNode nodes(Request request, String method) {
        allow(method, "GET");
        int limit = limit(request);
        Set<String> busy = new HashSet<>();
        JobQuery query = JobQuery.inStates(JobState.RUNNING, JobState.STAGING_IN, JobState.STAGING_OUT,
                JobState.CANCELING).withLimit(JobQuery.MAX_LIMIT).withoutScripts();
        while (true) {
            Page<Job> page = sky.jobs().list(query);
            page.items().forEach(j -> busy.addAll(j.nodeNames()));
            if (page.nextPageToken().isEmpty()) {
                break;
            }
            query = query.after(page);
        }
        ArrayNode out = json.createArrayNode();
        sky.nodes().stream().limit(limit).forEach(n -> out.add(shapes.node(n, busy.contains(n.name()))));
        return out;
    }

    private ArrayNode flavors(Request request, String method) {
        allow(method, "GET");
        int limit = limit(request);
        Map<String, String> remoteIds = UpstreamJson.remoteIds(sky.remotes());
        ArrayNode out = json.createArrayNode();
        sky.flavors().stream().limit(limit).forEach(f -> out.add(shapes.flavor(f, remoteIds)));
        return out;
    }

    private ArrayNode images(Request request, String method) {
        allow(method, "GET");
        int limit = limit(request);
        Map<String, String> remoteIds = UpstreamJson.remoteIds(sky.remotes());
        Set<String> withFlavors = sky.flavors().stream().map(Flavor::remoteSite).collect(Collectors.toSet());
        ArrayNode out = json.createArrayNode();
        for (Image image : sky.images().stream().limit(limit).toList()) {
            out.add(shapes.image(image, remoteIds, withFlavors));
        }
        return out;
    }

    private ArrayNode remotes(Request request, String method) {
        allow(method, "GET");
        int limit = limit(request);
        ArrayNode out = json.createArrayNode();
        sky.remotes().stream().limit(limit).forEach(r -> out.add(shapes.remote(r)));
        return out;
    }

    /** The optional {@code limit} of the catalogue lists (upstream's); everything by default, as the spawner needs. */
    private static int limit(Request request) {
        Fields query = Request.extractQueryParameters(request);
        for (Fields.Field f : query) {
            if (!f.getName().equals("limit")) {
                throw unknownParameter(f.getName());
            }
        }
        String value = query.getValue("limit");
        if (value == null) {
            return Integer.MAX_VALUE;
        }
        try {
            int limit = Integer.parseInt(value);
            if (limit >= 1) {
                return limit;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_parameter",
                "limit: expected a positive integer", "limit");
    }

    private static void noQuery(Request request) {
        for (Fields.Field f : Request.extractQueryParameters(request)) {
            throw unknownParameter(f.getName());
        }
    }

    private static ApiError unknownParameter(String name) {
        return new ApiError(HttpStatus.BAD_REQUEST_400, "unknown_parameter",
                "unknown query parameter '" + abbreviate(name) + "'", name);
    }

    private static void allow(String method, String... allowed) {
        for (String m : allowed) {
            if (m.equals(method)) {
                return;
            }
        }
        throw new ApiError(HttpStatus.METHOD_NOT_ALLOWED_405, "method_not_allowed",
                abbreviate(method) + " is not supported here; use " + String.join(" or ", allowed))
                .withAllow(String.join(", ", allowed));
    }

    private static ApiError notFound(String path) {
        return new ApiError(HttpStatus.NOT_FOUND_404, "not_found", "no such resource: " + abbreviate(path));
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    // ---- replies

    private void sendArray(Response response, Callback callback, ArrayNode array) {
        send(response, callback, 200, JSON, array.toString());
    }

    private static void sendText(Response response, Callback callback, int status, String text) {
        send(response, callback, status, TEXT, text);
    }

    static void send(Response response, Callback callback, int status, String contentType, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(new HttpField(HttpHeader.CONTENT_LENGTH, String.valueOf(bytes.length)));
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    private void error(Response response, Callback callback, ApiError e) {
        if (response.isCommitted()) {
            callback.failed(e); // a streamed reply broke off: the client sees a truncated body
            return;
        }
        response.reset();
        e.allow.ifPresent(a -> response.getHeaders().put(HttpHeader.ALLOW, a));
        e.retryAfterSeconds.ifPresent(r -> response.getHeaders().put(HttpHeader.RETRY_AFTER, r));
        if (e.text) {
            sendText(response, callback, e.status, e.getMessage());
            return;
        }
        ObjectNode body = json.createObjectNode().put("error", e.code).put("message", e.getMessage());
        e.field.ifPresent(f -> body.put("field", f));
        send(response, callback, e.status, JSON, body.toString());
    }

    /** A client error with its HTTP status, machine-readable code, message and (when known) the field at fault. */
    static final class ApiError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;
        final String code;
        final Optional<String> field;
        Optional<String> allow = Optional.empty();
        Optional<String> retryAfterSeconds = Optional.empty();
        boolean text;

        ApiError(int status, String code, String message) {
            this(status, code, message, null);
        }

        ApiError(int status, String code, String message, String field) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
            this.field = Optional.ofNullable(field);
        }

        ApiError withAllow(String methods) {
            this.allow = Optional.of(methods);
            return this;
        }

        ApiError withRetryAfter(int seconds) {
            this.retryAfterSeconds = Optional.of(String.valueOf(seconds));
            return this;
        }

        ApiError asText() {
            this.text = true;
            return this;
        }
    }
}
