package dev.skyport.samples.daemon;

import dev.skyport.api.EngineUnavailableException;
import dev.skyport.api.Health;
import dev.skyport.api.QueueFullException;
import dev.skyport.api.QuotaExceededException;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.StorageFullException;
import dev.skyport.client.internal.wire.WireError;
import org.eclipse.jetty.http.HttpStatus;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A client error (or an engine refusal) with its HTTP status and the JSON body the facades answer with:
 * {@code {"error":code,"message":...,"field"?...}} ({@link WireError}). Thrown anywhere in a facade and turned into
 * the reply by {@link Replies#answer}. Carries no stack trace: it is an answer, not a failure.
 */
final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;
    final transient WireError body;
    /** Headers the error reply carries (Allow, Retry-After, Content-Range). */
    final Map<String, String> headers = new LinkedHashMap<>();
    boolean text;

    ApiError(int status, String code, String message) {
        this(status, WireError.of(code, message));
    }

    ApiError(int status, String code, String message, String field) {
        this(status, field == null ? WireError.of(code, message) : WireError.of(code, message).withField(field));
    }

    ApiError(int status, WireError body) {
        super(body.message(), null, false, false);
        this.status = status;
        this.body = body;
    }

    String code() {
        return body.error();
    }

    ApiError withAllow(String methods) {
        return withHeader("Allow", methods);
    }

    ApiError withRetryAfter(int seconds) {
        return withHeader("Retry-After", String.valueOf(seconds));
    }

    ApiError withHeader(String name, String value) {
        headers.put(name, value);
        return this;
    }

    /** Answered as the message in plain text, for the upstream clients that print the body. */
    ApiError asText() {
        this.text = true;
        return this;
    }

    /**
     * The answer to the engine's refusals that every facade maps alike: a full queue, an exceeded quota, a full disk,
     * an engine that cannot schedule. Empty for any other exception, which the facade maps itself.
     *
     * @param withDetails whether the body carries the wire's extra members ({@code limit}, {@code health})
     */
    static Optional<ApiError> fromEngine(SkyPortException e, boolean withDetails) {
        if (e instanceof QueueFullException) {
            return Optional.of(new ApiError(HttpStatus.SERVICE_UNAVAILABLE_503, "queue_full", e.getMessage())
                    .withRetryAfter(10));
        }
        if (e instanceof QuotaExceededException q) {
            WireError body = WireError.of("quota_exceeded", q.getMessage());
            if (q.limit() != null) {
                body = withDetails ? body.withField(q.limit()).withLimit(q.limit()) : body.withField(q.limit());
            }
            return Optional.of(new ApiError(HttpStatus.TOO_MANY_REQUESTS_429, body).withRetryAfter(60));
        }
        if (e instanceof StorageFullException) {
            return Optional.of(new ApiError(HttpStatus.INSUFFICIENT_STORAGE_507, "storage_full",
                    "the server's disk is full; the job was not stored").withRetryAfter(60));
        }
        if (e instanceof EngineUnavailableException u) {
            WireError body = WireError.of("engine_unavailable", u.getMessage());
            return Optional.of(new ApiError(HttpStatus.SERVICE_UNAVAILABLE_503,
                    withDetails ? body.withHealth(u.health()) : body).withRetryAfter(retryAfterSeconds(u.health())));
        }
        return Optional.empty();
    }

    /** Seconds until the engine next retries what stops it, at least 1; 10 when it does not say. */
    static int retryAfterSeconds(Health health) {
        return health.problems().stream().filter(Health.Problem::stops).flatMap(p -> p.retryAt().stream())
                .min(Instant::compareTo)
                .map(at -> (int) Math.max(1, Math.min(3600, Duration.between(Instant.now(), at).toSeconds() + 1)))
                .orElse(10);
    }
}
