package dev.skyport.api;

import java.util.List;
import java.util.function.Consumer;

/**
 * Job and partition transitions, as they happen. Listeners are called on one Sky Port thread per subscription, in
 * sequence order, after the event is durable; a slow listener delays only itself. An exception thrown by a listener is
 * logged and does not end the subscription.
 */
public interface Events {
    /** Delivers every event from now on to {@code listener} until the subscription is closed. */
    Subscription subscribe(Consumer<? super SkyPortEvent> listener);

    /** The recorded transitions of one job, oldest first. */
    List<JobTransitioned> history(JobId id);
}
