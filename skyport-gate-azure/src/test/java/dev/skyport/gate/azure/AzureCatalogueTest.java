package dev.skyport.gate.azure;

import com.azure.resourcemanager.AzureResourceManager;
import com.github.tomakehurst.wiremock.client.WireMock;
import dev.skyport.api.MutableClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

/** The catalogue against WireMock: SKUs with restrictions, images, and the price cache on fake time. */
class AzureCatalogueTest {
    final AzureWire wire = new AzureWire();
    final MutableClock clock = new MutableClock();

    @AfterEach
    void close() {
        wire.close();
    }

    private AzureResourceManager azure() {
        return AzureClients.overPlainHttp(URI.create(wire.base()), AzureWire.TENANT, AzureWire.SUB,
                AzureClients.noRetries());
    }

    private AzureCatalogue load(Map<String, String> options) {
        AzureGateConfig c = AzureGateConfig.parse(options);
        return AzureCatalogue.load(c, azure(), new RetailPrices(c.pricesUrl), AzureGateProvider.ticker(clock),
                Runnable::run);
    }

    @Test
    void skusBecomeSizesWithCapacityAndRestrictedOnesAreLeftOut() {
        wire.skus(
                AzureWire.sku("Standard_D2s_v5", "vCPUs", "2", "MemoryGB", "8", "MaxResourceVolumeMB", "0"),
                AzureWire.sku("Standard_NC6s_v3", "vCPUs", "6", "MemoryGB", "112", "GPUs", "1",
                        "MaxResourceVolumeMB", "344064"),
                AzureWire.sku("Standard_E8-2s_v5", "vCPUs", "8", "vCPUsAvailable", "2", "MemoryGB", "64"),
                AzureWire.sku("Standard_B1ls", "vCPUs", "1", "MemoryGB", "0.5"),
                AzureWire.restrict(AzureWire.sku("Standard_M416ms_v2", "vCPUs", "416", "MemoryGB", "11400"),
                        "Location", "NotAvailableForSubscription"),
                AzureWire.restrict(AzureWire.sku("Standard_L8s_v3", "vCPUs", "8", "MemoryGB", "64"),
                        "Zone", "NotAvailableForSubscription", "1", "2", "3"),
                AzureWire.restrict(AzureWire.sku("Standard_F2s_v2", "vCPUs", "2", "MemoryGB", "4"),
                        "Zone", "NotAvailableForSubscription", "2"),
                AzureWire.sku("Standard_Disk", "vCPUs", "2").put("resourceType", "disks"));
        Map<String, AzureCatalogue.Shape> offered = AzureCatalogue.offeredSizes(
                AzureCatalogue.skus(azure(), "eastus"), "eastus");
        long mib = 1024L * 1024;
        assertThat(offered).containsOnlyKeys("Standard_D2s_v5", "Standard_NC6s_v3", "Standard_E8-2s_v5",
                "Standard_B1ls", "Standard_F2s_v2");
        assertThat(offered.get("Standard_D2s_v5"))
                .isEqualTo(new AzureCatalogue.Shape("Standard_D2s_v5", 2, 8192 * mib, 0, 0));
        assertThat(offered.get("Standard_NC6s_v3"))
                .isEqualTo(new AzureCatalogue.Shape("Standard_NC6s_v3", 6, 112 * 1024 * mib, 344064 * mib, 1));
        assertThat(offered.get("Standard_E8-2s_v5").cpus()).isEqualTo(2);
        assertThat(offered.get("Standard_B1ls").memoryBytes()).isEqualTo(512 * mib);
    }

    @Test
    void latestIsTheNewestVersionComparedNumericallyAndAPinnedVersionStays() {
        wire.imageVersions("Canonical", "ubuntu-24_04-lts", "server", "24.04.202409120", "24.04.202411030",
                "24.04.99");
        AzureGateConfig c = AzureGateConfig.parse(AzureGateConfigTest.valid());
        ImageRef latest = new ImageRef("Canonical", "ubuntu-24_04-lts", "server", "latest");
        assertThat(AzureCatalogue.resolve(azure(), c, latest).version()).isEqualTo("24.04.202411030");
        ImageRef pinned = new ImageRef("Canonical", "ubuntu-24_04-lts", "server", "24.04.99");
        assertThat(AzureCatalogue.resolve(azure(), c, pinned)).isEqualTo(pinned);
        assertThat(AzureCatalogue.compareVersions("1.10", "1.9")).isPositive();
        assertThat(AzureCatalogue.compareVersions("1.0", "1")).isZero();
    }

