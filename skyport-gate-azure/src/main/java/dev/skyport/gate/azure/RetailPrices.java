package dev.skyport.gate.azure;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The Azure Retail Prices API (unauthenticated, not part of the SDK): the pay-as-you-go Linux price per hour of VM
 * sizes in one region and currency. Thread-safe. Every failure is an {@link IOException}; the caller decides whether
 * it stops the gate (at start) or keeps the prices it has (on refresh).
 */
final class RetailPrices {
    /** A runaway {@code NextPageLink} chain stops here; one size in one region has a handful of items. */
    static final int MAX_PAGES = 200;

    private final HttpUrl base;
    private final OkHttpClient http;
    private final ObjectMapper json = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    RetailPrices(URI baseUrl) {
        HttpUrl parsed = HttpUrl.get(baseUrl.toString());
        this.base = parsed;
        this.http = new OkHttpClient.Builder().connectTimeout(Duration.ofSeconds(10))
                .readTimeout(Duration.ofSeconds(30)).callTimeout(Duration.ofSeconds(60)).build();
    }

    /** One item of the API's answer; only the fields the choice reads. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Item(@JsonProperty("armSkuName") String armSkuName, @JsonProperty("retailPrice") double retailPrice,
                @JsonProperty("currencyCode") String currencyCode,
                @JsonProperty("unitOfMeasure") String unitOfMeasure, @JsonProperty("type") String type,
                @JsonProperty("productName") String productName, @JsonProperty("skuName") String skuName,
                @JsonProperty("meterName") String meterName,
                @JsonProperty("isPrimaryMeterRegion") Boolean isPrimaryMeterRegion,
                @JsonProperty("effectiveStartDate") String effectiveStartDate,
                @JsonProperty("tierMinimumUnits") Double tierMinimumUnits) {
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    record Page(@JsonProperty("Items") List<Item> items, @JsonProperty("NextPageLink") String nextPageLink) {
    }

    /**
     * The price per hour of each size that has one; a size without a Linux pay-as-you-go meter is absent.
     *
     * <p>One query per size: the API's filter with {@code armSkuName} narrows a region's thousands of VM meters
     * (dozens of pages) to the few of that size (one page).
     *
     * @throws IOException when the API cannot be reached or answers anything but a price list
     */
    Map<String, Double> prices(String region, String currency, Collection<String> sizes) throws IOException {
        Map<String, Double> prices = new LinkedHashMap<>();
        for (String size : sizes) {
            List<Item> items = items(region, currency, size);
            choose(items, size).ifPresent(i -> prices.put(size, i.retailPrice()));
        }
        return prices;
    }

    List<Item> items(String region, String currency, String size) throws IOException {
        String filter = "serviceName eq 'Virtual Machines' and armRegionName eq '" + region
                + "' and priceType eq 'Consumption' and armSkuName eq '" + size + "'";
        HttpUrl url = base.newBuilder().addQueryParameter("currencyCode", "'" + currency + "'")
                .addQueryParameter("$filter", filter).build();
        List<Item> items = new ArrayList<>();
        for (int page = 0; url != null; page++) {
            if (page == MAX_PAGES) {
                throw new IOException("the Retail Prices API gave more than " + MAX_PAGES + " pages for " + size);
            }
            Page p = get(url);
            if (p.items() != null) {
                items.addAll(p.items());
            }
            url = next(p.nextPageLink());
        }
        return items;
    }

    private Page get(HttpUrl url) throws IOException {
        try (Response r = http.newCall(new Request.Builder().url(url).get().build()).execute()) {
            ResponseBody body = r.body();
            if (!r.isSuccessful() || body == null) {
                throw new IOException("the Retail Prices API at " + base + " answered HTTP " + r.code());
            }
            try {
                return json.readValue(body.byteStream(), Page.class);
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new IOException("the Retail Prices API at " + base + " answered something that is not a price"
                        + " list: " + e.getOriginalMessage());
            }
        }
    }

    /**
     * The next page, only on the API's own host: a {@code NextPageLink} elsewhere is refused rather than followed, so
     * an answer cannot send the gate to another server.
     */
    private HttpUrl next(String link) throws IOException {
        if (link == null || link.isBlank()) {
            return null;
        }
        HttpUrl next = HttpUrl.parse(link);
        if (next == null || !next.scheme().equals(base.scheme()) || !next.host().equals(base.host())
                || next.port() != base.port()) {
            throw new IOException("the Retail Prices API at " + base + " gave a next page on another server");
        }
        return next;
    }

    /**
     * The meter that prices a Linux VM of {@code size} on demand. The API lists, per size and region, the Linux and the
     * Windows meters (Windows includes the licence), Spot and Low Priority meters (evictable, cheaper: not what a
     * partition gets), and old meters superseded by new ones. So: type Consumption, per hour, no Windows in the product
     * name, no Spot or Low Priority in the sku or meter name, a base tier, a positive price; then the primary meter
     * region first (the API repeats meters for secondary regions), then the latest effective start date, then the
     * higher price, so that a tie never makes a partition look cheaper than it may be.
     */
    static Optional<Item> choose(List<Item> items, String size) {
        return items.stream()
                .filter(i -> i.armSkuName() != null && i.armSkuName().equalsIgnoreCase(size))
                .filter(i -> "Consumption".equals(i.type()))
                .filter(i -> "1 Hour".equals(i.unitOfMeasure()))
                .filter(i -> !contains(i.productName(), "windows"))
                .filter(i -> !contains(i.skuName(), "spot") && !contains(i.meterName(), "spot"))
                .filter(i -> !contains(i.skuName(), "low priority") && !contains(i.meterName(), "low priority"))
                .filter(i -> i.tierMinimumUnits() == null || i.tierMinimumUnits() == 0)
                .filter(i -> i.retailPrice() > 0)
                .max(Comparator.<Item, Boolean>comparing(i -> Boolean.TRUE.equals(i.isPrimaryMeterRegion()))
                        .thenComparing(i -> startDate(i.effectiveStartDate()))
                        .thenComparingDouble(Item::retailPrice));
    }

    private static boolean contains(String text, String part) {
        return text != null && text.toLowerCase(Locale.ROOT).contains(part);
    }

    private static OffsetDateTime startDate(String s) {
        if (s != null) {
            try {
                return OffsetDateTime.parse(s);
            } catch (DateTimeParseException ignored) {
                // an unreadable date sorts first
            }
        }
        return OffsetDateTime.MIN;
    }
}
