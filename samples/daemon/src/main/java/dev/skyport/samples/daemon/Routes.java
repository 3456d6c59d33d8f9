package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The daemon's facades by path prefix ({@code /user} today; {@code /api/v1} and {@code /ga4gh/tes/v1} join it as
 * entries of this table): a request goes to the facade whose prefix is its path or a parent of it, with the path
 * unchanged, so a facade is added beside the others without editing any of them. A path no facade owns answers 404
 * with the API's JSON error body. Immutable once built; safe for concurrent requests.
 */
final class Routes extends Handler.AbstractContainer {
    private final List<Route> routes;
    private final ObjectMapper json;

    private record Route(String prefix, Handler handler) {
        boolean owns(String path) {
            return path.startsWith(prefix)
                    && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
        }
    }

    /**
     * @param facades each facade by its path prefix: {@code /} then one or more segments, without a trailing slash
     * @throws IllegalArgumentException when a prefix is malformed
     */
    Routes(Map<String, ? extends Handler> facades, ObjectMapper json) {
        this.json = Objects.requireNonNull(json, "json");
        List<Route> table = new ArrayList<>();
        facades.forEach((prefix, handler) -> {
            if (!prefix.matches("(/[A-Za-z0-9._~-]+)+")) {
                throw new IllegalArgumentException("a route prefix is / and path segments without a trailing /, got '"
                        + prefix + "'");
            }
            table.add(new Route(prefix, Objects.requireNonNull(handler, prefix)));
            addBean(handler); // started, stopped and given the server with this table
        });
        // The longest prefix first, so that a facade nested under another's prefix still gets its own paths.
        table.sort(Comparator.comparingInt((Route r) -> r.prefix.length()).reversed());
        this.routes = List.copyOf(table);
    }

    @Override
    public List<Handler> getHandlers() {
        return routes.stream().map(Route::handler).toList();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        for (Route route : routes) {
            if (route.owns(path)) {
                return route.handler.handle(request, response, callback);
            }
        }
        String body = json.createObjectNode().put("error", "not_found")
                .put("message", "no such resource: " + (path.length() <= 80 ? path : path.substring(0, 77) + "..."))
                .toString();
        Replies.send(response, callback, HttpStatus.NOT_FOUND_404, Replies.JSON, body);
        return true;
    }
}
