package dev.skyport.scheduler.internal;

import dev.skyport.scheduler.Scheduler;
import dev.skyport.scheduler.SchedulerProvider;

/** Provides {@link FirstFitScheduler} under the name {@code fcfs}. */
public final class FirstFitSchedulerProvider implements SchedulerProvider {
    @Override
    public String name() {
        return "fcfs";
    }

    @Override
    public Scheduler create() {
        return new FirstFitScheduler();
    }
}
