package dev.skyport.client.internal;

import dev.skyport.api.EngineUnavailableException;
import dev.skyport.api.Health;
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
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** Each error code back to the exception, and message, the embedded engine throws for the same case. */
class ErrorMappingTest {
    private final JobId id = new JobId(UUID.randomUUID());

    private RuntimeException map(int status, WireError error, Optional<JobId> subject, String operation) {
        return ErrorMapping.toException(status, WireJson.bytes(WireJson.writeError(error)), subject, operation);
    }

    @Test
    void specErrorsKeepFieldReasonAndLine() {
        InvalidJobSpecException embedded = new InvalidJobSpecException("ports", "expected PORT/PROTO:DIR", 3);
        RuntimeException e = map(400, WireError.of("invalid_spec", embedded.getMessage()).withField("ports")
                .withReason(embedded.reason()).withLine(3), Optional.empty(), "submit");
        assertThat(e).isInstanceOfSatisfying(InvalidJobSpecException.class, x -> {
            assertThat(x.field()).isEqualTo("ports");
            assertThat(x.line()).hasValue(3);
            assertThat(x.getMessage()).isEqualTo(embedded.getMessage());
        });
        for (String code : List.of("invalid_json", "unknown_field")) {
            assertThat(map(400, WireError.of(code, "m").withField("cpu").withReason("unknown"), Optional.empty(),
                    "submit")).isInstanceOfSatisfying(InvalidJobSpecException.class,
                            x -> assertThat(x.field()).isEqualTo("cpu"));
        }
    }

    @Test
    void anUnknownAndAForeignIdGiveTheSameExceptionAsEmbedded() {
        RuntimeException e = map(404, WireError.of("not_found", "no such job: " + id).withJobId(id.toString()),
                Optional.of(id), "get");
        assertThat(e).isInstanceOf(NoSuchJobException.class).hasMessage(new NoSuchJobException(id).getMessage());
        assertThat(((NoSuchJobException) e).id()).isEqualTo(id);
    }

    @Test
    void illegalStatesNameTheOperation() {
        RuntimeException e = map(409, WireError.of("illegal_state", "x").withJobId(id.toString())
                .withState("SUCCEEDED"), Optional.of(id), "cancel");
        assertThat(e).isInstanceOfSatisfying(IllegalJobStateException.class,
                x -> assertThat(x.state()).isEqualTo(JobState.SUCCEEDED))
                .hasMessage(new IllegalJobStateException(id, JobState.SUCCEEDED, "cancel").getMessage());
    }

    @Test
    void capacityAndStorageErrors() {
        assertThat(map(422, WireError.of("idempotency_key_reused", "m").withJobId(id.toString())
                .withField("idempotencyKey"), Optional.empty(), "submit"))
                .isInstanceOfSatisfying(IdempotencyKeyReusedException.class,
                        x -> assertThat(x.existing()).isEqualTo(id))
                .hasMessage(new IdempotencyKeyReusedException(id).getMessage());
        assertThat(map(429, WireError.of("quota_exceeded", "you have 5 jobs").withLimit("maxActiveJobsPerUser"),
                Optional.empty(), "submit")).isInstanceOfSatisfying(QuotaExceededException.class,
                        x -> assertThat(x.limit()).isEqualTo("maxActiveJobsPerUser")).hasMessage("you have 5 jobs");
        assertThat(map(503, WireError.of("queue_full", new QueueFullException(12).getMessage()), Optional.empty(),
                "submit")).isInstanceOf(QueueFullException.class).hasMessage(new QueueFullException(12).getMessage());
        Health down = Health.of(List.of(new Health.Problem("scheduler", "boom", Instant.parse(
                "2026-01-01T00:00:00Z"), 2, true, Optional.empty())));
        assertThat(map(503, WireError.of("engine_unavailable", "m").withHealth(down), Optional.empty(), "submit"))
                .isInstanceOfSatisfying(EngineUnavailableException.class,
                        x -> assertThat(x.health()).isEqualTo(down))
                .hasMessage(new EngineUnavailableException(down).getMessage());
        assertThat(map(507, WireError.of("storage_full", "the disk is full"), Optional.empty(), "submit"))
                .isInstanceOf(StorageFullException.class).hasMessage("the disk is full");
    }

    @Test
    void anythingElseKeepsTheDaemonsMessage() {
        assertThat(map(403, WireError.of("forbidden", "only admins may act as another user"), Optional.empty(),
                "get")).isExactlyInstanceOf(SkyPortException.class)
                .hasMessage("only admins may act as another user");
        assertThat(ErrorMapping.toException(502, "<html>bad gateway</html>".getBytes(StandardCharsets.UTF_8),
                Optional.empty(), "get")).isExactlyInstanceOf(SkyPortException.class).hasMessageContaining("502");
    }
}
