package dev.skyport.scheduler;

/**
 * Found with {@link java.util.ServiceLoader}; one provider per policy. The engine picks the provider whose
 * {@link #name()} equals its configured scheduler name.
 */
public interface SchedulerProvider {
    String name();

    Scheduler create();
}
