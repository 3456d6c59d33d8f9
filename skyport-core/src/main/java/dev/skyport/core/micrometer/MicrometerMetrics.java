package dev.skyport.core.micrometer;

import dev.skyport.api.EndReason;
import dev.skyport.api.EngineMetrics;
import dev.skyport.api.JobState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reports an embedded engine's meters to a Micrometer {@link MeterRegistry}:
 * {@code SkyPort.embedded().metrics(MicrometerMetrics.of(registry)).start()}. Micrometer is an optional dependency of
 * {@code skyport-core}: an application that uses this class adds {@code io.micrometer:micrometer-core} (and the
 * registry it wants, e.g. {@code micrometer-registry-prometheus}); the engine never loads this class on its own.
 *
 * <table>
 * <caption>The meters</caption>
 * <tr><th>name</th><th>type</th><th>tags</th><th>what</th></tr>
 * <tr><td>{@value #QUEUE}</td><td>gauge</td><td>state</td><td>unfinished jobs per state</td></tr>
 * <tr><td>{@value #SUBMITTED}</td><td>counter</td><td></td><td>jobs submitted</td></tr>
 * <tr><td>{@value #SUBMIT}</td><td>timer</td><td></td><td>time of a submit call until its jobs are stored</td></tr>
 * <tr><td>{@value #TRANSITIONS}</td><td>counter</td><td>state, reason</td><td>moves of jobs into a state</td></tr>
 * <tr><td>{@value #PASS}</td><td>timer</td><td></td><td>time of a scheduling pass</td></tr>
 * <tr><td>{@value #GATE_CALLS}</td><td>timer</td><td>gate, operation, outcome</td><td>calls to gates</td></tr>
 * <tr><td>{@value #GATE_ERRORS}</td><td>counter</td><td>gate, operation, outcome</td><td>failed calls</td></tr>
 * </table>
 *
 * <p>Tag values are lower case: states and reasons as {@code running}, {@code staging_in}, {@code non_zero_exit},
 * {@code none} for a move without an end reason; outcomes {@code success}, {@code transient-error},
 * {@code permanent-error}, {@code unexpected-error}. Thread-safe; one instance per engine.
 */
public final class MicrometerMetrics implements EngineMetrics {
    /** The gauge of unfinished jobs, tagged with their state. */
    public static final String QUEUE = "skyport.queue.jobs";
    /** The counter of submitted jobs (a batch counts each of its jobs). */
    public static final String SUBMITTED = "skyport.jobs.submitted";
    /** The timer of submit calls, until their jobs are stored and queued. */
    public static final String SUBMIT = "skyport.jobs.submit";
    /** The counter of jobs' moves into a state, tagged with the state and the end reason. */
    public static final String TRANSITIONS = "skyport.jobs.transitions";
    /** The timer of scheduling passes. */
    public static final String PASS = "skyport.scheduler.pass";
    /** The timer of every call to a gate, tagged with gate, operation and outcome. */
    public static final String GATE_CALLS = "skyport.gate.calls";
    /** The counter of failed calls to a gate, tagged as {@link #GATE_CALLS} is. */
    public static final String GATE_ERRORS = "skyport.gate.errors";

    private final MeterRegistry registry;
    private final Tags common;
    private final Counter submitted;
    private final Timer submit;
    private final Timer pass;
    private final ConcurrentHashMap<String, Counter> transitions = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> gateCalls = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> gateErrors = new ConcurrentHashMap<>();
    private final List<Meter> gauges = new ArrayList<>();

    private MicrometerMetrics(MeterRegistry registry, Tags common) {
        this.registry = registry;
        this.common = common;
        this.submitted = Counter.builder(SUBMITTED).description("Jobs submitted").tags(common)
                .register(registry);
        this.submit = Timer.builder(SUBMIT).description("Time of a submit call until its jobs are stored and queued")
                .tags(common).register(registry);
        this.pass = Timer.builder(PASS).description("Time of a scheduling pass").tags(common).register(registry);
    }

    /**
     * {@return the engine's meters in {@code registry}}
     *
     * @param registry where the meters are registered
     */
    public static MicrometerMetrics of(MeterRegistry registry) {
        return new MicrometerMetrics(Objects.requireNonNull(registry, "registry"), Tags.empty());
    }

    /**
     * The engine's meters in {@code registry}, each with {@code tags} added: for several engines in one registry
     * (e.g. {@code Tags.of("engine", "batch")}).
     *
     * @param registry where the meters are registered
     * @param tags     added to every meter, to tell the engines apart
     * @return the engine's meters
     */
    public static MicrometerMetrics of(MeterRegistry registry, Iterable<Tag> tags) {
        return new MicrometerMetrics(Objects.requireNonNull(registry, "registry"), Tags.of(tags));
    }

    @Override
    public synchronized void started(QueueDepth queue) {
        for (JobState state : JobState.values()) {
            if (!state.isTerminal()) {
                // Strong: the engine's QueueDepth is referenced by nothing else, and a weak gauge would read NaN
                // once it is collected. closed() removes the gauges instead.
                gauges.add(Gauge.builder(QUEUE, queue, q -> q.jobs(state)).description("Unfinished jobs per state")
                        .baseUnit("jobs").tags(common).tag("state", tag(state)).strongReference(true)
                        .register(registry));
            }
        }
    }

    @Override
    public void submitted(int jobs, Duration took) {
        submitted.increment(jobs);
        submit.record(took);
    }

    @Override
    public void transitioned(JobState to, Optional<EndReason> reason) {
        String r = reason.map(MicrometerMetrics::tag).orElse("none");
        transitions.computeIfAbsent(tag(to) + '/' + r, k -> Counter.builder(TRANSITIONS)
                .description("Moves of jobs into a state, by the reason they ended").baseUnit("transitions")
                .tags(common).tag("state", tag(to)).tag("reason", r).register(registry)).increment();
    }

    @Override
    public void schedulingPass(Duration took) {
        pass.record(took);
    }

    @Override
    public void gateCall(String gate, String operation, Duration took, GateOutcome outcome) {
        String key = gate + '/' + operation + '/' + outcome.tag();
        Tags tags = common.and("gate", gate, "operation", operation, "outcome", outcome.tag());
        gateCalls.computeIfAbsent(key, k -> Timer.builder(GATE_CALLS).description("Calls to gates")
                .tags(tags).register(registry)).record(took);
        if (outcome != GateOutcome.SUCCESS) {
            gateErrors.computeIfAbsent(key, k -> Counter.builder(GATE_ERRORS).description("Failed calls to gates")
                    .baseUnit("errors").tags(tags).register(registry)).increment();
        }
    }

    @Override
    public synchronized void closed() {
        gauges.forEach(registry::remove);
        gauges.clear();
    }

    @Override
    public String toString() {
        return "MicrometerMetrics[" + registry.getClass().getSimpleName() + "]";
    }

    private static String tag(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
