package dev.skyport.core.internal.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.Attempt;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RetryPolicy;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Reads the job documents of schema versions 1 and 2, which were the public records as Jackson wrote them by
 * reflection (camelCase component names, {@code null} for absent values, unknown fields ignored). Only the migration
 * to the store's own format uses it. The names here are frozen: they are what was written then, whatever the
 * records are called now.
 */
final class LegacyJobJson {
    private static final ObjectMapper TREES = new ObjectMapper();

    private LegacyJobJson() {
    }

    /** A job of the old format; its script is present only if the old document still held the text. */
    static Job read(String json) throws IOException {
        JsonNode root = TREES.readTree(json);
        if (root == null || !root.isObject()) {
            throw new IOException("not a JSON object");
        }
        String owner = text(root, "owner");
        // Schema 1 had no owner name: the owner was the name.
        String ownerName = optionalText(root, "ownerName").orElse(owner);
        return new Job(JobId.parse(text(root, "id")), owner, ownerName, spec(field(root, "spec")),
                StoredNames.state(text(root, "state")), text(root, "stateDetails"),
                optionalText(root, "endReason").map(StoredNames::endReason), Instant.parse(text(root, "submitTime")),
                Instant.parse(text(root, "updateTime")), attempts(root.path("attempts")));
    }

    private static JobSpec spec(JsonNode s) throws IOException {
        Optional<String> script = optionalText(s, "script");
        List<String> command = strings(s.path("command"));
        // Schema 2 moved scripts out and marked the document; a schema-1 command document has no mark.
        boolean omitted = script.isEmpty() && command.isEmpty();
        JsonNode retry = field(s, "retryPolicy");
        List<PortSpec> ports = new ArrayList<>();
        for (JsonNode p : s.path("ports")) {
            ports.add(new PortSpec(p.path("port").asInt(), text(p, "protocol"),
                    direction(text(p, "direction"))));
        }
        return new JobSpec(text(s, "name"), script, command, optionalText(s, "containerImage"),
                optionalText(s, "cloudImage"), s.path("nodes").asInt(), s.path("cpus").asInt(),
                s.path("memoryBytes").asLong(), s.path("gpus").asInt(), optionalText(s, "flavor"),
                optionalText(s, "remoteSite"), s.path("relocatable").asBoolean(), ports,
                strings(s.path("inputFiles")), strings(s.path("outputFiles")), optionalText(s, "workdir"),
                map(s.path("env")), optionalText(s, "account"), s.path("priority").asInt(),
                optionalText(s, "timeLimit").map(Duration::parse),
                new RetryPolicy(retry.path("maxAttempts").asInt(), Duration.parse(text(retry, "initialBackoff")),
                        Duration.parse(text(retry, "maxBackoff")), Duration.parse(text(retry, "deadline")),
                        retry.path("retryUserFailures").asBoolean()),
                map(s.path("tags")), optionalText(s, "comment").orElse(""), optionalText(s, "submissionAddress"),
                optionalText(s, "storage"), optionalText(s, "idempotencyKey"), strings(s.path("warnings")), omitted);
    }

    private static PortSpec.Direction direction(String written) throws IOException {
        return switch (written) {
            case "IN" -> PortSpec.Direction.IN;
            case "OUT" -> PortSpec.Direction.OUT;
            default -> throw new IOException("port direction '" + written + "' is unknown");
        };
    }

    private static List<Attempt> attempts(JsonNode list) throws IOException {
        List<Attempt> out = new ArrayList<>();
        for (JsonNode a : list) {
            out.add(new Attempt(a.path("number").asInt(), strings(a.path("nodes")), optionalText(a, "partition"),
                    Instant.parse(text(a, "startTime")), optionalText(a, "endTime").map(Instant::parse),
                    optionalInt(a, "exitCode"), optionalInt(a, "signal"),
                    optionalText(a, "endReason").map(StoredNames::endReason)));
        }
        return out;
    }

    private static JsonNode field(JsonNode node, String name) throws IOException {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            throw new IOException("field '" + name + "' is missing");
        }
        return v;
    }

    private static String text(JsonNode node, String name) throws IOException {
        JsonNode v = field(node, name);
        if (!v.isTextual()) {
            throw new IOException("field '" + name + "' is not text");
        }
        return v.textValue();
    }

    private static Optional<String> optionalText(JsonNode node, String name) {
        JsonNode v = node.get(name);
        return v == null || !v.isTextual() ? Optional.empty() : Optional.of(v.textValue());
    }

    private static OptionalInt optionalInt(JsonNode node, String name) {
        JsonNode v = node.get(name);
        return v == null || !v.isInt() ? OptionalInt.empty() : OptionalInt.of(v.intValue());
    }

    private static List<String> strings(JsonNode list) {
        List<String> out = new ArrayList<>();
        for (JsonNode v : list) {
            out.add(v.asText());
        }
        return out;
    }

    private static Map<String, String> map(JsonNode object) {
        Map<String, String> out = new LinkedHashMap<>();
        object.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }
}
