package dev.skyport.core.internal.store;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.skyport.api.Attempt;
import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.OutputLog;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;
import dev.skyport.api.StorageException;

import java.io.IOException;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;

/**
 * Reads one job document of {@link JobDocument}'s format; one reader per document. Error messages name the job
 * (once its id is read) and the field's path; the path is built only for a message, so reading a good document
 * concatenates no strings.
 */
final class JobDocumentReader {
    private final JsonParser p;
    private String id = "?";
    /** The path of the object being read: "" at the top, then "spec", "spec.retry", "attempts[0]"... */
    private String where = "";

    JobDocumentReader(JsonParser p) {
        this.p = p;
    }

    Job job(String script) throws IOException {
        p.nextToken();
        expect(null, JsonToken.START_OBJECT);
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
        String f;
        while ((f = nextField()) != null) {
            if (version == 0 && !f.equals("v")) {
                throw invalid(null, "does not start with its format version \"v\"");
            }
            switch (f) {
                case "v" -> {
                    version = integer(f);
                    if (version < 1 || version > JobDocument.VERSION) {
                        throw invalid(f, "is format version " + version + "; this Sky Port reads up to "
                                + JobDocument.VERSION + ". Use a newer Sky Port.");
                    }
                }
                case "id" -> {
                    id = text(f);
                    jobId = convert(f, id, JobId::parse);
                }
                case "owner" -> owner = text(f);
                case "owner_name" -> ownerName = text(f);
                case "state" -> state = convert(f, text(f), StoredNames::state);
                case "state_details" -> stateDetails = text(f);
                case "end_reason" -> endReason = Optional.of(endReason(f));
                case "submit_time" -> submitTime = instant(f);
                case "update_time" -> updateTime = instant(f);
                case "spec" -> spec = spec(script);
                case "attempts" -> attempts = attempts();
                default -> throw unknown(f);
            }
        }
        if (version == 0) {
            throw invalid("v", "is missing: this is not a job document of this store's format");
        }
        Job job = new Job(required("id", jobId), required("owner", owner), required("owner_name", ownerName),
                required("spec", spec), required("state", state), required("state_details", stateDetails),
                endReason, required("submit_time", submitTime), required("update_time", updateTime), attempts);
        if (p.nextToken() != null) {
            throw invalid(null, "has more after the job");
        }
        return job;
    }

    private JobSpec spec(String script) throws IOException {
        expect("spec", JsonToken.START_OBJECT);
        where = "spec";
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
        Optional<String> idempotencyKey = Optional.empty();
        List<String> warnings = List.of();
        Optional<ContainerSteps> containerSteps = Optional.empty();
        String f;
        while ((f = nextField()) != null) {
            switch (f) {
                case "name" -> name = text(f);
                case "kind" -> kind = text(f);
                case "command" -> command = strings(f);
                case "container_image" -> containerImage = Optional.of(text(f));
                case "cloud_image" -> cloudImage = Optional.of(text(f));
                case "nodes" -> nodes = integer(f);
                case "cpus" -> cpus = integer(f);
                case "memory_bytes" -> memoryBytes = longInteger(f);
                case "gpus" -> gpus = integer(f);
                case "flavor" -> flavor = Optional.of(text(f));
                case "remote_site" -> remoteSite = Optional.of(text(f));
                case "relocatable" -> relocatable = bool(f);
                case "ports" -> ports = ports();
                case "input_files" -> inputFiles = strings(f);
                case "output_files" -> outputFiles = strings(f);
                case "workdir" -> workdir = Optional.of(text(f));
                case "env" -> env = map(f);
                case "account" -> account = Optional.of(text(f));
                case "priority" -> priority = integer(f);
                case "time_limit" -> timeLimit = Optional.of(duration(f));
                case "retry" -> retry = retry();
                case "tags" -> tags = map(f);
                case "comment" -> comment = text(f);
                case "submission_address" -> submissionAddress = Optional.of(text(f));
                case "storage" -> storage = Optional.of(text(f));
                case "idempotency_key" -> idempotencyKey = Optional.of(text(f));
                case "warnings" -> warnings = strings(f);
                case "container_steps" -> containerSteps = Optional.of(containerSteps());
                default -> throw unknown(f);
            }
        }
        boolean isSteps = required("kind", kind).equals("steps");
        boolean isScript = switch (kind) {
            case "script" -> true;
            case "command", "steps" -> false;
            default -> throw invalid("kind", "is '" + kind + "'; expected script, command or steps");
        };
        if (!isScript && !isSteps && command.isEmpty()) {
            throw invalid("command", "is missing for a command job");
        }
        if ((isScript || isSteps) && !command.isEmpty()) {
            throw invalid("command", "is given for a " + kind + " job");
        }
        if (isSteps != containerSteps.isPresent()) {
            throw invalid("container_steps", isSteps ? "is missing for a steps job" : "is given for a " + kind
                    + " job");
        }
        Optional<String> text = isScript ? Optional.ofNullable(script) : Optional.empty();
        boolean omitted = isScript && script == null;
        JobSpec spec;
        try {
            spec = new JobSpec(required("name", name), text, command, containerImage, cloudImage,
                    required("nodes", nodes), required("cpus", cpus), required("memory_bytes", memoryBytes),
                    required("gpus", gpus), flavor, remoteSite, required("relocatable", relocatable), ports,
                    inputFiles, outputFiles, workdir, env, account, required("priority", priority), timeLimit,
                    required("retry", retry), tags, required("comment", comment), submissionAddress, storage,
                    idempotencyKey, warnings, omitted, containerSteps);
        } catch (SkyPortException e) {
            where = "";
            throw invalid("spec", "is not a valid job spec: " + e.getMessage());
        }
        where = "";
        return spec;
    }

