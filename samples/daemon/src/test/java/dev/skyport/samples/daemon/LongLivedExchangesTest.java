package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.api.Subscription;
import dev.skyport.client.ClientTls;
import dev.skyport.client.SkyPortClient;
import dev.skyport.samples.daemon.ClientGuard.Kind;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import okhttp3.Call;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Long-lived exchanges (event streams, long polls, log follows) have their own per-user counts in ClientGuard: they
 * never use up the slots of a user's ordinary calls, and they are bounded themselves. The client waits for any number
 * of jobs over one event subscription per view.
 */
class LongLivedExchangesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int JOBS = 40;

    /** More waits than the ordinary per-user limit (32): all end, and other calls are served meanwhile. */
    @Test
    void aUserWaitingForManyJobsOverOneSubscriptionCanStillMakeOtherCalls(@TempDir Path dir) throws Exception {
        ClientDaemon started = ClientDaemon.start(dir);
        IssuedUser aliceId = started.pki.issueUser("alice", false);
        try (ClientDaemon daemon = started;
             SkyPort admin = SkyPortClient.connect(daemon.url(), daemon.adminTls());
             SkyPort alice = SkyPortClient.connect(daemon.url(), ClientTls.fromPem(aliceId.cert(), aliceId.key(),
                     daemon.pki.layout().caChain()))) {
            String user = aliceId.uuid().toString();
            List<Job> jobs = alice.jobs().submitAll(Collections.nCopies(JOBS,
                    JobSpec.script("#!/bin/sh\nsleep 600\n")));
            List<CompletableFuture<Job>> ends = new ArrayList<>();
            try {
                for (Job j : jobs) {
                    ends.add(alice.jobs().onTerminal(j.id()));
                }
                assertThat(alice.jobs().get(jobs.get(0).id()).id()).isEqualTo(jobs.get(0).id());
                assertThat(daemon.daemon.inFlight(user, Kind.STREAM)).as("one event stream for every wait")
                        .isEqualTo(1);
                assertThat(daemon.daemon.inFlight(user, Kind.WAIT)).as("no long polls").isZero();
            } finally {
                for (Job j : jobs) {
                    try {
                        admin.jobs().cancel(j.id());
                    } catch (RuntimeException ended) {
                        // already ended
                    }
                }
            }
            for (CompletableFuture<Job> end : ends) {
                assertThat(end.get(60, TimeUnit.SECONDS).state()).isEqualTo(JobState.CANCELED);
            }
            // The subscription ends with the last pending future.
            waitFor(() -> daemon.daemon.inFlight(user, Kind.STREAM) == 0, "the shared subscription closed");
        }
    }

    /** A view that cannot open an event stream (the user's are all taken) waits with long polls instead. */
    @Test
    void waitsFallBackToLongPollsWhenNoEventStreamCanBeOpened(@TempDir Path dir) throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        IssuedUser aliceId = pki.issueUser("alice", false);
        String user = aliceId.uuid().toString();
        DaemonConfig.ClientLimits d = DaemonConfig.ClientLimits.defaults();
        DaemonConfig.ClientLimits limits = new DaemonConfig.ClientLimits(d.maxRequestsPerUser(),
                d.maxConnectionsPerUser(), d.minDataRate(), d.requestTimeout(), d.idleTimeout(), 1,
                d.maxWaitsPerUser());
        try (Daemon daemon = startDaemon(dir, limits);
             SkyPort alice = SkyPortClient.connect(ClientDaemon.url(daemon.port()),
                     ClientTls.fromPem(aliceId.cert(), aliceId.key(), pki.layout().caChain()));
             Subscription taken = alice.events().subscribe(e -> { })) {
            Job job = alice.jobs().submit(JobSpec.script("#!/bin/sh\nexec sleep 600\n"));
            CompletableFuture<Job> end = alice.jobs().onTerminal(job.id());
            waitFor(() -> daemon.inFlight(user, Kind.WAIT) == 1, "a long poll instead of a second stream");
            assertThat(end).isNotDone();
            daemon.engine().jobs().cancel(job.id());
            assertThat(end.get(60, TimeUnit.SECONDS).state()).isEqualTo(JobState.CANCELED);
        }
    }

    /**
     * Streams the client closed count against the streams' limit only until the daemon notices the close; they never
     * hold the slots of ordinary requests.
     */
    @Test
    void closedEventStreamsDoNotLockTheirUserOut(@TempDir Path dir) throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        IssuedUser aliceId = pki.issueUser("alice", false);
        String user = aliceId.uuid().toString();
        OkHttpClient alice = streamingClient(pki, aliceId);
        try (Daemon daemon = startDaemon(dir, DaemonConfig.ClientLimits.defaults())) {
            String base = "https://localhost:" + daemon.port();
            for (int i = 0; i < DaemonConfig.ClientLimits.DEFAULT_STREAMS_PER_USER; i++) {
                try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/events").build())
                        .execute()) {
                    assertThat(r.code()).isEqualTo(200);
                    assertThat(r.body().source().readUtf8Line()).isEqualTo(": keepalive");
                }
            }
            for (int i = 0; i < DaemonConfig.defaults().clients().maxRequestsPerUser() + 1; i++) {
                try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1").build()).execute()) {
                    assertThat(r.code()).as("a plain request after closing every stream").isEqualTo(200);
                }
            }
            waitFor(() -> daemon.inFlight(user, Kind.STREAM) == 0, "the closed streams were noticed");
            try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/events").build()).execute()) {
                assertThat(r.code()).as("a stream once the closed ones were noticed").isEqualTo(200);
            }
        }
    }

    /** Past their own limits, streams and long polls get 429 naming the limit; ordinary calls go on meanwhile. */
    @Test
    void streamsAndLongPollsBeyondTheirLimitsGet429NamingIt(@TempDir Path dir) throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        IssuedUser aliceId = pki.issueUser("alice", false);
        String user = aliceId.uuid().toString();
        OkHttpClient alice = streamingClient(pki, aliceId);
        DaemonConfig.ClientLimits d = DaemonConfig.ClientLimits.defaults();
        DaemonConfig.ClientLimits limits = new DaemonConfig.ClientLimits(2, d.maxConnectionsPerUser(),
                d.minDataRate(), d.requestTimeout(), d.idleTimeout(), 2, 1);
        try (Daemon daemon = startDaemon(dir, limits)) {
            String base = "https://localhost:" + daemon.port();
            String job;
            try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/jobs").post(
                    RequestBody.create("#!/bin/sh\nexec sleep 600\n", MediaType.get("text/plain"))).build())
                    .execute()) {
                assertThat(r.code()).isEqualTo(201);
                job = JSON.readTree(r.body().bytes()).get("id").asText();
            }
            List<Response> open = new ArrayList<>();
            Call poll = alice.newCall(new Request.Builder().url(base + "/api/v1/jobs/" + job + "?wait=300").build());
            try {
                for (int i = 0; i < 2; i++) {
                    Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/events").build()).execute();
                    open.add(r);
                    assertThat(r.code()).isEqualTo(200);
                }
                assertThat(refusal(alice, base + "/api/v1/events").path("limit").asText())
                        .isEqualTo("max-streams-per-user");
                CompletableFuture<Integer> polled = new CompletableFuture<>();
                poll.enqueue(new okhttp3.Callback() {
                    @Override
                    public void onFailure(Call call, java.io.IOException e) {
                        polled.completeExceptionally(e);
                    }

                    @Override
                    public void onResponse(Call call, Response response) {
                        response.close();
                        polled.complete(response.code());
                    }
                });
                waitFor(() -> daemon.inFlight(user, Kind.WAIT) == 1, "the long poll is in flight");
                assertThat(refusal(alice, base + "/api/v1/jobs/" + job + "?wait=300").path("limit").asText())
                        .isEqualTo("max-waits-per-user");
                for (int i = 0; i < 5; i++) {
                    try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/jobs/" + job).build())
                            .execute()) {
                        assertThat(r.code()).as("an ordinary call beside full stream and wait counts").isEqualTo(200);
                    }
                }
                assertThat(polled).isNotDone();
            } finally {
                poll.cancel();
                open.forEach(Response::close);
                daemon.engine().jobs().cancel(dev.skyport.api.JobId.parse(job));
            }
        }
    }

    /**
     * A client that goes away from GET /api/v1/events does not leave its ordered subscription (a thread each) behind.
     * How soon the daemon notices is printed, not asserted (it watches the connection for the peer's close; failing
     * that, the second keepalive write after the close finds it, 10 s at most); the deadline is only the test's bound.
     */
    @Test
    void aClosedEventStreamEndsItsSubscription(@TempDir Path dir) throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        IssuedUser aliceId = pki.issueUser("alice", false);
        String user = aliceId.uuid().toString();
        OkHttpClient alice = streamingClient(pki, aliceId);
        try (Daemon daemon = startDaemon(dir, DaemonConfig.ClientLimits.defaults())) {
            String base = "https://localhost:" + daemon.port();
            for (int i = 0; i < 5; i++) {
                Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/events").build()).execute();
                assertThat(r.code()).isEqualTo(200);
                assertThat(r.body().source().readUtf8Line()).isEqualTo(": keepalive");
                r.close();
            }
            alice.connectionPool().evictAll();
            Instant start = Instant.now();
            waitFor(() -> orderedThreads() == 0 && daemon.inFlight(user, Kind.STREAM) == 0,
                    "subscriptions of closed streams ended");
            System.out.println("closed event streams: subscriptions ended "
                    + Duration.between(start, Instant.now()).toMillis() + " ms after the close");
        }
    }

    private static JsonNode refusal(OkHttpClient client, String url) throws Exception {
        try (Response r = client.newCall(new Request.Builder().url(url).build()).execute()) {
            assertThat(r.code()).as(url).isEqualTo(429);
            return JSON.readTree(r.body().bytes());
        }
    }

    /** A daemon on a random loopback port over {@code dir}'s spool and data, with {@code limits}. */
    private static Daemon startDaemon(Path dir, DaemonConfig.ClientLimits limits) {
        return Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1")
                .withSpool(dir.resolve("spool")).withDataDir(dir.resolve("data")).withClients(limits));
    }

    /** {@code user}'s mTLS client without a read timeout, for streams that stay quiet. */
    private static OkHttpClient streamingClient(ClusterPki pki, IssuedUser user) {
        return Mtls.client(user, pki.layout().caChain()).newBuilder().readTimeout(Duration.ZERO).build();
    }

    private static long orderedThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("skyport-events-ordered-")).count();
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (!condition.getAsBoolean()) {
            assertThat(Instant.now()).as(what).isBefore(deadline);
            Thread.sleep(50); // polling, bounded by the deadline
        }
    }
}
