package dev.skyport.client.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skyport.api.Events;
import dev.skyport.api.Flavor;
import dev.skyport.api.Health;
import dev.skyport.api.Image;
import dev.skyport.api.JobId;
import dev.skyport.api.Jobs;
import dev.skyport.api.Node;
import dev.skyport.api.Partition;
import dev.skyport.api.RemoteSite;
import dev.skyport.api.SkyPort;
import dev.skyport.client.internal.wire.WireJson;
import okhttp3.HttpUrl;
import okhttp3.Request;
import okhttp3.Response;

import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * {@link SkyPort} over {@code /api/v1}. The client itself is the caller's own identity (an admin's certificate gives
 * the admin view); {@link #asUser} views send the impersonation headers, which the daemon honours for admins only.
 * Views share the client's transport: closing a view does nothing, closing the client ends every view's calls and
 * subscriptions.
 */
public final class RemoteSkyPort implements SkyPort {
    static final String ACT_AS_USER = "SkyPort-Act-As-User";
    static final String ACT_AS_USER_NAME = "SkyPort-Act-As-User-Name";

    /** The user a view acts as. */
    record User(String id, String name) {
    }

    private final Transport transport;
    private final Set<AutoCloseable> open;
    private final Optional<User> user;
    private final RemoteJobs jobs;
    private final RemoteEvents events;

    private RemoteSkyPort(Transport transport, Set<AutoCloseable> open, Optional<User> user) {
        this.transport = transport;
        this.open = open;
        this.user = user;
        this.jobs = new RemoteJobs(this);
        this.events = new RemoteEvents(this);
    }

    public static RemoteSkyPort over(Transport transport) {
        return new RemoteSkyPort(transport, ConcurrentHashMap.newKeySet(), Optional.empty());
    }

    Transport transport() {
        return transport;
    }

    /** What {@link #close()} must end: subscriptions register here while they are open. */
    Set<AutoCloseable> open() {
        return open;
    }

    /** A GET of {@code url} with this view's headers. */
    Request.Builder request(HttpUrl url) {
        Request.Builder b = new Request.Builder().url(url);
        user.ifPresent(u -> b.header(ACT_AS_USER, u.id()).header(ACT_AS_USER_NAME, u.name()));
        return b;
    }

    /** GET {@code path} (idempotent, so retried) and parse its JSON body. */
    JsonNode getJson(Optional<JobId> subject, HttpUrl url) {
        return WireJson.parse(transport.executeForBytes(request(url).build(), true, subject, "get"));
    }

    @Override
    public Jobs jobs() {
        return jobs;
    }

    @Override
    public List<Node> nodes() {
        return list("nodes", WireJson::readNode);
    }

    @Override
    public List<Flavor> flavors() {
        return list("flavors", WireJson::readFlavor);
    }

    @Override
    public List<Image> images() {
        return list("images", WireJson::readImage);
    }

    @Override
    public List<RemoteSite> remotes() {
        return list("remotes", WireJson::readRemoteSite);
    }

    @Override
    public List<Partition> partitions() {
        return list("partitions", WireJson::readPartition);
    }

    private <T> List<T> list(String what, Function<JsonNode, T> item) {
        return WireJson.readItems(getJson(Optional.empty(), transport.url(what).build()), item);
    }

    @Override
    public Events events() {
        return events;
    }

    /**
     * The daemon's health. A DOWN engine answers 503 with the health as its body: that is a reply, not a failure to
     * retry.
     */
    @Override
    public Health health() {
        Request request = request(transport.url("health").build()).build();
        for (int attempt = 0; ; attempt++) {
            try (Response response = transport.http().newCall(request).execute()) {
                if (response.code() == 200 || response.code() == 503) {
                    byte[] body = Transport.bytesOf(response);
                    try {
                        return WireJson.readHealth(WireJson.parse(body));
                    } catch (RuntimeException notHealth) {
                        if (response.code() == 200) {
                            throw notHealth;
                        }
                        // a 503 from something in front of the daemon: retried below like any other
                    }
                } else {
                    throw ErrorMapping.toException(response.code(), Transport.bytesOf(response), Optional.empty(),
                            "get");
                }
            } catch (IOException e) {
                if (attempt >= transport.settings().retries() || transport.isClosed()) {
                    throw transport.unreachable(e);
                }
            }
            if (attempt >= transport.settings().retries()) {
                throw new dev.skyport.api.SkyPortException("the daemon answered 503 without its health");
            }
            try {
                Thread.sleep(transport.backoff().delay(attempt).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new dev.skyport.api.SkyPortException("interrupted while asking for the health", e);
            }
        }
    }

    @Override
    public SkyPort asUser(String userId) {
        return asUser(userId, userId);
    }

    @Override
    public SkyPort asUser(String userId, String userName) {
        Objects.requireNonNull(userId, "user");
        Objects.requireNonNull(userName, "userName");
        checkedName(userName, "user name");
        checkedName(userId, "user");
        if (user.isPresent()) {
            if (user.get().id().equals(userId)) {
                return this;
            }
            throw new IllegalStateException("this is the view of user '" + user.get().name()
                    + "'; only the manager itself gives views of other users");
        }
        return new RemoteSkyPort(transport, open, Optional.of(new User(userId, userName)));
    }

    /** The rule of {@code EmbeddedBuilder.owner}, checked here so a bad name fails before any request. */
    private static void checkedName(String value, String field) {
        if (value.isBlank()) {
            throw new IllegalArgumentException(field + " must not be blank");
        }
        for (int i = 0; i < value.length(); i++) {
            if (Character.isISOControl(value.charAt(i))) {
                throw new IllegalArgumentException(field + " must not contain control characters");
            }
        }
    }

    /** Ends every subscription and call and closes the connections; on a view, does nothing. */
    @Override
    public void close() {
        if (user.isPresent()) {
            return;
        }
        for (AutoCloseable c : List.copyOf(open)) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing a subscription only cancels its call and stops its thread
            }
        }
        open.clear();
        transport.close();
    }

    @Override
    public String toString() {
        return user.map(u -> "SkyPort client view of user '" + u.name() + "'").orElse("SkyPort client");
    }
}
