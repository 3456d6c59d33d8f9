package dev.skyport.client;

import dev.skyport.api.SkyPort;
import dev.skyport.client.internal.ClientSettings;
import dev.skyport.client.internal.RemoteSkyPort;
import dev.skyport.client.internal.Transport;
import okhttp3.HttpUrl;
import okhttp3.tls.HandshakeCertificates;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * {@link SkyPort} in another process: the daemon's {@code /api/v1} over HTTPS with a client certificate. The
 * returned {@code SkyPort} implements every method of the interface and passes the same contract tests as the
 * embedded engine; it keeps one pool of connections, retries only what is safe to send twice, and resumes event
 * subscriptions by itself. Close it to end its calls, subscriptions and connections.
 *
 * <pre>{@code
 * try (SkyPort sky = SkyPortClient.connect(URI.create("https://head:8443"), ClientTls.fromSwmDirectory(home))) {
 *     Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\necho hi\n"));
 * }
 * }</pre>
 */
public final class SkyPortClient {
    /** The variable {@link #fromEnvironment()} reads the daemon's address from. */
    public static final String URL_VARIABLE = "SKYPORT_URL";

    private SkyPortClient() {
    }

    /**
     * {@return a client of the daemon at {@code url} ({@code https://host:port}; a path other than {@code /} is the API
     * root, else {@code /api/v1}) with the default settings} No request is made until the first call.
     *
     * @param url where the daemon listens
     * @param tls the client certificate and the CAs trusted for the daemon's
     * @throws IllegalArgumentException when {@code url} is not an https URL
     */
    public static SkyPort connect(URI url, ClientTls tls) {
        return builder(url, tls).build();
    }

    /**
     * {@return a client of the daemon at {@code $SKYPORT_URL} with the identity {@code skyport certs} installed in
     * {@code ~/.swm} ({@code ~} is {@code $HOME} when set, as for the upstream clients)}
     *
     * @throws IllegalStateException    when {@code SKYPORT_URL} is not set
     * @throws IllegalArgumentException when it is not an https URL or the certificate files are unusable
     */
    public static SkyPort fromEnvironment() {
        return fromEnvironment(System.getenv(), System.getProperty("user.home"));
    }

    static SkyPort fromEnvironment(Map<String, String> env, String userHome) {
        String url = env.get(URL_VARIABLE);
        if (url == null || url.isBlank()) {
            throw new IllegalStateException(URL_VARIABLE + " is not set; set it to the daemon's address, e.g. "
                    + "https://head-node:8443");
        }
        URI uri;
        try {
            uri = URI.create(url.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(URL_VARIABLE + " is not a URL: " + e.getMessage(), e);
        }
        apiRoot(uri); // a wrong URL is the first thing to say, before any file is read
        String home = env.get("HOME");
        Path homeDir = home != null && !home.isBlank() && Path.of(home).isAbsolute() ? Path.of(home)
                : Path.of(userHome);
        return connect(uri, ClientTls.fromSwmDirectory(homeDir, env));
    }

    /**
     * {@return a builder for a client with settings other than the defaults}
     *
     * @param url where the daemon listens
     * @param tls the client certificate and the CAs trusted for the daemon's
     */
    public static Builder builder(URI url, ClientTls tls) {
        return new Builder(url, tls);
    }

    /**
     * Timeouts and retries of a client. Defaults: 10 s to connect, 30 s of silence in a reply, no bound on a whole
     * call (long polls and log follows last as long as they must; each wait has its own deadline), 4 retries of an
     * idempotent call with exponential back-off and jitter from 200 ms to 5 s, and a {@code Retry-After} of up to
     * 30 s honoured. Every setter validates and names the setting when it refuses.
     */
    public static final class Builder {
        private final HttpUrl base;
        private final ClientTls tls;
        private ClientSettings settings = ClientSettings.defaults();

        private Builder(URI url, ClientTls tls) {
            this.base = apiRoot(Objects.requireNonNull(url, "url"));
            this.tls = Objects.requireNonNull(tls, "tls");
        }

        /**
         * The longest a TCP and TLS connection to the daemon may take to open.
         *
         * @param timeout positive
         * @return this builder
         */
        public Builder connectTimeout(Duration timeout) {
            settings = new ClientSettings(timeout, settings.readTimeout(), settings.callTimeout(), settings.retries(),
                    settings.initialBackoff(), settings.maxBackoff(), settings.maxRetryAfter());
            return this;
        }

        /**
         * The longest silence while a reply is read (long polls add their own wait to it).
         *
         * @param timeout positive
         * @return this builder
         */
        public Builder readTimeout(Duration timeout) {
            settings = new ClientSettings(settings.connectTimeout(), timeout, settings.callTimeout(),
                    settings.retries(), settings.initialBackoff(), settings.maxBackoff(), settings.maxRetryAfter());
            return this;
        }

        /**
         * The longest a plain request-reply call may take in all; {@link Duration#ZERO} for no bound. Waits, log
         * follows and event streams are not bounded by it.
         *
         * @param timeout zero or positive
         * @return this builder
         */
        public Builder callTimeout(Duration timeout) {
            settings = new ClientSettings(settings.connectTimeout(), settings.readTimeout(), timeout,
                    settings.retries(), settings.initialBackoff(), settings.maxBackoff(), settings.maxRetryAfter());
            return this;
        }

        /**
         * How many times an idempotent call is tried again (0..100).
         *
         * @param retries tries after the first one
         * @return this builder
         */
        public Builder retries(int retries) {
            settings = new ClientSettings(settings.connectTimeout(), settings.readTimeout(), settings.callTimeout(),
                    retries, settings.initialBackoff(), settings.maxBackoff(), settings.maxRetryAfter());
            return this;
        }

        /**
         * The first retry waits about {@code initial}, each next one twice as long, never more than {@code max}.
         *
         * @param initial the wait before the first retry
         * @param max the longest wait between two tries
         * @return this builder
         */
        public Builder backoff(Duration initial, Duration max) {
            settings = new ClientSettings(settings.connectTimeout(), settings.readTimeout(), settings.callTimeout(),
                    settings.retries(), initial, max, settings.maxRetryAfter());
            return this;
        }

        /**
         * The longest {@code Retry-After} the client waits for before retrying; a longer one fails the call.
         *
         * @param max the longest {@code Retry-After} honoured
         * @return this builder
         */
        public Builder maxRetryAfter(Duration max) {
            settings = new ClientSettings(settings.connectTimeout(), settings.readTimeout(), settings.callTimeout(),
                    settings.retries(), settings.initialBackoff(), settings.maxBackoff(), max);
            return this;
        }

        /** {@return the client} No request is made until the first call. */
        public SkyPort build() {
            HandshakeCertificates certificates = tls.handshakeCertificates();
            return RemoteSkyPort.over(Transport.create(base, settings, Optional.of(certificates.sslSocketFactory()),
                    Optional.of(certificates.trustManager())));
        }
    }

    static HttpUrl apiRoot(URI url) {
        if (!"https".equalsIgnoreCase(url.getScheme())) {
            throw new IllegalArgumentException("the daemon's URL must be https://host:port (it serves mutual TLS "
                    + "only), got '" + url + "'");
        }
        HttpUrl parsed = HttpUrl.get(url.toString());
        if (parsed == null) {
            throw new IllegalArgumentException("not a URL: '" + url + "'");
        }
        if (parsed.encodedPath().equals("/")) {
            return parsed.newBuilder().addPathSegments("api/v1").query(null).fragment(null).build();
        }
        return parsed.newBuilder().query(null).fragment(null).build();
    }
}
