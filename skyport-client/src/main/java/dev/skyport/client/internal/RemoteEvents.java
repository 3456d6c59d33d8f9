package dev.skyport.client.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skyport.api.Events;
import dev.skyport.api.JobId;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.Subscription;
import dev.skyport.client.internal.wire.WireJson;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;

/** {@link Events} over {@code /api/v1}: history as JSON, subscriptions as Server-Sent Events that resume by themselves. */
final class RemoteEvents implements Events {
    private final RemoteSkyPort port;

    RemoteEvents(RemoteSkyPort port) {
        this.port = port;
    }

    /**
     * Resumable from the start: it subscribes after {@link #lastSequence()}, so even a connection dropped before the
     * first event resumes without a gap. A daemon that does not report the sequence gets a plain "from now"
     * subscription, which resumes from the first event it delivered.
     */
    @Override
    public Subscription subscribe(Consumer<? super SkyPortEvent> listener) {
        Objects.requireNonNull(listener, "listener");
        return EventStream.open(port, lastSequenceIfReported(), listener);
    }

    @Override
    public Subscription subscribeAfter(long afterSequence, Consumer<? super SkyPortEvent> listener) {
        Objects.requireNonNull(listener, "listener");
        if (afterSequence < 0) {
            throw new IllegalArgumentException("afterSequence must not be negative, got " + afterSequence);
        }
        return EventStream.open(port, OptionalLong.of(afterSequence), listener);
    }

    @Override
    public long lastSequence() {
        return lastSequenceIfReported().orElseThrow(() -> new SkyPortException(
                "the daemon does not report its last event sequence (GET /api/v1 has no lastSequence)"));
    }

    private OptionalLong lastSequenceIfReported() {
        JsonNode root = port.getJson(Optional.empty(), port.transport().url().build());
        JsonNode seq = root.path("lastSequence");
        return seq.canConvertToLong() && seq.isIntegralNumber() ? OptionalLong.of(seq.asLong()) : OptionalLong.empty();
    }

    @Override
    public List<JobTransitioned> history(JobId id) {
        Objects.requireNonNull(id, "id");
        JsonNode items = port.getJson(Optional.of(id), port.transport().url("jobs", id.toString(), "events").build());
        return WireJson.readItems(items, n -> (JobTransitioned) WireJson.readEvent(n));
    }
}
