package dev.skyport.gate.azure;

import dev.skyport.api.MutableClock;
import dev.skyport.gate.GateException;
import dev.skyport.gate.GateProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.ServiceLoader;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Every start-up check of the provider against WireMock, and the parts a good start gives. */
class AzureGateProviderTest {
    @TempDir
    Path dir;
    final MutableClock clock = new MutableClock();
    final AzureWire wire = new AzureWire();

    @AfterEach
    void close() {
        wire.close();
    }

    private AzureGateProvider.Parts start(Map<String, String> options) {
        return AzureGateProvider.parts(wire.gateConfig(dir, options, clock), wire.connect(), Runnable::run);
    }

    private GateException refused(Map<String, String> options) {
        return catchThrowableOfType(GateException.class, () -> start(options));
    }

    @Test
    void theProviderIsFoundByItsName() {
        assertThat(ServiceLoader.load(GateProvider.class).stream().map(p -> p.get().name()))
                .contains("azure");
    }

    @Test
    void aGoodStartGivesSettingsAndACatalogueWithPricesAndTheNewestImage() {
        wire.healthy();
        AzureGateProvider.Parts parts = start(wire.options());
        assertThat(parts.settings().region()).isEqualTo("eastus");
        assertThat(parts.settings().adminUser()).isEqualTo("skyport");
        assertThat(parts.settings().sshSources()).containsExactly("203.0.113.0/24");
        assertThat(parts.settings().sshPort()).isEqualTo(22);
        assertThat(parts.settings().workDir()).isEqualTo(dir);
        assertThat(parts.catalogue().sizes()).containsExactly(
                new VmSize("Standard_D2s_v5", 2, 8L << 30, 0, 0, 0.096, "USD"));
        assertThat(parts.catalogue().defaultImage())
                .isEqualTo(new ImageRef("Canonical", "ubuntu-24_04-lts", "server", "24.04.202411030"));
    }

    @Test
    void anUnknownSubscriptionIsRefusedNamingTheKey() {
        wire.stub(get(urlPathEqualTo("/subscriptions/" + AzureWire.SUB)).willReturn(AzureWire.armError(404,
                "SubscriptionNotFound", "The subscription '" + AzureWire.SUB + "' could not be found.")));
        GateException e = refused(wire.options());
        assertThat(e.isTransient()).isFalse();
        assertThat(e).hasMessageContaining("subscription-id").hasMessageContaining("SubscriptionNotFound");
    }

    @Test
    void aTokenAzureRefusesIsPermanentAndNamesTheCredentialKeyNotItsValue() {
        wire.stub(get(urlPathEqualTo("/subscriptions/" + AzureWire.SUB)).willReturn(AzureWire.armError(401,
                "InvalidAuthenticationToken", "The access token is invalid.")));
        GateException e = refused(wire.options());
        assertThat(e.isTransient()).isFalse();
        assertThat(e).hasMessageContaining("client-secret").hasMessageContaining("InvalidAuthenticationToken")
                .hasMessageNotContaining(AzureWire.SECRET);
    }

    @Test
    void aMissingRoleIsPermanentAndSaysWhatToGrant() {
        wire.stub(get(urlPathEqualTo("/subscriptions/" + AzureWire.SUB)).willReturn(AzureWire.armError(403,
                "AuthorizationFailed", "The client does not have authorization.")));
        GateException e = refused(wire.options());
        assertThat(e.isTransient()).isFalse();
        assertThat(e).hasMessageContaining("client-secret").hasMessageContaining("AuthorizationFailed")
                .hasMessageContaining("role");
    }

    @Test
    void anUnknownRegionIsRefusedListingTheSubscriptionsRegions() {
        wire.subscription();
        wire.locations("westeurope", "northeurope");
        GateException e = refused(wire.options());
        assertThat(e.isTransient()).isFalse();
        assertThat(e).hasMessageContaining("region eastus is not a region of subscription")
                .hasMessageContaining("[northeurope, westeurope]");
    }

    @Test
    void aSizeTheRegionDoesNotOfferIsRefusedListingWhatItOffers() {
        wire.subscription();
        wire.locations("eastus");
        wire.skus(AzureWire.d2sV5(), AzureWire.sku("Standard_E4s_v5", "vCPUs", "4", "MemoryGB", "32"));
        Map<String, String> o = wire.options();
        o.put("vm-sizes", "Standard_D2s_v5,Standard_NC6");
        GateException e = refused(o);
        assertThat(e.isTransient()).isFalse();
        assertThat(e).hasMessageContaining("vm-sizes names Standard_NC6")
                .hasMessageContaining("[Standard_D2s_v5, Standard_E4s_v5]");
    }

    @Test
    void aSizeRestrictedForTheSubscriptionIsRefusedAsNotOffered() {
        wire.subscription();
        wire.locations("eastus");
        wire.skus(AzureWire.restrict(AzureWire.d2sV5(), "Location", "NotAvailableForSubscription"));
        GateException e = refused(wire.options());
        assertThat(e).hasMessageContaining("vm-sizes names Standard_D2s_v5, which region eastus does not offer");
    }

