package dev.skyport.scheduler;

/**
 * Found with {@link java.util.ServiceLoader}; one provider per policy. The engine picks the provider whose
 * {@link #name()} equals its configured scheduler name.
 */
public interface SchedulerProvider {
    /**
     * The name {@code EmbeddedBuilder.scheduler(String)} and the daemon's {@code scheduler} setting choose this
     * provider by.
     *
     * @return the policy's name, e.g. {@code backfill}
     */
    String name();

    /**
     * A new scheduler; the engine makes one and calls it from one thread.
     *
     * @return the scheduler
     */
    Scheduler create();
}
