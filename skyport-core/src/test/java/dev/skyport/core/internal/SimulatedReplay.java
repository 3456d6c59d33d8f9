package dev.skyport.core.internal;

import dev.skyport.api.EngineMetrics;
import dev.skyport.api.EndReason;
import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.JobSpec;
import dev.skyport.api.Limits;
import dev.skyport.api.MutableClock;
import dev.skyport.api.Node;
import dev.skyport.api.SkyPort;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Replays a workload through a real embedded engine (its store, scheduling loop, passes and run supervision) on a
 * {@link SimulatedCluster} with a {@link MutableClock}: the jobs are submitted at the clock's start, then the clock
 * jumps from event to event (the next run's end or the next timer of the scheduling loop) and the engine is let act on
 * each before the next. Each run's start is when the engine launched it, on that clock. Passes' wall time is real.
 *
 * <p>"Acted" (settled) means: the scheduling thread waits with no pass asked for and no timer due, and every node
 * allocation the engine holds is a run the cluster runs (so no launch is pending and no end is unhandled).
 */
public final class SimulatedReplay implements AutoCloseable {
    /**
     * One job of a workload: nodes, cpus and memory per node, how long it runs, and its time limit (by default its
     * duration). A run that ends at its time limit may end either way, its time limit or its end first: a test that
     * steps to such an end in lock-step gives the job a longer limit.
     */
    public record SimJob(int nodes, int cpus, long memoryBytes, Duration duration, Duration timeLimit) {
        public SimJob(int nodes, int cpus, long memoryBytes, Duration duration) {
            this(nodes, cpus, memoryBytes, duration, duration);
        }
    }

    private static final Duration SETTLE_DEADLINE = Duration.ofMinutes(2);
    private final String id = UUID.randomUUID().toString();
    private final SimulatedCluster cluster;
    private final MutableClock clock;
    private final Instant start;
    private final SkyPort sky;
    private final SchedulingLoop loop;
    private final JobTable table;
    private final Thread schedulingThread;
    private final java.util.concurrent.locks.ReentrantLock loopLock;
    private long events;
    private volatile boolean progress;
    private final AtomicLong passes = new AtomicLong();
    private final Map<String, AtomicLong> transitions = new ConcurrentSkipListMap<>();
    private final AtomicLong passNanos = new AtomicLong();
    private final AtomicLong longestPassNanos = new AtomicLong();

    /**
     * Starts an engine over {@code dataDir} on {@code nodes}, with the clock at {@code start}.
     *
     * @param scheduler the scheduling policy's name
     */
    public SimulatedReplay(Path dataDir, List<Node> nodes, Instant start, String scheduler) {
        this.cluster = new SimulatedCluster(nodes);
        cluster.register(id);
        this.clock = new MutableClock(start);
        this.start = start;
        EngineMetrics metrics = new EngineMetrics() {
            @Override
            public void transitioned(JobState to, Optional<EndReason> reason) {
                transitions.computeIfAbsent(to.name() + reason.map(r -> "/" + r).orElse(""), k -> new AtomicLong())
                        .incrementAndGet();
            }

            @Override
            public void schedulingPass(Duration took) {
                passes.incrementAndGet();
                passNanos.addAndGet(took.toNanos());
                longestPassNanos.accumulateAndGet(took.toNanos(), Math::max);
            }
        };
        this.sky = SkyPort.embedded().dataDir(dataDir).gate("simulated").gateOption("cluster", id)
                .scheduler(scheduler).clock(clock).metrics(metrics)
                .limits(Limits.defaults().withMaxActiveJobs(2_000_000).withMaxActiveJobsPerUser(1_000_000)
                        .withMaxStoredBytesPerUser(1L << 40))
                .start();
        this.loop = field(sky, "loop");
        this.table = field(sky, "table");
        this.schedulingThread = field(loop, "thread");
        this.loopLock = field(loop, "lock");
    }

    /** {@return the value of {@code o}'s field {@code name}, whatever its access (the engine's parts, for tests)} */
    @SuppressWarnings("unchecked")
    static <T> T field(Object o, String name) {
        try {
            Field f = o.getClass().getDeclaredField(name);
            f.setAccessible(true);
            return (T) f.get(o);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the engine has no field " + name, e);
        }
    }

    /** {@return the engine} */
    public SkyPort sky() {
        return sky;
    }

    /** {@return the clock the engine runs on} */
    public MutableClock clock() {
        return clock;
    }

    /** {@return the simulated cluster} */
    public SimulatedCluster cluster() {
        return cluster;
    }

    /**
     * {@return the spec of {@code job}, the {@code order}-th of its workload: a command that never runs, its size, and
     * its time limit}
     */
    public static JobSpec spec(SimJob job, int order) {
        return JobSpec.builder().command(List.of("true")).nodes(job.nodes()).cpus(job.cpus())
                .memoryBytes(job.memoryBytes()).timeLimit(job.timeLimit())
                .env(SimulatedCluster.DURATION_MS, Long.toString(job.duration().toMillis()))
                .env(SimulatedCluster.ORDER, Integer.toString(order)).build();
    }

    /**
     * Submits {@code jobs} in order, in batches, at the clock's present time, and waits until the engine queued them
     * all and acted on them.
     *
     * @return their ids, in order
     */
    public List<JobId> submit(List<SimJob> jobs) throws TimeoutException {
        List<JobId> ids = new ArrayList<>(jobs.size());
        int before = table.active.size();
        awaitSettled();
        long passesBefore = passes.get();
        // The whole workload arrives at once: no pass sees a part of it, however the batches' commits fall (the
        // engine registers a batch on the caller's thread, which holds the loop's lock here, so it may signal it).
        loopLock.lock();
        try {
            for (int i = 0; i < jobs.size(); i += 1000) {
                List<JobSpec> batch = new ArrayList<>();
                for (int k = i; k < Math.min(jobs.size(), i + 1000); k++) {
                    batch.add(spec(jobs.get(k), k));
                }
                sky.jobs().submitAll(batch).forEach(j -> ids.add(j.id()));
            }
        } finally {
            loopLock.unlock();
        }
        Instant deadline = Instant.now().plus(SETTLE_DEADLINE);
        while (table.active.size() < before + jobs.size()) {
            if (Instant.now().isAfter(deadline)) {
                throw new TimeoutException("the engine did not register " + jobs.size() + " jobs in time");
            }
            LockSupport.parkNanos(100_000);
        }
        awaitSettled(passesBefore);
        return ids;
    }

    /** Waits until the engine has acted on everything so far: see the type's comment. */
    public void awaitSettled() throws TimeoutException {
        awaitSettled(-1);
    }

    /** As {@link #awaitSettled()}, and until a pass after the {@code passesBefore}-th has run. */
    private void awaitSettled(long passesBefore) throws TimeoutException {
        Instant deadline = Instant.now().plus(SETTLE_DEADLINE);
        int inARow = 0;
        while (inARow < 2) { // twice, so that an end or launch between the two reads cannot pass unseen
            if (passes.get() > passesBefore && loop.idle() && table.allocations.size() == cluster.running()) {
                inARow++;
            } else {
                inARow = 0;
            }
            if (Instant.now().isAfter(deadline)) {
                throw new TimeoutException("the engine did not settle: scheduling idle " + loop.idle() + ", "
                        + table.allocations.size() + " allocations, " + cluster.running() + " runs");
            }
            LockSupport.parkNanos(100_000);
        }
    }

    /** {@return the time of the next event: the next run's end or the next timer of the scheduling loop} */
    public Optional<Instant> nextEvent() {
        Optional<Instant> end = cluster.nextEnd();
        Optional<Instant> timer = loop.nextTimer();
        if (end.isEmpty()) {
            return timer;
        }
        if (timer.isEmpty()) {
            return end;
        }
        return Optional.of(end.get().isBefore(timer.get()) ? end.get() : timer.get());
    }

    /**
     * Moves the clock to {@code time}, waits until the engine has acted on the timers due by then, and then ends the
     * runs due by then one at a time, waiting after each until the engine has acted. The clock moves, and each end is
     * released by the engine, while the scheduling loop's lock is held, so that no pass runs in between: every pass sees
     * either all of a step or none of it, and a replay is deterministic. Timers first, ends after: a due timer and an
     * end handled together could give one pass or two (the loop, woken for the timer, may plan before the end's request
     * for a pass arrives, the worker that releases the run taking the loop's lock on its way), and a second pass can
     * set a timer of its own.
     */
    public void advanceTo(Instant time) throws TimeoutException {
        events++;
        long passesBefore;
        boolean timerDue;
        loopLock.lock();
        try {
            passesBefore = passes.get();
            timerDue = loop.nextTimer().map(t -> !t.isAfter(time)).orElse(false);
            Duration by = Duration.between(clock.instant(), time);
            if (!by.isNegative()) {
                clock.advance(by);
            }
        } finally {
            loopLock.unlock();
        }
        loop.clockMoved();
        awaitSettled(timerDue ? passesBefore : -1);
        boolean ended;
        do {
            loopLock.lock();
            try {
                passesBefore = passes.get();
                ended = cluster.endNext(time);
                if (ended) {
                    awaitReleased();
                }
            } finally {
                loopLock.unlock();
            }
            if (ended) {
                // An end always leads to a pass: wait for it, as the end's release may not have marked the loop dirty
                // yet (it waited for the lock).
                loop.clockMoved();
                awaitSettled(passesBefore);
            }
        } while (ended);
    }

    /**
     * Waits until the engine has released the allocation of the run that just ended (a worker does it, needing no
     * lock of the loop's for that); gives up after a few seconds, in case the end took a path that does (a time limit
     * reached first: durations in whole seconds avoid that), so that the replay goes on, only no longer in lock-step.
     */
    private void awaitReleased() {
        Instant deadline = Instant.now().plusSeconds(5);
        while (table.allocations.size() != cluster.running() && Instant.now().isBefore(deadline)) {
            LockSupport.parkNanos(20_000);
        }
    }

    /** Asks for a scheduling pass now, as an event would, and waits until the engine has acted. */
    public void pass() throws TimeoutException {
        long passesBefore = passes.get();
        loop.markDirty();
        awaitSettled(passesBefore);
    }

    /**
     * Steps from event to event until no job is left; fails when jobs remain with nothing to wait for.
     *
     * @return the time of the last event
     */
    public Instant runToEnd() throws TimeoutException {
        Instant last = clock.instant();
        while (!table.active.isEmpty()) { // the engine's own periodic timers go on after the last job
            Optional<Instant> next = nextEvent();
            if (next.isEmpty()) {
                throw new IllegalStateException(table.active.size() + " jobs remain with no run and no timer");
            }
            if (!next.get().isAfter(clock.instant())) {
                throw new IllegalStateException("the next event, at " + next.get() + ", is not after the clock, at "
                        + clock.instant());
            }
            advanceTo(next.get());
            last = clock.instant();
            if (progress && events % 1000 == 0) {
                System.err.printf("   ... %d events, clock +%d s, %d passes, %d runs, %d jobs left%n", events,
                        Duration.between(start, clock.instant()).toSeconds(), passes.get(), cluster.running(),
                        table.active.size());
            }
        }
        return last;
    }

    /** {@return the seconds from the start to each job's start, in the order of {@code ids}; -1 for one not started} */
    public double[] waits(List<JobId> ids) {
        var starts = cluster.starts();
        double[] out = new double[ids.size()];
        for (int i = 0; i < ids.size(); i++) {
            Instant s = starts.get(ids.get(i));
            out[i] = s == null ? -1 : Duration.between(start, s).toMillis() / 1000.0;
        }
        return out;
    }

    /** {@return the moves of jobs so far, by state entered (and end reason): e.g. {@code RUNNING=10}} */
    public String transitions() {
        return transitions.toString();
    }

    /** Prints a line on standard error every 1,000 events of {@link #runToEnd}. */
    public void showProgress() {
        progress = true;
    }

    /** {@return how many times the clock was moved to the next event} */
    public long events() {
        return events;
    }

    /** {@return the scheduling passes so far} */
    public long passes() {
        return passes.get();
    }

    /** {@return the wall time of all scheduling passes so far, in nanoseconds} */
    public long passNanos() {
        return passNanos.get();
    }

    /** {@return the longest scheduling pass so far, in nanoseconds} */
    public long longestPassNanos() {
        return longestPassNanos.get();
    }

    /** Forgets the longest pass, to measure the next ones. */
    public void resetLongestPass() {
        longestPassNanos.set(0);
    }

    /** {@return the cpu time the scheduling thread has used, in nanoseconds; -1 where the JVM does not measure it} */
    public long schedulingCpuNanos() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        return threads.isThreadCpuTimeSupported() ? threads.getThreadCpuTime(schedulingThread.getId()) : -1;
    }

    @Override
    public void close() {
        sky.close();
        SimulatedCluster.unregister(id);
    }
}
