package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Errors Jetty itself answers before a request reaches the API (a malformed request line or header, an oversized
 * header): the same JSON error body as the API's own, never an HTML page or a stack trace.
 */
final class JsonErrorHandler extends ErrorHandler {
    private final ObjectMapper json;

    JsonErrorHandler(ObjectMapper json) {
        this.json = json;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        int status = response.getStatus() > 0 ? response.getStatus() : HttpStatus.BAD_REQUEST_400;
        String reason = HttpStatus.getMessage(status);
        String body = json.createObjectNode()
                .put("error", HttpStatus.isClientError(status) ? "bad_request" : "internal")
                .put("message", reason == null ? "error " + status : reason)
                .toString();
        response.getHeaders().remove(org.eclipse.jetty.http.HttpHeader.CONTENT_TYPE);
        Replies.send(response, callback, status, Replies.JSON, body);
        return true;
    }
}
