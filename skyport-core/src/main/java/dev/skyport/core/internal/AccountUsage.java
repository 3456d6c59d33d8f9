package dev.skyport.core.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Each account's past use in cpu-seconds, decayed exponentially with a half-life (Slurm's PriorityDecayHalfLife;
 * 7 days by default there and here), which is what {@code fair-share} orders equal priorities by. Use charged at an
 * earlier time than others is decayed from that time, so history can be replayed in any order. Thread-safe.
 */
final class AccountUsage {
    private final double halfLifeSeconds;
    /** Per account, its decayed use as of {@link #asOf}. */
    private final Map<String, Double> usage = new HashMap<>();
    private Instant asOf = Instant.EPOCH;

    AccountUsage(Duration halfLife) {
        if (halfLife.isNegative() || halfLife.isZero()) {
            throw new IllegalArgumentException("half-life must be positive, got " + halfLife);
        }
        this.halfLifeSeconds = halfLife.toMillis() / 1000.0;
    }

    /** Charges {@code account} with {@code cpuSeconds} used up to {@code at}. */
    synchronized void charge(String account, double cpuSeconds, Instant at) {
        Objects.requireNonNull(account, "account");
        if (!(cpuSeconds > 0)) {
            return;
        }
        advance(at);
        usage.merge(account, cpuSeconds * factor(at, asOf), Double::sum);
    }

    /** Every account's use as of {@code now}, decayed; accounts that used nothing are absent. */
    synchronized Map<String, Double> snapshot(Instant now) {
        advance(now);
        double f = factor(now, asOf);
        Map<String, Double> out = new HashMap<>(usage.size() * 2);
        usage.forEach((account, value) -> out.put(account, value * f));
        return out;
    }

    /** Moves the reference time forward to {@code t}, decaying what is stored; never backwards. */
    private void advance(Instant t) {
        if (t.isAfter(asOf)) {
            double f = factor(asOf, t);
            usage.replaceAll((account, value) -> value * f);
            // Forget what has decayed to nothing, so closed accounts do not accumulate.
            usage.values().removeIf(value -> value < 1e-9);
            asOf = t;
        }
    }

    /** The decay from {@code from} to {@code to}; above 1 when {@code to} is earlier. */
    private double factor(Instant from, Instant to) {
        double seconds = Duration.between(from, to).toMillis() / 1000.0;
        return Math.pow(0.5, seconds / halfLifeSeconds);
    }
}
