package dev.skyport.core.internal;

import dev.skyport.api.BatchSite;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The options of a batch site that the engine reads itself and takes out before the site's gate sees the rest:
 * {@value #POLL_INTERVAL}, {@value #PRICE} and {@value #SUBMIT_TIMEOUT}. Every value is checked when the engine
 * starts; a bad one is an {@link IllegalArgumentException} naming the site and the key.
 */
record BatchOptions(Duration poll, double pricePerCpuHour, Duration submitTimeout) {
    /** How often the status of a site's jobs is asked. */
    static final String POLL_INTERVAL = "poll-interval";
    /** The site's price per cpu-hour; 0 by default. */
    static final String PRICE = "price-per-cpu-hour";
    /**
     * How long a job's submit may keep failing for now (site unreachable, token refused as "try again") before its
     * attempt ends SYSTEM_ERROR and the job's retry policy decides.
     */
    static final String SUBMIT_TIMEOUT = "submit-timeout";
    static final Duration DEFAULT_POLL = Duration.ofSeconds(1);
    static final Duration DEFAULT_SUBMIT_TIMEOUT = Duration.ofMinutes(10);

    static BatchOptions of(BatchSite site) {
        return new BatchOptions(duration(site, POLL_INTERVAL, DEFAULT_POLL), price(site),
                duration(site, SUBMIT_TIMEOUT, DEFAULT_SUBMIT_TIMEOUT));
    }

    /** The options the gate sees: all but the engine's. */
    static Map<String, String> gateOptions(BatchSite site) {
        Map<String, String> options = new LinkedHashMap<>(site.options());
        options.remove(POLL_INTERVAL);
        options.remove(PRICE);
        options.remove(SUBMIT_TIMEOUT);
        return options;
    }

    private static Duration duration(BatchSite site, String key, Duration otherwise) {
        String text = site.options().get(key);
        if (text == null) {
            return otherwise;
        }
        Duration d;
        try {
            d = text.endsWith("ms") ? Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2).trim()))
                    : text.endsWith("s") ? Duration.ofSeconds(Long.parseLong(text.substring(0, text.length() - 1)
                    .trim())) : Duration.parse(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("batch site '" + site.name() + "': " + key
                    + " must be a duration such as 500ms, 2s or PT2S, got '" + text + "'");
        }
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("batch site '" + site.name() + "': " + key
                    + " must be positive, got '" + text + "'");
        }
        return d;
    }

    private static double price(BatchSite site) {
        String text = site.options().get(PRICE);
        if (text == null) {
            return 0;
        }
        try {
            double p = Double.parseDouble(text);
            if (p >= 0 && Double.isFinite(p)) {
                return p;
            }
        } catch (NumberFormatException ignored) {
            // refused below
        }
        throw new IllegalArgumentException("batch site '" + site.name() + "': " + PRICE
                + " must be a number >= 0, got '" + text + "'");
    }
}
