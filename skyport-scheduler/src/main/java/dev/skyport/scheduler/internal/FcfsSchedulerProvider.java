package dev.skyport.scheduler.internal;

import dev.skyport.scheduler.Scheduler;
import dev.skyport.scheduler.SchedulerProvider;

/** Provides the {@code fcfs} policy (see {@link TimetableScheduler.Policy#FCFS}). */
public final class FcfsSchedulerProvider implements SchedulerProvider {
    @Override
    public String name() {
        return "fcfs";
    }

    @Override
    public Scheduler create() {
        return new TimetableScheduler(TimetableScheduler.Policy.FCFS, name());
    }
}
