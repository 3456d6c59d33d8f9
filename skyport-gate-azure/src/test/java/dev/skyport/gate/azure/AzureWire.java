package dev.skyport.gate.azure;

import com.azure.resourcemanager.AzureResourceManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.MappingBuilder;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import dev.skyport.api.MutableClock;
import dev.skyport.gate.GateConfig;

import java.net.URI;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * WireMock standing in for Azure Resource Manager and the Retail Prices API (spec 4.2 option A: the SDK over plain
 * HTTP with a fixed Authorization header). Paths in the SDK's case; {@code api-version} ignored. {@link #close()}
 * fails the test on any request no stub matched, so an unexpected SDK call is seen.
 */
final class AzureWire implements AutoCloseable {
    static final String SUB = "11111111-2222-3333-4444-555555555555";
    static final String TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    static final String CLIENT = "99999999-8888-7777-6666-555555555555";
    static final String SECRET = "s3cr3t~Value.That-Must-Not~Leak";
    static final String REGION = "eastus";
    static final String PRICES_PATH = "/api/retail/prices";
    static final String COMPUTE = "/subscriptions/" + SUB + "/providers/Microsoft.Compute";

    private static final ObjectMapper JSON = new ObjectMapper();
    final WireMockServer server;

    AzureWire() {
        this(false);
    }

    AzureWire(boolean https) {
        server = new WireMockServer(https
                ? WireMockConfiguration.options().dynamicPort().dynamicHttpsPort()
                : WireMockConfiguration.options().dynamicPort());
        server.start();
    }

    /** The plain-HTTP base URL. */
    String base() {
        return "http://localhost:" + server.port();
    }

    /** The HTTPS base URL (WireMock's own self-signed certificate), when started with HTTPS. */
    String httpsBase() {
        return "https://localhost:" + server.httpsPort();
    }

