package dev.skyport.client.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * How a client connects and retries. {@code retries} is how many times an idempotent call is tried again after a
 * transport failure or a 429/502/503/504, waiting an exponential back-off with jitter between {@code initialBackoff}
 * and {@code maxBackoff} (or the server's {@code Retry-After} when it says more, up to {@code maxRetryAfter}).
 */
public record ClientSettings(Duration connectTimeout, Duration readTimeout, Duration callTimeout, int retries,
                             Duration initialBackoff, Duration maxBackoff, Duration maxRetryAfter) {
    public ClientSettings {
        positive(connectTimeout, "connectTimeout");
        positive(readTimeout, "readTimeout");
        Objects.requireNonNull(callTimeout, "callTimeout");
        if (callTimeout.isNegative()) {
            throw new IllegalArgumentException("callTimeout must not be negative, got " + callTimeout);
        }
        if (retries < 0 || retries > 100) {
            throw new IllegalArgumentException("retries must be 0..100, got " + retries);
        }
        positive(initialBackoff, "initialBackoff");
        positive(maxBackoff, "maxBackoff");
        if (maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("maxBackoff " + maxBackoff + " must not be less than initialBackoff "
                    + initialBackoff);
        }
        Objects.requireNonNull(maxRetryAfter, "maxRetryAfter");
    }

    /**
     * 10 s to connect, 30 s between bytes of a reply, no bound on a whole call (a long poll or a log follow lasts
     * as long as it must), 4 retries from 200 ms up to 5 s, and a server's Retry-After honoured up to 30 s.
     */
    public static ClientSettings defaults() {
        return new ClientSettings(Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ZERO, 4,
                Duration.ofMillis(200), Duration.ofSeconds(5), Duration.ofSeconds(30));
    }

    private static void positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + d);
        }
    }
}
