package dev.skyport.gate.azure;

import com.azure.resourcemanager.AzureResourceManager;
import com.azure.resourcemanager.resources.models.Location;
import com.azure.resourcemanager.resources.models.Subscription;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.GateProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Function;

/**
 * The {@code azure} gate, found with {@link java.util.ServiceLoader}. {@link #create} checks everything it can before
 * the gate exists: the options, the credential (a token is asked for), the subscription, the region, every VM size
 * (offered there, with a price) and every image, so that bad configuration stops the engine at start with the key
 * named rather than failing the first job.
 */
public final class AzureGateProvider implements GateProvider {
    static final String NAME = "azure";
    private static final Logger LOG = LoggerFactory.getLogger(AzureGateProvider.class);

    /** What the gate is made of, checked: what {@link AzureGate} is constructed with. */
    record Parts(PartitionSettings settings, AzureResourceManager azure, AzureCatalogue catalogue) {
        Parts {
            Objects.requireNonNull(settings, "settings");
            Objects.requireNonNull(azure, "azure");
            Objects.requireNonNull(catalogue, "catalogue");
        }
    }

    /*
     * Test seam: how create() connects. Tests in other modules (the engine end to end, the partition benchmark) point
     * the gate at the fake Resource Manager over plain HTTP (spec 4.2 option A); nothing in production sets it.
     */
    static volatile Function<AzureGateConfig, AzureResourceManager> connector = AzureClients::connect;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Gate create(GateConfig config) {
        Parts parts = parts(config, connector, ForkJoinPool.commonPool());
        return new AzureGate(NAME, parts.azure(), parts.catalogue(), parts.settings());
    }

    /**
     * Parses the options, connects with {@code connect} (the production credential, or the tests' plain-HTTP
     * pipeline) and checks the subscription, the region and the catalogue.
     *
     * @param refreshes where price refreshes run (the common pool; the tests' own thread)
     * @throws GateException permanent naming the key that is wrong; transient when Azure cannot be reached now
     */
    static Parts parts(GateConfig config, Function<AzureGateConfig, AzureResourceManager> connect,
                       Executor refreshes) {
        AzureGateConfig c = AzureGateConfig.parse(config.options());
        AzureResourceManager azure = connect.apply(c);
        checkSubscription(c, azure);
        AzureCatalogue catalogue = AzureCatalogue.load(c, azure, new RetailPrices(c.pricesUrl), ticker(config.clock()),
                refreshes);
        PartitionSettings settings = new PartitionSettings(NAME, c.region, c.adminUser, c.sshSources, c.sshPort,
                config.workDir(), config.clock());
        LOG.info("azure gate ready: subscription {}, region {}, sizes {}, images {}", c.subscriptionId, c.region,
                c.vmSizes, catalogue.images().stream().map(i -> i.name() + ":" + i.version()).toList());
        return new Parts(settings, azure, catalogue);
    }

    /** The subscription exists, this credential may read it, and it has the region. */
    static void checkSubscription(AzureGateConfig c, AzureResourceManager azure) {
        Subscription subscription;
        try {
            subscription = azure.subscriptions().getById(c.subscriptionId);
        } catch (RuntimeException e) {
            if (AzureFailures.status(e) == 404 || AzureFailures.code(e).filter("SubscriptionNotFound"::equals)
                    .isPresent()) {
                throw AzureGateConfig.refused("subscription-id", c.subscriptionId + " is not a subscription this"
                        + " credential can see" + AzureFailures.detail(e));
            }
            throw AzureFailures.atStart("reading subscription " + c.subscriptionId, c, e);
        }
        List<String> regions = new ArrayList<>();
        try {
            for (Location l : subscription.listLocations()) {
                regions.add(l.name());
            }
        } catch (RuntimeException e) {
            throw AzureFailures.atStart("listing the regions of subscription " + c.subscriptionId, c, e);
        }
        if (regions.stream().noneMatch(r -> r.equalsIgnoreCase(c.region))) {
            throw AzureGateConfig.refused("region", c.region + " is not a region of subscription "
                    + c.subscriptionId + "; its regions are " + new TreeSet<>(regions));
        }
    }

    /** Caffeine's time from the engine's clock, so that fake time in tests moves the price cache too. */
    static Ticker ticker(Clock clock) {
        return () -> {
            java.time.Instant now = clock.instant();
            return now.getEpochSecond() * 1_000_000_000L + now.getNano();
        };
    }
}
