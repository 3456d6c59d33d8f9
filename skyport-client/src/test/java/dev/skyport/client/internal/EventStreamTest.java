package dev.skyport.client.internal;

import com.sun.net.httpserver.HttpExchange;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.Subscription;
import dev.skyport.client.internal.wire.WireJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static dev.skyport.client.internal.ScriptedServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The subscription's own logic: resume with Last-Event-ID after a dropped stream, no gap, no duplicate. */
class EventStreamTest {
    private static final JobId JOB = new JobId(UUID.randomUUID());
    private ScriptedServer server;
    private SkyPort sky;
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void start() throws Exception {
        server = new ScriptedServer();
        ClientSettings settings = new ClientSettings(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ZERO,
                3, Duration.ofMillis(1), Duration.ofMillis(20), Duration.ofSeconds(2));
        sky = RemoteSkyPort.over(Transport.create(server.base(), settings, Optional.empty(), Optional.empty()));
    }

    @AfterEach
    void stop() {
        release.countDown();
        sky.close();
        server.close();
    }

    private static String frame(long sequence) {
        JobTransitioned e = new JobTransitioned(sequence, Instant.parse("2026-01-01T00:00:00Z"), JOB,
                Optional.empty(), JobState.QUEUED, Optional.empty(), "event " + sequence);
        return "id: " + sequence + "\nevent: job\ndata: " + WireJson.text(WireJson.writeEvent(e)) + "\n\n";
    }

    /** Sends {@code sequences} as SSE frames, then ends the stream (or holds it open until the test ends). */
    private ScriptedServer.Reply stream(boolean holdOpen, long... sequences) {
        return exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            out.write(": keepalive\n\n".getBytes(StandardCharsets.UTF_8));
            for (long s : sequences) {
                out.write(frame(s).getBytes(StandardCharsets.UTF_8));
            }
            out.flush();
            if (holdOpen) {
                awaitRelease();
            }
            exchange.close();
        };
    }

    private void awaitRelease() {
        try {
            release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static List<Long> take(BlockingQueue<SkyPortEvent> queue, int n) throws InterruptedException {
        List<Long> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SkyPortEvent e = queue.poll(30, TimeUnit.SECONDS);
            assertThat(e).as("event %d of %d", i + 1, n).isNotNull();
            got.add(e.sequence());
        }
        return got;
    }

    @Test
    void aDroppedStreamResumesAfterTheLastDeliveredEventWithoutGapOrDuplicate() throws Exception {
        server.then(stream(false, 11, 12, 13));
        server.then(stream(false)); // a stream that ends before any event: resume from 13 again
        server.then(ScriptedServer.hangUp());
        server.then(stream(true, 12, 13, 14, 15)); // a server replaying what was delivered already
        BlockingQueue<SkyPortEvent> got = new LinkedBlockingQueue<>();
        try (Subscription ignored = sky.events().subscribeAfter(10, got::add)) {
            assertThat(take(got, 5)).containsExactly(11L, 12L, 13L, 14L, 15L);
        }
        assertThat(server.seen).extracting(s -> s.header("Last-Event-ID").orElse("-"))
                .containsExactly("10", "13", "13", "13");
        assertThat(got).isEmpty();
    }

    @Test
    void subscribeStartsAfterTheDaemonsLastSequenceSoEvenAnEarlyDropLosesNothing() throws Exception {
        server.then(json(200, "{\"apiVersion\":\"v1\",\"user\":{\"id\":\"a\",\"name\":\"a\",\"admin\":true},"
                + "\"lastSequence\":41}"));
        server.then(stream(false));
        server.then(stream(true, 42));
        BlockingQueue<SkyPortEvent> got = new LinkedBlockingQueue<>();
        try (Subscription ignored = sky.events().subscribe(got::add)) {
            assertThat(take(got, 1)).containsExactly(42L);
        }
        assertThat(server.seen.get(1).header("Last-Event-ID")).hasValue("41");
        assertThat(server.seen.get(2).header("Last-Event-ID")).hasValue("41");
    }

    @Test
    void aDaemonThatDoesNotReportItsLastSequenceIsRefusedAsIncompatible() {
        server.then(json(200, "{\"apiVersion\":\"v1\",\"user\":{\"id\":\"a\",\"name\":\"a\",\"admin\":true}}"));
        assertThatThrownBy(() -> sky.events().subscribe(e -> { }))
                .isExactlyInstanceOf(SkyPortException.class).hasMessageContaining("too old");
        assertThat(server.seen).hasSize(1); // no stream was opened, no resume point probed
    }

    @Test
    void aBadResumePointFailsTheCall() {
        server.then(json(400, "{\"error\":\"invalid_header\",\"message\":\"Last-Event-ID: 99 is after the last "
                + "sequence 5\",\"field\":\"Last-Event-ID\"}"));
        assertThatThrownBy(() -> sky.events().subscribeAfter(99, e -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("99");
        assertThatThrownBy(() -> sky.events().subscribeAfter(-1, e -> { }))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aRefusedViewFailsTheCallWithTheDaemonsMessageBeforeItReturns() {
        server.then(json(403, "{\"error\":\"forbidden\",\"message\":\"carol may not act as alice\"}"));
        assertThatThrownBy(() -> sky.events().subscribeAfter(0, e -> { }))
                .isExactlyInstanceOf(SkyPortException.class).hasMessageContaining("carol may not act as alice");
        assertThat(server.seen).hasSize(1);
    }

    @Test
    void aBusyDaemonIsAskedAgainAfterItsRetryAfterBothOnTheFirstConnectionAndOnAResume() throws Exception {
        String busy = "{\"error\":\"engine_unavailable\",\"message\":\"the store is failing\"}";
        server.then(json(503, busy, "Retry-After", "0"));
        server.then(stream(false, 1));
        server.then(json(503, busy, "Retry-After", "0"));
        server.then(stream(true, 2));
        BlockingQueue<SkyPortEvent> got = new LinkedBlockingQueue<>();
        try (Subscription ignored = sky.events().subscribeAfter(0, got::add)) {
            assertThat(take(got, 2)).containsExactly(1L, 2L);
        }
        assertThat(server.seen).extracting(s -> s.header("Last-Event-ID").orElse("-"))
                .containsExactly("0", "0", "1", "1");
    }

    @Test
    void aFailingListenerDoesNotEndTheSubscriptionAndCloseStopsDelivery() throws Exception {
        server.then(stream(true, 1, 2, 3));
        BlockingQueue<SkyPortEvent> got = new LinkedBlockingQueue<>();
        Subscription s = sky.events().subscribeAfter(0, e -> {
            if (e.sequence() == 2) {
                throw new IllegalStateException("listener bug");
            }
            got.add(e);
        });
        assertThat(take(got, 2)).containsExactly(1L, 3L);
        s.close();
        s.close();
        assertThat(server.seen).hasSize(1);
    }

    @SuppressWarnings("unused")
    private static void unused(HttpExchange e) {
    }
}
