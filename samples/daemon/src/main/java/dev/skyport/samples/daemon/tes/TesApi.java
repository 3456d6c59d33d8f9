package dev.skyport.samples.daemon.tes;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.api.EngineUnavailableException;
import dev.skyport.api.IllegalJobStateException;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.QueueFullException;
import dev.skyport.api.QuotaExceededException;
import dev.skyport.api.SkyPort;
import dev.skyport.api.StorageFullException;
import dev.skyport.api.TesStates;
import dev.skyport.samples.daemon.BodyReader;
import dev.skyport.samples.daemon.QueryParameters;
import org.eclipse.jetty.http.BadMessageException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * GA4GH TES 1.1 at {@value #PREFIX} over the daemon's engine: service-info, create, list, get and cancel of tasks,
 * each task one job with {@link dev.skyport.api.ContainerSteps} ({@link TaskMapper}, rendered by {@link TaskView}).
 * Identity is the daemon's: the client certificate names the user, who sees and cancels only their own tasks (another
 * user's task, or a job not made through TES, is a 404 like an unknown id); admins too see only their own here. A
 * task's files come from and go to the caller's storage, {@code file://<input root of the user>/}. Errors are JSON
 * ({@link TesError}); nothing here holds a thread while a client sends or the engine commits. Unknown query
 * parameters and body members are ignored, as TES clients expect. See {@code docs/tes.md}.
 */
public final class TesApi extends Handler.Abstract {
    public static final String PREFIX = "/ga4gh/tes/v1";
    private static final Logger LOG = LoggerFactory.getLogger(TesApi.class);
    private static final String JSON = "application/json; charset=utf-8";
    /** Room for JSON's escaping and the task's other members beside its content inputs. */
    private static final long JSON_OVERHEAD = 4L * 1024 * 1024;

    /** A registered caller: the stable id that owns jobs and the user's name (which names their storage). */
    public record User(String id, String name) {
        public User {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(name, "name");
        }
    }

    /** Who a request comes from; empty when its certificate names no registered user (403). */
    @FunctionalInterface
    public interface Users {
        Optional<User> identify(Request request);
    }

    private final SkyPort sky;
    private final Users users;
    private final Path inputRoot;
    private final long maxBodyBytes;
    private final ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final String version;

    /**
     * @param inputRoot    the engine's input root, {@code {owner}} standing for the user's name: each user's storage
     * @param maxScriptBytes the daemon's {@code max-script-bytes}; a body may hold twice that plus room for JSON
     */
    public TesApi(SkyPort sky, Users users, Path inputRoot, int maxScriptBytes) {
        this.sky = Objects.requireNonNull(sky, "sky");
        this.users = Objects.requireNonNull(users, "users");
        this.inputRoot = inputRoot.toAbsolutePath().normalize();
        this.maxBodyBytes = 2L * maxScriptBytes + JSON_OVERHEAD;
        this.version = Optional.ofNullable(TesApi.class.getPackage().getImplementationVersion()).orElse("0.1.0");
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        try {
            route(request, response, callback);
        } catch (RuntimeException e) {
            fail(request, response, callback, e);
        }
        return true;
    }

    private void route(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        String rest = path.length() > PREFIX.length() ? path.substring(PREFIX.length()) : "";
        if (rest.endsWith("/") && rest.length() > 1) {
            rest = rest.substring(0, rest.length() - 1);
        }
        User user = users.identify(request).orElseThrow(() -> new TesError(403, "unregistered_user",
                "the client certificate names no registered user", Optional.empty()));
        SkyPort own = sky.asUser(user.id(), user.name());
        String method = request.getMethod();
        if (rest.equals("/service-info")) {
            allow(method, "GET");
            send(response, callback, 200, serviceInfo(request, user));
        } else if (rest.equals("/tasks")) {
            allow(method, "GET", "POST");
            if (method.equals("GET")) {
                list(own, request, response, callback);
            } else {
                create(own, user, request, response, callback);
            }
        } else if (rest.startsWith("/tasks/") && rest.indexOf('/', 7) < 0) {
            String id = rest.substring(7);
            String lower = id.toLowerCase(Locale.ROOT);
            // The colon of the custom method may arrive percent-encoded (TES clients differ).
            for (String suffix : List.of(":cancel", "%3acancel")) {
                if (lower.endsWith(suffix)) {
                    allow(method, "POST");
                    cancel(own, id.substring(0, id.length() - suffix.length()), request, response, callback);
                    return;
                }
            }
            allow(method, "GET");
            Job job = task(own, id);
            send(response, callback, 200, TaskView.render(job, view(Request.extractQueryParameters(request))));
        } else {
            throw new TesError(404, "not_found", "no such resource: " + TesError.abbreviate(path), Optional.empty());
        }
    }

    // ---- service-info

    private ObjectNode serviceInfo(Request request, User user) {
        ObjectNode info = JsonNodeFactory.instance.objectNode();
        info.put("id", "dev.skyport.tes");
        info.put("name", "Sky Port TES");
        ObjectNode type = info.putObject("type");
        type.put("group", "org.ga4gh").put("artifact", "tes").put("version", "1.1.0");
        info.put("description", "GA4GH TES 1.1 over the Sky Port workload manager: executors run as container steps"
                + " of a job; files come from and go to your storage");
        // This daemon's own address, as the client reached it (an IPv6 host keeps its brackets).
        String self = HttpURI.build(request.getHttpURI(), "/", null, null).asString();
        info.putObject("organization").put("name", "Sky Port").put("url", self);
        info.put("version", version);
        info.putArray("storage").add(TaskView.fileUrl(storage(user)) + "/");
        ArrayNode params = info.putArray("tesResources_backend_parameters");
        TaskMapper.BACKEND_PARAMETERS.forEach(params::add);
        return info;
    }

    private String storage(User user) {
        return Path.of(inputRoot.toString().replace("{owner}", user.name())).normalize().toString();
    }

    // ---- create

    private void create(SkyPort own, User user, Request request, Response response, Callback callback) {
        readBody(request, response, callback, body -> {
            JsonNode task;
            try {
                task = json.readTree(body);
            } catch (JsonProcessingException e) {
                throw new TesError(400, "malformed_json", "the body is not JSON: " + TesError.abbreviate(
                        String.valueOf(e.getOriginalMessage())), Optional.empty());
            } catch (IOException e) {
                throw new TesError(400, "malformed_json", "the body is not JSON", Optional.empty());
            }
            JobSpec spec = new TaskMapper(storage(user)).toSpec(task);
            // The reply waits for the engine's commit (an immediate GET finds the task), on Jetty's executor, never on
            // the engine's completer thread.
            own.jobs().submitAsync(spec).whenCompleteAsync((job, failure) -> {
                try {
                    if (failure != null) {
                        throw failure instanceof CompletionException && failure.getCause() != null
                                ? failure.getCause() : failure;
                    }
                    send(response, callback, 200, JsonNodeFactory.instance.objectNode().put("id", job.id().toString()));
                } catch (Throwable e) {
                    fail(request, response, callback, e);
                }
            }, request.getComponents().getExecutor());
        });
    }

    // ---- list

    private static void list(SkyPort own, Request request, Response response, Callback callback) {
        Fields q = Request.extractQueryParameters(request);
        TaskView.View view = view(q);
        Optional<String> state = single(q, "state");
        if (state.isPresent() && !TesStates.ALL.contains(state.get())) {
            throw TesError.badParameter("state", "must be one of " + TesStates.ALL);
        }
        List<String> keys = values(q, "tag_key");
        List<String> tagValues = values(q, "tag_value");
        if (tagValues.size() > keys.size()) {
            throw TesError.badParameter("tag_value", "has more values than tag_key has keys; they pair by position");
        }
        Map<String, String> tags = new LinkedHashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            String value = i < tagValues.size() ? tagValues.get(i) : "";
            String before = tags.putIfAbsent(keys.get(i), value);
            if (before != null && !before.equals(value)) {
                throw TesError.badParameter("tag_key", "names '" + TesError.abbreviate(keys.get(i))
                        + "' twice with different values, which no task matches");
            }
        }
        if (tags.size() > JobSpec.MAX_TAGS) {
            throw TesError.badParameter("tag_key", "at most " + JobSpec.MAX_TAGS + " tag filters");
        }
        int pageSize = single(q, "page_size").map(v -> {
            try {
                int n = Integer.parseInt(v);
                if (n >= 1 && n <= TaskListing.MAX_PAGE_SIZE) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // said below
            }
            throw TesError.badParameter("page_size", "must be an integer from 1 to " + TaskListing.MAX_PAGE_SIZE);
        }).orElse(TaskListing.DEFAULT_PAGE_SIZE);
        Optional<String> token = single(q, "page_token").filter(t -> !t.isEmpty());
        Optional<String> prefix = single(q, "name_prefix");
        TaskListing.Result page = TaskListing.page(own.jobs(), new TaskListing.Filter(prefix, state, tags), pageSize,
                token);
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        ArrayNode tasks = body.putArray("tasks");
        page.tasks().forEach(job -> tasks.add(TaskView.render(job, view)));
        page.nextPageToken().ifPresent(t -> body.put("next_page_token", t));
        send(response, callback, 200, body);
    }

    // ---- get and cancel

    /** The caller's TES task {@code id}; 404 for an unknown id, another user's job or one not made through TES. */
    private static Job task(SkyPort own, String id) {
        JobId jobId;
        try {
            jobId = JobId.parse(id);
        } catch (InvalidJobSpecException e) {
            throw TesError.notFound(id);
        }
        Job job = own.jobs().get(jobId); // NoSuchJobException for another user's job as for an unknown one
        if (!TaskMapper.MARKER_VALUE.equals(job.spec().tags().get(TaskMapper.MARKER))
                || job.spec().containerSteps().isEmpty()) {
            throw TesError.notFound(id);
        }
        return job;
    }

    private static void cancel(SkyPort own, String id, Request request, Response response, Callback callback) {
        Job job = task(own, id);
        // Canceling an ended task changes nothing (its outcome is not rewritten), nor does a second cancel.
        if (!job.state().isTerminal()) {
            try {
                own.jobs().cancel(job.id());
            } catch (IllegalJobStateException e) {
                // It ended (or is being canceled) since it was read: the same answer.
            }
        }
        send(response, callback, 200, JsonNodeFactory.instance.objectNode());
    }

    // ---- parameters

    private static TaskView.View view(Fields q) {
        Optional<String> view = single(q, "view");
        if (view.isEmpty()) {
            return TaskView.View.MINIMAL;
        }
        try {
            return TaskView.View.valueOf(view.get());
        } catch (IllegalArgumentException e) {
            throw TesError.badParameter("view", "must be MINIMAL, BASIC or FULL");
        }
    }

    private static List<String> values(Fields q, String name) {
        return QueryParameters.values(q, name);
    }

    private static Optional<String> single(Fields q, String name) {
        return QueryParameters.single(q, name, message -> TesError.badParameter(name, message));
    }

    private static void allow(String method, String... allowed) {
        if (!List.of(allowed).contains(method)) {
            throw TesError.methodNotAllowed(method, List.of(allowed));
        }
    }

    // ---- replies

    private static void send(Response response, Callback callback, int status, JsonNode body) {
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, JSON);
        response.getHeaders().put(new HttpField(HttpHeader.CONTENT_LENGTH, String.valueOf(bytes.length)));
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    private static void fail(Request request, Response response, Callback callback, Throwable failure) {
        TesError e = mapped(failure);
        if (e == null) {
            if (failure instanceof IOException && response.isCommitted()) {
                LOG.debug("{} {}: the client stopped taking the reply: {}", request.getMethod(),
                        Request.getPathInContext(request), failure.toString());
                callback.failed(failure);
                return;
            }
            // Not the user's fault: say so without details, keep the details in the log.
            LOG.error("{} {} failed", request.getMethod(), Request.getPathInContext(request), failure);
            e = new TesError(500, "internal", "the daemon could not complete the request; see its log",
                    Optional.empty());
        }
        if (response.isCommitted()) {
            callback.failed(e);
            return;
        }
        response.reset();
        e.allow.ifPresent(methods -> response.getHeaders().put(HttpHeader.ALLOW, methods));
        e.retryAfter.ifPresent(s -> response.getHeaders().put(HttpHeader.RETRY_AFTER, String.valueOf(s)));
        send(response, callback, e.status, e.body());
    }

    /** The TES answer to an exception; null for a fault of the daemon's own. */
    private static TesError mapped(Throwable e) {
        if (e instanceof TesError t) {
            return t;
        }
        if (e instanceof BadMessageException b && b.getCode() >= 400 && b.getCode() < 500) {
            return new TesError(b.getCode(), "invalid_parameter", "the request cannot be decoded: "
                    + TesError.abbreviate(String.valueOf(b.getReason())), Optional.empty());
        }
        if (e instanceof InvalidJobSpecException i) {
            return TesError.badRequest(TaskMapper.tesField(i.field()), i.reason());
        }
        if (e instanceof NoSuchJobException n) {
            return TesError.notFound(n.id().toString());
        }
        if (e instanceof QueueFullException) {
            return new TesError(503, "queue_full", e.getMessage(), Optional.empty()).retryAfter(10);
        }
        if (e instanceof QuotaExceededException) {
            return new TesError(429, "quota_exceeded", e.getMessage(), Optional.empty()).retryAfter(60);
        }
        if (e instanceof StorageFullException) {
            return new TesError(507, "storage_full", "the server's disk is full; the task was not stored",
                    Optional.empty()).retryAfter(60);
        }
        if (e instanceof EngineUnavailableException) {
            return new TesError(503, "engine_unavailable", e.getMessage(), Optional.empty()).retryAfter(10);
        }
        return null;
    }

    // ---- body

    /**
     * Reads the body without holding a thread while the client sends it, then hands it on; a body past the limit is a
     * 413, one that stops arriving in time (ClientGuard fails the read) a 408.
     */
    private void readBody(Request request, Response response, Callback callback, Consumer<byte[]> then) {
        BodyReader.read(request, maxBodyBytes, this::tooLarge, TesApi::unreadable, then,
                e -> fail(request, response, callback, e));
    }

    private static TesError unreadable(Throwable failure) {
        return failure instanceof TimeoutException
                ? new TesError(408, "request_timeout", "the request body did not arrive in time", Optional.empty())
                : new TesError(400, "unreadable_body", "the request body could not be read", Optional.empty());
    }

    private TesError tooLarge() {
        return new TesError(413, "payload_too_large", "the body is larger than the limit of " + maxBodyBytes
                + " bytes", Optional.empty());
    }
}
