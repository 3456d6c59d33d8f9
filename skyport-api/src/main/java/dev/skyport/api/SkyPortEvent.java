package dev.skyport.api;

import java.time.Instant;

/**
 * Something that happened inside Sky Port, delivered through {@link Events}. {@code sequence} grows by one for each
 * event the store records, so a subscriber can tell order and gaps.
 */
public sealed interface SkyPortEvent permits JobTransitioned {
    long sequence();

    Instant time();
}
