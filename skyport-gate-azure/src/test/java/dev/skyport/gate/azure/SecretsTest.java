package dev.skyport.gate.azure;

import com.azure.core.http.HttpClient;
import com.azure.core.http.netty.NettyAsyncHttpClientBuilder;
import com.github.tomakehurst.wiremock.client.WireMock;
import dev.skyport.api.MutableClock;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLException;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Map;
import java.util.Optional;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The production credential path (spec 4.2 option B): the real {@code ClientSecretCredential} and
 * {@code ClientCertificateCredential} of azure-identity sign in at a WireMock authority over HTTPS, and the resource
 * manager is called with the token they got. Everything the gate, the SDK and MSAL log (at debug) is captured: the
 * client secret and the certificate password never appear there, in an exception or in a toString.
 */
class SecretsTest {
    private static final String TOKEN_PATH = "/" + AzureWire.TENANT + "/oauth2/v2.0/token";
    private static final String PFX_PASSWORD = "pfx-Passw0rd~Never.Printed";

    @TempDir
    Path dir;
    final AzureWire wire = new AzureWire(true);
    final ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream err;

    @BeforeEach
    void captureLog() {
        err = System.err;
        // Tee: the captured copy is checked, the original still reaches the surefire report.
        System.setErr(new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                log.write(b);
                err.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                log.write(b, off, len);
                err.write(b, off, len);
            }
        }, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void close() {
        System.setErr(err);
        wire.close();
    }

    /** A client that trusts WireMock's self-signed certificate: test only. */
    static HttpClient trustingWireMock() {
        try {
            var ssl = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
            return new NettyAsyncHttpClientBuilder(reactor.netty.http.client.HttpClient.create()
                    .secure(spec -> spec.sslContext(ssl))).build();
        } catch (SSLException e) {
            throw new IllegalStateException(e);
        }
    }

    private Map<String, String> options() {
        Map<String, String> o = wire.options();
        o.put("authority-host", wire.httpsBase());
        o.put("endpoint", wire.httpsBase());
        return o;
    }

    private AzureGateProvider.Parts start(Map<String, String> o) {
        HttpClient http = trustingWireMock();
        return AzureGateProvider.parts(new GateConfig(dir, o, new MutableClock()),
                c -> AzureClients.connect(c, Optional.of(http)), Runnable::run);
    }

    private void refuseTokens() {
        wire.stub(post(urlPathEqualTo(TOKEN_PATH)).willReturn(aResponse().withStatus(401)
                .withHeader("Content-Type", "application/json")
                .withBody("{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client"
                        + " secret provided. Ensure the secret being sent in the request is the client secret value,"
                        + " not the client secret ID.\",\"error_codes\":[7000215]}")));
    }

    private String captured() {
        System.err.flush();
        return log.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aRefusedClientSecretStopsTheGateNamingTheKeyAndNeverShowsTheSecret() {
        refuseTokens();
        GateException e = catchThrowableOfType(GateException.class, () -> start(options()));
        assertThat(e.isTransient()).isFalse();
        assertThat(e).hasMessageContaining("client-secret").hasMessageContaining(AzureWire.CLIENT)
                .hasMessageContaining("AADSTS7000215").hasMessageNotContaining(AzureWire.SECRET);
        // The real credential sent the secret to the (WireMock) authority, so the log had a chance to show it.
        wire.server.verify(postRequestedFor(urlPathEqualTo(TOKEN_PATH))
                .withRequestBody(containing("client_secret="
                        + java.net.URLEncoder.encode(AzureWire.SECRET, StandardCharsets.UTF_8))));
        assertNoSecretIn(e);
        assertThat(captured()).isNotEmpty().doesNotContain(AzureWire.SECRET);
    }

    @Test
    void aGrantedTokenIsUsedForEveryResourceManagerCall() {
        wire.stub(post(urlPathEqualTo(TOKEN_PATH)).willReturn(WireMock.okJson("{\"token_type\":\"Bearer\","
                + "\"expires_in\":3599,\"ext_expires_in\":3599,\"access_token\":\"granted-token-1\"}")));
        wire.healthy();
        AzureGateProvider.Parts parts = start(options());
        assertThat(parts.catalogue().sizes()).hasSize(1);
        wire.server.verify(WireMock.getRequestedFor(urlPathEqualTo("/subscriptions/" + AzureWire.SUB))
                .withHeader("Authorization", equalTo("Bearer granted-token-1")));
        wire.server.verify(WireMock.getRequestedFor(urlPathEqualTo(AzureWire.COMPUTE + "/skus"))
                .withHeader("Authorization", equalTo("Bearer granted-token-1")));
        assertThat(captured()).doesNotContain(AzureWire.SECRET).doesNotContain("granted-token-1");
    }

    @Test
    void aRefusedCertificateNeverShowsItsPassword() throws Exception {
        HeldCertificate held = new HeldCertificate.Builder().commonName("skyport-node").rsa2048().build();
        KeyStore p12 = KeyStore.getInstance("PKCS12");
        p12.load(null, null);
        p12.setKeyEntry("node", held.keyPair().getPrivate(), PFX_PASSWORD.toCharArray(),
                new Certificate[] {held.certificate()});
        Path pfx = dir.resolve("node.pfx");
        try (OutputStream out = Files.newOutputStream(pfx)) {
            p12.store(out, PFX_PASSWORD.toCharArray());
        }
        refuseTokens();
        Map<String, String> o = options();
        o.remove("client-secret");
        o.put("client-certificate", pfx.toString());
        o.put("client-certificate-password", PFX_PASSWORD);
        GateException e = catchThrowableOfType(GateException.class, () -> start(o));
        assertThat(e.isTransient()).isFalse();
        assertThat(e).hasMessageContaining("client-certificate").hasMessageContaining("AADSTS7000215");
        // The certificate was used: MSAL signed a client assertion with its key.
        wire.server.verify(postRequestedFor(urlPathEqualTo(TOKEN_PATH))
                .withRequestBody(containing("client_assertion=")));
        assertNoSecretIn(e);
        assertThat(e.getMessage()).doesNotContain(PFX_PASSWORD);
        assertThat(AzureGateConfig.parse(o).toString()).doesNotContain(PFX_PASSWORD);
        assertThat(captured()).isNotEmpty().doesNotContain(PFX_PASSWORD);
    }

    @Test
    void anAuthorityThatCannotBeReachedIsTransient() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Map<String, String> o = options();
        o.put("authority-host", "https://localhost:" + closed);
        GateException e = catchThrowableOfType(GateException.class, () -> start(o));
        assertThat(e.isTransient()).isTrue();
        assertThat(e).hasMessageContaining("cannot reach the sign-in service").hasMessageContaining("client-secret");
        assertThat(captured()).doesNotContain(AzureWire.SECRET);
    }

    private static void assertNoSecretIn(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            assertThat(String.valueOf(t.getMessage())).doesNotContain(AzureWire.SECRET).doesNotContain(PFX_PASSWORD);
            assertThat(t.toString()).doesNotContain(AzureWire.SECRET).doesNotContain(PFX_PASSWORD);
        }
    }
}
