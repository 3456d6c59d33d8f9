package dev.skyport.client.internal;

import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.QueueFullException;
import dev.skyport.api.QuotaExceededException;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

import static dev.skyport.client.internal.ScriptedServer.hangUp;
import static dev.skyport.client.internal.ScriptedServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which calls the client sends again, and when: only what is safe to send twice. */
class RetryTest {
    private static final String QUEUE_FULL = "{\"error\":\"queue_full\",\"message\":\"queue full: 7 jobs have not"
            + " ended yet\",\"limit\":\"maxActiveJobs\"}";
    private ScriptedServer server;
    private SkyPort sky;

    @BeforeEach
    void start() throws Exception {
        server = new ScriptedServer();
        sky = client(3);
    }

    private SkyPort client(int retries) {
        ClientSettings settings = new ClientSettings(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ZERO,
                retries, Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofSeconds(2));
        return RemoteSkyPort.over(Transport.create(server.base(), settings, Optional.empty(), Optional.empty()));
    }

    @AfterEach
    void stop() {
        sky.close();
        server.close();
    }

    @Test
    void aGetIsRetriedAfter503WithRetryAfterAndAfterAHangUp() {
        server.then(json(503, QUEUE_FULL, "Retry-After", "0"));
        server.then(hangUp());
        server.then(json(200, "{\"items\":[]}"));
        assertThat(sky.nodes()).isEmpty();
        assertThat(server.seen).hasSize(3).allSatisfy(s -> assertThat(s.path()).isEqualTo("/api/v1/nodes"));
    }

    @Test
    void retriesAreBoundedAndTheLastRefusalIsThrown() {
        for (int i = 0; i < 4; i++) {
            server.then(json(503, QUEUE_FULL, "Retry-After", "0"));
        }
        assertThatThrownBy(() -> sky.flavors()).isInstanceOf(QueueFullException.class)
                .hasMessage(new QueueFullException(7).getMessage());
        assertThat(server.seen).hasSize(4);
    }

    @Test
    void aRetryAfterBeyondTheCapFailsAtOnce() {
        server.then(json(429, "{\"error\":\"quota_exceeded\",\"message\":\"you have 3 jobs\",\"limit\":"
                + "\"maxActiveJobsPerUser\"}", "Retry-After", "3600"));
        assertThatThrownBy(() -> sky.images()).isInstanceOfSatisfying(QuotaExceededException.class,
                e -> assertThat(e.limit()).isEqualTo("maxActiveJobsPerUser"));
        assertThat(server.seen).hasSize(1);
    }

    @Test
    void cancelAndRequeueAreNeverSentTwice() {
        JobId id = new JobId(UUID.randomUUID());
        server.then(hangUp());
        assertThatThrownBy(() -> sky.jobs().cancel(id)).isInstanceOf(SkyPortException.class)
                .hasMessageContaining("cannot reach");
        server.then(json(503, QUEUE_FULL, "Retry-After", "0"));
        assertThatThrownBy(() -> sky.jobs().requeue(id)).isInstanceOf(QueueFullException.class);
        assertThat(server.seen).extracting(ScriptedServer.Seen::path)
                .containsExactly("/api/v1/jobs/" + id + "/cancel", "/api/v1/jobs/" + id + "/requeue");
    }

    @Test
    void aSubmitIsSentAgainOnlyWithAnIdempotencyKey() {
        String refused = "{\"error\":\"invalid_spec\",\"message\":\"cpus: too many\",\"field\":\"cpus\","
                + "\"reason\":\"too many\"}";
        server.then(hangUp());
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.script("true"))).isInstanceOf(SkyPortException.class)
                .isNotInstanceOf(InvalidJobSpecException.class);
        assertThat(server.seen).hasSize(1);

        server.then(hangUp());
        server.then(json(400, refused));
        JobSpec keyed = JobSpec.builder().script("true").idempotencyKey("key-1").build();
        assertThatThrownBy(() -> sky.jobs().submit(keyed)).isInstanceOfSatisfying(InvalidJobSpecException.class,
                e -> assertThat(e.getMessage()).isEqualTo(new InvalidJobSpecException("cpus", "too many")
                        .getMessage()));
        assertThat(server.seen).hasSize(3);
        assertThat(server.seen.get(1).header("Idempotency-Key")).hasValue("key-1");
        assertThat(server.seen.get(2).header("Idempotency-Key")).hasValue("key-1");
    }

    @Test
    void aBatchIsNotSentTwice() {
        server.then(hangUp());
        assertThatThrownBy(() -> sky.jobs().submitAll(java.util.List.of(JobSpec.script("true"))))
                .isInstanceOf(SkyPortException.class);
        assertThat(server.seen).hasSize(1);
    }

    @Test
    void viewsSendTheImpersonationHeadersAndTheClientItselfDoesNot() {
        server.then(json(200, "{\"items\":[]}"));
        server.then(json(200, "{\"items\":[]}"));
        sky.partitions();
        sky.asUser("u-42", "alice").partitions();
        assertThat(server.seen.get(0).header(RemoteSkyPort.ACT_AS_USER)).isEmpty();
        assertThat(server.seen.get(1).header(RemoteSkyPort.ACT_AS_USER)).hasValue("u-42");
        assertThat(server.seen.get(1).header(RemoteSkyPort.ACT_AS_USER_NAME)).hasValue("alice");
    }

    @Test
    void aClosedClientRefusesCalls() {
        sky.close();
        assertThatThrownBy(() -> sky.nodes()).isInstanceOf(SkyPortException.class).hasMessageContaining("closed");
        assertThat(server.seen).isEmpty();
    }
}