    @Test
    void imagesAreFoundByOfferAndSkuOrAsConfigured() {
        wire.skus(AzureWire.d2sV5());
        wire.prices("Standard_D2s_v5", AzureWire.linux("Standard_D2s_v5", 0.096));
        wire.defaultImage();
        wire.imageVersions("microsoft-dsvm", "ubuntu-hpc", "2204", "22.04.2024102301");
        Map<String, String> o = AzureGateConfigTest.valid();
        o.put("prices-url", wire.base() + AzureWire.PRICES_PATH);
        o.put("images", "microsoft-dsvm:ubuntu-hpc:2204," + AzureGateConfig.DEFAULT_IMAGE);
        AzureCatalogue catalogue = load(o);
        assertThat(catalogue.defaultImage().name()).isEqualTo("ubuntu-hpc/2204");
        assertThat(catalogue.images()).extracting(ImageRef::name).containsExactly("ubuntu-hpc/2204",
                "ubuntu-24_04-lts/server");
        assertThat(catalogue.image("ubuntu-24_04-lts/server")).map(ImageRef::version).contains("24.04.202411030");
        assertThat(catalogue.image("Canonical:ubuntu-24_04-lts:server")).map(ImageRef::name)
                .contains("ubuntu-24_04-lts/server");
        assertThat(catalogue.image("nope/nope")).isEmpty();
        assertThat(catalogue.size("standard_d2s_v5")).map(VmSize::pricePerHour).contains(0.096);
        assertThat(catalogue.size("Standard_D4s_v5")).isEmpty();
    }

    @Test
    void pricesAreCachedForTheTtlThenRefreshedAndAFailedRefreshKeepsTheOldOnesAndSaysSo() {
        wire.skus(AzureWire.d2sV5());
        wire.defaultImage();
        String scenario = "prices";
        wire.stub(AzureWire.pricesFor("Standard_D2s_v5", "USD").inScenario(scenario)
                .whenScenarioStateIs(com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED)
                .willReturn(okJson(AzureWire.page(null, AzureWire.linux("Standard_D2s_v5", 0.096))))
                .willSetStateTo("second"));
        wire.stub(AzureWire.pricesFor("Standard_D2s_v5", "USD").inScenario(scenario).whenScenarioStateIs("second")
                .willReturn(okJson(AzureWire.page(null, AzureWire.linux("Standard_D2s_v5", 0.101))))
                .willSetStateTo("down"));
        wire.stub(AzureWire.pricesFor("Standard_D2s_v5", "USD").inScenario(scenario).whenScenarioStateIs("down")
                .willReturn(aResponse().withStatus(503)));
        Map<String, String> o = AzureGateConfigTest.valid();
        o.put("prices-url", wire.base() + AzureWire.PRICES_PATH);
        o.put("price-cache-ttl", "6h");
        AzureCatalogue catalogue = load(o);
        assertThat(price(catalogue)).isEqualTo(0.096);
        clock.advance(Duration.ofHours(5).plusMinutes(59));
        assertThat(price(catalogue)).isEqualTo(0.096);
        assertThat(priceRequests()).isEqualTo(1);

        clock.advance(Duration.ofMinutes(2));
        price(catalogue);                               // stale: this read starts the refresh
        assertThat(price(catalogue)).isEqualTo(0.101);
        assertThat(priceRequests()).isEqualTo(2);

        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream err = System.err;
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            clock.advance(Duration.ofHours(7));
            price(catalogue);
            assertThat(price(catalogue)).isEqualTo(0.101);
            assertThat(priceRequests()).isEqualTo(3);
            for (int i = 0; i < 5; i++) {
                assertThat(price(catalogue)).isEqualTo(0.101);
            }
            assertThat(priceRequests()).as("no new request before the retry interval").isEqualTo(3);
            clock.advance(AzureCatalogue.REFRESH_RETRY);
            assertThat(price(catalogue)).isEqualTo(0.101);
            assertThat(priceRequests()).isEqualTo(4);
        } finally {
            System.setErr(err);
        }
        String lines = log.toString(StandardCharsets.UTF_8);
        assertThat(lines).contains("WARN dev.skyport.gate.azure.AzureCatalogue - Azure prices in eastus USD could"
                + " not be refreshed; keeping the prices read before");
        assertThat(lines.split("WARN dev.skyport.gate.azure.AzureCatalogue", -1)).hasSize(2);
    }

    private static double price(AzureCatalogue catalogue) {
        List<VmSize> sizes = catalogue.sizes();
        assertThat(sizes).hasSize(1);
        return sizes.get(0).pricePerHour();
    }

    private int priceRequests() {
        return wire.server.findAll(WireMock.getRequestedFor(urlPathEqualTo(AzureWire.PRICES_PATH))).size();
    }
}
