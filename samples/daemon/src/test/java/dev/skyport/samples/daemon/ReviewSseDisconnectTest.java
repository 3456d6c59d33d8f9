package dev.skyport.samples.daemon;

import dev.skyport.samples.daemon.pki.ClusterPki;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Review of issue 12: a client that goes away from GET /api/v1/events must not leave its ordered subscription (a
 * thread each) behind; the daemon notices at the latest with the next keepalive write.
 */
class ReviewSseDisconnectTest {
    @Test
    void aClosedEventStreamEndsItsSubscription(@TempDir Path dir) throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        OkHttpClient alice = Mtls.client(pki.issueUser("alice", false), pki.layout().caChain()).newBuilder()
                .readTimeout(Duration.ZERO).build();
        try (Daemon daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1")
                .withSpool(dir.resolve("spool")).withDataDir(dir.resolve("data")))) {
            String base = "https://localhost:" + daemon.port();
            for (int i = 0; i < 5; i++) {
                Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/events").build()).execute();
                assertThat(r.code()).isEqualTo(200);
                assertThat(r.body().source().readUtf8Line()).isEqualTo(": keepalive");
                r.close();
            }
            alice.connectionPool().evictAll();
            Instant start = Instant.now();
            Instant deadline = start.plus(Duration.ofSeconds(50));
            while (orderedThreads() > 0) {
                assertThat(Instant.now()).as("subscriptions of closed streams ended").isBefore(deadline);
                Thread.sleep(100); // polling, bounded by the deadline
            }
            System.out.println("REVIEW: subscriptions ended " + Duration.between(start, Instant.now()) + " after close");
        }
    }

    private static long orderedThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("skyport-events-ordered-")).count();
    }

    /** Streams the client closed still count as its requests in flight (ClientGuard) until the daemon notices. */
    @Test
    void closedEventStreamsDoNotLockTheirUserOut(@TempDir Path dir) throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        OkHttpClient alice = Mtls.client(pki.issueUser("alice", false), pki.layout().caChain()).newBuilder()
                .readTimeout(Duration.ZERO).build();
        try (Daemon daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1")
                .withSpool(dir.resolve("spool")).withDataDir(dir.resolve("data")))) {
            String base = "https://localhost:" + daemon.port();
            for (int i = 0; i < DaemonConfig.defaults().clients().maxRequestsPerUser(); i++) {
                try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/events").build())
                        .execute()) {
                    assertThat(r.code()).isEqualTo(200);
                    assertThat(r.body().source().readUtf8Line()).isEqualTo(": keepalive");
                }
            }
            try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1").build()).execute()) {
                assertThat(r.code()).as("a plain request after closing every stream").isEqualTo(200);
            }
        }
    }
}
