package dev.skyport.scheduler.internal;

import dev.skyport.scheduler.Scheduler;
import dev.skyport.scheduler.SchedulerProvider;

/** Provides the {@code backfill} policy (see {@link TimetableScheduler.Policy#BACKFILL}). */
public final class BackfillSchedulerProvider implements SchedulerProvider {
    @Override
    public String name() {
        return "backfill";
    }

    @Override
    public Scheduler create() {
        return new TimetableScheduler(TimetableScheduler.Policy.BACKFILL, name());
    }
}
