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
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Reads a request body without holding a thread while the client sends it (a slow client parks a demand callback,
 * and ClientGuard fails it when the client falls below the minimum rate or misses the deadline), then hands it on.
 * Accumulates up to one byte past its limit, which is enough to refuse the body; an error thrown by the consumer
 * becomes the reply. The {@code /api/v1} and upstream APIs and the TES API share it, each with its own errors.
 */
public final class BodyReader implements Runnable {
    private final Request request;
    private final int limit;
    private final Supplier<? extends RuntimeException> tooLarge;
    private final Function<Throwable, ? extends RuntimeException> unreadable;
    private final Consumer<byte[]> then;
    private final Consumer<RuntimeException> fail;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();

    private BodyReader(Request request, int limit, Supplier<? extends RuntimeException> tooLarge,
                       Function<Throwable, ? extends RuntimeException> unreadable, Consumer<byte[]> then,
                       Consumer<RuntimeException> fail) {
        this.request = request;
        this.limit = limit;
        this.tooLarge = tooLarge;
        this.unreadable = unreadable;
        this.then = then;
        this.fail = fail;
    }

    /**
     * Starts reading; a declared length past {@code limit} is refused at once (thrown), before any byte is read.
     */
    static void read(Request request, Response response, Callback callback, long limit, Supplier<ApiError> tooLarge,
                     Consumer<byte[]> then) {
        read(request, limit, tooLarge, BodyReader::unreadable, then,
                e -> Replies.answer(request, response, callback, e));
    }

    /**
     * Starts reading with the errors of an API of its own; a declared length past {@code limit} is refused at once
     * (thrown), before any byte is read.
     *
     * @param request the request whose body to read
     * @param limit the most bytes the body may have
     * @param tooLarge the error for a body past {@code limit}
     * @param unreadable the error for a read that failed with the given cause (a timeout when the client is too slow)
     * @param then takes the whole body
     * @param fail answers an error raised after reading started, by the read or by {@code then}
     */
    public static void read(Request request, long limit, Supplier<? extends RuntimeException> tooLarge,
                            Function<Throwable, ? extends RuntimeException> unreadable, Consumer<byte[]> then,
                            Consumer<RuntimeException> fail) {
        if (request.getLength() > limit) {
            throw tooLarge.get();
        }
        new BodyReader(request, (int) Math.min(Integer.MAX_VALUE - 8, limit), tooLarge, unreadable, then, fail).run();
    }

    /** Reads what has arrived, then waits for more (a demand) or hands the body on; not for callers. */

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
                    throw unreadable.apply(chunk.getFailure());
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
            fail.accept(e);
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
