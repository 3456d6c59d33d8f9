package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.NodeState;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** How the engine's passes use the scheduler: usage for fair share, and passes on node changes. */
class EngineSchedulingTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path data;

    @AfterEach
    void nodeBackUp() {
        SwitchableGate.state = NodeState.UP;
    }

    private SkyPort start(String scheduler) {
        // The blocker waits for a file the test creates outside its job directory.
        return SkyPort.embedded().dataDir(data.resolve("engine")).localCpus(1).scheduler(scheduler)
                .jobIsolation(JobIsolation.NONE).start();
    }

    private static JobSpec job(String account, String script) {
        return JobSpec.builder().account(account).script("#!/bin/sh\n" + script).build();
    }

    /**
     * One cpu; account "heavy" has used it, account "light" has not. Behind a running job, heavy's job is queued
     * first and light's second, at the same priority: fair share starts light's first, the other policies heavy's.
     * With {@code restart} the usage comes from the store, recorded by an earlier engine.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"fair-share", "fair-share after a restart", "backfill"})
    void fairShareRunsTheAccountThatUsedLessFirst(String variant) throws Exception {
        String scheduler = variant.split(" ")[0];
        SkyPort sky = start(scheduler);
        try {
            Job used = sky.jobs().submit(job("heavy", "sleep 0.3\n"));
            assertThat(sky.jobs().await(used.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            if (variant.endsWith("restart")) {
                sky.close();
                sky = start(scheduler);
            }
            Path go = data.resolve("go");
            Job blocker = sky.jobs().submit(job("other", "while [ ! -f '" + go + "' ]; do sleep 0.05; done\n"));
            awaitState(sky, blocker, JobState.RUNNING);
            Job heavy = sky.jobs().submit(job("heavy", "true\n"));
            Job light = sky.jobs().submit(job("light", "true\n"));
            Files.createFile(go);
            Instant heavyStart = sky.jobs().await(heavy.id(), WAIT).startTime().orElseThrow();
            Instant lightStart = sky.jobs().await(light.id(), WAIT).startTime().orElseThrow();
            if (scheduler.equals("fair-share")) {
                assertThat(lightStart).as("light's start").isBefore(heavyStart);
            } else {
                assertThat(heavyStart).as("heavy's start, first in the queue").isBefore(lightStart);
            }
        } finally {
            sky.close();
        }
    }

    /** A job waiting for a node that is down starts when the node comes back, with nothing submitted or ended. */
    @Test
    void aNodeComingBackStartsTheJobsWaitingForIt() throws Exception {
        SwitchableGate.state = NodeState.DOWN;
        try (SkyPort sky = SkyPort.embedded().dataDir(data.resolve("engine")).gate("switchable").start()) {
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
            // Let passes run on the submit and the idle ticks after it: the job must stay queued while the node is down.
            Job queued = awaitQuiet(sky, job);
            assertThat(queued.state()).isEqualTo(JobState.QUEUED);
            SwitchableGate.state = NodeState.UP;
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    /** The job after the engine has had two idle ticks to (wrongly) start it. */
    private static Job awaitQuiet(SkyPort sky, Job job) throws InterruptedException {
        long until = System.nanoTime() + SchedulingLoop.MAX_IDLE.multipliedBy(2).toNanos();
        while (System.nanoTime() < until) {
            Thread.sleep(50);
            if (sky.jobs().get(job.id()).state() != JobState.QUEUED) {
                break;
            }
        }
        return sky.jobs().get(job.id());
    }

    private static void awaitState(SkyPort sky, Job job, JobState state) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (sky.jobs().get(job.id()).state() != state) {
            assertThat(System.nanoTime()).as("%s reaches %s", job.id(), state).isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
