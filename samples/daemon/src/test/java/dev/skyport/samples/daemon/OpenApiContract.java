package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The daemon's OpenAPI file as a checker of real replies: each reply's method, path and status must be declared
 * explicitly (the {@code default} response documents rare server-side statuses and does not count), each JSON body
 * must validate against the declared schema (JSON Schema 2020-12), and {@link #exercised()} is what a test compares
 * with {@link #declared()} at the end. Thread-safe.
 */
final class OpenApiContract {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private record Template(String path, Pattern pattern) {
    }

    private final JsonNode document;
    private final List<Template> templates = new ArrayList<>();
    private final Set<String> declared = new TreeSet<>();
    private final Set<String> exercised = ConcurrentHashMap.newKeySet();
    private final Map<String, Schema> schemas = new ConcurrentHashMap<>();
    private final SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    OpenApiContract() {
        try (InputStream in = OpenApiContract.class.getResourceAsStream(ApiV1.OPENAPI_RESOURCE)) {
            document = YAML.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Iterator<Map.Entry<String, JsonNode>> paths = document.get("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> path = paths.next();
            templates.add(new Template(path.getKey(),
                    Pattern.compile(Pattern.quote(path.getKey()).replace("{id}", "\\E[^/]+\\Q"))));
            for (Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields(); ops.hasNext(); ) {
                Map.Entry<String, JsonNode> op = ops.next();
                if (op.getKey().equals("parameters")) {
                    continue;
                }
                op.getValue().get("responses").fieldNames().forEachRemaining(status -> {
                    if (!status.equals("default")) {
                        declared.add(key(op.getKey(), path.getKey(), status));
                    }
                });
            }
        }
    }

    private static String key(String method, String path, String status) {
        return method.toUpperCase() + " " + path + " " + status;
    }

    /** Every method, path template and explicit status the document declares. */
    Set<String> declared() {
        return declared;
    }

    /** Those replies have had so far. */
    Set<String> exercised() {
        return new TreeSet<>(exercised);
    }

    /**
     * Checks one reply: declared, and (for JSON) valid against its schema.
     *
     * @param path the request's path without the query
     */
    void check(String method, String path, int status, String contentType, byte[] body) {
        String template = templates.stream().filter(t -> t.pattern.matcher(path).matches()).map(Template::path)
                .findFirst().orElseThrow(() -> new AssertionError("no path of the OpenAPI file matches " + path));
        String key = key(method, template, String.valueOf(status));
        assertThat(declared).as("the OpenAPI file declares %s", key).contains(key);
        exercised.add(key);
        JsonNode response = resolve(document.get("paths").get(template).get(method.toLowerCase())
                .get("responses").get(String.valueOf(status)));
        JsonNode content = response.get("content");
        assertThat(content).as("%s declares a body", key).isNotNull();
        String mime = contentType == null ? "" : contentType.split(";")[0].strip();
        assertThat(content.has(mime)).as("%s declares %s (it declares %s)", key, mime, content).isTrue();
        if (!mime.equals("application/json")) {
            return;
        }
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(body);
        } catch (IOException e) {
            throw new AssertionError(key + ": not JSON: " + new String(body), e);
        }
        Schema schema = schemas.computeIfAbsent(key, k -> schema(content.get(mime).get("schema")));
        List<Error> errors = schema.validate(json);
        assertThat(errors).as("%s: %s against its schema", key, json).isEmpty();
    }

    /** A schema of the document as a standalone JSON Schema whose {@code #/components/...} references resolve. */
    private Schema schema(JsonNode schema) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        root.set("components", document.get("components"));
        root.putArray("allOf").add(schema);
        return registry.getSchema(root);
    }

    private JsonNode resolve(JsonNode node) {
        while (node.has("$ref")) {
            node = document.at(node.get("$ref").asText().substring(1));
        }
        return node;
    }
}
