package dev.skyport.samples.daemon.pki;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * What the daemon's HTTPS listener needs from the spool, read without touching any CA key: its own key, the chain it
 * serves ({@code secure/node/cert.pem}: leaf, then cluster CA) and the cluster CA it trusts for client certificates
 * (spec A.4: the cluster CA is the trust anchor, as upstream does). Client certificates are not required to carry the
 * clientAuth EKU by the JDK's PKIX trust manager, so upstream user certificates keep working. With Jetty, pass
 * {@link #sslContext()} to {@code SslContextFactory.Server#setSslContext} and call {@code setNeedClientAuth(true)}, or
 * use {@link #keyStore} and {@link #trustStore}. After {@code skyport certs server}, load the credentials again.
 *
 * @param key       the server's private key
 * @param chain     the server's certificate chain, leaf first
 * @param clusterCa the trust anchor for client certificates
 */
public record ServerCredentials(PrivateKey key, List<X509Certificate> chain, X509Certificate clusterCa) {
    private static final String ALIAS = "skyport";

    public ServerCredentials {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(clusterCa, "clusterCa");
        chain = List.copyOf(chain);
        if (chain.isEmpty()) {
            throw new PkiException("a server certificate chain needs at least the server certificate");
        }
    }

    /** Reads the server key, the served chain and the cluster CA certificate of {@code layout}. */
    public static ServerCredentials load(SpoolLayout layout) {
        return new ServerCredentials(Pem.readPrivateKey(layout.serverKey()), Pem.readCertificates(layout.serverCert()),
                Pem.readCertificates(layout.clusterCert()).get(0));
    }

    /** An in-memory PKCS#12 key store holding the key and chain under alias {@code skyport}, protected by {@code password}. */
    public KeyStore keyStore(char[] password) {
        try {
            KeyStore store = emptyStore();
            store.setKeyEntry(ALIAS, key, password, chain.toArray(X509Certificate[]::new));
            return store;
        } catch (GeneralSecurityException e) {
            throw new PkiException("the server key does not fit its certificate: " + e.getMessage(), e);
        }
    }

    /** An in-memory key store whose only trusted certificate is the cluster CA. */
    public KeyStore trustStore() {
        try {
            KeyStore store = emptyStore();
            store.setCertificateEntry("cluster-ca", clusterCa);
            return store;
        } catch (GeneralSecurityException e) {
            throw new PkiException("cannot hold the cluster CA in a key store: " + e.getMessage(), e);
        }
    }

    /**
     * A TLS context that serves the chain and trusts client certificates issued by the cluster CA. Whether a client
     * certificate is required is a per-socket setting ({@code SSLParameters#setNeedClientAuth}, or Jetty's
     * {@code SslContextFactory.Server#setNeedClientAuth}); the upstream clients always send one.
     */
    public SSLContext sslContext() {
        try {
            char[] password = "in-memory only".toCharArray();
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(keyStore(password), password);
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trustStore());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new PkiException("cannot set up TLS with the spool's server certificate: " + e.getMessage(), e);
        }
    }

    private static KeyStore emptyStore() throws GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try {
            store.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException("cannot create an empty key store", e);
        }
        return store;
    }
}
