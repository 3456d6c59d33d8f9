/** The scheduler SPI and the built-in policies (fcfs, backfill, fair share), offered as services. */
module dev.skyport.scheduler {
    requires transitive dev.skyport.api;

    exports dev.skyport.scheduler;

    provides dev.skyport.scheduler.SchedulerProvider with
            dev.skyport.scheduler.internal.FcfsSchedulerProvider,
            dev.skyport.scheduler.internal.BackfillSchedulerProvider,
            dev.skyport.scheduler.internal.FairShareSchedulerProvider;
}
