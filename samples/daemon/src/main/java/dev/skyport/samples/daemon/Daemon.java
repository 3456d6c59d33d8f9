package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.SkyPort;
import dev.skyport.core.micrometer.MicrometerMetrics;
import dev.skyport.samples.daemon.pki.PkiException;
import dev.skyport.samples.daemon.pki.ServerCredentials;
import dev.skyport.samples.daemon.pki.SpoolLayout;
import dev.skyport.samples.daemon.tes.TesApi;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Sky Port daemon: the embedded engine behind HTTPS with client certificates. Serves its facades ({@link Routes}:
 * the upstream-compatible {@code /user} API, the native {@code /api/v1} and GA4GH TES {@code /ga4gh/tes/v1}) on one
 * port (8443 by default); admins also read the engine's meters at {@code /metrics} ({@link MetricsEndpoint}).
 * {@link #close()} stops the listener, then the engine; running jobs keep running and are re-attached at the next
 * start.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);

    private final SkyPort sky;
    private final Server server;
    private final ServerConnector connector;
    private final ClientGuard guard;
    private final UserConnections connections;
    private final String tlsProvider;

    private Daemon(SkyPort sky, Server server, ServerConnector connector, ClientGuard guard,
                   UserConnections connections, String tlsProvider) {
        this.tlsProvider = tlsProvider;
        this.sky = sky;
        this.server = server;
        this.connector = connector;
        this.guard = guard;
        this.connections = connections;
    }

    /**
     * Starts the engine and the listener.
     *
     * @throws dev.skyport.samples.daemon.pki.PkiException when the spool has no usable certificates
     * @throws DaemonException                             when the port cannot be bound
     */
    public static Daemon start(DaemonConfig config) {
        return start(config, ServerTls.Choice.fromEnvironment(System.getenv()));
    }

    /** {@link #start(DaemonConfig)} on the TLS implementation {@code tlsChoice}. */
    static Daemon start(DaemonConfig config, ServerTls.Choice tlsChoice) {
        SpoolLayout layout = new SpoolLayout(config.spool());
        for (Path file : List.of(layout.serverCert(), layout.serverKey(), layout.clusterCert())) {
            if (!Files.isRegularFile(file)) {
                throw new PkiException("missing " + file + " (create the certificates with `skyport certs init"
                        + " --spool " + layout.spool() + "`)");
            }
        }
        ServerTls tls = ServerTls.create(ServerCredentials.load(layout), tlsChoice);

        // Many users share this engine: without isolation a job could read other users' outputs and the keys in the
        // spool, so the daemon does not start without it unless the operator opted out (job-isolation: none).
        // Input files are read by the daemon, which can read its store and keys: each user stages only from a
        // directory of their own.
        PrometheusMeterRegistry metrics = DaemonMetrics.registry();
        SkyPort sky = config.embedded().requireJobIsolation().metrics(MicrometerMetrics.of(metrics))
                .gateOption("job-isolation-hide", config.spool().toAbsolutePath().normalize().toString())
                .inputRoot(layout.inputRoot()).start();
        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("skyport-http");
        Server server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        secure.setSniHostCheck(false);
        http.addCustomizer(secure);
        // HTTP/1.1 only: the upstream clients offer nothing else.
        ServerConnector connector = new ServerConnector(server,
                new SslConnectionFactory(tls.factory(), HttpVersion.HTTP_1_1.asString()), new HttpConnectionFactory(http));
        connector.setHost(config.bind());
        connector.setPort(config.port());
        // A peer that sends or takes nothing at all; slow ones are ClientGuard's business.
        connector.setIdleTimeout(config.clients().idleTimeout().toMillis());
        server.addConnector(connector);
        ObjectMapper json = new ObjectMapper();
        Callers callers = new Callers(layout, config.admins());
        UserConnections connections = new UserConnections(callers, config.clients().maxConnectionsPerUser());
        connector.addBean(connections);
        int maxScriptBytes = config.limits().maxScriptBytes();
        Routes routes = new Routes(Map.of("/user", new UserApi(sky, callers, maxScriptBytes, json),
                ApiV1.PREFIX, new ApiV1(sky, callers, maxScriptBytes),
                TesApi.PREFIX, new TesApi(sky, request -> tesUser(callers, request), layout.inputRoot(),
                        maxScriptBytes),
                MetricsEndpoint.PATH, new MetricsEndpoint(metrics, callers)), json);
        ClientGuard guard = new ClientGuard(callers, config.clients(), json, routes);
        server.setHandler(guard);
        server.setErrorHandler(new JsonErrorHandler(json));
        server.setStopTimeout(5_000);
        try {
            server.start();
        } catch (Exception e) {
            stopQuietly(server);
            sky.close();
            if (e instanceof BindException || e.getCause() instanceof BindException) {
                throw new DaemonException("cannot listen on " + config.bind() + ":" + config.port() + ": "
                        + e.getMessage());
            }
            throw new DaemonException("cannot start the HTTPS listener: " + e.getMessage());
        }
        LOG.info("Sky Port daemon listening on https://{}:{} (spool {}, data {}, TLS on {})", config.bind(),
                connector.getLocalPort(), config.spool(), config.dataDir(), tls.provider());
        return new Daemon(sky, server, connector, guard, connections, tls.provider());
    }

    private static Optional<TesApi.User> tesUser(Callers callers, org.eclipse.jetty.server.Request request) {
        try {
            Callers.Caller caller = callers.identify(request);
            return Optional.of(new TesApi.User(caller.id(), caller.user()));
        } catch (Callers.UnregisteredException e) {
            return Optional.empty();
        }
    }

    /** The port the listener is bound to (the chosen one when the configuration said 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /** Which TLS implementation serves the listener: {@code Conscrypt} or {@code JDK}. */
    String tlsProvider() {
        return tlsProvider;
    }

    /** The engine behind the daemon, seeing every user's jobs. */
    public SkyPort engine() {
        return sky;
    }

    /** Requests of a registered user now in flight (see {@link DaemonConfig.ClientLimits#maxRequestsPerUser()}). */
    int requestsInFlight(String user) {
        return guard.inFlight(user);
    }

    /** Long-lived exchanges (event streams, long polls and follows) of a registered user now in flight. */
    int inFlight(String user, ClientGuard.Kind kind) {
        return guard.inFlight(user, kind);
    }

    /** Connections of a registered user now open (see {@link DaemonConfig.ClientLimits#maxConnectionsPerUser()}). */
    int connectionsOpen(String user) {
        return connections.open(user);
    }

    @Override
    public void close() {
        stopQuietly(server);
        sky.close();
    }

    private static void stopQuietly(Server server) {
        try {
            server.stop();
        } catch (Exception e) {
            LOG.warn("stopping the HTTPS listener: {}", e.toString());
        }
    }

    /** The daemon cannot start or serve, with the reason a user can act on. */
    public static final class DaemonException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public DaemonException(String message) {
            super(message);
        }
    }
}
