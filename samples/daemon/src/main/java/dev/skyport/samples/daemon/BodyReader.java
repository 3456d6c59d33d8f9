package dev.skyport.samples.daemon;

import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Reads a request body without holding a thread while the client sends it (a slow client parks a demand callback,
 * and ClientGuard fails it when the client falls below the minimum rate or misses the deadline), then hands it on.
 * Accumulates up to one byte past its limit, which is enough to refuse the body; an error thrown by the consumer
 * becomes the reply.
 */
final class BodyReader implements Runnable {
    private final Request request;
    private final Response response;
    private final Callback callback;
    private final int limit;
    private final Supplier<ApiError> tooLarge;
    private final Consumer<byte[]> then;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();

    private BodyReader(Request request, Response response, Callback callback, int limit, Supplier<ApiError> tooLarge,
                       Consumer<byte[]> then) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.limit = limit;
        this.tooLarge = tooLarge;
        this.then = then;
    }

    /**
     * Starts reading; a declared length past {@code limit} is refused at once (thrown), before any byte is read.
     */
    static void read(Request request, Response response, Callback callback, long limit, Supplier<ApiError> tooLarge,
                     Consumer<byte[]> then) {
        if (request.getLength() > limit) {
            throw tooLarge.get();
        }
        new BodyReader(request, response, callback, (int) Math.min(Integer.MAX_VALUE - 8, limit), tooLarge, then)
                .run();
    }

    @Override
    public void run() {
        try {
            while (true) {
                Content.Chunk chunk = request.read();
                if (chunk == null) {
                    request.demand(this);
                    return;
                }
                if (Content.Chunk.isFailure(chunk)) {
                    throw unreadable(chunk.getFailure());
                }
                ByteBuffer bytes = chunk.getByteBuffer();
                int n = Math.min(bytes.remaining(), limit + 1 - body.size());
                byte[] copy = new byte[n];
                bytes.get(copy);
                body.writeBytes(copy);
                boolean last = chunk.isLast();
                chunk.release();
                if (body.size() > limit) {
                    throw tooLarge.get();
                }
                if (last) {
                    then.accept(body.toByteArray());
                    return;
                }
            }
        } catch (RuntimeException e) {
            Replies.answer(request, response, callback, e);
        }
    }

    private static ApiError unreadable(Throwable failure) {
        if (failure instanceof TimeoutException) {
            return new ApiError(HttpStatus.REQUEST_TIMEOUT_408, "request_timeout",
                    Optional.ofNullable(failure.getMessage()).filter(m -> m.startsWith("the request body"))
                            .orElse("the request body did not arrive in time"));
        }
        return new ApiError(HttpStatus.BAD_REQUEST_400, "unreadable_body", "the request body could not be read");
    }
}
