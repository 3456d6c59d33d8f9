package dev.skyport.gate.azure;

import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.azure.core.exception.ClientAuthenticationException;
import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpPipeline;
import com.azure.core.http.HttpPipelineBuilder;
import com.azure.core.http.policy.ExponentialBackoffOptions;
import com.azure.core.http.policy.FixedDelay;
import com.azure.core.http.policy.HttpLogDetailLevel;
import com.azure.core.http.policy.HttpLogOptions;
import com.azure.core.http.policy.HttpPipelinePolicy;
import com.azure.core.http.policy.RetryOptions;
import com.azure.core.http.policy.RetryPolicy;
import com.azure.core.management.AzureEnvironment;
import com.azure.core.management.profile.AzureProfile;
import com.azure.identity.ClientCertificateCredentialBuilder;
import com.azure.identity.ClientSecretCredentialBuilder;
import com.azure.identity.CredentialUnavailableException;
import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.resourcemanager.AzureResourceManager;
import dev.skyport.gate.GateException;
import dev.skyport.gate.azure.AzureGateConfig.ClientCertificate;
import dev.skyport.gate.azure.AzureGateConfig.ClientSecret;
import dev.skyport.gate.azure.AzureGateConfig.Credential;
import dev.skyport.gate.azure.AzureGateConfig.DefaultCredential;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds what the gate talks to Azure with, once per gate: the credential (so that its tokens are cached and reused,
 * unlike upstream's credential per request), the profile and the {@link AzureResourceManager}. Also the plain-HTTP
 * pipeline the tests point at WireMock (spec 4.2, option A), since a token credential refuses {@code http://}.
 */
final class AzureClients {
    /** The error code Microsoft Entra puts in its messages ({@code AADSTS7000215: Invalid client secret ...}). */
    private static final Pattern AADSTS = Pattern.compile("AADSTS\\d+");

    /** Longer than MSAL's own connect and read timeouts, so that theirs are the errors seen. */
    private static final Duration TOKEN_TIMEOUT = Duration.ofMinutes(2);

    private AzureClients() {
    }

    /** Connects as configured and proves the credential by asking for a token; see {@link #checkToken}. */
    static AzureResourceManager connect(AzureGateConfig config) {
        return connect(config, Optional.empty());
    }

    /** As {@link #connect(AzureGateConfig)}, over {@code http} when given (the tests' client trusting WireMock). */
    static AzureResourceManager connect(AzureGateConfig config, Optional<HttpClient> http) {
        AzureEnvironment environment = environment(config.endpoint, config.authorityHost);
        TokenCredential credential = credential(config, environment, http);
        checkToken(config, credential, environment);
        return resourceManager(config, credential, environment, http);
    }

    static TokenCredential credential(AzureGateConfig config, AzureEnvironment environment,
                                      Optional<HttpClient> http) {
        Credential c = config.credential;
        // A sovereign cloud signs in at its own authority unless authority-host says otherwise.
        Optional<String> authority = config.authorityHost.map(URI::toString)
                .or(() -> config.endpoint.flatMap(AzureClients::knownCloud)
                        .filter(e -> e != AzureEnvironment.AZURE).map(AzureEnvironment::getActiveDirectoryEndpoint));
        try {
            if (c instanceof ClientSecret s) {
                ClientSecretCredentialBuilder b = new ClientSecretCredentialBuilder()
                        .tenantId(config.tenantId.orElseThrow()).clientId(config.clientId.orElseThrow())
                        .clientSecret(s.secret().reveal());
                authority(b, authority, http);
                return b.build();
            }
            if (c instanceof ClientCertificate cert) {
                ClientCertificateCredentialBuilder b = new ClientCertificateCredentialBuilder()
                        .tenantId(config.tenantId.orElseThrow()).clientId(config.clientId.orElseThrow());
                if (cert.pfx()) {
                    b.pfxCertificate(cert.path().toString())
                            .clientCertificatePassword(cert.password().orElseThrow().reveal());
                } else {
                    b.pemCertificate(cert.path().toString());
                }
                authority(b, authority, http);
                return b.build();
            }
            DefaultAzureCredentialBuilder b = new DefaultAzureCredentialBuilder();
            config.tenantId.ifPresent(b::tenantId);
            // With credential: default a client-id selects a user-assigned managed identity.
            config.clientId.ifPresent(b::managedIdentityClientId);
            authority.ifPresent(b::authorityHost);
            http.ifPresent(b::httpClient);
            return b.build();
        } catch (RuntimeException e) {
            // A builder's message may quote what it was given; only the key and the exception's kind are shown.
            throw GateException.permanent("azure gate option " + c.key() + " cannot be used: the Azure identity"
                    + " library refused it (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * An explicit authority host is used as given: instance discovery (a request to login.microsoftonline.com that
     * validates the host) is off, since a private or sovereign authority is not in Microsoft's public list.
     */
    private static void authority(com.azure.identity.AadCredentialBuilderBase<?> b, Optional<String> authority,
                                  Optional<HttpClient> http) {
        authority.ifPresent(a -> {
            b.authorityHost(a);
            b.disableInstanceDiscovery();
        });
        http.ifPresent(b::httpClient);
    }

    /**
     * Asks for a token for the resource manager, so that a wrong secret, certificate or tenant stops the gate at start
     * with the key named, instead of failing the first job. The message carries Entra's error code (AADSTS...), never
     * the identity library's text as is: a secret is scrubbed from it should one appear.
     *
     * @throws GateException permanent when the token is refused, transient when the authority cannot be reached
     */
    static void checkToken(AzureGateConfig config, TokenCredential credential, AzureEnvironment environment) {
        TokenRequestContext scope = new TokenRequestContext().addScopes(scope(environment));
        try {
            // The asynchronous call with the scope the SDK's ARM policy uses, so that a token cache can serve both.
            // Against WireMock's localhost authority MSAL still asked twice (its cache missed; not investigated):
            // one more token at start, then the policy's own cache holds it until it expires.
            credential.getToken(scope).block(TOKEN_TIMEOUT);
        } catch (RuntimeException e) {
            throw tokenFailure(config, e);
        }
    }

    static GateException tokenFailure(AzureGateConfig config, RuntimeException e) {
        String key = config.credential.key();
        if (causedByIo(e)) {
            return GateException.transientFailure("azure gate cannot reach the sign-in service"
                    + config.authorityHost.map(u -> " at " + u).orElse("") + " to check " + key + " ("
                    + ioKind(e) + "); will retry", null, Optional.empty());
        }
        String detail = code(config, e);
        if (e instanceof CredentialUnavailableException) {
            return GateException.permanent("azure gate option " + key + ": no default credential is available on"
                    + " this machine (environment variables, managed identity or az login)" + detail);
        }
        String who = config.credential instanceof DefaultCredential ? key
                : key + " (client-id " + config.clientId.orElse("") + ", tenant-id " + config.tenantId.orElse("")
                + ")";
        return GateException.permanent("azure gate option " + who + " was refused when the gate asked for a token"
                + detail + (e instanceof ClientAuthenticationException ? "" : " [" + e.getClass().getSimpleName()
                + "]"));
    }

    private static String code(AzureGateConfig config, RuntimeException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null) {
                Matcher code = AADSTS.matcher(scrub(config, m));
                if (code.find()) {
                    return ": " + code.group();
                }
            }
        }
        return "";
    }

    private static String scrub(AzureGateConfig config, String text) {
        if (config.credential instanceof ClientSecret s) {
            return s.secret().scrub(text);
        }
        if (config.credential instanceof ClientCertificate c && c.password().isPresent()) {
            return c.password().get().scrub(text);
        }
        return text;
    }

    static boolean causedByIo(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException || t instanceof TimeoutException) {
                return !(t instanceof javax.net.ssl.SSLHandshakeException);
            }
        }
        return false;
    }

    static String ioKind(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException || t instanceof TimeoutException) {
                return t.getClass().getSimpleName();
            }
        }
        return e.getClass().getSimpleName();
    }

    /**
     * The scope the SDK's ARM policy asks tokens for: the management endpoint and {@code /.default}, double slash
     * included ({@code https://management.core.windows.net//.default}), so that the start-up check proves the token
     * the gate will use.
     */
    static String scope(AzureEnvironment environment) {
        return environment.getManagementEndpoint() + "/.default";
    }

    /**
     * Public Azure; a sovereign cloud (China, US Government) when {@code endpoint} is its resource manager, so that
     * the token's audience and the sign-in authority are that cloud's; otherwise a copy of public Azure's <b>full</b>
     * endpoint map with the resource manager (and its token audience) replaced by {@code endpoint}: a map with only
     * the replaced keys makes {@code authenticate} fail on a missing graph endpoint (spec 4.2).
     */
    static AzureEnvironment environment(Optional<URI> endpoint, Optional<URI> authorityHost) {
        if (endpoint.isEmpty() && authorityHost.isEmpty()) {
            return AzureEnvironment.AZURE;
        }
        AzureEnvironment base = endpoint.flatMap(AzureClients::knownCloud).orElse(AzureEnvironment.AZURE);
        Map<String, String> map = new HashMap<>(base.getEndpoints());
        if (endpoint.isPresent() && knownCloud(endpoint.get()).isEmpty()) {
            String url = withSlash(endpoint.get());
            map.put("resourceManagerEndpointUrl", url);
            map.put("managementEndpointUrl", url);
        }
        authorityHost.ifPresent(a -> map.put("activeDirectoryEndpointUrl", withSlash(a)));
        return new AzureEnvironment(map);
    }

    private static Optional<AzureEnvironment> knownCloud(URI endpoint) {
        for (AzureEnvironment e : AzureEnvironment.knownEnvironments()) {
            URI rm = URI.create(e.getResourceManagerEndpoint());
            if (rm.getHost() != null && rm.getHost().equalsIgnoreCase(endpoint.getHost())) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    static AzureResourceManager resourceManager(AzureGateConfig config, TokenCredential credential,
                                                AzureEnvironment environment, Optional<HttpClient> http) {
        AzureProfile profile = new AzureProfile(config.tenantId.orElse(null), config.subscriptionId, environment);
        AzureResourceManager.Configurable configurable = AzureResourceManager.configure();
        http.ifPresent(configurable::withHttpClient);
        return configurable
                // The SDK's default budget (3 retries, 0.8 s doubling to 8 s, Retry-After honoured), stated here so
                // that a change of the default is seen; the gate's own budget per partition sits above it.
                .withRetryOptions(new RetryOptions(new ExponentialBackoffOptions().setMaxRetries(3)
                        .setBaseDelay(Duration.ofMillis(800)).setMaxDelay(Duration.ofSeconds(8))))
                // No HTTP logging: headers carry the bearer token, and bodies of VM requests carry SSH keys and
                // cloud-init. Users who need a trace raise com.azure's level and set AZURE_HTTP_LOG_DETAIL_LEVEL.
                .withLogOptions(new HttpLogOptions().setLogLevel(HttpLogDetailLevel.NONE))
                .authenticate(credential, profile)
                .withSubscription(config.subscriptionId);
    }

    /**
     * Option A of spec 4.2, for tests: a plain-HTTP pipeline to {@code endpoint} with a fixed Authorization header and
     * no token credential (which would refuse {@code http://}), and retries as {@code retries} says.
     */
    static AzureResourceManager overPlainHttp(URI endpoint, String tenantId, String subscriptionId,
                                              RetryPolicy retries) {
        HttpPipelinePolicy bearer = (context, next) -> {
            context.getHttpRequest().setHeader(com.azure.core.http.HttpHeaderName.AUTHORIZATION, "Bearer test-token");
            return next.process();
        };
        HttpPipeline pipeline = new HttpPipelineBuilder().httpClient(HttpClient.createDefault())
                .policies(retries, bearer).build();
        AzureProfile profile = new AzureProfile(tenantId, subscriptionId,
                environment(Optional.of(endpoint), Optional.empty()));
        return AzureResourceManager.authenticate(pipeline, profile).withSubscription(subscriptionId);
    }

    /** No retries: a test's stub answers once and the test sees the SDK's first answer. */
    static RetryPolicy noRetries() {
        return new RetryPolicy(new FixedDelay(0, Duration.ZERO));
    }

    private static String withSlash(URI uri) {
        String s = uri.toString();
        return s.endsWith("/") ? s : s + "/";
    }
}
