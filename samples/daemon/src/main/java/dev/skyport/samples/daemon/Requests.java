package dev.skyport.samples.daemon;

import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Fields;

/** The checks every facade makes of a request's method, path and query, each failing with its {@link ApiError}. */
final class Requests {
    private Requests() {
    }

    static void allow(String method, String... allowed) {
        for (String m : allowed) {
            if (m.equals(method)) {
                return;
            }
        }
        throw new ApiError(HttpStatus.METHOD_NOT_ALLOWED_405, "method_not_allowed",
                abbreviate(method) + " is not supported here; use " + String.join(" or ", allowed))
                .withAllow(String.join(", ", allowed));
    }

    static void noQuery(Request request) {
        onlyParameters(Request.extractQueryParameters(request));
    }

    /** Refuses any query parameter not named in {@code known}. */
    static void onlyParameters(Fields query, String... known) {
        for (Fields.Field f : query) {
            boolean ok = false;
            for (String k : known) {
                ok |= k.equals(f.getName());
            }
            if (!ok) {
                throw unknownParameter(f.getName());
            }
        }
    }

    static ApiError unknownParameter(String name) {
        return new ApiError(HttpStatus.BAD_REQUEST_400, "unknown_parameter",
                "unknown query parameter '" + abbreviate(name) + "'", abbreviate(name));
    }

    static ApiError notFound(String path) {
        return new ApiError(HttpStatus.NOT_FOUND_404, "not_found", "no such resource: " + abbreviate(path));
    }

    static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
