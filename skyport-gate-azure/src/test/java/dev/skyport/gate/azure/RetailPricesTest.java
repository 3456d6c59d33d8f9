package dev.skyport.gate.azure;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.client.WireMock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which meter prices a Linux VM, and how the API's pages are read. */
class RetailPricesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SIZE = "Standard_D2s_v5";
    final AzureWire wire = new AzureWire();

    @AfterEach
    void close() {
        wire.close();
    }

    static RetailPrices.Item item(ObjectNode n) {
        return JSON.convertValue(n, RetailPrices.Item.class);
    }

    static Optional<Double> choose(ObjectNode... nodes) {
        List<RetailPrices.Item> items = new ArrayList<>();
        for (ObjectNode n : nodes) {
            items.add(item(n));
        }
        return RetailPrices.choose(items, SIZE).map(RetailPrices.Item::retailPrice);
    }

    @Test
    void theLinuxPayAsYouGoMeterIsChosenOverWindowsSpotLowPriorityAndOtherKinds() {
        ObjectNode linux = AzureWire.linux(SIZE, 0.096);
        ObjectNode windows = AzureWire.price(SIZE, 0.188, "Virtual Machines DSv5 Series Windows", "D2s v5");
        ObjectNode spot = AzureWire.price(SIZE, 0.0192, "Virtual Machines DSv5 Series", "D2s v5 Spot");
        ObjectNode low = AzureWire.price(SIZE, 0.0192, "Virtual Machines DSv5 Series", "D2s v5 Low Priority");
        ObjectNode reservation = AzureWire.linux(SIZE, 500).put("type", "Reservation");
        ObjectNode devTest = AzureWire.linux(SIZE, 0.05).put("type", "DevTestConsumption");
        ObjectNode perMonth = AzureWire.linux(SIZE, 0.01).put("unitOfMeasure", "1 Month");
        ObjectNode otherSize = AzureWire.linux("Standard_D4s_v5", 0.01);
        ObjectNode free = AzureWire.linux(SIZE, 0.0);
        assertThat(choose(windows, spot, low, reservation, devTest, perMonth, otherSize, free, linux)).contains(0.096);
        assertThat(choose(windows, spot, low, reservation, devTest, perMonth, otherSize, free)).isEmpty();
    }

    @Test
    void thePrimaryMeterRegionThenTheLatestStartDateThenTheHigherPriceWin() {
        ObjectNode secondary = AzureWire.linux(SIZE, 0.05).put("isPrimaryMeterRegion", false)
                .put("effectiveStartDate", "2025-06-01T00:00:00Z");
        ObjectNode old = AzureWire.linux(SIZE, 0.090).put("effectiveStartDate", "2023-01-01T00:00:00Z");
        ObjectNode current = AzureWire.linux(SIZE, 0.096).put("effectiveStartDate", "2024-07-01T00:00:00Z");
        assertThat(choose(secondary, old, current)).contains(0.096);
        assertThat(choose(secondary, old)).contains(0.090);
        ObjectNode tie = AzureWire.linux(SIZE, 0.1).put("effectiveStartDate", "2024-07-01T00:00:00Z");
        assertThat(choose(current, tie)).contains(0.1);
        assertThat(choose(tie, current)).contains(0.1);
    }

    @Test
    void everyPageIsReadByFollowingNextPageLink() throws IOException {
        String next = wire.base() + AzureWire.PRICES_PATH + "?page=2";
        wire.stub(AzureWire.pricesFor(SIZE, "EUR").willReturn(okJson(AzureWire.page(next,
                AzureWire.price(SIZE, 0.17, "Virtual Machines DSv5 Series Windows", "D2s v5")))));
        wire.stub(get(urlPathEqualTo(AzureWire.PRICES_PATH)).withQueryParam("page", equalTo("2"))
                .willReturn(okJson(AzureWire.page(null, AzureWire.linux(SIZE, 0.089)))));
        RetailPrices prices = new RetailPrices(URI.create(wire.base() + AzureWire.PRICES_PATH));
        assertThat(prices.prices("eastus", "EUR", List.of(SIZE))).isEqualTo(Map.of(SIZE, 0.089));
        wire.server.verify(2, WireMock.getRequestedFor(urlPathEqualTo(AzureWire.PRICES_PATH)));
    }

    @Test
    void aNextPageOnAnotherServerIsNotFollowed() {
        wire.stub(AzureWire.pricesFor(SIZE, "USD").willReturn(okJson(AzureWire.page(
                "http://198.51.100.1:9/api/retail/prices?page=2", AzureWire.linux(SIZE, 0.096)))));
        RetailPrices prices = new RetailPrices(URI.create(wire.base() + AzureWire.PRICES_PATH));
        assertThatThrownBy(() -> prices.prices("eastus", "USD", List.of(SIZE))).isInstanceOf(IOException.class)
                .hasMessageContaining("next page on another server");
    }

    @Test
    void anAnswerThatIsNotAPriceListIsAnIoFailure() {
        wire.stub(AzureWire.pricesFor(SIZE, "USD").willReturn(okJson("<html>maintenance</html>")));
        RetailPrices prices = new RetailPrices(URI.create(wire.base() + AzureWire.PRICES_PATH));
        assertThatThrownBy(() -> prices.prices("eastus", "USD", List.of(SIZE))).isInstanceOf(IOException.class)
                .hasMessageContaining("not a price list");
    }
}
