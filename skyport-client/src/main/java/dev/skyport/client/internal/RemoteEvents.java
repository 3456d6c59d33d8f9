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
     * The {@code lastSequence} member of {@code GET /api/v1}, which every daemon that serves {@code /api/v1/events}
     * reports; a reply without it comes from a daemon this client cannot subscribe to without risking a gap.
     *
     * @throws SkyPortException when the daemon does not report it (too old or not a Sky Port daemon)
     */
    @Override
    public long lastSequence() {
        JsonNode seq = port.getJson(Optional.empty(), port.transport().url().build()).path("lastSequence");
        if (seq.isIntegralNumber() && seq.canConvertToLong() && seq.asLong() >= 0) {
            return seq.asLong();
        }
        throw new SkyPortException("the daemon does not report lastSequence in GET /api/v1: it is too old for this "
                + "client or not a compatible Sky Port daemon");
    }

    @Override
    public List<JobTransitioned> history(JobId id) {
        Objects.requireNonNull(id, "id");
        JsonNode items = port.getJson(Optional.of(id), port.transport().url("jobs", id.toString(), "events").build());
        return WireJson.readItems(items, n -> (JobTransitioned) WireJson.readEvent(n));
    }
}
