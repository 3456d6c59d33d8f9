package dev.skyport.samples.daemon.tes;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Optional;

/**
 * A TES request refused, with its HTTP status and the JSON body: the daemon's {@code {"error", "message", "field"}}
 * plus WES's {@code msg} and {@code status_code}, which GA4GH clients print. Thrown anywhere in the facade and turned
 * into the reply by {@link TesApi}; carries no stack trace, since it is an answer, not a failure.
 */
final class TesError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;
    final String code;
    final transient Optional<String> field;
    /** Seconds after which a retry may succeed (Retry-After), for refusals that pass. */
    transient Optional<Integer> retryAfter = Optional.empty();
    /** The methods a path takes (Allow), for a 405. */
    transient Optional<String> allow = Optional.empty();

    TesError(int status, String code, String message, Optional<String> field) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.field = field;
    }

    static TesError badRequest(String field, String message) {
        return new TesError(400, "invalid_task", field + ": " + message, Optional.of(field));
    }

    static TesError badParameter(String name, String message) {
        return new TesError(400, "invalid_parameter", name + ": " + message, Optional.of(name));
    }

    static TesError notFound(String id) {
        return new TesError(404, "not_found", "no such task: " + abbreviate(id), Optional.empty());
    }

    static TesError methodNotAllowed(String method, List<String> allowed) {
        TesError e = new TesError(405, "method_not_allowed", abbreviate(method) + " is not supported here; use "
                + String.join(" or ", allowed), Optional.empty());
        e.allow = Optional.of(String.join(", ", allowed));
        return e;
    }

    TesError retryAfter(int seconds) {
        this.retryAfter = Optional.of(seconds);
        return this;
    }

    ObjectNode body() {
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        body.put("error", code);
        body.put("message", getMessage());
        field.ifPresent(f -> body.put("field", f));
        body.put("msg", getMessage());
        body.put("status_code", status);
        return body;
    }

    static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
