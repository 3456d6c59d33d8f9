package dev.skyport.core.internal.store;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.StorageException;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The store's own document of a job (the {@code job_json} column), written and read field by field so that the
 * public records can change without changing what is stored: renaming a record component is a compile error here,
 * never a silently dropped value. The format is described in {@code docs/design-notes.md} ("Store").
 *
 * <p>Rules of format version {@value #VERSION}: names are snake_case and chosen for storage; {@code "v"} comes first;
 * an absent optional value or an empty list or map is left out and read back as absent or empty; everything else is
 * always written and its absence is an error; nothing is ever {@code null}; instants and durations are ISO-8601 text
 * (lossless to the nanosecond); the script's text is never in the document (it lives in the {@code scripts} table,
 * written once), only {@code "kind": "script"}. A field this version does not know is refused, naming it, rather than
 * dropped: a document from a newer version would otherwise lose it on the next rewrite.
 */
final class JobDocument {
    /** The format version this code writes and the newest it reads. */
    static final int VERSION = 1;

    private static final JsonFactory JSON = new JsonFactory();

    private JobDocument() {
    }

    // ------------------------------------------------------------------ writing

    /** The document of {@code job}, without its script's text. */
    static String write(Job job) {
        StringWriter out = new StringWriter(768);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberField("v", VERSION);
            g.writeStringField("id", job.id().toString());
            g.writeStringField("owner", job.owner());
            g.writeStringField("owner_name", job.ownerName());
            g.writeStringField("state", StoredNames.of(job.state()));
            g.writeStringField("state_details", job.stateDetails());
            if (job.endReason().isPresent()) {
                g.writeStringField("end_reason", StoredNames.of(job.endReason().get()));
            }
            g.writeStringField("submit_time", job.submitTime().toString());
            g.writeStringField("update_time", job.updateTime().toString());
            g.writeFieldName("spec");
            writeSpec(g, job.spec());
            if (!job.attempts().isEmpty()) {
                g.writeArrayFieldStart("attempts");
                for (Attempt a : job.attempts()) {
                    writeAttempt(g, a);
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private static void writeSpec(JsonGenerator g, JobSpec s) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", s.name());
        if (s.command().isEmpty()) {
            // A script job, or one given to the store with its script already omitted: either way its text, if any,
            // is in the scripts table.
            g.writeStringField("kind", "script");
        } else {
            g.writeStringField("kind", "command");
            writeStrings(g, "command", s.command());
        }
        optional(g, "container_image", s.containerImage());
        optional(g, "cloud_image", s.cloudImage());
        g.writeNumberField("nodes", s.nodes());
        g.writeNumberField("cpus", s.cpus());
        g.writeNumberField("memory_bytes", s.memoryBytes());
        g.writeNumberField("gpus", s.gpus());
        optional(g, "flavor", s.flavor());
        optional(g, "remote_site", s.remoteSite());
        g.writeBooleanField("relocatable", s.relocatable());
        if (!s.ports().isEmpty()) {
            g.writeArrayFieldStart("ports");
            for (PortSpec p : s.ports()) {
                g.writeStartObject();
                g.writeNumberField("port", p.port());
                g.writeStringField("protocol", p.protocol());
                g.writeStringField("direction", StoredNames.of(p.direction()));
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        writeStrings(g, "input_files", s.inputFiles());
        writeStrings(g, "output_files", s.outputFiles());
        optional(g, "workdir", s.workdir());
        writeMap(g, "env", s.env());
        optional(g, "account", s.account());
        g.writeNumberField("priority", s.priority());
        if (s.timeLimit().isPresent()) {
            g.writeStringField("time_limit", s.timeLimit().get().toString());
        }
        RetryPolicy r = s.retryPolicy();
        g.writeObjectFieldStart("retry");
        g.writeNumberField("max_attempts", r.maxAttempts());
        g.writeStringField("initial_backoff", r.initialBackoff().toString());
        g.writeStringField("max_backoff", r.maxBackoff().toString());
        g.writeStringField("deadline", r.deadline().toString());
        g.writeBooleanField("retry_user_failures", r.retryUserFailures());
        g.writeEndObject();
        writeMap(g, "tags", s.tags());
        g.writeStringField("comment", s.comment());
        optional(g, "submission_address", s.submissionAddress());
        optional(g, "storage", s.storage());
        writeStrings(g, "warnings", s.warnings());
        g.writeEndObject();
    }

    private static void writeAttempt(JsonGenerator g, Attempt a) throws IOException {
        g.writeStartObject();
        g.writeNumberField("number", a.number());
        writeStrings(g, "nodes", a.nodes());
        optional(g, "partition", a.partition());
        g.writeStringField("start_time", a.startTime().toString());
        if (a.endTime().isPresent()) {
            g.writeStringField("end_time", a.endTime().get().toString());
        }
        if (a.exitCode().isPresent()) {
            g.writeNumberField("exit_code", a.exitCode().getAsInt());
        }
        if (a.signal().isPresent()) {
            g.writeNumberField("signal", a.signal().getAsInt());
        }
        if (a.endReason().isPresent()) {
            g.writeStringField("end_reason", StoredNames.of(a.endReason().get()));
        }
        g.writeEndObject();
    }

    private static void optional(JsonGenerator g, String field, Optional<String> value) throws IOException {
        if (value.isPresent()) {
            g.writeStringField(field, value.get());
        }
    }

    private static void writeStrings(JsonGenerator g, String field, List<String> values) throws IOException {
        if (values.isEmpty()) {
            return;
        }
        g.writeArrayFieldStart(field);
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }

    private static void writeMap(JsonGenerator g, String field, Map<String, String> map) throws IOException {
        if (map.isEmpty()) {
            return;
        }
        g.writeObjectFieldStart(field);
        for (Map.Entry<String, String> e : map.entrySet()) {
            g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
    }

    // ------------------------------------------------------------------ reading

    /**
     * The job a document describes; {@code script} is the text from the scripts table, or {@code null} when it was
     * not read (a listing without scripts), which gives a script job's spec with {@link JobSpec#scriptOmitted()}.
     *
     * @throws StorageException naming the field when the document is not one this version reads
     */
    static Job read(String document, String script) {
        try (JsonParser p = JSON.createParser(document)) {
            return new Reader(p).job(script);
        } catch (JsonProcessingException e) {
            throw new StorageException("a stored job document is not JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new StorageException("a stored job document cannot be read: " + e.getMessage(), e);
        }
    }

    /** Reads one document, keeping the job's id (once read) to name it in errors. */
    private static final class Reader {
        private final JsonParser p;
        private String id = "?";

        Reader(JsonParser p) {
            this.p = p;
        }

        Job job(String script) throws IOException {
            startObject("");
            int version = 0;
            JobId jobId = null;
            String owner = null;
            String ownerName = null;
            JobState state = null;
            String stateDetails = null;
            Optional<EndReason> endReason = Optional.empty();
            Instant submitTime = null;
            Instant updateTime = null;
            JobSpec spec = null;
            List<Attempt> attempts = List.of();
            String field;
            while ((field = nextField()) != null) {
                if (version == 0 && !field.equals("v")) {
                    throw invalid("", "does not start with its format version \"v\"");
                }
                switch (field) {
                    case "v" -> {
                        version = integer("v");
                        if (version < 1 || version > VERSION) {
                            throw invalid("v", "is format version " + version + "; this Sky Port reads up to "
                                    + VERSION + ". Use a newer Sky Port.");
                        }
                    }
                    case "id" -> {
                        id = text("id");
                        jobId = convert("id", () -> JobId.parse(id));
                    }
                    case "owner" -> owner = text(field);
                    case "owner_name" -> ownerName = text(field);
                    case "state" -> state = convert(field, () -> StoredNames.state(p.getText()), JsonToken.VALUE_STRING);
                    case "state_details" -> stateDetails = text(field);
                    case "end_reason" -> endReason = Optional.of(endReason(field));
                    case "submit_time" -> submitTime = instant(field);
                    case "update_time" -> updateTime = instant(field);
                    case "spec" -> spec = spec(script);
                    case "attempts" -> attempts = attempts();
                    default -> throw unknown(field);
                }
            }
            if (version == 0) {
                throw invalid("v", "is missing: this is not a job document of this store's format");
            }
            Job job = new Job(required("id", jobId), required("owner", owner), required("owner_name", ownerName),
                    required("spec", spec), required("state", state), required("state_details", stateDetails),
                    endReason, required("submit_time", submitTime), required("update_time", updateTime), attempts);
            end();
            return job;
        }

        private JobSpec spec(String script) throws IOException {
            startObject("spec");
            String name = null;
            String kind = null;
            List<String> command = List.of();
            Optional<String> containerImage = Optional.empty();
            Optional<String> cloudImage = Optional.empty();
            Integer nodes = null;
            Integer cpus = null;
            Long memoryBytes = null;
            Integer gpus = null;
            Optional<String> flavor = Optional.empty();
            Optional<String> remoteSite = Optional.empty();
            Boolean relocatable = null;
            List<PortSpec> ports = List.of();
            List<String> inputFiles = List.of();
            List<String> outputFiles = List.of();
            Optional<String> workdir = Optional.empty();
            Map<String, String> env = Map.of();
            Optional<String> account = Optional.empty();
            Integer priority = null;
            Optional<Duration> timeLimit = Optional.empty();
            RetryPolicy retry = null;
            Map<String, String> tags = Map.of();
            String comment = null;
            Optional<String> submissionAddress = Optional.empty();
            Optional<String> storage = Optional.empty();
            List<String> warnings = List.of();
            String field;
            while ((field = nextField()) != null) {
                String path = "spec." + field;
                switch (field) {
                    case "name" -> name = text(path);
                    case "kind" -> kind = text(path);
                    case "command" -> command = strings(path);
                    case "container_image" -> containerImage = Optional.of(text(path));
                    case "cloud_image" -> cloudImage = Optional.of(text(path));
                    case "nodes" -> nodes = integer(path);
                    case "cpus" -> cpus = integer(path);
                    case "memory_bytes" -> memoryBytes = longInteger(path);
                    case "gpus" -> gpus = integer(path);
                    case "flavor" -> flavor = Optional.of(text(path));
                    case "remote_site" -> remoteSite = Optional.of(text(path));
                    case "relocatable" -> relocatable = bool(path);
                    case "ports" -> ports = ports();
                    case "input_files" -> inputFiles = strings(path);
                    case "output_files" -> outputFiles = strings(path);
                    case "workdir" -> workdir = Optional.of(text(path));
                    case "env" -> env = map(path);
                    case "account" -> account = Optional.of(text(path));
                    case "priority" -> priority = integer(path);
                    case "time_limit" -> timeLimit = Optional.of(duration(path));
                    case "retry" -> retry = retry();
                    case "tags" -> tags = map(path);
                    case "comment" -> comment = text(path);
                    case "submission_address" -> submissionAddress = Optional.of(text(path));
                    case "storage" -> storage = Optional.of(text(path));
                    case "warnings" -> warnings = strings(path);
                    default -> throw unknown(path);
                }
            }
            boolean isScript = switch (required("spec.kind", kind)) {
                case "script" -> true;
                case "command" -> false;
                default -> throw invalid("spec.kind", "is '" + kind + "'; expected script or command");
            };
            if (!isScript && command.isEmpty()) {
                throw invalid("spec.command", "is missing for a command job");
            }
            if (isScript && !command.isEmpty()) {
                throw invalid("spec.command", "is given for a script job");
            }
            Optional<String> text = isScript ? Optional.ofNullable(script) : Optional.empty();
            boolean omitted = isScript && script == null;
            JobSpec spec;
            try {
                spec = new JobSpec(required("spec.name", name), text, command, containerImage, cloudImage,
                        required("spec.nodes", nodes), required("spec.cpus", cpus),
                        required("spec.memory_bytes", memoryBytes), required("spec.gpus", gpus), flavor, remoteSite,
                        required("spec.relocatable", relocatable), ports, inputFiles, outputFiles, workdir, env,
                        account, required("spec.priority", priority), timeLimit, required("spec.retry", retry), tags,
                        required("spec.comment", comment), submissionAddress, storage, warnings, omitted);
            } catch (SkyPortException e) {
                throw invalid("spec", "is not a valid job spec: " + e.getMessage());
            }
            return spec;
        }

        private RetryPolicy retry() throws IOException {
            startObject("spec.retry");
            Integer maxAttempts = null;
            Duration initialBackoff = null;
            Duration maxBackoff = null;
            Duration deadline = null;
            Boolean retryUserFailures = null;
            String field;
            while ((field = nextField()) != null) {
                String path = "spec.retry." + field;
                switch (field) {
                    case "max_attempts" -> maxAttempts = integer(path);
                    case "initial_backoff" -> initialBackoff = duration(path);
                    case "max_backoff" -> maxBackoff = duration(path);
                    case "deadline" -> deadline = duration(path);
                    case "retry_user_failures" -> retryUserFailures = bool(path);
                    default -> throw unknown(path);
                }
            }
            try {
                return new RetryPolicy(required("spec.retry.max_attempts", maxAttempts),
                        required("spec.retry.initial_backoff", initialBackoff),
                        required("spec.retry.max_backoff", maxBackoff), required("spec.retry.deadline", deadline),
                        required("spec.retry.retry_user_failures", retryUserFailures));
            } catch (SkyPortException e) {
                throw invalid("spec.retry", "is not a valid retry policy: " + e.getMessage());
            }
        }

        private List<PortSpec> ports() throws IOException {
            startArray("spec.ports");
            List<PortSpec> ports = new ArrayList<>();
            while (p.nextToken() != JsonToken.END_ARRAY) {
                String at = "spec.ports[" + ports.size() + "]";
                expect(at, JsonToken.START_OBJECT);
                Integer port = null;
                String protocol = null;
                PortSpec.Direction direction = null;
                String field;
                while ((field = nextField()) != null) {
                    String path = at + "." + field;
                    switch (field) {
                        case "port" -> port = integer(path);
                        case "protocol" -> protocol = text(path);
                        case "direction" -> direction = convert(path, () -> StoredNames.direction(p.getText()),
                                JsonToken.VALUE_STRING);
                        default -> throw unknown(path);
                    }
                }
                try {
                    ports.add(new PortSpec(required(at + ".port", port), required(at + ".protocol", protocol),
                            required(at + ".direction", direction)));
                } catch (SkyPortException e) {
                    throw invalid(at, "is not a valid port: " + e.getMessage());
                }
            }
            return ports;
        }

        private List<Attempt> attempts() throws IOException {
            startArray("attempts");
            List<Attempt> attempts = new ArrayList<>();
            while (p.nextToken() != JsonToken.END_ARRAY) {
                String at = "attempts[" + attempts.size() + "]";
                expect(at, JsonToken.START_OBJECT);
                Integer number = null;
                List<String> nodes = List.of();
                Optional<String> partition = Optional.empty();
                Instant start = null;
                Optional<Instant> end = Optional.empty();
                OptionalInt exitCode = OptionalInt.empty();
                OptionalInt signal = OptionalInt.empty();
                Optional<EndReason> reason = Optional.empty();
                String field;
                while ((field = nextField()) != null) {
                    String path = at + "." + field;
                    switch (field) {
                        case "number" -> number = integer(path);
                        case "nodes" -> nodes = strings(path);
                        case "partition" -> partition = Optional.of(text(path));
                        case "start_time" -> start = instant(path);
                        case "end_time" -> end = Optional.of(instant(path));
                        case "exit_code" -> exitCode = OptionalInt.of(integer(path));
                        case "signal" -> signal = OptionalInt.of(integer(path));
                        case "end_reason" -> reason = Optional.of(endReason(path));
                        default -> throw unknown(path);
                    }
                }
                try {
                    attempts.add(new Attempt(required(at + ".number", number), nodes, partition,
                            required(at + ".start_time", start), end, exitCode, signal, reason));
                } catch (IllegalArgumentException e) {
                    throw invalid(at, "is not a valid attempt: " + e.getMessage());
                }
            }
            return attempts;
        }

        // ---- values

        /** The next field's name, the parser on its value; null at the end of the object. */
        private String nextField() throws IOException {
            JsonToken t = p.nextToken();
            if (t == JsonToken.END_OBJECT) {
                return null;
            }
            if (t != JsonToken.FIELD_NAME) {
                throw invalid("", "is cut short or malformed");
            }
            String name = p.currentName();
            p.nextToken();
            return name;
        }

        private void startObject(String path) throws IOException {
            if (path.isEmpty()) {
                p.nextToken();
            }
            expect(path, JsonToken.START_OBJECT);
        }

        private void startArray(String path) throws IOException {
            expect(path, JsonToken.START_ARRAY);
        }

        private void end() throws IOException {
            if (p.nextToken() != null) {
                throw invalid("", "has more after the job");
            }
        }

        private void expect(String path, JsonToken token) {
            if (p.currentToken() != token) {
                throw invalid(path, "is " + describe(p.currentToken()) + "; expected " + describe(token));
            }
        }

        private String text(String path) throws IOException {
            expect(path, JsonToken.VALUE_STRING);
            return p.getText();
        }

        private int integer(String path) throws IOException {
            expect(path, JsonToken.VALUE_NUMBER_INT);
            if (p.getNumberType() != JsonParser.NumberType.INT) {
                throw invalid(path, "is " + p.getText() + ", out of range");
            }
            return p.getIntValue();
        }

        private long longInteger(String path) throws IOException {
            expect(path, JsonToken.VALUE_NUMBER_INT);
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                throw invalid(path, "is " + p.getText() + ", out of range");
            }
            return p.getLongValue();
        }

        private boolean bool(String path) {
            JsonToken t = p.currentToken();
            if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
                throw invalid(path, "is " + describe(t) + "; expected true or false");
            }
            return t == JsonToken.VALUE_TRUE;
        }

        private Instant instant(String path) throws IOException {
            return convert(path, () -> Instant.parse(p.getText()), JsonToken.VALUE_STRING);
        }

        private Duration duration(String path) throws IOException {
            return convert(path, () -> Duration.parse(p.getText()), JsonToken.VALUE_STRING);
        }

        private EndReason endReason(String path) throws IOException {
            return convert(path, () -> StoredNames.endReason(p.getText()), JsonToken.VALUE_STRING);
        }

        private List<String> strings(String path) throws IOException {
            startArray(path);
            List<String> out = new ArrayList<>();
            while (p.nextToken() != JsonToken.END_ARRAY) {
                out.add(text(path + "[" + out.size() + "]"));
            }
            return out;
        }

        private Map<String, String> map(String path) throws IOException {
            startObject(path);
            Map<String, String> out = new LinkedHashMap<>();
            String key;
            while ((key = nextField()) != null) {
                out.put(key, text(path + "." + key));
            }
            return out;
        }

        @FunctionalInterface
        private interface Conversion<T> {
            T convert() throws IOException;
        }

        private <T> T convert(String path, Conversion<T> conversion, JsonToken token) throws IOException {
            expect(path, token);
            return convert(path, conversion);
        }

        private <T> T convert(String path, Conversion<T> conversion) throws IOException {
            try {
                return conversion.convert();
            } catch (DateTimeException | SkyPortException e) {
                throw invalid(path, "cannot be read: " + e.getMessage());
            }
        }

        private <T> T required(String path, T value) {
            if (value == null) {
                throw invalid(path, "is missing");
            }
            return value;
        }

        private StorageException unknown(String path) {
            return new StorageException("stored job " + id + ": field '" + path + "' is not part of format version "
                    + VERSION + "; it may have been written by a newer Sky Port, and is refused rather than dropped",
                    null);
        }

        private StorageException invalid(String path, String problem) {
            return new StorageException("stored job " + id + ": " + (path.isEmpty() ? "the document" : "field '"
                    + path + "'") + " " + problem, null);
        }

        private static String describe(JsonToken t) {
            if (t == null) {
                return "the end";
            }
            return switch (t) {
                case START_OBJECT -> "an object";
                case START_ARRAY -> "a list";
                case VALUE_STRING -> "text";
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
                case VALUE_TRUE, VALUE_FALSE -> "a boolean";
                case VALUE_NULL -> "null";
                default -> t.toString();
            };
        }
    }
}
