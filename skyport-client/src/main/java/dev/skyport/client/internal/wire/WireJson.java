package dev.skyport.client.internal.wire;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.Flavor;
import dev.skyport.api.Health;
import dev.skyport.api.Image;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.Page;
import dev.skyport.api.Partition;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RemoteSite;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPortEvent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Writes and reads every JSON shape of {@code /api/v1} (the contract is the daemon's OpenAPI file,
 * {@code skyport-api-v1.yaml}). The daemon uses it to parse requests and write replies, the client to write requests
 * and parse replies, so the two cannot drift. Shapes are written and read by hand rather than by data binding: the
 * API records have no Jackson annotations, absent {@code Optional}s must be omitted, and a request's every error must
 * name the member it is about.
 *
 * <p>Requests are read strictly: an unknown member, a member of the wrong type and a response-only member are each a
 * {@link WireFormatException} naming the member, and a {@link JobSpec} is built through {@link JobSpec#builder()}
 * so that every limit applies ({@link InvalidJobSpecException} naming the field). Responses are read tolerantly
 * (unknown members ignored, specs through the canonical constructor, as stored jobs may predate a limit).
 *
 * <p>Thread-safe; all methods are static.
 */
public final class WireJson {
    /** Most specs one batch submit may carry. */
    public static final int MAX_BATCH = 1000;

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Set<String> RESPONSE_ONLY_SPEC_MEMBERS = Set.of("warnings", "scriptOmitted");
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private WireJson() {
    }

    /** The mapper every shape is written and parsed with (strict: duplicate members and trailing tokens fail). */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    // ---- documents

    /**
     * Parses one JSON document.
     *
     * @throws WireFormatException ({@code invalid_json}, field {@code $}) when it is not exactly one JSON value
     */
    public static JsonNode parse(byte[] json) {
        try {
            JsonNode node = MAPPER.readTree(json);
            if (node == null || node.isMissingNode()) {
                throw new WireFormatException(WireFormatException.INVALID_JSON, "$", "the body is empty");
            }
            return node;
        } catch (JsonProcessingException e) {
            // The parser's own message quotes the input; say where instead, so no body text reaches an error.
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new WireFormatException(WireFormatException.INVALID_JSON, "$", "is not valid JSON" + where);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static JsonNode parse(String json) {
        return parse(json.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code node} as compact UTF-8 JSON on one line (SSE needs one line). */
    public static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serialises", e);
        }
    }

    public static String text(JsonNode node) {
        return new String(bytes(node), StandardCharsets.UTF_8);
    }

    // ---- JobSpec

    /** A spec as responses carry it: every member, {@code warnings} and {@code scriptOmitted} included. */
    public static ObjectNode writeSpec(JobSpec spec) {
        ObjectNode o = specMembers(spec);
        ArrayNode warnings = o.putArray("warnings");
        spec.warnings().forEach(warnings::add);
        if (spec.scriptOmitted()) {
            o.put("scriptOmitted", true);
        }
        return o;
    }

    /**
     * A spec as a submit request carries it: without the response-only {@code warnings} and {@code scriptOmitted}
     * (the daemon derives warnings itself when it parses a script).
     *
     * @throws IllegalArgumentException for a spec whose script was left out of a listing: it cannot be submitted
     */
    public static ObjectNode writeSpecRequest(JobSpec spec) {
        if (spec.scriptOmitted()) {
            throw new IllegalArgumentException("a spec listed without its script cannot be submitted; get the job"
                    + " for its whole spec");
        }
        return specMembers(spec);
    }

    private static ObjectNode specMembers(JobSpec spec) {
        ObjectNode o = NODES.objectNode();
        o.put("name", spec.name());
        spec.script().ifPresent(s -> o.put("script", s));
        if (!spec.command().isEmpty()) {
            ArrayNode c = o.putArray("command");
            spec.command().forEach(c::add);
        }
        spec.containerSteps().ifPresent(s -> o.set("containerSteps", WireSteps.write(s)));
        spec.containerImage().ifPresent(s -> o.put("containerImage", s));
        spec.cloudImage().ifPresent(s -> o.put("cloudImage", s));
        o.put("nodes", spec.nodes());
        o.put("cpus", spec.cpus());
        o.put("memoryBytes", spec.memoryBytes());
        o.put("gpus", spec.gpus());
        spec.flavor().ifPresent(s -> o.put("flavor", s));
        spec.remoteSite().ifPresent(s -> o.put("remoteSite", s));
        o.put("relocatable", spec.relocatable());
        ArrayNode ports = o.putArray("ports");
        for (PortSpec p : spec.ports()) {
            ports.addObject().put("port", p.port()).put("protocol", p.protocol()).put("direction", p.direction().name());
        }
        ArrayNode in = o.putArray("inputFiles");
        spec.inputFiles().forEach(in::add);
        ArrayNode out = o.putArray("outputFiles");
        spec.outputFiles().forEach(out::add);
        spec.workdir().ifPresent(s -> o.put("workdir", s));
        o.set("env", stringMap(spec.env()));
        spec.account().ifPresent(s -> o.put("account", s));
        o.put("priority", spec.priority());
        spec.timeLimit().ifPresent(d -> o.put("timeLimit", d.toString()));
        RetryPolicy r = spec.retryPolicy();
        o.putObject("retryPolicy")
                .put("maxAttempts", r.maxAttempts())
                .put("initialBackoff", r.initialBackoff().toString())
                .put("maxBackoff", r.maxBackoff().toString())
                .put("deadline", r.deadline().toString())
                .put("retryUserFailures", r.retryUserFailures());
        o.set("tags", stringMap(spec.tags()));
        o.put("comment", spec.comment());
        spec.submissionAddress().ifPresent(s -> o.put("submissionAddress", s));
        spec.storage().ifPresent(s -> o.put("storage", s));
        spec.idempotencyKey().ifPresent(s -> o.put("idempotencyKey", s));
        return o;
    }

    /**
     * Reads a spec from a request body, strictly, through {@link JobSpec#builder()}: members left out take the
     * builder's defaults, exactly one of {@code script} and {@code command} must be given.
     *
     * @param where the spec's place in the document for error fields ({@code ""} for the root, {@code jobs[3]})
     * @throws WireFormatException     for an unknown, response-only or mistyped member
     * @throws InvalidJobSpecException for a value the builder refuses, with the field named after {@code where}
     */
    public static JobSpec readSpecRequest(JsonNode node, String where) {
        Members m = Members.of(node, where, true);
        try {
            return buildSpec(m);
        } catch (WireFormatException e) {
            throw e;
        } catch (InvalidJobSpecException e) {
            if (where.isEmpty()) {
                throw e;
            }
            throw new InvalidJobSpecException(m.path(e.field()), e.reason(), e.line().orElse(0));
        }
    }

    private static JobSpec buildSpec(Members m) {
        JobSpec.Builder b = JobSpec.builder();
        Optional<String> script = m.optString("script");
        Optional<List<String>> command = m.optStrings("command");
        Optional<JsonNode> steps = m.optNode("containerSteps");
        if ((script.isPresent() ? 1 : 0) + (command.isPresent() ? 1 : 0) + (steps.isPresent() ? 1 : 0) > 1) {
            throw new InvalidJobSpecException("script", "give exactly one of a script, a command or container steps");
        }
        steps.ifPresent(n -> b.containerSteps(WireSteps.read(n, m.path("containerSteps"), true)));
        m.optString("name").ifPresent(b::name);
        script.ifPresent(b::script);
        command.ifPresent(b::command);
        m.optString("containerImage").ifPresent(b::containerImage);
        m.optString("cloudImage").ifPresent(b::cloudImage);
        m.optInt("nodes").ifPresent(b::nodes);
        m.optInt("cpus").ifPresent(b::cpus);
        m.optLong("memoryBytes").ifPresent(v -> {
            // 0 is the default ("no memory request") and what responses carry for it; the builder's setter
            // only takes a real request.
            if (v != 0) {
                b.memoryBytes(v);
            }
        });
        m.optInt("gpus").ifPresent(b::gpus);
        m.optString("flavor").ifPresent(b::flavor);
        m.optString("remoteSite").ifPresent(b::remoteSite);
        m.optBoolean("relocatable").ifPresent(b::relocatable);
        m.optArray("ports", (n, w) -> readPort(n, w, true)).ifPresent(b::ports);
        m.optStrings("inputFiles").ifPresent(l -> l.forEach(b::inputFile));
        m.optStrings("outputFiles").ifPresent(l -> l.forEach(b::outputFile));
        m.optString("workdir").ifPresent(b::workdir);
        m.optStringMap("env").ifPresent(env -> env.forEach(b::env));
        m.optString("account").ifPresent(b::account);
        m.optInt("priority").ifPresent(b::priority);
        m.optDuration("timeLimit").ifPresent(b::timeLimit);
        m.optNode("retryPolicy").ifPresent(n -> b.retryPolicy(readRetryPolicy(n, m.path("retryPolicy"), true)));
        m.optStringMap("tags").ifPresent(tags -> tags.forEach(b::tag));
        m.optString("comment").ifPresent(b::comment);
        m.optString("submissionAddress").ifPresent(b::submissionAddress);
        m.optString("storage").ifPresent(b::storage);
        m.optString("idempotencyKey").ifPresent(b::idempotencyKey);
        m.done(RESPONSE_ONLY_SPEC_MEMBERS);
        return b.build();
    }

    /** Reads a spec from a response, tolerantly, through the canonical constructor (limits are the daemon's). */
    public static JobSpec readSpec(JsonNode node) {
        Members m = Members.of(node, "spec", false);
        return new JobSpec(
                m.optString("name").orElse(""),
                m.optString("script"),
                m.strings("command"),
                m.optString("containerImage"),
                m.optString("cloudImage"),
                m.optInt("nodes").orElse(1),
                m.optInt("cpus").orElse(1),
                m.optLong("memoryBytes").orElse(0L),
                m.optInt("gpus").orElse(0),
                m.optString("flavor"),
                m.optString("remoteSite"),
                m.optBoolean("relocatable").orElse(true),
                m.optArray("ports", (n, w) -> readPort(n, w, false)).orElse(List.of()),
                m.strings("inputFiles"),
                m.strings("outputFiles"),
                m.optString("workdir"),
                m.stringMap("env"),
                m.optString("account"),
                m.optInt("priority").orElse(0),
                m.optDuration("timeLimit"),
                m.optNode("retryPolicy").map(n -> readRetryPolicy(n, m.path("retryPolicy"), false))
                        .orElse(RetryPolicy.defaults()),
                m.stringMap("tags"),
                m.optString("comment").orElse(""),
                m.optString("submissionAddress"),
                m.optString("storage"),
                m.optString("idempotencyKey"),
                m.strings("warnings"),
                m.optBoolean("scriptOmitted").orElse(false),
                m.optNode("containerSteps").map(n -> WireSteps.read(n, m.path("containerSteps"), false)));
    }

    private static PortSpec readPort(JsonNode node, String where, boolean strict) {
        Members m = Members.of(node, where, strict);
        int port = m.integer("port");
        String protocol = m.string("protocol");
        PortSpec.Direction direction = m.enumValue("direction", PortSpec.Direction.class);
        m.done();
        return new PortSpec(port, protocol, direction);
    }

    private static RetryPolicy readRetryPolicy(JsonNode node, String where, boolean strict) {
        Members m = Members.of(node, where, strict);
        RetryPolicy d = RetryPolicy.defaults();
        int maxAttempts = m.optInt("maxAttempts").orElse(d.maxAttempts());
        Duration initial = m.optDuration("initialBackoff").orElse(d.initialBackoff());
        Duration max = m.optDuration("maxBackoff").orElse(d.maxBackoff());
        Duration deadline = m.optDuration("deadline").orElse(d.deadline());
        boolean user = m.optBoolean("retryUserFailures").orElse(d.retryUserFailures());
        m.done();
        return new RetryPolicy(maxAttempts, initial, max, deadline, user);
    }

    /** The body of a batch submit: {@code {"jobs":[spec,...]}}. */
    public static ObjectNode writeBatchRequest(List<JobSpec> specs) {
        ObjectNode o = NODES.objectNode();
        ArrayNode jobs = o.putArray("jobs");
        specs.forEach(s -> jobs.add(writeSpecRequest(s)));
        return o;
    }

    /**
     * Reads a batch submit body: 1..{@link #MAX_BATCH} specs, each strictly; errors name {@code jobs[i].member}.
     */
    public static List<JobSpec> readBatchRequest(JsonNode node) {
        Members m = Members.of(node, "", true);
        JsonNode jobs = m.optNode("jobs").orElseThrow(() ->
                new WireFormatException(WireFormatException.INVALID_JSON, "jobs", "is missing"));
        m.done();
        if (!jobs.isArray()) {
            throw new WireFormatException(WireFormatException.INVALID_JSON, "jobs",
                    "must be an array, got " + Members.kind(jobs));
        }
        if (jobs.isEmpty() || jobs.size() > MAX_BATCH) {
            throw new InvalidJobSpecException("jobs", "must hold 1.." + MAX_BATCH + " specs, got " + jobs.size());
        }
        List<JobSpec> specs = new ArrayList<>(jobs.size());
        for (int i = 0; i < jobs.size(); i++) {
            specs.add(readSpecRequest(jobs.get(i), "jobs[" + i + "]"));
        }
        return specs;
    }

    // ---- Job and Attempt

    public static ObjectNode writeJob(Job job) {
        ObjectNode o = NODES.objectNode();
        o.put("id", job.id().toString());
        o.put("owner", job.owner());
        o.put("ownerName", job.ownerName());
        o.put("name", job.name());
        o.put("state", job.state().name());
        o.put("stateDetails", job.stateDetails());
        job.endReason().ifPresent(r -> o.put("endReason", r.name()));
        o.put("submitTime", job.submitTime().toString());
        o.put("updateTime", job.updateTime().toString());
        job.startTime().ifPresent(t -> o.put("startTime", t.toString()));
        job.endTime().ifPresent(t -> o.put("endTime", t.toString()));
        job.exitCode().ifPresent(c -> o.put("exitCode", c));
        job.signal().ifPresent(s -> o.put("signal", s));
        ArrayNode nodes = o.putArray("nodes");
        job.nodeNames().forEach(nodes::add);
        ArrayNode attempts = o.putArray("attempts");
        job.attempts().forEach(a -> attempts.add(writeAttempt(a)));
        o.set("spec", writeSpec(job.spec()));
        return o;
    }

    /**
     * {@link #writeJob} as UTF-8 bytes, written straight to a generator: byte for byte what {@code bytes(writeJob(job))}
     * gives (WireJsonTest holds the two together), without building the tree first. A submit answers with the whole
     * job, and the tree and its serialisation were a visible part of the daemon's CPU per submit.
     */
    public static byte[] jobBytes(Job job) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(2048);
        try (JsonGenerator g = MAPPER.getFactory().createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("id", job.id().toString());
            g.writeStringField("owner", job.owner());
            g.writeStringField("ownerName", job.ownerName());
            g.writeStringField("name", job.name());
            g.writeStringField("state", job.state().name());
            g.writeStringField("stateDetails", job.stateDetails());
            if (job.endReason().isPresent()) {
                g.writeStringField("endReason", job.endReason().get().name());
            }
            String submitTime = job.submitTime().toString();
            g.writeStringField("submitTime", submitTime);
            // A new job was last updated when it was submitted: format the instant once.
            g.writeStringField("updateTime", job.updateTime().equals(job.submitTime()) ? submitTime
                    : job.updateTime().toString());
            if (job.startTime().isPresent()) {
                g.writeStringField("startTime", job.startTime().get().toString());
            }
            if (job.endTime().isPresent()) {
                g.writeStringField("endTime", job.endTime().get().toString());
            }
            if (job.exitCode().isPresent()) {
                g.writeNumberField("exitCode", job.exitCode().getAsInt());
            }
            if (job.signal().isPresent()) {
                g.writeNumberField("signal", job.signal().getAsInt());
            }
            writeStrings(g, "nodes", job.nodeNames());
            g.writeArrayFieldStart("attempts");
            for (Attempt a : job.attempts()) {
                writeAttempt(g, a);
            }
            g.writeEndArray();
            g.writeFieldName("spec");
            writeSpec(g, job.spec());
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void writeAttempt(JsonGenerator g, Attempt a) throws IOException {
        g.writeStartObject();
        g.writeNumberField("number", a.number());
        writeStrings(g, "nodes", a.nodes());
        if (a.partition().isPresent()) {
            g.writeStringField("partition", a.partition().get());
        }
        g.writeStringField("startTime", a.startTime().toString());
        if (a.endTime().isPresent()) {
            g.writeStringField("endTime", a.endTime().get().toString());
        }
        if (a.exitCode().isPresent()) {
            g.writeNumberField("exitCode", a.exitCode().getAsInt());
        }
        if (a.signal().isPresent()) {
            g.writeNumberField("signal", a.signal().getAsInt());
        }
        if (a.endReason().isPresent()) {
            g.writeStringField("endReason", a.endReason().get().name());
        }
        if (!a.steps().isEmpty()) {
            g.writeFieldName("steps");
            g.writeTree(WireSteps.writeStepLogs(a.steps()));
        }
        if (!a.outputs().isEmpty()) {
            g.writeFieldName("outputs");
            g.writeTree(WireSteps.writeOutputLogs(a.outputs()));
        }
        g.writeEndObject();
    }

    /** {@link #writeSpec(JobSpec)} to a generator. */
    private static void writeSpec(JsonGenerator g, JobSpec spec) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", spec.name());
        if (spec.script().isPresent()) {
            g.writeStringField("script", spec.script().get());
        }
        if (!spec.command().isEmpty()) {
            writeStrings(g, "command", spec.command());
        }
        if (spec.containerSteps().isPresent()) {
            g.writeFieldName("containerSteps");
            g.writeTree(WireSteps.write(spec.containerSteps().get()));
        }
        optional(g, "containerImage", spec.containerImage());
        optional(g, "cloudImage", spec.cloudImage());
        g.writeNumberField("nodes", spec.nodes());
        g.writeNumberField("cpus", spec.cpus());
        g.writeNumberField("memoryBytes", spec.memoryBytes());
        g.writeNumberField("gpus", spec.gpus());
        optional(g, "flavor", spec.flavor());
        optional(g, "remoteSite", spec.remoteSite());
        g.writeBooleanField("relocatable", spec.relocatable());
        g.writeArrayFieldStart("ports");
        for (PortSpec p : spec.ports()) {
            g.writeStartObject();
            g.writeNumberField("port", p.port());
            g.writeStringField("protocol", p.protocol());
            g.writeStringField("direction", p.direction().name());
            g.writeEndObject();
        }
        g.writeEndArray();
        writeStrings(g, "inputFiles", spec.inputFiles());
        writeStrings(g, "outputFiles", spec.outputFiles());
        optional(g, "workdir", spec.workdir());
        writeStringMap(g, "env", spec.env());
        optional(g, "account", spec.account());
        g.writeNumberField("priority", spec.priority());
        if (spec.timeLimit().isPresent()) {
            g.writeStringField("timeLimit", spec.timeLimit().get().toString());
        }
        RetryPolicy r = spec.retryPolicy();
        g.writeObjectFieldStart("retryPolicy");
        g.writeNumberField("maxAttempts", r.maxAttempts());
        g.writeStringField("initialBackoff", r.initialBackoff().toString());
        g.writeStringField("maxBackoff", r.maxBackoff().toString());
        g.writeStringField("deadline", r.deadline().toString());
        g.writeBooleanField("retryUserFailures", r.retryUserFailures());
        g.writeEndObject();
        writeStringMap(g, "tags", spec.tags());
        g.writeStringField("comment", spec.comment());
        optional(g, "submissionAddress", spec.submissionAddress());
        optional(g, "storage", spec.storage());
        optional(g, "idempotencyKey", spec.idempotencyKey());
        writeStrings(g, "warnings", spec.warnings());
        if (spec.scriptOmitted()) {
            g.writeBooleanField("scriptOmitted", true);
        }
        g.writeEndObject();
    }

    private static void optional(JsonGenerator g, String name, Optional<String> value) throws IOException {
        if (value.isPresent()) {
            g.writeStringField(name, value.get());
        }
    }

    private static void writeStrings(JsonGenerator g, String name, List<String> values) throws IOException {
        g.writeArrayFieldStart(name);
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }

    private static void writeStringMap(JsonGenerator g, String name, Map<String, String> map) throws IOException {
        g.writeObjectFieldStart(name);
        for (Map.Entry<String, String> e : map.entrySet()) {
            g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
    }

    /** Reads a job from a response; the derived conveniences (name, startTime, nodes...) are not read back. */
    public static Job readJob(JsonNode node) {
        Members m = Members.of(node, "job", false);
        return new Job(
                readJobId(m.string("id"), m.path("id")),
                m.string("owner"),
                m.string("ownerName"),
                readSpec(m.optNode("spec").orElseThrow(() ->
                        new WireFormatException(WireFormatException.INVALID_JSON, m.path("spec"), "is missing"))),
                m.enumValue("state", JobState.class),
                m.optString("stateDetails").orElse(""),
                m.optEnum("endReason", EndReason.class),
                m.instant("submitTime"),
                m.instant("updateTime"),
                m.optArray("attempts", WireJson::readAttempt).orElse(List.of()));
    }

    public static ObjectNode writeAttempt(Attempt a) {
        ObjectNode o = NODES.objectNode();
        o.put("number", a.number());
        ArrayNode nodes = o.putArray("nodes");
        a.nodes().forEach(nodes::add);
        a.partition().ifPresent(p -> o.put("partition", p));
        o.put("startTime", a.startTime().toString());
        a.endTime().ifPresent(t -> o.put("endTime", t.toString()));
        a.exitCode().ifPresent(c -> o.put("exitCode", c));
        a.signal().ifPresent(s -> o.put("signal", s));
        a.endReason().ifPresent(r -> o.put("endReason", r.name()));
        if (!a.steps().isEmpty()) {
            o.set("steps", WireSteps.writeStepLogs(a.steps()));
        }
        if (!a.outputs().isEmpty()) {
            o.set("outputs", WireSteps.writeOutputLogs(a.outputs()));
        }
        return o;
    }

    private static Attempt readAttempt(JsonNode node, String where) {
        Members m = Members.of(node, where, false);
        int number = m.integer("number");
        if (number < 1) {
            throw new WireFormatException(WireFormatException.INVALID_JSON, m.path("number"), "must be at least 1");
        }
        return new Attempt(number, m.strings("nodes"), m.optString("partition"), m.instant("startTime"),
                m.optInstant("endTime"), m.optIntAsOptionalInt("exitCode"), m.optIntAsOptionalInt("signal"),
                m.optEnum("endReason", EndReason.class),
                m.optArray("steps", WireSteps::readStepLog).orElse(List.of()),
                m.optArray("outputs", WireSteps::readOutputLog).orElse(List.of()));
    }

    private static JobId readJobId(String text, String where) {
        try {
            return JobId.parse(text);
        } catch (InvalidJobSpecException e) {
            throw new WireFormatException(WireFormatException.INVALID_JSON, where, e.reason());
        }
    }

    // ---- events

    /** {@code {"type":"job",...}} or {@code {"type":"node",...}}; {@link #eventType} gives the SSE event name. */
    public static ObjectNode writeEvent(SkyPortEvent event) {
        ObjectNode o = NODES.objectNode();
        if (event instanceof JobTransitioned e) {
            o.put("type", "job");
            o.put("sequence", e.sequence());
            o.put("time", e.time().toString());
            o.put("jobId", e.jobId().toString());
            e.from().ifPresent(s -> o.put("from", s.name()));
            o.put("to", e.to().name());
            e.endReason().ifPresent(r -> o.put("endReason", r.name()));
            o.put("details", e.details());
        } else if (event instanceof NodeTransitioned e) {
            o.put("type", "node");
            o.put("sequence", e.sequence());
            o.put("time", e.time().toString());
            o.put("node", e.node());
            o.put("partition", e.partition());
            e.from().ifPresent(s -> o.put("from", s.name()));
            o.put("to", e.to().name());
            o.put("details", e.details());
        }
        return o;
    }

    /** {@code job} or {@code node}: the SSE {@code event:} name of {@code event}. */
    public static String eventType(SkyPortEvent event) {
        return event instanceof JobTransitioned ? "job" : "node";
    }

    public static SkyPortEvent readEvent(JsonNode node) {
        Members m = Members.of(node, "event", false);
        String type = m.string("type");
        return switch (type) {
            case "job" -> new JobTransitioned(m.longValue("sequence"), m.instant("time"),
                    readJobId(m.string("jobId"), m.path("jobId")), m.optEnum("from", JobState.class),
                    m.enumValue("to", JobState.class), m.optEnum("endReason", EndReason.class),
                    m.optString("details").orElse(""));
            case "node" -> new NodeTransitioned(m.longValue("sequence"), m.instant("time"), m.string("node"),
                    m.string("partition"), m.optEnum("from", NodeState.class), m.enumValue("to", NodeState.class),
                    m.optString("details").orElse(""));
            default -> throw new WireFormatException(WireFormatException.INVALID_JSON, m.path("type"),
                    "must be job or node");
        };
    }

    // ---- catalogue

    public static ObjectNode writeNode(Node n) {
        ObjectNode o = NODES.objectNode();
        o.put("name", n.name());
        o.put("partition", n.partition());
        o.put("cpus", n.cpus());
        o.put("memoryBytes", n.memoryBytes());
        o.put("gpus", n.gpus());
        o.put("state", n.state().name());
        o.set("labels", stringMap(new TreeMap<>(n.labels())));
        return o;
    }

    public static Node readNode(JsonNode node) {
        Members m = Members.of(node, "node", false);
        return new Node(m.string("name"), m.string("partition"), m.integer("cpus"), m.longValue("memoryBytes"),
                m.integer("gpus"), m.enumValue("state", NodeState.class), m.stringMap("labels"));
    }

    public static ObjectNode writeFlavor(Flavor f) {
        ObjectNode o = NODES.objectNode();
        o.put("name", f.name());
        o.put("remoteSite", f.remoteSite());
        o.put("cpus", f.cpus());
        o.put("memoryBytes", f.memoryBytes());
        o.put("storageBytes", f.storageBytes());
        o.put("gpus", f.gpus());
        o.put("pricePerHour", f.pricePerHour());
        o.put("currency", f.currency());
        return o;
    }

    public static Flavor readFlavor(JsonNode node) {
        Members m = Members.of(node, "flavor", false);
        return new Flavor(m.string("name"), m.string("remoteSite"), m.integer("cpus"), m.longValue("memoryBytes"),
                m.longValue("storageBytes"), m.integer("gpus"), m.number("pricePerHour"), m.string("currency"));
    }

    public static ObjectNode writeImage(Image i) {
        ObjectNode o = NODES.objectNode();
        o.put("name", i.name());
        o.put("remoteSite", i.remoteSite());
        o.put("kind", i.kind());
        return o;
    }

    public static Image readImage(JsonNode node) {
        Members m = Members.of(node, "image", false);
        return new Image(m.string("name"), m.string("remoteSite"), m.string("kind"));
    }

    public static ObjectNode writeRemoteSite(RemoteSite r) {
        ObjectNode o = NODES.objectNode();
        o.put("name", r.name());
        o.put("gate", r.gate());
        o.put("location", r.location());
        return o;
    }

    public static RemoteSite readRemoteSite(JsonNode node) {
        Members m = Members.of(node, "remoteSite", false);
        return new RemoteSite(m.string("name"), m.string("gate"), m.string("location"));
    }

    public static ObjectNode writePartition(Partition p) {
        ObjectNode o = NODES.objectNode();
        o.put("name", p.name());
        o.put("gate", p.gate());
        o.put("state", p.state());
        ArrayNode nodes = o.putArray("nodes");
        p.nodes().forEach(nodes::add);
        o.set("tags", stringMap(new TreeMap<>(p.tags())));
        return o;
    }

    public static Partition readPartition(JsonNode node) {
        Members m = Members.of(node, "partition", false);
        return new Partition(m.string("name"), m.string("gate"), m.string("state"), m.strings("nodes"),
                m.stringMap("tags"));
    }

    // ---- health

    public static ObjectNode writeHealth(Health h) {
        ObjectNode o = NODES.objectNode();
        o.put("status", h.status().name());
        ArrayNode problems = o.putArray("problems");
        for (Health.Problem p : h.problems()) {
            ObjectNode po = problems.addObject();
            po.put("component", p.component());
            po.put("message", p.message());
            po.put("since", p.since().toString());
            po.put("failures", p.failures());
            po.put("stops", p.stops());
            p.retryAt().ifPresent(t -> po.put("retryAt", t.toString()));
        }
        return o;
    }

    public static Health readHealth(JsonNode node) {
        Members m = Members.of(node, "health", false);
        Health.Status status = m.enumValue("status", Health.Status.class);
        List<Health.Problem> problems = m.optArray("problems", (n, w) -> {
            Members p = Members.of(n, w, false);
            return new Health.Problem(p.string("component"), p.string("message"), p.instant("since"),
                    p.integer("failures"), p.bool("stops"), p.optInstant("retryAt"));
        }).orElse(List.of());
        try {
            return new Health(status, problems);
        } catch (IllegalArgumentException e) {
            throw new WireFormatException(WireFormatException.INVALID_JSON, m.path("status"), e.getMessage());
        }
    }

    // ---- pages and lists

    /** {@code {"items":[...],"nextCursor"?:"..."}}. */
    public static <T> ObjectNode writePage(Page<T> page, Function<? super T, ? extends JsonNode> item) {
        ObjectNode o = writeItems(page.items(), item);
        page.nextPageToken().ifPresent(t -> o.put("nextCursor", t));
        return o;
    }

    public static <T> Page<T> readPage(JsonNode node, Function<JsonNode, T> item) {
        Members m = Members.of(node, "", false);
        return new Page<>(m.array("items", (n, w) -> item.apply(n)), m.optString("nextCursor"));
    }

    /** {@code {"items":[...]}}. */
    public static <T> ObjectNode writeItems(List<T> items, Function<? super T, ? extends JsonNode> item) {
        ObjectNode o = NODES.objectNode();
        ArrayNode a = o.putArray("items");
        items.forEach(i -> a.add(item.apply(i)));
        return o;
    }

    public static <T> List<T> readItems(JsonNode node, Function<JsonNode, T> item) {
        return readPage(node, item).items();
    }

    // ---- who am I

    public static ObjectNode writeWhoAmI(WireUser user) {
        ObjectNode o = NODES.objectNode();
        o.put("apiVersion", "v1");
        o.putObject("user").put("id", user.id()).put("name", user.name()).put("admin", user.admin());
        return o;
    }

    public static WireUser readWhoAmI(JsonNode node) {
        Members m = Members.of(node, "", false);
        Members u = Members.of(m.optNode("user").orElse(null), "user", false);
        return new WireUser(u.string("id"), u.string("name"), u.bool("admin"));
    }

    // ---- errors

    public static ObjectNode writeError(WireError e) {
        ObjectNode o = NODES.objectNode();
        o.put("error", e.error());
        o.put("message", e.message());
        e.field().ifPresent(f -> o.put("field", f));
        e.reason().ifPresent(r -> o.put("reason", r));
        e.line().ifPresent(l -> o.put("line", l));
        e.jobId().ifPresent(id -> o.put("jobId", id));
        e.state().ifPresent(s -> o.put("state", s));
        e.limit().ifPresent(l -> o.put("limit", l));
        e.health().ifPresent(h -> o.set("health", writeHealth(h)));
        return o;
    }

    public static WireError readError(JsonNode node) {
        Members m = Members.of(node, "", false);
        return new WireError(m.string("error"), m.optString("message").orElse(""), m.optString("field"),
                m.optString("reason"), m.optIntAsOptionalInt("line"), m.optString("jobId"), m.optString("state"),
                m.optString("limit"), m.optNode("health").map(WireJson::readHealth));
    }

    private static ObjectNode stringMap(Map<String, String> map) {
        ObjectNode o = NODES.objectNode();
        map.forEach(o::put);
        return o;
    }
}
