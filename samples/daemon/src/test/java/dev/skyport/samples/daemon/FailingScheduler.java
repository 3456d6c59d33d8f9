package dev.skyport.samples.daemon;

import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.Scheduler;
import dev.skyport.scheduler.SchedulerProvider;

import java.time.Instant;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Scheduler {@code failing}: the real {@code fcfs} scheduler, except that every plan throws while {@link #failing}
 * is set, as a scheduler with a bug for some queue would. One daemon at a time uses it (the switch is static).
 */
final class FailingScheduler implements Scheduler {
    static volatile boolean failing;

    private final Scheduler fcfs = ServiceLoader.load(SchedulerProvider.class).stream()
            .map(ServiceLoader.Provider::get).filter(p -> p.name().equals("fcfs")).findFirst().orElseThrow().create();

    public static final class Provider implements SchedulerProvider {
        @Override
        public String name() {
            return "failing";
        }

        @Override
        public Scheduler create() {
            return new FailingScheduler();
        }
    }

    @Override
    public String name() {
        return "failing";
    }

    @Override
    public Plan plan(ClusterView cluster, List<QueuedJob> queue, Instant now) {
        if (failing) {
            throw new IllegalStateException("injected scheduler bug");
        }
        return fcfs.plan(cluster, queue, now);
    }
}