    @Test
    void aSizeWithoutAPriceIsRefusedNamingIt() {
        wire.subscription();
        wire.locations("eastus");
        wire.skus(AzureWire.d2sV5());
        wire.prices("Standard_D2s_v5", AzureWire.price("Standard_D2s_v5", 0.19, "Virtual Machines DSv5 Series Windows",
                "D2s v5"), AzureWire.price("Standard_D2s_v5", 0.02, "Virtual Machines DSv5 Series", "D2s v5 Spot"));
        GateException e = refused(wire.options());
        assertThat(e.isTransient()).isFalse();
        assertThat(e).hasMessageContaining("vm-sizes names Standard_D2s_v5, which has no Linux pay-as-you-go price"
                + " in USD in eastus");
    }

    @Test
    void anImageThatDoesNotExistIsRefusedNamingIt() {
        wire.subscription();
        wire.locations("eastus");
        wire.skus(AzureWire.d2sV5());
        wire.prices("Standard_D2s_v5", AzureWire.linux("Standard_D2s_v5", 0.096));
        wire.stub(get(urlPathEqualTo(AzureWire.imagePath("Canonical", "no-such-offer", "server")))
                .willReturn(AzureWire.armError(404, "NotFound", "Artifact: VMImage was not found.")));
        Map<String, String> o = wire.options();
        o.put("images", "Canonical:no-such-offer:server");
        GateException e = refused(o);
        assertThat(e.isTransient()).isFalse();
        assertThat(e).hasMessageContaining("images names Canonical:no-such-offer:server")
                .hasMessageContaining("not in the marketplace of eastus");
    }

    @Test
    void anImageWithoutVersionsOrWithoutThePinnedVersionIsRefused() {
        wire.subscription();
        wire.locations("eastus");
        wire.skus(AzureWire.d2sV5());
        wire.prices("Standard_D2s_v5", AzureWire.linux("Standard_D2s_v5", 0.096));
        wire.imageVersions("Canonical", "empty", "server");
        wire.defaultImage();
        Map<String, String> o = wire.options();
        o.put("images", "Canonical:empty:server");
        assertThat(refused(o)).hasMessageContaining("images names Canonical:empty:server, which has no version");
        o.put("images", "Canonical:ubuntu-24_04-lts:server:24.04.209901010");
        assertThat(refused(o)).hasMessageContaining("24.04.209901010, a version eastus does not list; the newest is"
                + " 24.04.202411030");
    }

    @Test
    void aResourceManagerThatIsDownOrThrottlingIsTransient() {
        wire.stub(get(urlPathEqualTo("/subscriptions/" + AzureWire.SUB)).willReturn(AzureWire.armError(503,
                "ServiceUnavailable", "try later")));
        GateException e = refused(wire.options());
        assertThat(e.isTransient()).isTrue();
        assertThat(e).hasMessageContaining("ServiceUnavailable");

        wire.server.resetAll();
        wire.stub(get(urlPathEqualTo("/subscriptions/" + AzureWire.SUB)).willReturn(AzureWire.armError(429,
                "TooManyRequests", "slow down").withHeader("Retry-After", "17")));
        GateException throttled = refused(wire.options());
        assertThat(throttled.isTransient()).isTrue();
        assertThat(throttled.retryAfter()).contains(java.time.Duration.ofSeconds(17));
    }

    @Test
    void aResourceManagerThatCannotBeReachedIsTransient() throws java.io.IOException {
        Map<String, String> o = wire.options();
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        GateException e = catchThrowableOfType(GateException.class, () -> AzureGateProvider.parts(
                wire.gateConfig(dir, o, clock), c -> AzureClients.overPlainHttp(java.net.URI.create(
                        "http://127.0.0.1:" + closed), AzureWire.TENANT, AzureWire.SUB, AzureClients.noRetries()),
                Runnable::run));
        assertThat(e.isTransient()).isTrue();
        assertThat(e).hasMessageContaining("cannot be reached");
    }

    @Test
    void pricesThatCannotBeReadAtStartAreTransient() {
        wire.subscription();
        wire.locations("eastus");
        wire.skus(AzureWire.d2sV5());
        wire.stub(AzureWire.pricesFor("Standard_D2s_v5", "USD").willReturn(aResponse().withStatus(503)));
        GateException e = refused(wire.options());
        assertThat(e.isTransient()).isTrue();
        assertThat(e).hasMessageContaining("Retail Prices API").hasMessageContaining("503");
    }

    @Test
    void badOptionsAreRefusedBeforeAnythingIsAsked() {
        Map<String, String> o = wire.options();
        o.put("vm-size", "Standard_D2s_v5");
        assertThatThrownBy(() -> start(o)).isInstanceOf(GateException.class)
                .hasMessageContaining("vm-size is not an option").hasMessageContaining("did you mean vm-sizes?");
        assertThat(wire.requests()).isEmpty();
    }
}
