package dev.skyport.api;

/** A live event subscription; {@link #close()} stops delivery. Idempotent. */
public interface Subscription extends AutoCloseable {
    @Override
    void close();
}