    /**
     * Valid options: a client secret, eastus, one size, the default image, prices from this server. No
     * {@code endpoint}: {@link #connect()} points the SDK here over plain HTTP, which the option refuses.
     */
    Map<String, String> options() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("subscription-id", SUB);
        o.put("tenant-id", TENANT);
        o.put("client-id", CLIENT);
        o.put("client-secret", SECRET);
        o.put("region", REGION);
        o.put("vm-sizes", "Standard_D2s_v5");
        o.put("ssh-sources", "203.0.113.0/24");
        o.put("prices-url", base() + PRICES_PATH);
        return o;
    }

    GateConfig gateConfig(Path dir, Map<String, String> options, MutableClock clock) {
        return new GateConfig(dir, options, clock);
    }

    /** The connection the tests give the provider: plain HTTP to this server, no retries. */
    Function<AzureGateConfig, AzureResourceManager> connect() {
        return c -> AzureClients.overPlainHttp(URI.create(base()), TENANT, SUB, AzureClients.noRetries());
    }

    void stub(MappingBuilder m) {
        server.stubFor(m);
    }

    void subscription() {
        stub(get(urlPathEqualTo("/subscriptions/" + SUB)).willReturn(okJson("{\"id\":\"/subscriptions/" + SUB
                + "\",\"subscriptionId\":\"" + SUB + "\",\"displayName\":\"test\",\"state\":\"Enabled\"}")));
    }

    void locations(String... names) {
        ArrayNode value = JSON.createArrayNode();
        for (String n : names) {
            value.addObject().put("id", "/subscriptions/" + SUB + "/locations/" + n).put("name", n)
                    .put("displayName", n).put("regionalDisplayName", n);
        }
        stub(get(urlPathEqualTo("/subscriptions/" + SUB + "/locations"))
                .willReturn(okJson(JSON.createObjectNode().set("value", value).toString())));
    }

    void skus(ObjectNode... skus) {
        ArrayNode value = JSON.createArrayNode();
        for (ObjectNode s : skus) {
            value.add(s);
        }
        stub(get(urlPathEqualTo(COMPUTE + "/skus")).withQueryParam("$filter", equalTo("location eq '" + REGION + "'"))
                .willReturn(okJson(JSON.createObjectNode().set("value", value).toString())));
    }

    /** A VM SKU of eastus with zones 1-3 and these capabilities (name, value pairs). */
    static ObjectNode sku(String name, String... capabilities) {
        ObjectNode s = JSON.createObjectNode().put("resourceType", "virtualMachines").put("name", name)
                .put("tier", "Standard");
        s.putArray("locations").add(REGION);
        ObjectNode li = s.putArray("locationInfo").addObject().put("location", REGION);
        li.putArray("zones").add("1").add("2").add("3");
        ArrayNode caps = s.putArray("capabilities");
        for (int i = 0; i < capabilities.length; i += 2) {
            caps.addObject().put("name", capabilities[i]).put("value", capabilities[i + 1]);
        }
        s.putArray("restrictions");
        return s;
    }

    static ObjectNode restrict(ObjectNode sku, String type, String reason, String... zones) {
        ObjectNode r = ((ArrayNode) sku.get("restrictions")).addObject().put("type", type).put("reasonCode", reason);
        r.putArray("values").add(REGION);
        ObjectNode info = r.putObject("restrictionInfo");
        info.putArray("locations").add(REGION);
        if (zones.length > 0) {
            ArrayNode z = info.putArray("zones");
            for (String zone : zones) {
                z.add(zone);
            }
        }
        return sku;
    }

    static ObjectNode d2sV5() {
        return sku("Standard_D2s_v5", "vCPUs", "2", "MemoryGB", "8", "MaxResourceVolumeMB", "0");
    }

    /** A Retail Prices item for {@code size}; {@code product} and {@code skuName} decide Linux/Windows/Spot. */
    static ObjectNode price(String size, double price, String product, String skuName) {
        return JSON.createObjectNode().put("currencyCode", "USD").put("tierMinimumUnits", 0.0)
                .put("retailPrice", price).put("unitPrice", price).put("armRegionName", REGION)
                .put("location", "US East").put("effectiveStartDate", "2024-01-01T00:00:00Z")
                .put("meterName", skuName).put("productName", product).put("skuName", skuName)
                .put("serviceName", "Virtual Machines").put("unitOfMeasure", "1 Hour").put("type", "Consumption")
                .put("isPrimaryMeterRegion", true).put("armSkuName", size);
    }

    static ObjectNode linux(String size, double price) {
        return price(size, price, "Virtual Machines DSv5 Series", size.replace("Standard_", "").replace('_', ' '));
    }

    /** The prices of {@code size} in USD in eastus: one page with these items. */
    void prices(String size, ObjectNode... items) {
        stub(pricesFor(size, "USD").willReturn(okJson(page(null, items))));
    }

    static MappingBuilder pricesFor(String size, String currency) {
        return get(urlPathEqualTo(PRICES_PATH)).withQueryParam("currencyCode", equalTo("'" + currency + "'"))
                .withQueryParam("$filter", equalTo("serviceName eq 'Virtual Machines' and armRegionName eq '"
                        + REGION + "' and priceType eq 'Consumption' and armSkuName eq '" + size + "'"));
    }

    static String page(String next, ObjectNode... items) {
        ObjectNode p = JSON.createObjectNode().put("BillingCurrency", "USD").put("CustomerEntityId", "Default")
                .put("CustomerEntityType", "Retail");
        ArrayNode a = p.putArray("Items");
        for (ObjectNode i : items) {
            a.add(i);
        }
        p.put("NextPageLink", next);
        p.put("Count", items.length);
        return p.toString();
    }

    static String imagePath(String publisher, String offer, String sku) {
        return COMPUTE + "/locations/" + REGION + "/publishers/" + publisher + "/artifacttypes/vmimage/offers/"
                + offer + "/skus/" + sku + "/versions";
    }

    void imageVersions(String publisher, String offer, String sku, String... versions) {
        ArrayNode a = JSON.createArrayNode();
        for (String v : versions) {
            a.addObject().put("name", v).put("location", REGION)
                    .put("id", "/Subscriptions/" + SUB + "/Providers/Microsoft.Compute/Locations/" + REGION
                            + "/Publishers/" + publisher + "/ArtifactTypes/VMImage/Offers/" + offer + "/Skus/" + sku
                            + "/Versions/" + v);
        }
        stub(get(urlPathEqualTo(imagePath(publisher, offer, sku))).willReturn(okJson(a.toString())));
    }

    void defaultImage() {
        imageVersions("Canonical", "ubuntu-24_04-lts", "server", "24.04.202409120", "24.04.202411030",
                "24.04.202410170");
    }

    /** Everything a start with {@link #options()} reads, answered well. */
    void healthy() {
        subscription();
        locations("eastus", "westeurope");
        skus(d2sV5());
        prices("Standard_D2s_v5", linux("Standard_D2s_v5", 0.096));
        defaultImage();
    }

    static ResponseDefinitionBuilder armError(int status, String code, String message) {
        return aResponse().withStatus(status).withHeader("Content-Type", "application/json")
                .withBody("{\"error\":{\"code\":\"" + code + "\",\"message\":\"" + message + "\"}}");
    }

    List<LoggedRequest> requests() {
        return server.findAll(com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor(
                com.github.tomakehurst.wiremock.client.WireMock.anyUrl()));
    }

    @Override
    public void close() {
        try {
            assertThat(server.findAllUnmatchedRequests()).as("requests no stub matched").isEmpty();
        } finally {
            server.stop();
        }
    }
}
