package dev.skyport.api;

import java.time.Instant;

/**
 * Something that happened inside Sky Port, delivered through {@link Events}. {@code sequence} is unique and increases
 * along each job's history; a number taken by a write that failed is never used, so gaps carry no meaning.
 */
public sealed interface SkyPortEvent permits JobTransitioned, NodeTransitioned {
    /** {@return the event's place in the engine's event order, increasing} */
    long sequence();

    /** {@return when it happened} */
    Instant time();
}
