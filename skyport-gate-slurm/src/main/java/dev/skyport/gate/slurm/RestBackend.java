package dev.skyport.gate.slurm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.gate.GateException;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;

/**
 * Slurm through slurmrestd's API {@value #VERSION} (slurmrestd 22.05 and 23.02 serve it), authenticated with a JWT in
 * {@code X-SLURM-USER-TOKEN}. Other API versions are not yet supported: {@link #ping()} refuses a server that does not
 * serve this one.
 *
 * <p>What slurmrestd 22.05 answers, measured: errors come as HTTP 500 with {@code errors[]} holding
 * {@code error_code} (submit) or {@code error_number} (everything else) and Slurm's message; an unknown job id is error
 * 2017; a bad or expired token is not a 401 but a 500 with error -1 "slurmctld config is unable to load"; a job beyond
 * its partition's limits is queued ({@code job_id} present) with error 2015 beside it, and then pends for ever.
 */
final class RestBackend implements SlurmBackend {
    static final String VERSION = "v0.0.38";

    private static final Logger LOG = LoggerFactory.getLogger(RestBackend.class);
    private static final MediaType JSON = MediaType.get("application/json");
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** ESLURM_INVALID_JOB_ID: the job is not (or no longer) known. */
    private static final int INVALID_JOB_ID = 2017;
    /** ESLURM_ALREADY_DONE: canceling a job that has ended. */
    private static final int ALREADY_DONE = 2021;
    /** Slurm's "infinite" in 32-bit fields (a partition without MaxTime or MaxNodes). */
    private static final long INFINITE = 0xFFFFFFFEL;

    private final HttpUrl base;
    private final String user;
    private final JwtTokens tokens;
    /** Tokens for the job owners' users (run-as-owner), signed with the cluster's key; empty without the option. */
    private final Optional<java.util.function.Function<String, JwtTokens>> ownerTokens;
    private final OkHttpClient http;

    RestBackend(HttpUrl restUrl, String user, JwtTokens tokens, Duration timeout) {
        this(restUrl, user, tokens, Optional.empty(), timeout);
    }

    RestBackend(HttpUrl restUrl, String user, JwtTokens tokens,
                Optional<java.util.function.Function<String, JwtTokens>> ownerTokens, Duration timeout) {
        this.ownerTokens = ownerTokens;
        HttpUrl.Builder b = restUrl.newBuilder();
        // A path prefix (slurmrestd behind a proxy) is kept; the API's path follows it.
        String path = restUrl.encodedPath();
        b.encodedPath(path.endsWith("/") ? path : path + "/");
        this.base = b.build();
        this.user = user;
        this.tokens = tokens;
        this.http = new OkHttpClient.Builder()
                .connectTimeout(timeout.compareTo(Duration.ofSeconds(10)) < 0 ? timeout : Duration.ofSeconds(10))
                .readTimeout(timeout)
                .callTimeout(timeout)
                // A POST whose answer was lost must not be sent again by OkHttp: the gate looks for its tag first.
                .retryOnConnectionFailure(false)
                .build();
    }

    @Override
    public String describe() {
        return "slurmrestd " + VERSION + " at " + base;
    }

    @Override
    public void ping() {
        JsonNode root;
        try {
            root = send(get("ping"), "ping", false, user);
        } catch (NotServed e) {
            throw GateException.permanent(describe() + ": the server does not serve the API " + VERSION
                    + served() + "; the slurm gate supports only " + VERSION + " (start slurmrestd with -s openapi/"
                    + VERSION + ")");
        }
        String release = root.path("meta").path("Slurm").path("release").asText("");
        boolean up = false;
        for (JsonNode ping : root.path("pings")) {
            up |= ping.path("ping").asText("").equalsIgnoreCase("UP");
        }
        if (!up) {
            throw GateException.transientFailure(describe() + ": slurmctld does not answer slurmrestd's ping",
                    null, Optional.empty());
        }
        LOG.info("Slurm {} answers through {} as user {}", release.isEmpty() ? "(release not said)" : release,
                describe(), user);
    }

