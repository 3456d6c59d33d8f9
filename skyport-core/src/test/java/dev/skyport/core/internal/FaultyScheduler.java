package dev.skyport.core.internal;

import dev.skyport.scheduler.ClusterView;
import dev.skyport.scheduler.Plan;
import dev.skyport.scheduler.QueuedJob;
import dev.skyport.scheduler.Scheduler;
import dev.skyport.scheduler.SchedulerProvider;

import java.time.Instant;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The real {@code backfill} scheduler, except that its next {@link #failuresLeft} plans throw what {@link #fault}
 * makes: scheduler {@code faulty}. One engine at a time uses it (the controls are static, as the scheduler is created
 * by name).
 */
final class FaultyScheduler implements Scheduler {
    static final AtomicInteger failuresLeft = new AtomicInteger();
    static volatile Supplier<? extends Throwable> fault = () -> new IllegalStateException("injected failure");
    /** Plans that threw, over all engines. */
    static final AtomicInteger failed = new AtomicInteger();

    private final Scheduler backfill;

    private FaultyScheduler() {
        this.backfill = ServiceLoader.load(SchedulerProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("backfill")).findFirst().orElseThrow().create();
    }

    static void reset() {
        failuresLeft.set(0);
        failed.set(0);
        fault = () -> new IllegalStateException("injected failure");
    }

    public static final class Provider implements SchedulerProvider {
        @Override
        public String name() {
            return "faulty";
        }

        @Override
        public Scheduler create() {
            return new FaultyScheduler();
        }
    }

    @Override
    public String name() {
        return "faulty";
    }

    @Override
    public Plan plan(ClusterView cluster, List<QueuedJob> queue, Instant now) {
        if (failuresLeft.getAndDecrement() > 0) {
            failed.incrementAndGet();
            throw FaultyScheduler.<RuntimeException>unchecked(fault.get());
        }
        return backfill.plan(cluster, queue, now);
    }

    /** Throws any throwable the fault makes, Errors included, through a signature that declares none. */
    @SuppressWarnings("unchecked")
    private static <T extends Throwable> T unchecked(Throwable t) throws T {
        throw (T) t;
    }
}
