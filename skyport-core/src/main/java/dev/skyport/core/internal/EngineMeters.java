package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.EngineMetrics;
import dev.skyport.api.EngineMetrics.GateOutcome;
import dev.skyport.api.JobState;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The engine's side of {@link EngineMetrics}: the one place that measures and reports. Every report is guarded, so a
 * metrics implementation that throws is logged once and never fails a transition, a submission or a pass. With
 * {@link EngineMetrics#NONE} (the default) nothing is measured and gates are used as opened, so an engine without
 * metrics pays one branch per hook.
 *
 * <p>Times are measured with {@link System#nanoTime()}, not the engine's {@code Clock}: that clock is the domain's time
 * (tests move it by hand, and it stands still), while a latency is the real time a call took.
 */
final class EngineMeters {
    private static final Logger LOG = LoggerFactory.getLogger(EngineMeters.class);
    /** Calls whose time says nothing about the gate: names, flags, the lookup of a node, the close. */
    private static final Set<String> UNMETERED = Set.of("name", "node", "createsPartitions", "runsContainerImages",
            "access", "batchQueue", "files", "directoryOf", "close", "watch", "toString", "hashCode", "equals");

    private final EngineMetrics sink;
    private final boolean on;
    private final AtomicBoolean complained = new AtomicBoolean();

    EngineMeters(EngineMetrics sink) {
        this.sink = sink;
        this.on = sink != EngineMetrics.NONE;
    }

    /** A start time for {@link #submitted} or {@link #pass}; 0 when nothing is measured. */
    long start() {
        return on ? System.nanoTime() : 0;
    }

    void started(JobTable table) {
        if (on) {
            guard(() -> sink.started(state -> state.isTerminal() ? 0
                    : table.active.values().stream().filter(e -> e.state == state).count()));
        }
    }

    void submitted(int jobs, long start) {
        if (on) {
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            guard(() -> sink.submitted(jobs, took));
        }
    }

    void transitioned(JobState from, JobState to, Optional<EndReason> reason) {
        if (on && from != to) {
            guard(() -> sink.transitioned(to, reason));
        }
    }

    void pass(long start) {
        if (on) {
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            guard(() -> sink.schedulingPass(took));
        }
    }

    void closed() {
        if (on) {
            guard(sink::closed);
        }
    }

    /**
     * {@code gate} with every call to it, to the nodes it gives access to and to its batch queue timed and reported;
     * {@code gate} itself when nothing is measured.
     *
     * <p>A {@link Proxy} rather than a hand-written decorator: a decorator that did not override a default method the
     * SPI gains later would silently run the interface's default instead of the gate's own implementation; the proxy
     * forwards every method, present and future, to the gate.
     */
    Gate gate(Gate gate) {
        return on ? metered(Gate.class, gate, gate.name()) : gate;
    }

    private <T> T metered(Class<T> type, T target, String gateName) {
        Class<?>[] types = target instanceof AutoCloseable && !AutoCloseable.class.isAssignableFrom(type)
                ? new Class<?>[]{type, AutoCloseable.class} : new Class<?>[]{type};
        InvocationHandler handler = (proxy, method, args) -> invoke(target, gateName, method, args);
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), types, handler));
    }

    private Object invoke(Object target, String gateName, Method method, Object[] args) throws Throwable {
        String op = method.getName();
        if (method.getDeclaringClass() == Object.class || UNMETERED.contains(op)) {
            return wrapped(gateName, call(target, method, args));
        }
        long start = System.nanoTime();
        GateOutcome outcome = GateOutcome.UNEXPECTED_ERROR;
        try {
            Object result = call(target, method, args);
            outcome = GateOutcome.SUCCESS;
            return result;
        } catch (GateException e) {
            outcome = e.isTransient() ? GateOutcome.TRANSIENT_ERROR : GateOutcome.PERMANENT_ERROR;
            throw e;
        } finally {
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            GateOutcome o = outcome;
            guard(() -> sink.gateCall(gateName, op, took, o));
        }
    }

    /** What a gate hands out that the engine calls in turn (a node's access, a batch queue) is metered too. */
    private Object wrapped(String gateName, Object result) {
        if (result instanceof NodeAccess a && !Proxy.isProxyClass(a.getClass())) {
            return metered(NodeAccess.class, a, gateName);
        }
        if (result instanceof BatchQueue q) {
            return metered(BatchQueue.class, q, gateName);
        }
        if (result instanceof Optional<?> o && o.isPresent() && o.get() instanceof BatchQueue q) {
            return Optional.of(metered(BatchQueue.class, q, gateName));
        }
        return result;
    }

    private static Object call(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause(); // what the gate threw, unchanged: the engine classifies GateExceptions itself
        }
    }

    private void guard(Runnable report) {
        try {
            report.run();
        } catch (RuntimeException e) {
            if (complained.compareAndSet(false, true)) {
                LOG.warn("the metrics implementation {} failed; its failures are ignored from now on: {}", sink,
                        e.toString());
            }
        }
    }
}
