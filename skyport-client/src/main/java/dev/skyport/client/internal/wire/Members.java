package dev.skyport.client.internal.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Typed access to the members of one JSON object, for reading a wire shape by hand: every getter names the member
 * (with {@code path} in front, e.g. {@code jobs[3].}) in its {@link WireFormatException}, and {@link #done()} refuses
 * the members nobody asked for when the object is strict (a request body). Responses are read tolerantly, so that a
 * newer daemon may add members without breaking an older client.
 */
final class Members {
    private final ObjectNode object;
    private final String path;
    private final boolean strict;
    private final Set<String> read = new HashSet<>();

    private Members(ObjectNode object, String path, boolean strict) {
        this.object = object;
        this.path = path;
        this.strict = strict;
    }

    /** The members of {@code node}, which must be an object; {@code where} names it in errors ("" for the root). */
    static Members of(JsonNode node, String where, boolean strict) {
        if (node == null || !node.isObject()) {
            throw new WireFormatException(WireFormatException.INVALID_JSON, where.isEmpty() ? "$" : where,
                    "must be a JSON object, got " + kind(node));
        }
        return new Members((ObjectNode) node, where.isEmpty() ? "" : where + ".", strict);
    }

    String path(String member) {
        return path + member;
    }

    boolean has(String member) {
        return object.has(member);
    }

    /** The member's value; absent and JSON null are both absent, as the wire never writes null. */
    private Optional<JsonNode> value(String member) {
        read.add(member);
        JsonNode v = object.get(member);
        if (v != null && v.isNull()) {
            throw wrongType(member, "a value (absent members are omitted, never null)", v);
        }
        return Optional.ofNullable(v);
    }

    private JsonNode required(String member) {
        return value(member).orElseThrow(() ->
                new WireFormatException(WireFormatException.INVALID_JSON, path(member), "is missing"));
    }

    Optional<String> optString(String member) {
        return value(member).map(v -> {
            if (!v.isTextual()) {
                throw wrongType(member, "a string", v);
            }
            return v.textValue();
        });
    }

    String string(String member) {
        JsonNode v = required(member);
        if (!v.isTextual()) {
            throw wrongType(member, "a string", v);
        }
        return v.textValue();
    }

    Optional<Integer> optInt(String member) {
        return value(member).map(v -> asInt(member, v));
    }

    int integer(String member) {
        return asInt(member, required(member));
    }

    Optional<Long> optLong(String member) {
        return value(member).map(v -> asLong(member, v));
    }

    long longValue(String member) {
        return asLong(member, required(member));
    }

    double number(String member) {
        JsonNode v = required(member);
        if (!v.isNumber()) {
            throw wrongType(member, "a number", v);
        }
        return v.doubleValue();
    }

    Optional<Boolean> optBoolean(String member) {
        return value(member).map(v -> {
            if (!v.isBoolean()) {
                throw wrongType(member, "true or false", v);
            }
            return v.booleanValue();
        });
    }

    boolean bool(String member) {
        return optBoolean(member).orElseThrow(() ->
                new WireFormatException(WireFormatException.INVALID_JSON, path(member), "is missing"));
    }

    Optional<Instant> optInstant(String member) {
        return optString(member).map(s -> {
            try {
                return Instant.parse(s);
            } catch (DateTimeParseException e) {
                throw new WireFormatException(WireFormatException.INVALID_JSON, path(member),
                        "must be an RFC 3339 UTC time such as 2026-01-02T03:04:05Z");
            }
        });
    }

    Instant instant(String member) {
        required(member);
        return optInstant(member).orElseThrow();
    }

    Optional<Duration> optDuration(String member) {
        return optString(member).map(s -> {
            try {
                return Duration.parse(s);
            } catch (DateTimeParseException e) {
                throw new WireFormatException(WireFormatException.INVALID_JSON, path(member),
                        "must be an ISO-8601 duration such as PT1H");
            }
        });
    }

    <E extends Enum<E>> Optional<E> optEnum(String member, Class<E> type) {
        return optString(member).map(s -> {
            try {
                return Enum.valueOf(type, s);
            } catch (IllegalArgumentException e) {
                throw new WireFormatException(WireFormatException.INVALID_JSON, path(member),
                        "must be one of " + List.of(type.getEnumConstants()));
            }
        });
    }

    <E extends Enum<E>> E enumValue(String member, Class<E> type) {
        required(member);
        return optEnum(member, type).orElseThrow();
    }

    OptionalInt optIntAsOptionalInt(String member) {
        return optInt(member).map(OptionalInt::of).orElse(OptionalInt.empty());
    }

    /** The member as an array; each element is passed to {@code item} with its index. */
    <T> Optional<List<T>> optArray(String member, ItemReader<T> item) {
        return value(member).map(v -> {
            if (!v.isArray()) {
                throw wrongType(member, "an array", v);
            }
            List<T> out = new ArrayList<>(v.size());
            for (int i = 0; i < v.size(); i++) {
                out.add(item.read(v.get(i), path(member) + "[" + i + "]"));
            }
            return out;
        });
    }

    <T> List<T> array(String member, ItemReader<T> item) {
        required(member);
        return optArray(member, item).orElseThrow();
    }

    Optional<List<String>> optStrings(String member) {
        return optArray(member, Members::asString);
    }

    List<String> strings(String member) {
        return optStrings(member).orElse(List.of());
    }

    /** A JSON object of strings, in document order. */
    Optional<Map<String, String>> optStringMap(String member) {
        return value(member).map(v -> {
            if (!v.isObject()) {
                throw wrongType(member, "an object of strings", v);
            }
            Map<String, String> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                out.put(e.getKey(), asString(e.getValue(), path(member) + "." + e.getKey()));
            }
            return out;
        });
    }

    Map<String, String> stringMap(String member) {
        return optStringMap(member).orElse(Map.of());
    }

    Optional<JsonNode> optNode(String member) {
        return value(member);
    }

    /** Refuses members nobody read, in a strict object; {@code responseOnly} get their own message. */
    void done(Set<String> responseOnly) {
        if (!strict) {
            return;
        }
        for (Iterator<String> it = object.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (responseOnly.contains(name)) {
                throw new WireFormatException(WireFormatException.UNKNOWN_FIELD, path(name),
                        "is set by the server and must not be sent");
            }
            if (!read.contains(name)) {
                throw new WireFormatException(WireFormatException.UNKNOWN_FIELD, path(name), "is not a known member");
            }
        }
    }

    void done() {
        done(Set.of());
    }

    static String asString(JsonNode v, String where) {
        if (v == null || !v.isTextual()) {
            throw new WireFormatException(WireFormatException.INVALID_JSON, where, "must be a string, got " + kind(v));
        }
        return v.textValue();
    }

    private int asInt(String member, JsonNode v) {
        if (!v.isIntegralNumber()) {
            throw wrongType(member, "an integer", v);
        }
        if (!v.canConvertToInt()) {
            throw new WireFormatException(WireFormatException.INVALID_JSON, path(member),
                    "is out of range (" + Integer.MIN_VALUE + ".." + Integer.MAX_VALUE + ")");
        }
        return v.intValue();
    }

    private long asLong(String member, JsonNode v) {
        if (!v.isIntegralNumber()) {
            throw wrongType(member, "an integer", v);
        }
        if (!v.canConvertToLong()) {
            throw new WireFormatException(WireFormatException.INVALID_JSON, path(member), "is out of range");
        }
        return v.longValue();
    }

    private WireFormatException wrongType(String member, String expected, JsonNode v) {
        return new WireFormatException(WireFormatException.INVALID_JSON, path(member),
                "must be " + expected + ", got " + kind(v));
    }

    /** What a JSON value is, for an error message; never the value itself, which may be a secret or huge. */
    static String kind(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return "nothing";
        }
        return switch (v.getNodeType()) {
            case ARRAY -> "an array";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case NUMBER -> v.isIntegralNumber() ? "an integer" : "a fractional number";
            case OBJECT, POJO -> "an object";
            case STRING -> "a string";
            default -> "an unknown value";
        };
    }

    /** Reads one element of an array, named {@code where} in errors. */
    @FunctionalInterface
    interface ItemReader<T> {
        T read(JsonNode node, String where);
    }
}
