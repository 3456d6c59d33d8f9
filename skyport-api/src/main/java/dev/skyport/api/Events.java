package dev.skyport.api;

import java.util.List;
import java.util.function.Consumer;

/**
 * Job and partition transitions, as they happen. Listeners are called on one Sky Port thread per subscription, after
 * the event is durable; a slow listener delays only itself. One job's events arrive in the order they happened;
 * events of different jobs may interleave out of sequence order (each job's transitions are serialised, different
 * jobs' are not). An exception thrown by a listener is logged and does not end the subscription.
 */
public interface Events {
    /** Delivers every event from now on to {@code listener} until the subscription is closed. */
    Subscription subscribe(Consumer<? super SkyPortEvent> listener);

    /**
     * The recorded transitions of one job, oldest first. The manager returns an empty list for an unknown id; a
     * {@linkplain SkyPort#asUser user view} throws {@link NoSuchJobException} for an id it cannot see, known or not.
     */
    List<JobTransitioned> history(JobId id);
}
