package dev.skyport.samples.daemon;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import dev.skyport.api.RemoteSite;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import dev.skyport.samples.daemon.Callers.Caller;
import dev.skyport.samples.daemon.Callers.UnregisteredException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.http.MultiPartFormData;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.content.ByteBufferContentSource;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
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
import java.util.function.Function;
import java.util.stream.Collectors;

import static dev.skyport.samples.daemon.Replies.BYTES;
import static dev.skyport.samples.daemon.Replies.JSON;
import static dev.skyport.samples.daemon.Replies.TEXT;
import static dev.skyport.samples.daemon.Replies.send;
import static dev.skyport.samples.daemon.Requests.allow;
import static dev.skyport.samples.daemon.Requests.noQuery;
import static dev.skyport.samples.daemon.Requests.notFound;
import static dev.skyport.samples.daemon.Requests.onlyParameters;

/**
 * The upstream-compatible {@code /user} API ({@code docs/user-api.md}), served to the unmodified Python
 * client, console and Jupyter spawner. Replies the clients parse are byte-compatible with upstream: job lists and
 * objects, the bare job id after a submit, and the two-line texts of cancel and requeue. Unlike upstream, every
 * user sees and acts on their own jobs only (another user's job answers as an unknown id), bad input gets a 4xx
 * with a JSON error body ({@code {"error", "message", "field"}}) instead of a crash, and a submit never reads
 * daemon-side files.
 */
final class UserApi extends Handler.Abstract {
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
            Replies.answer(request, response, callback, e);
        }
        return true;
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
        try {
            return callers.identify(request);
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
        LogStream.send(request, response, callback, log, Long.MAX_VALUE);
    }

    private void submit(SkyPort view, Request request, Response response, Callback callback) {
        Fields query = Request.extractQueryParameters(request);
        if (query.get("path") != null) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, "path_submit_disabled",
                    "submitting a file of the daemon's host (?path=) is disabled; send the script in the body", "path");
        }
        noQuery(request);
        BodyReader.read(request, response, callback, (long) maxScriptBytes + MULTIPART_OVERHEAD, this::tooLarge,
                body -> submitScript(view, request, response, callback,
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
        } catch (RuntimeException e) {
            throw submitError(e);
        }
        // Asynchronous: the request's thread goes back to Jetty while the job waits for its group commit, and the
        // reply is written on Jetty's executor, never on the engine's completer thread.
        view.jobs().submitAsync(spec.build()).whenCompleteAsync((job, failure) -> {
            try {
                if (failure != null) {
                    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause() : failure;
                    throw cause instanceof RuntimeException r ? submitError(r) : new IllegalStateException(cause);
                }
                send(response, callback, 200, TEXT, job.id().toString());
            } catch (RuntimeException e) {
                Replies.answer(request, response, callback, e);
            }
        }, request.getComponents().getExecutor());
    }

    private static RuntimeException submitError(RuntimeException e) {
        if (e instanceof InvalidJobSpecException invalid) {
            return new ApiError(HttpStatus.BAD_REQUEST_400, "invalid_script", invalid.getMessage(), invalid.field());
        }
        if (e instanceof SkyPortException sky) {
            return ApiError.fromEngine(sky, false).map(RuntimeException.class::cast).orElse(sky);
        }
        return e;
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
            response.getHeaders().put(HttpHeader.RETRY_AFTER, String.valueOf(ApiError.retryAfterSeconds(health)));
        }
        send(response, callback, health.isAvailable() ? 200 : 503, JSON, body.toString());
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

    private static String text(byte[] script) {
        return scriptText(script, "invalid_script");
    }

    /**
     * The script as text: non-empty UTF-8 without NUL bytes (a binary upload is a mistake, not a script); else a 400
     * with {@code code} and field {@code script}.
     */
    static String scriptText(byte[] script, String code) {
        String text;
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(script));
            text = chars.toString();
        } catch (CharacterCodingException e) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, code,
                    "the script is not UTF-8 text (binary upload?)", "script");
        }
        if (text.indexOf('\0') >= 0) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, code,
                    "the script contains NUL bytes (binary upload?)", "script");
        }
        if (text.isBlank()) {
            throw new ApiError(HttpStatus.BAD_REQUEST_400, code, "the script is empty", "script");
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
        onlyParameters(query, "limit");
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

    // ---- replies

    private void sendArray(Response response, Callback callback, ArrayNode array) {
        send(response, callback, 200, JSON, array.toString());
    }

    private static void sendText(Response response, Callback callback, int status, String text) {
        send(response, callback, status, TEXT, text);
    }
}
