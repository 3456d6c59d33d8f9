package dev.skyport.client.internal;

import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobState;
import dev.skyport.client.internal.wire.WireJson;
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
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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

    private static String job(JobId id, JobState state) {
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        Job job = new Job(id, "alice", "alice", JobSpec.script("true"), state, state.name(), Optional.empty(), t, t,
                List.of());
        return WireJson.text(WireJson.writeJob(job));
    }

    /**
     * The event stream is refused for good (here a proxy that forbids it; a 429 is first retried): the future
     * long-polls instead.
     */
    private void refuseTheEventStream() {
        server.then(json(200, "{\"lastSequence\":5}"));
        server.then(json(403, "{\"error\":\"forbidden\",\"message\":\"no event streams here\"}"));
    }

    @Test
    void aFuturesLongPollIsSentAgainAfterABusyReplyAndCancellingTheFutureCancelsIt() throws Exception {
        JobId id = new JobId(UUID.randomUUID());
        server.then(json(200, job(id, JobState.RUNNING)));
        refuseTheEventStream();
        server.then(json(429, "{\"error\":\"too_many_requests\",\"message\":\"slow down\"}", "Retry-After", "0"));
        server.then(json(200, job(id, JobState.RUNNING)));
        server.then(json(200, job(id, JobState.SUCCEEDED)));
        CompletableFuture<Job> done = sky.jobs().onTerminal(id);
        assertThat(done.get(30, TimeUnit.SECONDS).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(server.seen).hasSize(6);
        assertThat(server.seen.get(2).path()).endsWith("/events");
        assertThat(server.seen.subList(3, 6)).allSatisfy(s -> assertThat(s.query()).startsWith("wait="));

        server.then(json(200, job(id, JobState.RUNNING)));
        CountDownLatch held = new CountDownLatch(1);
        server.then(exchange -> {
            held.countDown();
            try {
                exchange.getResponseBody(); // the long poll: no reply until the client goes away
                Thread.sleep(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        // A refused stream is believed for a while: no new attempt per future.
        CompletableFuture<Job> cancelled = sky.jobs().onTerminal(id);
        assertThat(held.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(cancelled.cancel(true)).isTrue();
        assertThat(server.seen).hasSize(8);
    }

    @Test
    void awaitAllReadsEveryJobAndWaitsOnlyForThoseStillRunning() throws Exception {
        JobId a = new JobId(UUID.randomUUID());
        JobId b = new JobId(UUID.randomUUID());
        server.then(json(200, job(b, JobState.SUCCEEDED)));
        server.then(json(200, job(a, JobState.RUNNING)));
        refuseTheEventStream();
        server.then(json(200, job(a, JobState.FAILED)));
        assertThat(sky.jobs().awaitAll(List.of(b, a), Duration.ofSeconds(30))).extracting(Job::state)
                .containsExactly(JobState.SUCCEEDED, JobState.FAILED);
        assertThat(server.seen).extracting(ScriptedServer.Seen::query).containsExactly(null, null, null, null,
                "wait=25");
    }

    @Test
    void aClosedClientRefusesCalls() {
        sky.close();
        assertThatThrownBy(() -> sky.nodes()).isInstanceOf(SkyPortException.class).hasMessageContaining("closed");
        assertThat(server.seen).isEmpty();
    }
}
