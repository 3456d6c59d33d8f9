package dev.skyport.samples.daemon;

import dev.skyport.samples.daemon.pki.PkiException;
import dev.skyport.samples.daemon.pki.ServerCredentials;
import org.conscrypt.Conscrypt;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.TrustManagerFactory;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.Security;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.X509CertSelector;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The HTTPS listener's TLS: the spool's server chain, client certificates required and validated against the cluster
 * CA, TLS 1.3 and 1.2, on BoringSSL (Conscrypt) when its native code loads here and on the JDK's own TLS otherwise.
 *
 * <p>Why a native provider: the upstream clients open a new connection for every call, and on the JDK 17's pure-Java
 * elliptic curves a full mTLS handshake cost the daemon ~7.7 ms of CPU (ECDSA P-256 sign ~1.6 ms, each of the two
 * verifies ~3.4 ms, X25519 ~1.6 ms, measured on this 2-core machine), which bounded the daemon at ~110 such calls/s
 * with every core busy. BoringSSL does the same four operations in ~0.2 ms. The client's chain is still validated by
 * the JDK's PKIX trust manager (the same checks, revocation off, as before), with only its signature checks done by
 * Conscrypt's {@code Signature}: the provider is appended last to the JVM's list so that nothing else picks it by
 * default.
 *
 * <p>Session resumption: a client that keeps its TLS session (the JDK's and OkHttp's clients do; Python's
 * {@code requests} does not) resumes it for {@link #SESSION_LIFETIME}, which skips the certificate signatures and
 * checks; the identity is the certificate of the full handshake, kept in the session. A user retired meanwhile is still
 * refused, since {@code Callers} checks the registration per request. TLS 1.3 resumes from stateless session tickets,
 * TLS 1.2 from the server's session cache; on Conscrypt the tickets are asked for per engine and its output is drained
 * on every wrap ({@link DrainingSslEngine}). The upstream clients never resume, so they pay the full handshake.
 */
final class ServerTls {
    private static final Logger LOG = LoggerFactory.getLogger(ServerTls.class);
    /** The environment variable that chooses the provider: {@code auto} (default), {@code native} or {@code jdk}. */
    static final String ENVIRONMENT = "SKYPORT_TLS_PROVIDER";
    /**
     * How long a session can be resumed without a full handshake. Bounded because a resumption skips the checks of
     * the full handshake, such as the client certificate's expiry; ten minutes already spares a client that calls
     * every few seconds almost every full handshake.
     */
    static final Duration SESSION_LIFETIME = Duration.ofMinutes(10);
    /** Sessions kept by the server (TLS 1.2 sessions live here; TLS 1.3 ones travel in the ticket). */
    private static final int SESSION_CACHE_SIZE = 20_000;
    private static final String NATIVE_NAME = "Conscrypt";
    /** Whether the fallback was announced: once per JVM, as for the daemon's other optional features. */
    private static boolean warned;

    /** Which TLS implementation serves the listener. */
    enum Choice {
        /** BoringSSL when its native code loads here, else the JDK's (with one warning). */
        AUTO,
        /** BoringSSL or the daemon does not start. */
        NATIVE,
        /** The JDK's own TLS. */
        JDK;

        /** The choice {@link #ENVIRONMENT} makes, {@link #AUTO} when it is absent or empty. */
        static Choice fromEnvironment(Map<String, String> environment) {
            String value = environment.getOrDefault(ENVIRONMENT, "").strip();
            if (value.isEmpty()) {
                return AUTO;
            }
            try {
                return valueOf(value.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new Daemon.DaemonException(ENVIRONMENT + ": '" + value
                        + "' is not one of auto, native, jdk");
            }
        }
    }

    private final SslContextFactory.Server factory;
    private final String provider;

    private ServerTls(SslContextFactory.Server factory, String provider) {
        this.factory = factory;
        this.provider = provider;
    }

    /**
     * The listener's TLS for {@code credentials}.
     *
     * @throws Daemon.DaemonException when {@link Choice#NATIVE} was asked for and the native code cannot load
     * @throws PkiException           when the credentials cannot be used
     */
    static ServerTls create(ServerCredentials credentials, Choice choice) {
        Optional<Provider> provider = choice == Choice.JDK ? Optional.empty() : nativeProvider(choice);
        SslContextFactory.Server tls = provider.isEmpty() ? new SslContextFactory.Server() : new NativeFactory();
        tls.setSslContext(context(credentials, provider));
        tls.setNeedClientAuth(true);
        tls.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        // Clients check the server's name themselves; the server has one certificate for every name it answers to.
        tls.setSniRequired(false);
        return new ServerTls(tls, provider.map(Provider::getName).orElse("JDK"));
    }

    /**
     * Engines with TLS 1.3 session tickets on (Conscrypt sends none unless asked per engine), wrapped so that the
     * tickets' bytes leave with the reply they came with ({@link DrainingSslEngine}).
     */
    private static final class NativeFactory extends SslContextFactory.Server {
        @Override
        public SSLEngine newSSLEngine() {
            return new DrainingSslEngine(super.newSSLEngine());
        }

        @Override
        public SSLEngine newSSLEngine(String host, int port) {
            return new DrainingSslEngine(super.newSSLEngine(host, port));
        }

        @Override
        public void customize(SSLEngine engine) {
            super.customize(engine);
            SSLEngine conscrypt = engine instanceof DrainingSslEngine draining ? draining.delegate() : engine;
            if (Conscrypt.isConscrypt(conscrypt)) {
                Conscrypt.setUseSessionTickets(conscrypt, true);
            }
        }
    }

    SslContextFactory.Server factory() {
        return factory;
    }

    /** {@code Conscrypt} or {@code JDK}: which implementation serves. */
    String provider() {
        return provider;
    }

    private static SSLContext context(ServerCredentials credentials, Optional<Provider> provider) {
        try {
            char[] password = "in-memory only".toCharArray();
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(credentials.keyStore(password), password);
            // The JDK's default trust manager for a key store, spelled out so that only where signatures are checked
            // changes: PKIX, the store's certificates as anchors, no revocation checks.
            PKIXBuilderParameters pkix = new PKIXBuilderParameters(credentials.trustStore(), new X509CertSelector());
            pkix.setRevocationEnabled(false);
            provider.ifPresent(p -> pkix.setSigProvider(p.getName()));
            TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX");
            trust.init(new CertPathTrustManagerParameters(pkix));
            SSLContext context = provider.isPresent() ? SSLContext.getInstance("TLS", provider.get())
                    : SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            SSLSessionContext sessions = context.getServerSessionContext();
            sessions.setSessionTimeout((int) SESSION_LIFETIME.toSeconds());
            sessions.setSessionCacheSize(SESSION_CACHE_SIZE);
            return context;
        } catch (GeneralSecurityException e) {
            throw new PkiException("cannot set up TLS with the spool's server certificate: " + e.getMessage(), e);
        }
    }

    /** Conscrypt, registered last in the JVM's providers; empty (with one warning) when its native code cannot load. */
    private static synchronized Optional<Provider> nativeProvider(Choice choice) {
        Provider registered = Security.getProvider(NATIVE_NAME);
        if (registered != null) {
            return Optional.of(registered);
        }
        String why;
        try {
            if (Conscrypt.isAvailable()) {
                Provider conscrypt = Conscrypt.newProvider();
                Security.addProvider(conscrypt);
                return Optional.of(conscrypt);
            }
            why = unavailability();
        } catch (LinkageError e) {
            // the jar is missing from the class path, or its classes cannot link on this JVM
            why = e.toString();
        }
        if (choice == Choice.NATIVE) {
            throw new Daemon.DaemonException("the native TLS provider (" + ENVIRONMENT + "=native) cannot load here: "
                    + why);
        }
        if (warned) {
            return Optional.empty();
        }
        warned = true;
        LOG.warn("TLS runs on the JDK's own implementation, ~30 times slower per handshake: the native provider"
                + " (Conscrypt) cannot load here: {}", why);
        return Optional.empty();
    }

    private static String unavailability() {
        try {
            Conscrypt.checkAvailability();
            return "unknown reason";
        } catch (Throwable e) { // UnsatisfiedLinkError and its kin, as Conscrypt reports them
            return e.toString();
        }
    }
}