    /** The API versions the server lists in its OpenAPI document, for the message of an unsupported one. */
    private String served() {
        try {
            JsonNode doc = send(new Request.Builder().url(base.resolve("openapi/v3")).get(), "openapi", false, user);
            Set<String> versions = new TreeSet<>();
            for (Iterator<String> paths = doc.path("paths").fieldNames(); paths.hasNext(); ) {
                String[] parts = paths.next().split("/");
                if (parts.length > 2 && parts[1].equals("slurm")) {
                    versions.add(parts[2]);
                }
            }
            return versions.isEmpty() ? "" : " (it serves " + String.join(", ", versions) + ")";
        } catch (GateException | NotServed e) {
            return "";
        }
    }

    @Override
    public List<SlurmPartition> partitions() {
        JsonNode root = call(get("partitions"), "list partitions");
        List<SlurmPartition> partitions = new ArrayList<>();
        for (JsonNode p : root.path("partitions")) {
            boolean isDefault = false;
            for (JsonNode flag : p.path("flags")) {
                isDefault |= flag.asText("").equalsIgnoreCase("default");
            }
            long maxNodes = p.path("maximum_nodes_per_job").asLong(-1);
            long maxTime = p.path("max_time_limit").asLong(-1);
            List<String> accounts = new ArrayList<>();
            for (String a : p.path("allowed_accounts").asText("").split(",")) {
                if (!a.isBlank() && !a.strip().equalsIgnoreCase("ALL")) {
                    accounts.add(a.strip());
                }
            }
            long maxCpus = p.path("maximum_cpus_per_node").asLong(-1);
            // Negative when Slurm's MEM_PER_CPU flag (the top bit) is set: a per-cpu limit, not checked here.
            long maxMemory = p.path("maximum_memory_per_node").asLong(-1);
            partitions.add(new SlurmPartition(p.path("name").asText(), isDefault,
                    p.path("state").asText("").equalsIgnoreCase("UP"),
                    maxNodes > 0 && maxNodes < INFINITE ? OptionalInt.of((int) maxNodes) : OptionalInt.empty(),
                    maxTime > 0 && maxTime < INFINITE ? Optional.of(Duration.ofMinutes(maxTime)) : Optional.empty(),
                    accounts, Hostlist.expand(p.path("nodes").asText("")),
                    maxCpus > 0 && maxCpus < INFINITE ? OptionalInt.of((int) maxCpus) : OptionalInt.empty(),
                    maxMemory > 0 && maxMemory < INFINITE ? OptionalLong.of(maxMemory) : OptionalLong.empty()));
        }
        return partitions;
    }

    @Override
    public List<SlurmNode> nodes() {
        JsonNode root = call(get("nodes"), "list nodes");
        List<SlurmNode> nodes = new ArrayList<>();
        for (JsonNode n : root.path("nodes")) {
            List<String> partitions = new ArrayList<>();
            n.path("partitions").forEach(p -> partitions.add(p.asText()));
            List<String> flags = new ArrayList<>();
            n.path("state_flags").forEach(f -> flags.add(f.asText().toUpperCase(Locale.ROOT)));
            nodes.add(new SlurmNode(n.path("name").asText(), partitions, n.path("cpus").asInt(0),
                    n.path("real_memory").asLong(0), n.path("gres").asText(""),
                    n.path("state").asText("unknown").toLowerCase(Locale.ROOT), flags, n.path("reason").asText("")));
        }
        return nodes;
    }

    @Override
    public String submit(SlurmSubmission s) {
        return submit(user, s);
    }

    @Override
    public String submitAs(String owner, SlurmSubmission s) {
        if (ownerTokens.isEmpty()) {
            return SlurmBackend.super.submitAs(owner, s);
        }
        return submit(owner, s);
    }

