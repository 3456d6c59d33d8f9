package dev.skyport.api;

import java.util.List;
import java.util.function.Consumer;

/**
 * Job and node transitions, as they happen. Listeners are called on one Sky Port thread per subscription, after
 * the event is durable; a slow listener delays only itself. An exception thrown by a listener is logged and does not
 * end the subscription.
 *
 * <p>Two kinds of subscription: {@link #subscribe(Consumer)} delivers as soon as each event is durable, so one job's
 * events arrive in order but events of different jobs may interleave out of sequence order. {@link #subscribeAfter}
 * delivers in strictly increasing sequence order, replaying stored events first, so that a client that remembers the
 * last sequence it handled can resume after a disconnect or a restart and miss nothing (Server-Sent Events'
 * {@code Last-Event-ID} maps onto it).
 */
public interface Events {
    /**
     * Delivers every event from now on to {@code listener} until the subscription is closed.
     *
     * @param listener called once per event, on the engine's delivery thread; it must not block
     * @return the subscription; close it to stop the deliveries
     */
    Subscription subscribe(Consumer<? super SkyPortEvent> listener);

    /**
     * Delivers every event whose sequence is greater than {@code afterSequence}, in increasing sequence order without
     * gaps that matter: first the stored ones, then new ones as they become durable, until the subscription is
     * closed. An event is delivered only once every event with a smaller sequence is durable or will never exist
     * (its write failed), so a subscriber that resumes after the last sequence it handled misses nothing. Events of
     * jobs purged meanwhile are not replayed. Pass {@link #lastSequence()} to start from now in that order.
     *
     * @param afterSequence the sequence of the last event already seen; 0 for the oldest kept
     * @param listener called once per event, in sequence order; it must not block
     * @return the subscription; close it to stop the deliveries
     * @throws IllegalArgumentException when {@code afterSequence} is negative or greater than {@link #lastSequence()}
     */
    Subscription subscribeAfter(long afterSequence, Consumer<? super SkyPortEvent> listener);

    /**
     * {@return the sequence up to which every event is durable or will never exist: a {@link #subscribeAfter} from here
     * gets exactly the events that happen from now on} 0 before the first event.
     */
    long lastSequence();

    /**
     * {@return the recorded transitions of one job, oldest first}
     *
     * @param id the job
     * @throws NoSuchJobException for an unknown id, and from a {@linkplain SkyPort#asUser user view} for an id it
     *                          cannot see, known or not
     */
    List<JobTransitioned> history(JobId id);
}
