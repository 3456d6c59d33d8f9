package dev.skyport.samples.daemon;

import dev.skyport.samples.daemon.Callers.UnregisteredException;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * At most {@code max-connections-per-user} open connections per client certificate identity: the registered user, or
 * for a certificate of the cluster CA that names no user, the certificate itself. A connection beyond the bound is
 * closed as soon as its TLS handshake names the client, before it can send a request. Counting by certificate, not by
 * address, because users behind one NAT (and every test client) share an address. Added to the connector as a bean;
 * thread-safe.
 */
final class UserConnections implements SslHandshakeListener, Connection.Listener {
    private static final Logger LOG = LoggerFactory.getLogger(UserConnections.class);

    private final Callers callers;
    private final int maxPerUser;
    private final Map<String, Integer> open = new ConcurrentHashMap<>();
    /** The identity each counted connection was counted under, by its TLS engine. */
    private final Map<SSLEngine, String> counted = new ConcurrentHashMap<>();

    UserConnections(Callers callers, int maxPerUser) {
        this.callers = callers;
        this.maxPerUser = maxPerUser;
    }

    /** Connections of {@code user} now open (for tests and diagnostics). */
    int open(String user) {
        return open.getOrDefault(user, 0);
    }

    @Override
    public void handshakeSucceeded(Event event) {
        SSLEngine engine = event.getSSLEngine();
        String identity;
        try {
            Certificate[] chain = engine.getSession().getPeerCertificates();
            if (chain.length == 0 || !(chain[0] instanceof X509Certificate cert)) {
                return;
            }
            identity = identity(cert);
        } catch (SSLPeerUnverifiedException e) {
            return; // the connector requires a certificate; nothing to count without one
        }
        int now = open.merge(identity, 1, Integer::sum);
        counted.put(engine, identity);
        if (now > maxPerUser) {
            LOG.debug("closing a connection of {}: {} open, max-connections-per-user is {}", identity, now,
                    maxPerUser);
            event.getEndPoint().close();
        }
    }

    @Override
    public void onClosed(Connection connection) {
        if (connection instanceof SslConnection ssl) {
            String identity = counted.remove(ssl.getSSLEngine());
            if (identity != null) {
                open.computeIfPresent(identity, (u, n) -> n > 1 ? n - 1 : null);
            }
        }
    }

    private String identity(X509Certificate cert) {
        try {
            return callers.identify(cert).id();
        } catch (UnregisteredException e) {
            return "unregistered certificate " + cert.getSubjectX500Principal().getName() + " #"
                    + cert.getSerialNumber().toString(16);
        }
    }
}
