package dev.skyport.gate.azure;

import com.azure.core.util.Context;
import com.azure.resourcemanager.AzureResourceManager;
import com.azure.resourcemanager.compute.fluent.models.ResourceSkuInner;
import com.azure.resourcemanager.compute.fluent.models.VirtualMachineImageResourceInner;
import com.azure.resourcemanager.compute.models.ResourceSkuCapabilities;
import com.azure.resourcemanager.compute.models.ResourceSkuLocationInfo;
import com.azure.resourcemanager.compute.models.ResourceSkuRestrictions;
import com.azure.resourcemanager.compute.models.ResourceSkuRestrictionsType;
import com.github.benmanes.caffeine.cache.CacheLoader;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.skyport.gate.GateException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The configured VM sizes with their capacity (the region's resource SKUs, read once at start) and their price
 * (the Retail Prices API, cached for {@code price-cache-ttl}), and the configured images with {@code latest} resolved
 * (at start). {@link #load} checks every configured size and image and refuses the gate, naming the key, when one is
 * not offered, has no price or does not exist. Thread-safe.
 */
final class AzureCatalogue implements Catalogue {
    private static final Logger LOG = LoggerFactory.getLogger(AzureCatalogue.class);
    private static final String PRICES = "prices";
    private static final long MIB = 1024L * 1024L;
    /** A failed refresh of prices is tried again after this, not at every read. */
    static final Duration REFRESH_RETRY = Duration.ofMinutes(1);

    /** A VM size as the region's resource SKUs describe it, before it has a price. */
    record Shape(String name, int cpus, long memoryBytes, long storageBytes, int gpus) {
    }

    private final Map<String, Shape> shapes;
    private final List<ImageRef> images;
    private final Map<String, ImageRef> imagesByConfiguredName;
    private final String currency;
    private final LoadingCache<String, Map<String, Double>> prices;
    private final PriceLoader loader;

    private AzureCatalogue(Map<String, Shape> shapes, List<ImageRef> images, Map<String, ImageRef> byConfigured,
                           String currency, LoadingCache<String, Map<String, Double>> prices, PriceLoader loader) {
        this.shapes = shapes;
        this.images = images;
        this.imagesByConfiguredName = byConfigured;
        this.currency = currency;
        this.prices = prices;
        this.loader = loader;
    }

    /**
     * Reads the region's SKUs, the sizes' prices and the images' versions, and checks the configuration against them.
     *
     * @param ticker   the cache's time (the engine's clock in production, fake time in tests)
     * @param executor where refreshes of the prices run
     * @throws GateException permanent naming {@code vm-sizes} or {@code images} for what is not offered, priced or
     *                       found; transient when Azure or the Retail Prices API cannot be reached
     */
    static AzureCatalogue load(AzureGateConfig config, AzureResourceManager azure, RetailPrices retail, Ticker ticker,
                               Executor executor) {
        Map<String, Shape> offered;
        try {
            offered = offeredSizes(skus(azure, config.region), config.region);
        } catch (RuntimeException e) {
            throw AzureFailures.atStart("listing the VM sizes of region " + config.region, config, e);
        }
        Map<String, Shape> shapes = new LinkedHashMap<>();
        for (String size : config.vmSizes) {
            Shape shape = lookup(offered, size);
            if (shape == null) {
                throw AzureGateConfig.refused("vm-sizes", "names " + size + ", which region " + config.region
                        + " does not offer to this subscription; it offers " + new TreeSet<>(offered.keySet()));
            }
            shapes.put(shape.name(), shape);
        }

        PriceLoader loader = new PriceLoader(retail, config.region, config.priceCurrency,
                List.copyOf(shapes.keySet()), ticker);
        LoadingCache<String, Map<String, Double>> prices = Caffeine.newBuilder()
                .ticker(ticker).executor(executor).refreshAfterWrite(config.priceCacheTtl)
                .build(loader);
        try {
            prices.get(PRICES);
        } catch (CompletionException | UncheckedIOException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            if (cause instanceof MissingPrice missing) {
                throw AzureGateConfig.refused("vm-sizes", "names " + missing.size + ", which has no Linux"
                        + " pay-as-you-go price in " + config.priceCurrency + " in " + config.region
                        + " (Azure Retail Prices API at " + config.pricesUrl + ")");
            }
            throw GateException.transientFailure("azure gate cannot read prices from the Retail Prices API at "
                    + config.pricesUrl + ": " + cause.getMessage(), null, Optional.empty());
        }

        List<ImageRef> images = new ArrayList<>();
        Map<String, ImageRef> byConfigured = new LinkedHashMap<>();
        for (ImageRef configured : config.images) {
            ImageRef resolved = resolve(azure, config, configured);
            images.add(resolved);
            byConfigured.put(configuredName(configured), resolved);
        }
        return new AzureCatalogue(Map.copyOf(shapes), List.copyOf(images), byConfigured, config.priceCurrency,
                prices, loader);
    }

    @Override
    public List<VmSize> sizes() {
        Map<String, Double> now = prices.get(PRICES);
        if (loader.retryDue()) {
            prices.refresh(PRICES);
        }
        List<VmSize> sizes = new ArrayList<>();
        for (Shape s : shapes.values()) {
            sizes.add(new VmSize(s.name(), s.cpus(), s.memoryBytes(), s.storageBytes(), s.gpus(),
                    now.getOrDefault(s.name(), 0.0), currency));
        }
        sizes.sort(Comparator.comparing(VmSize::name));
        return sizes;
    }

    @Override
    public Optional<VmSize> size(String name) {
        return sizes().stream().filter(s -> s.name().equalsIgnoreCase(name)).findFirst();
    }

    @Override
    public List<ImageRef> images() {
        return images;
    }

    @Override
    public Optional<ImageRef> image(String name) {
        for (ImageRef i : images) {
            if (i.name().equals(name)) {
                return Optional.of(i);
            }
        }
        return Optional.ofNullable(imagesByConfiguredName.get(name));
    }

    @Override
    public ImageRef defaultImage() {
        return images.get(0);
    }

    private static String configuredName(ImageRef i) {
        return i.publisher() + ":" + i.offer() + ":" + i.sku();
    }

    static List<ResourceSkuInner> skus(AzureResourceManager azure, String region) {
        List<ResourceSkuInner> skus = new ArrayList<>();
        azure.virtualMachines().manager().serviceClient().getResourceSkus()
                .list("location eq '" + region + "'", null, Context.NONE).forEach(skus::add);
        return skus;
    }

    /**
     * The VM sizes {@code region} offers to this subscription, by name. A SKU with a {@code Location} restriction
     * naming the region is not offered (quota id or NotAvailableForSubscription). A {@code Zone} restriction hides it
     * only when it covers every zone the SKU has there: a partition is created without a zone, so Azure places it in
     * any zone still open.
     */
    static Map<String, Shape> offeredSizes(List<ResourceSkuInner> skus, String region) {
        Map<String, Shape> offered = new LinkedHashMap<>();
        for (ResourceSkuInner sku : skus) {
            if (!"virtualMachines".equalsIgnoreCase(sku.resourceType()) || sku.name() == null
                    || !inRegion(sku, region) || restricted(sku, region)) {
                continue;
            }
            Map<String, String> caps = new LinkedHashMap<>();
            if (sku.capabilities() != null) {
                for (ResourceSkuCapabilities c : sku.capabilities()) {
                    if (c.name() != null && c.value() != null) {
                        caps.put(c.name(), c.value());
                    }
                }
            }
            // vCPUsAvailable is what a constrained-core size (Standard_E8-2s_v5: 8 vCPUs billed, 2 usable) lets a
            // job use; vCPUs is what it is billed and counted against quota for.
            int cpus = (int) number(caps, "vCPUsAvailable").orElse(number(caps, "vCPUs").orElse(0.0)).doubleValue();
            if (cpus <= 0) {
                continue;
            }
            long memory = Math.round(number(caps, "MemoryGB").orElse(0.0) * 1024) * MIB;
            long storage = Math.round(number(caps, "MaxResourceVolumeMB").orElse(0.0)) * MIB;
            int gpus = (int) Math.round(number(caps, "GPUs").orElse(0.0));
            offered.put(sku.name(), new Shape(sku.name(), cpus, memory, storage, gpus));
        }
        return offered;
    }

    private static boolean inRegion(ResourceSkuInner sku, String region) {
        if (sku.locations() == null) {
            return false;
        }
        return sku.locations().stream().anyMatch(l -> l.equalsIgnoreCase(region));
    }

    private static boolean restricted(ResourceSkuInner sku, String region) {
        if (sku.restrictions() == null) {
            return false;
        }
        for (ResourceSkuRestrictions r : sku.restrictions()) {
            if (r.type() == null) {
                continue;
            }
            if (r.type().equals(ResourceSkuRestrictionsType.LOCATION)) {
                List<String> where = r.values() != null ? r.values()
                        : r.restrictionInfo() != null && r.restrictionInfo().locations() != null
                        ? r.restrictionInfo().locations() : List.of();
                if (where.stream().anyMatch(l -> l.equalsIgnoreCase(region))) {
                    return true;
                }
            } else if (r.type().equals(ResourceSkuRestrictionsType.ZONE) && r.restrictionInfo() != null
                    && r.restrictionInfo().zones() != null) {
                Set<String> zones = zones(sku, region);
                boolean here = r.restrictionInfo().locations() == null
                        || r.restrictionInfo().locations().stream().anyMatch(l -> l.equalsIgnoreCase(region));
                if (here && !zones.isEmpty() && r.restrictionInfo().zones().containsAll(zones)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static Set<String> zones(ResourceSkuInner sku, String region) {
        Set<String> zones = new HashSet<>();
        if (sku.locationInfo() != null) {
            for (ResourceSkuLocationInfo li : sku.locationInfo()) {
                if (li.location() != null && li.location().equalsIgnoreCase(region) && li.zones() != null) {
                    zones.addAll(li.zones());
                }
            }
        }
        return zones;
    }

    private static Optional<Double> number(Map<String, String> caps, String name) {
        String v = caps.get(name);
        if (v == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Double.parseDouble(v));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static Shape lookup(Map<String, Shape> offered, String size) {
        Shape exact = offered.get(size);
        if (exact != null) {
            return exact;
        }
        // Azure names sizes case-insensitively (Standard_D2s_v5 and standard_d2s_v5 are one size).
        for (Shape s : offered.values()) {
            if (s.name().equalsIgnoreCase(size)) {
                return s;
            }
        }
        return null;
    }

    /**
     * The image with its version: {@code latest} becomes the newest listed version (compared numerically, part by
     * part: upstream kept the last one listed), a pinned version must be listed.
     */
    static ImageRef resolve(AzureResourceManager azure, AzureGateConfig config, ImageRef image) {
        String what = image.publisher() + ":" + image.offer() + ":" + image.sku();
        List<VirtualMachineImageResourceInner> versions;
        try {
            versions = azure.virtualMachines().manager().serviceClient().getVirtualMachineImages()
                    .list(config.region, image.publisher(), image.offer(), image.sku());
        } catch (RuntimeException e) {
            if (AzureFailures.status(e) == 404) {
                throw AzureGateConfig.refused("images", "names " + what + ", which is not in the marketplace of "
                        + config.region + AzureFailures.detail(e));
            }
            throw AzureFailures.atStart("listing the versions of image " + what, config, e);
        }
        List<String> names = versions == null ? List.of()
                : versions.stream().map(VirtualMachineImageResourceInner::name).filter(n -> n != null).toList();
        if (names.isEmpty()) {
            throw AzureGateConfig.refused("images", "names " + what + ", which has no version in " + config.region);
        }
        if (image.version().equals("latest")) {
            String newest = names.stream().max(AzureCatalogue::compareVersions).orElseThrow();
            return new ImageRef(image.publisher(), image.offer(), image.sku(), newest);
        }
        if (!names.contains(image.version())) {
            throw AzureGateConfig.refused("images", "names " + what + ":" + image.version() + ", a version "
                    + config.region + " does not list; the newest is "
                    + names.stream().max(AzureCatalogue::compareVersions).orElseThrow());
        }
        return image;
    }

    /** Dot-separated parts compared as numbers ({@code 22.04.202510100} after {@code 22.04.202509300}). */
    static int compareVersions(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            String p = i < x.length ? x[i] : "0";
            String q = i < y.length ? y[i] : "0";
            int c;
            if (p.matches("\\d{1,18}") && q.matches("\\d{1,18}")) {
                c = Long.compare(Long.parseLong(p), Long.parseLong(q));
            } else {
                c = p.toLowerCase(Locale.ROOT).compareTo(q.toLowerCase(Locale.ROOT));
            }
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    /** A configured size the Retail Prices API has no price for. */
    static final class MissingPrice extends IOException {
        final String size;

        MissingPrice(String size) {
            super("no price for " + size);
            this.size = size;
        }
    }

    /**
     * Loads every configured size's price. A refresh that fails (the API unreachable, a size without a price) keeps
     * the prices the cache has and says so once per streak of failures. It returns the old prices rather than
     * throwing, because Caffeine logs every failed refresh with a stack trace and tries again at every read; instead
     * {@link #sizes()} asks for another refresh once {@link #REFRESH_RETRY} has passed.
     */
    private static final class PriceLoader implements CacheLoader<String, Map<String, Double>> {
        private static final long NONE = Long.MIN_VALUE;
        private final RetailPrices retail;
        private final String region;
        private final String currency;
        private final List<String> sizes;
        private final Ticker ticker;
        private final AtomicLong lastFailure = new AtomicLong(NONE);

        PriceLoader(RetailPrices retail, String region, String currency, List<String> sizes, Ticker ticker) {
            this.retail = retail;
            this.region = region;
            this.currency = currency;
            this.sizes = sizes;
            this.ticker = ticker;
        }

        @Override
        public Map<String, Double> load(String key) throws IOException {
            Map<String, Double> found = retail.prices(region, currency, sizes);
            for (String size : sizes) {
                if (!found.containsKey(size)) {
                    throw new MissingPrice(size);
                }
            }
            return Map.copyOf(found);
        }

        @Override
        public Map<String, Double> reload(String key, Map<String, Double> old) {
            try {
                Map<String, Double> fresh = load(key);
                if (lastFailure.getAndSet(NONE) != NONE) {
                    LOG.info("Azure prices in {} {} refreshed again", region, currency);
                }
                return fresh;
            } catch (IOException | RuntimeException e) {
                if (lastFailure.getAndSet(ticker.read()) == NONE) {
                    LOG.warn("Azure prices in {} {} could not be refreshed; keeping the prices read before: {}",
                            region, currency, e.getMessage());
                } else {
                    LOG.debug("Azure prices in {} {} could not be refreshed again: {}", region, currency,
                            e.getMessage());
                }
                return old;
            }
        }

        /** Whether the last refresh failed at least {@link #REFRESH_RETRY} ago; claims the retry when so. */
        boolean retryDue() {
            long failed = lastFailure.get();
            long now = ticker.read();
            return failed != NONE && now - failed >= REFRESH_RETRY.toNanos() && lastFailure.compareAndSet(failed, now);
        }
    }
}
