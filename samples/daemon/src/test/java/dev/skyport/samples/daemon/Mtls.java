package dev.skyport.samples.daemon;

import dev.skyport.samples.daemon.pki.IssuedUser;
import dev.skyport.samples.daemon.pki.Pem;
import okhttp3.OkHttpClient;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;

import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;

/** OkHttp clients as the upstream clients connect: a client certificate and the CA bundle, one connection a call. */
final class Mtls {
    private Mtls() {
    }

    static OkHttpClient client(IssuedUser user, Path caBundle) {
        X509Certificate cert = Pem.readCertificates(user.cert()).get(0);
        HeldCertificate held = new HeldCertificate(new KeyPair(cert.getPublicKey(), Pem.readPrivateKey(user.key())),
                cert);
        return base(builder(caBundle).heldCertificate(held).build());
    }

    static OkHttpClient anonymous(Path caBundle) {
        return base(builder(caBundle).build());
    }

    private static HandshakeCertificates.Builder builder(Path caBundle) {
        HandshakeCertificates.Builder b = new HandshakeCertificates.Builder();
        for (X509Certificate ca : Pem.readCertificates(caBundle)) {
            b.addTrustedCertificate(ca);
        }
        return b;
    }

    private static OkHttpClient base(HandshakeCertificates certificates) {
        return new OkHttpClient.Builder()
                .sslSocketFactory(certificates.sslSocketFactory(), certificates.trustManager())
                .connectTimeout(Duration.ofSeconds(5))
                .readTimeout(Duration.ofSeconds(5)) // the upstream clients' timeout
                .retryOnConnectionFailure(false)
                .followRedirects(false)
                .build();
    }
}