    private ContainerSteps containerSteps() throws IOException {
        expect("container_steps", JsonToken.START_OBJECT);
        where = "spec.container_steps";
        List<ContainerStep> steps = List.of();
        List<StepInput> inputs = List.of();
        List<StepOutput> outputs = List.of();
        List<String> volumes = List.of();
        String f;
        while ((f = nextField()) != null) {
            switch (f) {
                case "steps" -> steps = objects(f, this::step);
                case "inputs" -> inputs = objects(f, this::stepInput);
                case "outputs" -> outputs = objects(f, this::stepOutput);
                case "volumes" -> volumes = strings(f);
                default -> throw unknown(f);
            }
        }
        ContainerSteps read;
        try {
            read = new ContainerSteps(steps, inputs, outputs, volumes);
        } catch (SkyPortException e) {
            throw invalid(null, "are not valid container steps: " + e.getMessage());
        }
        where = "spec";
        return read;
    }

    /** Reads the objects of the list {@code field} of the object at {@code where} with {@code one}. */
    private <T> List<T> objects(String field, ObjectReader<T> one) throws IOException {
        expect(field, JsonToken.START_ARRAY);
        String parent = where;
        List<T> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            where = parent + "." + field + "[" + out.size() + "]";
            expect(null, JsonToken.START_OBJECT);
            out.add(one.read());
        }
        where = parent;
        return out;
    }

    @FunctionalInterface
    private interface ObjectReader<T> {
        /** Reads the fields of the object the parser is on, up to its end. */
        T read() throws IOException;
    }

    private ContainerStep step() throws IOException {
        String image = null;
        List<String> command = List.of();
        Optional<String> workdir = Optional.empty();
        Optional<String> stdin = Optional.empty();
        Optional<String> stdout = Optional.empty();
        Optional<String> stderr = Optional.empty();
        Map<String, String> env = Map.of();
        Boolean ignoreError = null;
        String f;
        while ((f = nextField()) != null) {
            switch (f) {
                case "image" -> image = text(f);
                case "command" -> command = strings(f);
                case "workdir" -> workdir = Optional.of(text(f));
                case "stdin" -> stdin = Optional.of(text(f));
                case "stdout" -> stdout = Optional.of(text(f));
                case "stderr" -> stderr = Optional.of(text(f));
                case "env" -> env = map(f);
                case "ignore_error" -> ignoreError = bool(f);
                default -> throw unknown(f);
            }
        }
        try {
            return new ContainerStep(required("image", image), command, workdir, stdin, stdout, stderr, env,
                    required("ignore_error", ignoreError));
        } catch (SkyPortException e) {
            throw invalid(null, "is not a valid step: " + e.getMessage());
        }
    }

    private StepInput stepInput() throws IOException {
        String path = null;
        Optional<String> content = Optional.empty();
        Optional<String> source = Optional.empty();
        Boolean directory = null;
        String f;
        while ((f = nextField()) != null) {
            switch (f) {
                case "path" -> path = text(f);
                case "content" -> content = Optional.of(text(f));
                case "source" -> source = Optional.of(text(f));
                case "directory" -> directory = bool(f);
                default -> throw unknown(f);
            }
        }
        try {
            return new StepInput(required("path", path), content, source, required("directory", directory));
        } catch (SkyPortException e) {
            throw invalid(null, "is not a valid input: " + e.getMessage());
        }
    }

    private StepOutput stepOutput() throws IOException {
        String path = null;
        Optional<String> pathPrefix = Optional.empty();
        String destination = null;
        Boolean directory = null;
        String f;
        while ((f = nextField()) != null) {
            switch (f) {
                case "path" -> path = text(f);
                case "path_prefix" -> pathPrefix = Optional.of(text(f));
                case "destination" -> destination = text(f);
                case "directory" -> directory = bool(f);
                default -> throw unknown(f);
            }
        }
        try {
            return new StepOutput(required("path", path), pathPrefix, required("destination", destination),
                    required("directory", directory));
        } catch (SkyPortException e) {
            throw invalid(null, "is not a valid output: " + e.getMessage());
        }
    }

    private StepLog stepLog() throws IOException {
        Instant start = null;
        Optional<Instant> end = Optional.empty();
        OptionalInt exitCode = OptionalInt.empty();
        String stdoutTail = null;
        String stderrTail = null;
        String f;
        while ((f = nextField()) != null) {
            switch (f) {
                case "start_time" -> start = instant(f);
                case "end_time" -> end = Optional.of(instant(f));
                case "exit_code" -> exitCode = OptionalInt.of(integer(f));
                case "stdout_tail" -> stdoutTail = text(f);
                case "stderr_tail" -> stderrTail = text(f);
                default -> throw unknown(f);
            }
        }
        return new StepLog(required("start_time", start), end, exitCode, required("stdout_tail", stdoutTail),
                required("stderr_tail", stderrTail));
    }

    private OutputLog outputLog() throws IOException {
        String path = null;
        String destination = null;
        Long size = null;
        String f;
        while ((f = nextField()) != null) {
            switch (f) {
                case "path" -> path = text(f);
                case "destination" -> destination = text(f);
                case "size_bytes" -> size = longInteger(f);
                default -> throw unknown(f);
            }
        }
        try {
            return new OutputLog(required("path", path), required("destination", destination),
                    required("size_bytes", size));
        } catch (IllegalArgumentException e) {
            throw invalid(null, "is not a valid output log: " + e.getMessage());
        }
    }

    private RetryPolicy retry() throws IOException {
        expect("retry", JsonToken.START_OBJECT);
        where = "spec.retry";
        Integer maxAttempts = null;
        Duration initialBackoff = null;
        Duration maxBackoff = null;
        Duration deadline = null;
        Boolean retryUserFailures = null;
        String f;
        while ((f = nextField()) != null) {
            switch (f) {
                case "max_attempts" -> maxAttempts = integer(f);
                case "initial_backoff" -> initialBackoff = duration(f);
                case "max_backoff" -> maxBackoff = duration(f);
                case "deadline" -> deadline = duration(f);
                case "retry_user_failures" -> retryUserFailures = bool(f);
                default -> throw unknown(f);
            }
        }
        RetryPolicy retry;
        try {
            retry = new RetryPolicy(required("max_attempts", maxAttempts),
                    required("initial_backoff", initialBackoff), required("max_backoff", maxBackoff),
                    required("deadline", deadline), required("retry_user_failures", retryUserFailures));
        } catch (SkyPortException e) {
            throw invalid(null, "is not a valid retry policy: " + e.getMessage());
        }
        where = "spec";
        return retry;
    }

    private List<PortSpec> ports() throws IOException {
        expect("ports", JsonToken.START_ARRAY);
        List<PortSpec> ports = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            where = "spec.ports[" + ports.size() + "]";
            expect(null, JsonToken.START_OBJECT);
            Integer port = null;
            String protocol = null;
            PortSpec.Direction direction = null;
            String f;
            while ((f = nextField()) != null) {
                switch (f) {
                    case "port" -> port = integer(f);
                    case "protocol" -> protocol = text(f);
                    case "direction" -> direction = convert(f, text(f), StoredNames::direction);
                    default -> throw unknown(f);
                }
            }
            try {
                ports.add(new PortSpec(required("port", port), required("protocol", protocol),
                        required("direction", direction)));
            } catch (SkyPortException e) {
                throw invalid(null, "is not a valid port: " + e.getMessage());
            }
        }
        where = "spec";
        return ports;
    }

    private List<Attempt> attempts() throws IOException {
        expect("attempts", JsonToken.START_ARRAY);
        List<Attempt> attempts = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            where = "attempts[" + attempts.size() + "]";
            expect(null, JsonToken.START_OBJECT);
            Integer number = null;
            List<String> nodes = List.of();
            Optional<String> partition = Optional.empty();
            Instant start = null;
            Optional<Instant> end = Optional.empty();
            OptionalInt exitCode = OptionalInt.empty();
            OptionalInt signal = OptionalInt.empty();
            Optional<EndReason> reason = Optional.empty();
            List<StepLog> steps = List.of();
            List<OutputLog> outputs = List.of();
            String f;
            while ((f = nextField()) != null) {
                switch (f) {
                    case "number" -> number = integer(f);
                    case "nodes" -> nodes = strings(f);
                    case "partition" -> partition = Optional.of(text(f));
                    case "start_time" -> start = instant(f);
                    case "end_time" -> end = Optional.of(instant(f));
                    case "exit_code" -> exitCode = OptionalInt.of(integer(f));
                    case "signal" -> signal = OptionalInt.of(integer(f));
                    case "end_reason" -> reason = Optional.of(endReason(f));
                    case "steps" -> steps = objects(f, this::stepLog);
                    case "outputs" -> outputs = objects(f, this::outputLog);
                    default -> throw unknown(f);
                }
            }
            try {
                attempts.add(new Attempt(required("number", number), nodes, partition,
                        required("start_time", start), end, exitCode, signal, reason, steps, outputs));
            } catch (IllegalArgumentException e) {
                throw invalid(null, "is not a valid attempt: " + e.getMessage());
            }
        }
        where = "";
        return attempts;
    }

    /** The next field's name, the parser on its value; null at the end of the object. */
    private String nextField() throws IOException {
        JsonToken t = p.nextToken();
        if (t == JsonToken.END_OBJECT) {
            return null;
        }
        if (t != JsonToken.FIELD_NAME) {
            throw invalid(null, "is cut short or malformed");
        }
        String name = p.currentName();
        p.nextToken();
        return name;
    }

    private void expect(String field, JsonToken token) {
        if (p.currentToken() != token) {
            throw invalid(field, "is " + describe(p.currentToken()) + "; expected " + describe(token));
        }
    }

    private String text(String field) throws IOException {
        expect(field, JsonToken.VALUE_STRING);
        return p.getText();
    }

    private int integer(String field) throws IOException {
        expect(field, JsonToken.VALUE_NUMBER_INT);
        if (p.getNumberType() != JsonParser.NumberType.INT) {
            throw invalid(field, "is " + p.getText() + ", out of range");
        }
        return p.getIntValue();
    }

    private long longInteger(String field) throws IOException {
        expect(field, JsonToken.VALUE_NUMBER_INT);
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw invalid(field, "is " + p.getText() + ", out of range");
        }
        return p.getLongValue();
    }

    private boolean bool(String field) {
        JsonToken t = p.currentToken();
        if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
            throw invalid(field, "is " + describe(t) + "; expected true or false");
        }
        return t == JsonToken.VALUE_TRUE;
    }

    private Instant instant(String field) throws IOException {
        return convert(field, text(field), Instant::parse);
    }

    private Duration duration(String field) throws IOException {
        return convert(field, text(field), Duration::parse);
    }

    private EndReason endReason(String field) throws IOException {
        return convert(field, text(field), StoredNames::endReason);
    }

    private List<String> strings(String field) throws IOException {
        expect(field, JsonToken.START_ARRAY);
        List<String> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_STRING) {
                expect(field + "[" + out.size() + "]", JsonToken.VALUE_STRING);
            }
            out.add(p.getText());
        }
        return out;
    }

    private Map<String, String> map(String field) throws IOException {
        expect(field, JsonToken.START_OBJECT);
        Map<String, String> out = new LinkedHashMap<>();
        String key;
        while ((key = nextField()) != null) {
            if (p.currentToken() != JsonToken.VALUE_STRING) {
                expect(field + "." + key, JsonToken.VALUE_STRING);
            }
            out.put(key, p.getText());
        }
        return out;
    }

    /** What {@code conversion} makes of the field's value, or an error naming the field when it cannot. */
    private <T> T convert(String field, String value, Function<String, T> conversion) {
        try {
            return conversion.apply(value);
        } catch (DateTimeException | SkyPortException e) {
            throw invalid(field, "cannot be read: " + e.getMessage());
        }
    }

    private <T> T required(String field, T value) {
        if (value == null) {
            throw invalid(field, "is missing");
        }
        return value;
    }

    private String path(String field) {
        if (field == null) {
            return where;
        }
        return where.isEmpty() ? field : where + "." + field;
    }

    private StorageException unknown(String field) {
        return new StorageException("stored job " + id + ": field '" + path(field) + "' is not part of format"
                + " version " + JobDocument.VERSION + "; it may have been written by a newer Sky Port, and is refused"
                + " rather than dropped", null);
    }

    private StorageException invalid(String field, String problem) {
        String at = path(field);
        return new StorageException("stored job " + id + ": " + (at.isEmpty() ? "the document" : "field '" + at
                + "'") + " " + problem, null);
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
