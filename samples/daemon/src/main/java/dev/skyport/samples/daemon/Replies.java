package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skyport.client.internal.wire.WireJson;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** How every facade ends a request: a whole reply in one asynchronous write, or the error it failed with. */
final class Replies {
    private static final Logger LOG = LoggerFactory.getLogger(Replies.class);
    static final String JSON = "application/json; charset=utf-8";
    static final String TEXT = "text/plain; charset=utf-8";
    static final String BYTES = "application/octet-stream";

    private Replies() {
    }

    static void send(Response response, Callback callback, int status, String contentType, String body) {
        send(response, callback, status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    static void send(Response response, Callback callback, int status, String contentType, byte[] body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(new HttpField(HttpHeader.CONTENT_LENGTH, String.valueOf(body.length)));
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    static void sendJson(Response response, Callback callback, int status, JsonNode body) {
        send(response, callback, status, JSON, WireJson.bytes(body));
    }

    /** Ends a request that failed, wherever it failed: in the handler or in a read or write that completed later. */
    static void answer(Request request, Response response, Callback callback, Throwable e) {
        if (e instanceof ApiError api) {
            error(response, callback, api);
        } else if (e instanceof IOException && response.isCommitted()) {
            // A write failed half-way through a reply: the client went away or was cut off for reading too slowly.
            // That is the client's business, and a client must not be able to flood the log with stack traces.
            LOG.debug("{} {}: the client stopped taking the reply: {}", request.getMethod(),
                    Request.getPathInContext(request), e.toString());
            callback.failed(e);
        } else {
            // Not the user's fault: say so without details, keep the details in the log.
            LOG.error("{} {} failed", request.getMethod(), Request.getPathInContext(request), e);
            error(response, callback, new ApiError(HttpStatus.INTERNAL_SERVER_ERROR_500, "internal",
                    "the daemon could not complete the request; see its log"));
        }
    }

    static void error(Response response, Callback callback, ApiError e) {
        if (response.isCommitted()) {
            callback.failed(e); // a streamed reply broke off: the client sees a truncated body
            return;
        }
        response.reset();
        e.headers.forEach((name, value) -> response.getHeaders().put(name, value));
        if (e.text) {
            send(response, callback, e.status, TEXT, e.getMessage());
            return;
        }
        sendJson(response, callback, e.status, WireJson.writeError(e.body));
    }
}
