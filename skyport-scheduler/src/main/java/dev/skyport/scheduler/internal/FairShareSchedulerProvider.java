package dev.skyport.scheduler.internal;

import dev.skyport.scheduler.Scheduler;
import dev.skyport.scheduler.SchedulerProvider;

/** Provides the {@code fair-share} policy (see {@link TimetableScheduler.Policy#FAIR_SHARE}). */
public final class FairShareSchedulerProvider implements SchedulerProvider {
    @Override
    public String name() {
        return "fair-share";
    }

    @Override
    public Scheduler create() {
        return new TimetableScheduler(TimetableScheduler.Policy.FAIR_SHARE, name());
    }
}
