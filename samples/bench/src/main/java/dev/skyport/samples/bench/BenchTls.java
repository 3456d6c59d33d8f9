package dev.skyport.samples.bench;

import dev.skyport.samples.daemon.pki.IssuedUser;
import dev.skyport.samples.daemon.pki.Pem;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;

/** OkHttp clients that present a user's certificate to the daemon, as the upstream clients do. */
final class BenchTls {
    private final SSLContext context;
    private final X509TrustManager trust;

    private BenchTls(SSLContext context, X509TrustManager trust) {
        this.context = context;
        this.trust = trust;
    }

    /** A client with keep-alive. */
    static OkHttpClient client(IssuedUser user, Path caBundle) throws GeneralSecurityException, IOException {
        return of(user, caBundle).client(new ConnectionPool(4, 1, TimeUnit.MINUTES));
    }

    OkHttpClient client(ConnectionPool pool) {
        return new OkHttpClient.Builder().sslSocketFactory(context.getSocketFactory(), trust)
                .connectionPool(pool).build();
    }

    static BenchTls of(IssuedUser user, Path caBundle) throws GeneralSecurityException, IOException {
        char[] password = "bench".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("user", Pem.readPrivateKey(user.key()), password,
                Pem.readCertificates(user.cert()).toArray(X509Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, password);
        KeyStore cas = KeyStore.getInstance("PKCS12");
        cas.load(null, null);
        int i = 0;
        for (X509Certificate ca : Pem.readCertificates(caBundle)) {
            cas.setCertificateEntry("ca" + i++, ca);
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(cas);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), trust.getTrustManagers(), null);
        return new BenchTls(context, (X509TrustManager) trust.getTrustManagers()[0]);
    }
}
