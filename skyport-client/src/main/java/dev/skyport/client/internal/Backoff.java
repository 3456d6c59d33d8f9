package dev.skyport.client.internal;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.function.DoubleSupplier;

/**
 * Exponential back-off with "equal jitter": the n-th retry waits between half and all of
 * {@code min(max, initial * 2^n)}, so many clients that failed together do not come back together, yet none retries
 * at once. A server's {@code Retry-After} (seconds or an HTTP date) is a floor.
 */
public final class Backoff {
    private final Duration initial;
    private final Duration max;
    private final DoubleSupplier random;

    public Backoff(Duration initial, Duration max, DoubleSupplier random) {
        this.initial = initial;
        this.max = max;
        this.random = random;
    }

    /** The wait before retry number {@code retry} (0 for the first). */
    public Duration delay(int retry) {
        long ceiling = max.toMillis();
        long base = initial.toMillis();
        long step = (long) Math.min(ceiling, base * Math.pow(2, Math.min(retry, 40)));
        double factor = 0.5 + 0.5 * random.getAsDouble();
        return Duration.ofMillis(Math.max(1, Math.round(step * factor)));
    }

    /**
     * The wait a {@code Retry-After} header asks for: delta-seconds or an HTTP date relative to {@code now}; empty when
     * absent or unreadable.
     */
    public static Optional<Duration> retryAfter(String header, Instant now) {
        if (header == null || header.isBlank()) {
            return Optional.empty();
        }
        String value = header.trim();
        try {
            long seconds = Long.parseLong(value);
            return seconds < 0 ? Optional.empty() : Optional.of(Duration.ofSeconds(seconds));
        } catch (NumberFormatException notSeconds) {
            try {
                Instant at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                Duration d = Duration.between(now, at);
                return Optional.of(d.isNegative() ? Duration.ZERO : d);
            } catch (DateTimeParseException unreadable) {
                return Optional.empty();
            }
        }
    }
}
