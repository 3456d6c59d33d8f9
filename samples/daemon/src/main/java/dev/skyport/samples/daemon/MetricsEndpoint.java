package dev.skyport.samples.daemon;

import dev.skyport.samples.daemon.Callers.Caller;
import dev.skyport.samples.daemon.Callers.UnregisteredException;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * {@code GET /metrics}: the engine's meters and the daemon's JVM in Prometheus' text format, for admins only. The meters
 * count every user's jobs (queue depth, transitions, gate calls), which a user must not learn from another's work, so
 * a registered user who is not an admin gets 403; the scraper authenticates like every client, with a certificate of
 * a user named in {@code admins}. The scrape is rendered on the request's thread: it reads counters already kept, plus
 * one walk of the in-memory queue per state gauge.
 */
final class MetricsEndpoint extends Handler.Abstract {
    static final String PATH = "/metrics";
    /** Prometheus' text exposition format, the one every scraper reads. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final PrometheusMeterRegistry registry;
    private final Callers callers;

    MetricsEndpoint(PrometheusMeterRegistry registry, Callers callers) {
        this.registry = registry;
        this.callers = callers;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        try {
            String path = Request.getPathInContext(request);
            if (!path.equals(PATH)) {
                throw Requests.notFound(path);
            }
            Caller caller;
            try {
                caller = callers.identify(request);
            } catch (UnregisteredException e) {
                throw new ApiError(HttpStatus.FORBIDDEN_403, "unregistered_user", e.getMessage());
            }
            if (!caller.admin()) {
                throw new ApiError(HttpStatus.FORBIDDEN_403, "forbidden",
                        "only an admin may read the metrics (the daemon's admins setting)");
            }
            Requests.allow(request.getMethod(), "GET");
            Requests.noQuery(request);
            Replies.send(response, callback, HttpStatus.OK_200, CONTENT_TYPE, registry.scrape());
        } catch (RuntimeException e) {
            Replies.answer(request, response, callback, e);
        }
        return true;
    }
}
