package dev.skyport.client.internal.wire;

import dev.skyport.api.Health;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The error body of {@code /api/v1}: {@code {"error":code,"message":text,"field"?,"reason"?,"line"?,"jobId"?,
 * "state"?,"limit"?,"health"?}}. {@code error} is a stable code the client maps back to an exception;
 * {@code message} is for people.
 */
public record WireError(String error, String message, Optional<String> field, Optional<String> reason,
                        OptionalInt line, Optional<String> jobId, Optional<String> state, Optional<String> limit,
                        Optional<Health> health) {
    public WireError {
        Objects.requireNonNull(error, "error");
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(field, "field");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(line, "line");
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(limit, "limit");
        Objects.requireNonNull(health, "health");
    }

    /** An error with a code and a message only. */
    public static WireError of(String error, String message) {
        return new WireError(error, message, Optional.empty(), Optional.empty(), OptionalInt.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }

    public WireError withField(String f) {
        return new WireError(error, message, Optional.of(f), reason, line, jobId, state, limit, health);
    }

    public WireError withReason(String r) {
        return new WireError(error, message, field, Optional.of(r), line, jobId, state, limit, health);
    }

    public WireError withLine(int l) {
        return new WireError(error, message, field, reason, OptionalInt.of(l), jobId, state, limit, health);
    }

    public WireError withJobId(String id) {
        return new WireError(error, message, field, reason, line, Optional.of(id), state, limit, health);
    }

    public WireError withState(String s) {
        return new WireError(error, message, field, reason, line, jobId, Optional.of(s), limit, health);
    }

    public WireError withLimit(String l) {
        return new WireError(error, message, field, reason, line, jobId, state, Optional.of(l), health);
    }

    public WireError withHealth(Health h) {
        return new WireError(error, message, field, reason, line, jobId, state, limit, Optional.of(h));
    }
}