    private String submit(String as, SlurmSubmission s) {
        ObjectNode body = MAPPER.createObjectNode();
        body.put("script", s.script());
        ObjectNode job = body.putObject("job");
        job.put("name", s.name());
        job.put("comment", s.comment());
        job.put("current_working_directory", s.workdir());
        job.put("standard_output", s.stdout());
        job.put("standard_error", s.stderr());
        ObjectNode env = job.putObject("environment");
        new TreeSet<>(s.env().keySet()).forEach(k -> env.put(k, s.env().get(k)));
        job.put("nodes", s.nodes());
        job.put("tasks", s.nodes());
        job.put("cpus_per_task", s.cpusPerTask());
        if (s.memoryPerNodeMiB() > 0) {
            job.put("memory_per_node", s.memoryPerNodeMiB());
        }
        if (s.gpusPerNode() > 0) {
            job.put("gres", "gpu:" + s.gpusPerNode());
        }
        if (s.timeLimitMinutes() > 0) {
            job.put("time_limit", s.timeLimitMinutes());
        }
        s.partition().ifPresent(p -> job.put("partition", p));
        s.account().ifPresent(a -> job.put("account", a));
        // Measured on slurmrestd 22.05: v0.0.38 ignores "requeue": false (the job shows Requeue=1, also after an
        // update with it), so Slurm may requeue the job after a node failure; the queue and the wrapper deal with
        // that (SlurmQueue.status, the wrapper's SLURM_RESTART_COUNT guard). Sent anyway, for servers that honour it.
        job.put("requeue", false);
        Request.Builder post = new Request.Builder().url(api("job/submit"))
                // Bytes, not a String: OkHttp would add "; charset=utf-8", and slurmrestd 22.05 answers such a
                // content type with an empty HTTP 400.
                .post(RequestBody.create(body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8), JSON));
        JsonNode root = call(post, "submit " + s.comment(), true, as);
        String id = root.path("job_id").asText("");
        List<SlurmError> errors = errors(root);
        if (id.isEmpty() || id.equals("0")) {
            throw GateException.permanent(describe() + " did not accept the job: "
                    + (errors.isEmpty() ? "no job id in its answer" : describe(errors)));
        }
        if (!errors.isEmpty()) {
            // Queued, but with a complaint (e.g. 2015 "Requested partition configuration not available now"): such a
            // job pends for ever, so it is canceled and refused instead of being left half-submitted.
            LOG.warn("Slurm queued job {} ({}) with errors; canceling it: {}", id, s.comment(), describe(errors));
            try {
                cancel(id);
            } catch (GateException e) {
                LOG.warn("Could not cancel Slurm job {}: {}", id, e.getMessage());
            }
            throw GateException.permanent("Slurm refused the job: " + describe(errors));
        }
        LOG.debug("Slurm job {} submitted for {}", id, s.comment());
        return id;
    }

    @Override
    public List<SlurmJob> jobs(Collection<String> ids) {
        if (ids.isEmpty()) {
            return List.of();
        }
        if (ids.size() == 1) {
            String id = ids.iterator().next();
            try {
                return parseJobs(call(get("job/" + id), "job " + id));
            } catch (UnknownJob e) {
                return List.of();
            }
        }
        Set<String> wanted = new HashSet<>(ids);
        return parseJobs(call(get("jobs"), "list jobs")).stream().filter(j -> wanted.contains(j.id())).toList();
    }

    @Override
    public List<SlurmJob> jobsTagged(String tag) {
        return parseJobs(call(get("jobs"), "list jobs")).stream().filter(j -> j.isTagged(tag)).toList();
    }

    @Override
    public Optional<List<SlurmJob>> jobsTaggedWith(String prefix) {
        return Optional.of(parseJobs(call(get("jobs"), "list jobs")).stream()
                .filter(j -> j.comment().startsWith(prefix)).toList());
    }

    @Override
    public void cancel(String id) {
        try {
            // Only its owner (or an operator, which needs slurmdbd) may cancel a job: with run-as-owner, as that user.
            String as = ownerTokens.isEmpty() ? user
                    : call(get("job/" + id), "job " + id).path("jobs").path(0).path("user_name").asText(user);
            call(new Request.Builder().url(api("job/" + id)).delete(), "cancel job " + id, false, as);
        } catch (UnknownJob e) {
            LOG.debug("Slurm job {} to cancel is not known (any more)", id);
        } catch (GateException e) {
            if (!e.isTransient() && e.getMessage().contains("[" + ALREADY_DONE + "]")) {
                return;
            }
            throw e;
        }
    }

    @Override
    public void close() {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    private List<SlurmJob> parseJobs(JsonNode root) {
        List<SlurmJob> jobs = new ArrayList<>();
        for (JsonNode j : root.path("jobs")) {
            String state = j.path("job_state").asText("").toUpperCase(Locale.ROOT);
            String reason = j.path("state_reason").asText("");
            long start = j.path("start_time").asLong(0);
            boolean ended = SlurmStates.hasEnded(state);
            OptionalInt exit = OptionalInt.empty();
            JsonNode code = j.path("exit_code");
            if (ended && code.isIntegralNumber()) {
                exit = OptionalInt.of(code.asInt());
            } else if (ended && code.isObject()) {
                // Later API versions split it: {"return_code": {"number": 3}, "signal": {"id": {"number": 0}}}.
                int rc = code.path("return_code").path("number").asInt(code.path("return_code").asInt(0));
                int sig = code.path("signal").path("id").path("number").asInt(0);
                exit = OptionalInt.of((rc & 0xff) << 8 | (sig & 0x7f));
            }
            jobs.add(new SlurmJob(j.path("job_id").asText(), j.path("name").asText(""),
                    j.path("comment").asText(""), state, reason.equals("None") ? "" : reason,
                    start > 0 ? Optional.of(Instant.ofEpochSecond(start)) : Optional.empty(),
                    Hostlist.expand(j.path("nodes").asText("")), exit, Math.max(0, j.path("restart_cnt").asInt(0))));
        }
        return jobs;
    }

    private Request.Builder get(String path) {
        return new Request.Builder().url(api(path)).get();
    }

    private HttpUrl api(String path) {
        return base.resolve("slurm/" + VERSION + "/" + path);
    }

    private JsonNode call(Request.Builder request, String what) {
        return call(request, what, false, user);
    }

    private JsonNode call(Request.Builder request, String what, boolean acceptJobId) {
        return call(request, what, acceptJobId, user);
    }

    /**
     * Sends {@code request} with the credentials and returns the JSON answer, or throws: transient when slurmrestd or
     * slurmctld could not be reached or asked to retry, permanent when Slurm refused; {@link UnknownJob} for error
     * 2017, {@link NotServed} for a path the server does not serve. With {@code acceptJobId}, an answer that carries
     * a job id is returned even with errors beside it (the caller decides).
     */
    private JsonNode call(Request.Builder request, String what, boolean acceptJobId, String as) {
        try {
            return send(request, what, acceptJobId, as);
        } catch (NotServed e) {
            throw GateException.permanent(describe() + ": " + what + " failed: the server does not serve "
                    + request.build().url().encodedPath());
        }
    }

    /** Sends {@code request} as the Slurm user {@code as}: the gate's {@code user}, or a job owner's (run-as-owner). */
    private JsonNode send(Request.Builder request, String what, boolean acceptJobId, String as) {
        JwtTokens tokens = as.equals(user) ? this.tokens : ownerTokens.orElseThrow().apply(as);
        Request r = request.header("X-SLURM-USER-NAME", as).header("X-SLURM-USER-TOKEN", tokens.token())
                .header("Accept", "application/json").build();
        long started = System.nanoTime();
        try (Response response = http.newCall(r).execute()) {
            ResponseBody body = response.body();
            String text = body == null ? "" : body.string();
            LOG.debug("{} {} -> HTTP {} in {} ms", r.method(), r.url().encodedPath(), response.code(),
                    (System.nanoTime() - started) / 1_000_000);
            if (response.code() == 404 && text.startsWith("Unable find requested URL")) {
                throw new NotServed();
            }
            JsonNode root;
            try {
                root = text.isBlank() ? MAPPER.createObjectNode() : MAPPER.readTree(text);
            } catch (IOException notJson) {
                root = MAPPER.createObjectNode();
            }
            List<SlurmError> errors = errors(root);
            if (response.isSuccessful() && errors.isEmpty()) {
                return root;
            }
            if (acceptJobId && root.hasNonNull("job_id") && root.path("job_id").asLong(0) > 0) {
                return root;
            }
            if (errors.stream().anyMatch(e -> e.code == INVALID_JOB_ID)) {
                throw new UnknownJob();
            }
            Optional<Duration> retryAfter = retryAfter(response.header("Retry-After"));
            String message = describe() + ": " + what + " failed (HTTP " + response.code() + ")"
                    + (errors.isEmpty() ? text.isBlank() ? "" : ": " + abbreviate(text) : ": " + describe(errors));
            boolean slurmRefused = !errors.isEmpty() && errors.stream().allMatch(SlurmError::isPermanent);
            if (response.code() == 429 || response.code() >= 500 && !slurmRefused) {
                if (errors.stream().anyMatch(e -> e.code == -1)) {
                    message += " (slurmrestd could not talk to slurmctld for user " + as + ": slurmctld is down, or"
                            + " the token from " + tokens.describe() + " is expired, signed with another key or for"
                            + " another user)";
                }
                throw GateException.transientFailure(message, null, retryAfter);
            }
            throw GateException.permanent(message);
        } catch (IOException e) {
            throw GateException.transientFailure(describe() + ": " + what + " failed: "
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage()), e,
                    Optional.empty());
        }
    }

    private static String abbreviate(String text) {
        String t = text.strip().replaceAll("\\s+", " ");
        return t.length() <= 200 ? t : t.substring(0, 200) + "...";
    }

    private static Optional<Duration> retryAfter(String header) {
        if (header == null) {
            return Optional.empty();
        }
        try {
            long seconds = Long.parseLong(header.strip());
            return seconds >= 0 ? Optional.of(Duration.ofSeconds(seconds)) : Optional.empty();
        } catch (NumberFormatException httpDate) {
            return Optional.empty();
        }
    }

    /** One entry of slurmrestd's {@code errors}. */
    private record SlurmError(int code, String text) {
        /**
         * Whether retrying cannot help: Slurm's ESLURM_* refusals (2000-4999) and parse errors (9000s). Errors
         * 1000-1999 (slurmctld communication) and 5000-5999 (socket and protocol) and unspecified ones may pass.
         */
        boolean isPermanent() {
            return code >= 2000 && code < 5000 || code >= 9000 && code < 10000;
        }

        @Override
        public String toString() {
            return text + " [" + code + "]";
        }
    }

    private static List<SlurmError> errors(JsonNode root) {
        List<SlurmError> errors = new ArrayList<>();
        for (JsonNode e : root.path("errors")) {
            int code = e.has("error_code") ? e.path("error_code").asInt(-1) : e.path("error_number").asInt(-1);
            String error = e.path("error").asText("");
            String description = e.path("description").asText("");
            String text = description.isEmpty() ? error
                    : error.isEmpty() || description.contains(error) ? description : error + ": " + description;
            if (code == 0 && text.isEmpty()) {
                continue;
            }
            errors.add(new SlurmError(code, text.isEmpty() ? "error " + code : text));
        }
        return errors;
    }

    private static String describe(List<SlurmError> errors) {
        return String.join("; ", errors.stream().map(SlurmError::toString).toList());
    }

    /** Error 2017: Slurm does not know the job. */
    private static final class UnknownJob extends RuntimeException {
        UnknownJob() {
            super(null, null, false, false);
        }
    }

    /** HTTP 404 from slurmrestd: it does not serve the path (another API version). */
    private static final class NotServed extends RuntimeException {
        NotServed() {
            super(null, null, false, false);
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
