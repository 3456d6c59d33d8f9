package dev.skyport.client.internal;

import dev.skyport.api.EngineUnavailableException;
import dev.skyport.api.IdempotencyKeyReusedException;
import dev.skyport.api.IllegalJobStateException;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.QueueFullException;
import dev.skyport.api.QuotaExceededException;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.StorageFullException;
import dev.skyport.client.internal.wire.WireError;
import dev.skyport.client.internal.wire.WireJson;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An error reply of {@code /api/v1} back to the exception the embedded engine throws for the same case, with the same
 * message: the exceptions build their messages from the members the reply carries (field, reason, line, job id,
 * state), so a caller cannot tell over which transport the refusal came.
 */
public final class ErrorMapping {
    /** A batch body's field, {@code jobs[3].cpus}: the spec's index and its member (a member may have dots). */
    private static final Pattern BATCH_FIELD = Pattern.compile("jobs\\[(\\d{1,9})\\]\\.(.+)");

    private static final Pattern FIRST_NUMBER = Pattern.compile("(\\d+)");

    private ErrorMapping() {
    }

    /**
     * The exception for an error reply.
     *
     * @param status    the HTTP status
     * @param body      the reply's body (JSON when the daemon wrote it; anything when a proxy did)
     * @param subject   the job the request was about, when it was about one
     * @param operation the verb for {@link IllegalJobStateException} ("cancel", "requeue")
     */
    public static RuntimeException toException(int status, byte[] body, Optional<JobId> subject, String operation) {
        WireError error;
        try {
            error = WireJson.readError(WireJson.parse(body));
        } catch (RuntimeException notOurs) {
            return new SkyPortException("the daemon answered HTTP " + status + " without a Sky Port error body");
        }
        return toException(status, error, subject, operation);
    }

    public static RuntimeException toException(int status, WireError e, Optional<JobId> subject, String operation) {
        String message = e.message();
        try {
            switch (e.error()) {
                case "invalid_spec", "invalid_json", "unknown_field": {
                    Matcher batch = BATCH_FIELD.matcher(e.field().orElse(""));
                    if (batch.matches()) {
                        return new InvalidJobSpecException(batch.group(2), e.reason().orElse(message),
                                e.line().orElse(0)).inBatchAt(Integer.parseInt(batch.group(1)));
                    }
                    return new InvalidJobSpecException(e.field().orElse("$"), e.reason().orElse(message),
                            e.line().orElse(0));
                }
                case "idempotency_key_reused":
                    if (e.jobId().isPresent()) {
                        IdempotencyKeyReusedException reused = new IdempotencyKeyReusedException(
                                JobId.parse(e.jobId().get()));
                        Matcher batch = BATCH_FIELD.matcher(e.field().orElse(""));
                        return batch.matches() ? reused.inBatchAt(Integer.parseInt(batch.group(1))) : reused;
                    }
                    break;
                case "not_found":
                    Optional<JobId> id = e.jobId().map(JobId::parse).or(() -> subject);
                    if (id.isPresent()) {
                        return new NoSuchJobException(id.get());
                    }
                    break;
                case "illegal_state":
                    Optional<JobId> which = e.jobId().map(JobId::parse).or(() -> subject);
                    if (which.isPresent() && e.state().isPresent()) {
                        return new IllegalJobStateException(which.get(), JobState.valueOf(e.state().get()),
                                operation);
                    }
                    break;
                case "quota_exceeded":
                    return new QuotaExceededException(e.limit().orElse(""), message);
                case "queue_full":
                    String limit = e.limit().filter(l -> l.matches("\\d+")).orElse(message);
                    return new QueueFullException(firstNumber(limit));
                case "engine_unavailable":
                    if (e.health().isPresent()) {
                        return new EngineUnavailableException(e.health().get());
                    }
                    break;
                case "storage_full":
                    return new StorageFullException(message, null);
                default:
                    break;
            }
        } catch (RuntimeException malformed) {
            // A member the mapping needs is malformed (a job id that is not a UUID, an unknown state): keep the text.
            return new SkyPortException(message.isEmpty() ? "HTTP " + status + " " + e.error() : message);
        }
        return new SkyPortException(message.isEmpty() ? "HTTP " + status + " " + e.error() : message);
    }

    private static int firstNumber(String text) {
        Matcher m = FIRST_NUMBER.matcher(text);
        if (m.find()) {
            try {
                return Integer.parseInt(m.group(1));
            } catch (NumberFormatException tooLarge) {
                return Integer.MAX_VALUE;
            }
        }
        return 0;
    }
}
