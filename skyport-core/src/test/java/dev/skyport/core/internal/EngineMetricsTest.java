package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.EngineMetrics;
import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.core.micrometer.MicrometerMetrics;
import dev.skyport.gate.GateException;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The engine's meters, as a Micrometer registry sees them after real jobs ran on the local (switchable) gate. */
class EngineMetricsTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path data;

    @AfterEach
    void reset() {
        SwitchableGate.refuseNextLaunch.set(null);
        SwitchableGate.separateDirectory = false;
    }

    private SkyPort start(EngineMetrics metrics) {
        return SkyPort.embedded().dataDir(data).gate("switchable").localCpus(1).jobIsolation(JobIsolation.NONE)
                .metrics(metrics).start();
    }

    @Test
    void submitsTransitionsPassesAndGateCallsAreCountedAndTheQueueIsGauged() throws Exception {
        MeterRegistry registry = new SimpleMeterRegistry();
        try (SkyPort sky = start(MicrometerMetrics.of(registry))) {
            // One cpu: the second job waits while the first holds it, so the gauge sees one queued and one running.
            Job holder = sky.jobs().submit(JobSpec.builder().command(List.of("sleep", "300")).build());
            Job failing = sky.jobs().submitAll(List.of(JobSpec.builder().command(List.of("false")).build())).get(0);
            Deadline.until(WAIT, () -> sky.jobs().get(holder.id()).state() == JobState.RUNNING);
            assertThat(gauge(registry, "queued")).isEqualTo(1.0);
            assertThat(gauge(registry, "running")).isEqualTo(1.0);
            assertThat(registry.find(MicrometerMetrics.QUEUE).gauges()).hasSize(6); // every state a job waits in

            sky.jobs().cancel(holder.id());
            assertThat(sky.jobs().await(failing.id(), WAIT).state()).isEqualTo(JobState.FAILED);
            sky.jobs().await(holder.id(), WAIT);
            Deadline.until(WAIT, () -> gauge(registry, "queued") == 0.0 && gauge(registry, "running") == 0.0);

            assertThat(registry.get(MicrometerMetrics.SUBMITTED).counter().count()).isEqualTo(2.0);
            assertThat(registry.get(MicrometerMetrics.SUBMIT).timer().count()).isEqualTo(2);
            assertThat(transitions(registry, "running", "none")).isEqualTo(2.0);
            assertThat(transitions(registry, "failed", "non_zero_exit")).isEqualTo(1.0);
            assertThat(transitions(registry, "canceled", "canceled")).isEqualTo(1.0);
            Timer passes = registry.get(MicrometerMetrics.PASS).timer();
            assertThat(passes.count()).isPositive();
            assertThat(passes.totalTime(java.util.concurrent.TimeUnit.NANOSECONDS)).isPositive();
            Timer launches = registry.get(MicrometerMetrics.GATE_CALLS)
                    .tags("gate", "switchable", "operation", "launch", "outcome", "success").timer();
            assertThat(launches.count()).isEqualTo(2);
            assertThat(registry.get(MicrometerMetrics.GATE_CALLS).tags("operation", "nodes").timer().count())
                    .isPositive();
            assertThat(registry.find(MicrometerMetrics.GATE_ERRORS).counters()).isEmpty();
        }
        assertThat(registry.find(MicrometerMetrics.QUEUE).gauges()).as("removed when the engine closes").isEmpty();
    }

    @Test
    void aGatesRefusalIsAnErrorOfItsOperationByItsKind() throws Exception {
        MeterRegistry registry = new SimpleMeterRegistry();
        SwitchableGate.refuseNextLaunch.set(GateException.permanent("no such image on this node"));
        try (SkyPort sky = start(MicrometerMetrics.of(registry))) {
            Job done = sky.jobs().await(sky.jobs().submit(JobSpec.builder().command(List.of("true")).build()).id(),
                    WAIT);
            assertThat(done.endReason()).hasValue(EndReason.SYSTEM_ERROR);
            assertThat(registry.get(MicrometerMetrics.GATE_ERRORS)
                    .tags("gate", "switchable", "operation", "launch", "outcome", "permanent-error").counter().count())
                    .isEqualTo(1.0);
            assertThat(registry.get(MicrometerMetrics.GATE_CALLS)
                    .tags("operation", "launch", "outcome", "permanent-error").timer().count()).isEqualTo(1);
            assertThat(transitions(registry, "failed", "system_error")).isEqualTo(1.0);
        }
    }

    /** Staging goes through the metered node access too: the job's files still arrive and come back. */
    @Test
    void stagedFilesTravelThroughTheMeteredNodeAccess(@TempDir Path files) throws Exception {
        MeterRegistry registry = new SimpleMeterRegistry();
        SwitchableGate.separateDirectory = true; // the node's directory is not the engine's: files are copied
        Path input = java.nio.file.Files.writeString(files.resolve("in.txt"), "42\n");
        try (SkyPort sky = start(MicrometerMetrics.of(registry))) {
            Job done = sky.jobs().await(sky.jobs().submit(JobSpec.builder()
                    .script("#!/bin/sh\ncat in.txt > out.txt\n").inputFile(input.toString()).outputFile("out.txt")
                    .build()).id(), WAIT);
            assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(data.resolve("jobs").resolve(done.id().toString()).resolve("out.txt")).hasContent("42");
            assertThat(registry.find(MicrometerMetrics.GATE_CALLS).tags("outcome", "success").timers())
                    .extracting(t -> t.getId().getTag("operation")).contains("launch", "upload", "download");
            assertThat(transitions(registry, "staging_in", "none")).isEqualTo(1.0);
            assertThat(transitions(registry, "staging_out", "none")).isEqualTo(1.0);
        }
    }

    @Test
    void metricsThatThrowNeverFailTheEngine() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        List<String> seen = new CopyOnWriteArrayList<>();
        EngineMetrics broken = new EngineMetrics() {
            @Override
            public void submitted(int jobs, Duration took) {
                seen.add("submitted");
                throw new IllegalStateException("broken metrics " + calls.incrementAndGet());
            }

            @Override
            public void transitioned(JobState to, Optional<EndReason> reason) {
                seen.add(to.name());
                throw new IllegalStateException("broken metrics " + calls.incrementAndGet());
            }

            @Override
            public void gateCall(String gate, String operation, Duration took, GateOutcome outcome) {
                throw new IllegalStateException("broken metrics " + calls.incrementAndGet());
            }
        };
        try (SkyPort sky = start(broken)) {
            Job done = sky.jobs().await(sky.jobs().submit(JobSpec.builder().command(List.of("true")).build()).id(),
                    WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(seen).contains("submitted", "RUNNING", "SUCCEEDED");
            assertThat(calls.get()).isGreaterThan(3);
        }
    }

    private static double gauge(MeterRegistry registry, String state) {
        Gauge g = registry.get(MicrometerMetrics.QUEUE).tag("state", state).gauge();
        return g.value();
    }

    private static double transitions(MeterRegistry registry, String state, String reason) {
        var c = registry.find(MicrometerMetrics.TRANSITIONS).tags("state", state, "reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    /** Polls {@code condition} until it holds, failing after {@code wait}. */
    private static final class Deadline {
        static void until(Duration wait, java.util.function.BooleanSupplier condition) throws InterruptedException {
            long end = System.nanoTime() + wait.toNanos();
            while (!condition.getAsBoolean()) {
                if (System.nanoTime() > end) {
                    throw new AssertionError("not reached within " + wait);
                }
                Thread.sleep(20);
            }
        }
    }
}
