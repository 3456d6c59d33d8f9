package dev.skyport.client.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skyport.api.Events;
import dev.skyport.api.JobId;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.Subscription;
import dev.skyport.client.internal.wire.WireJson;
import okhttp3.Request;
import okhttp3.Response;

import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;

/** {@link Events} over {@code /api/v1}: history as JSON, subscriptions as Server-Sent Events that resume themselves. */
final class RemoteEvents implements Events {
    private final RemoteSkyPort port;

    RemoteEvents(RemoteSkyPort port) {
        this.port = port;
    }

    /**
     * Resumable from the start: it subscribes after {@link #lastSequence()}, so even a connection dropped before the
     * first event resumes without a gap.
     */
    @Override
    public Subscription subscribe(Consumer<? super SkyPortEvent> listener) {
        Objects.requireNonNull(listener, "listener");
        return EventStream.open(port, OptionalLong.of(lastSequence()), listener);
    }

    @Override
    public Subscription subscribeAfter(long afterSequence, Consumer<? super SkyPortEvent> listener) {
        Objects.requireNonNull(listener, "listener");
        if (afterSequence < 0) {
            throw new IllegalArgumentException("afterSequence must not be negative, got " + afterSequence);
        }
        return EventStream.open(port, OptionalLong.of(afterSequence), listener);
    }

    /**
     * The {@code lastSequence} member of {@code GET /api/v1} when the daemon reports it (one cheap call); else the
     * largest resume point {@code GET /api/v1/events?after=N} accepts, which the wire contract bounds by the same
     * number (a larger one is refused with 400 before the stream starts): found by doubling, then bisecting, in about
     * 2·log2(sequence) short requests.
     */
    @Override
    public long lastSequence() {
        JsonNode root = port.getJson(Optional.empty(), port.transport().url().build());
        JsonNode seq = root.path("lastSequence");
        if (seq.isIntegralNumber() && seq.canConvertToLong() && seq.asLong() >= 0) {
            return seq.asLong();
        }
        long accepted = 0; // 0 is never after the last sequence
        long refused = 1;
        while (acceptsResumeAfter(refused)) {
            accepted = refused;
            if (refused > Long.MAX_VALUE / 2) {
                return accepted;
            }
            refused *= 2;
        }
        while (refused - accepted > 1) {
            long middle = accepted + (refused - accepted) / 2;
            if (acceptsResumeAfter(middle)) {
                accepted = middle;
            } else {
                refused = middle;
            }
        }
        return accepted;
    }

    private boolean acceptsResumeAfter(long sequence) {
        Transport transport = port.transport();
        Request request = port.request(transport.url("events").addQueryParameter("after", Long.toString(sequence))
                .build()).header("Accept", "text/event-stream").build();
        for (int attempt = 0; ; attempt++) {
            try (Response response = transport.streaming().newCall(request).execute()) {
                if (response.isSuccessful()) {
                    return true; // closing it ends the stream at once
                }
                byte[] body = Transport.bytesOf(response);
                if (response.code() == 400 && refusedResumePoint(body)) {
                    return false;
                }
                throw ErrorMapping.toException(response.code(), body, Optional.empty(), "subscribe");
            } catch (IOException e) {
                if (attempt >= transport.settings().retries() || transport.isClosed()) {
                    throw transport.unreachable(e);
                }
            }
            try {
                Thread.sleep(transport.backoff().delay(attempt).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new dev.skyport.api.SkyPortException("interrupted while asking for the last sequence", e);
            }
        }
    }

    private static boolean refusedResumePoint(byte[] body) {
        try {
            return WireJson.readError(WireJson.parse(body)).field().filter("after"::equals).isPresent();
        } catch (RuntimeException notOurs) {
            return false;
        }
    }

    @Override
    public List<JobTransitioned> history(JobId id) {
        Objects.requireNonNull(id, "id");
        JsonNode items = port.getJson(Optional.of(id), port.transport().url("jobs", id.toString(), "events").build());
        return WireJson.readItems(items, n -> (JobTransitioned) WireJson.readEvent(n));
    }
}
