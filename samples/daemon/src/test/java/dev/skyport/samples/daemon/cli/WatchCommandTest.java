package dev.skyport.samples.daemon.cli;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.samples.daemon.cli.CliHarness.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * {@code skyport watch} and the REASON column of queued jobs, on an engine with one cpu: a job holding it keeps the
 * next one queued with a reason.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WatchCommandTest {
    private static final String USER = "watcher";
    private CliHarness cli;
    private JobId running;
    private JobId queued;
    private JobId done;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        cli = new CliHarness(dir.resolve("data"), 1);
        done = cli.as(USER).jobs().submit(JobSpec.script("#!/bin/sh\n#SWM name done\ntrue\n")).id();
        cli.await(done);
        running = cli.as(USER).jobs().submit(JobSpec.script("#!/bin/sh\n#SWM name holder\nsleep 300\n")).id();
        cli.pollState(running, JobState.RUNNING);
        queued = cli.as(USER).jobs().submit(JobSpec.script("#!/bin/sh\n#SWM name waiter\ntrue\n")).id();
        cli.poll(queued, job -> !job.stateDetails().isBlank());
    }

    @AfterAll
    void stop() {
        cli.sky.jobs().cancel(running);
        cli.close();
    }

    @Test
    void aQueuedJobsReasonIsWhatItWaitsFor() {
        Job job = cli.sky.jobs().get(queued);
        assertThat(job.state()).isEqualTo(JobState.QUEUED);
        Result r = cli.run(USER, "jobs", "--wide");
        String line = r.out().lines().filter(l -> l.contains(queued.toString())).findFirst().orElseThrow();
        assertThat(line).contains("QUEUED").contains(job.stateDetails());
        String holder = r.out().lines().filter(l -> l.contains(running.toString())).findFirst().orElseThrow();
        assertThat(holder).contains("RUNNING").contains("local");
    }

    @Test
    void watchPrintsPlainSnapshotsWithCountsOffATerminalAndStops() {
        Result r = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> cli.run(USER, "watch", "--interval", "0.1", "-n", "3"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).doesNotContain("\033[");
        List<String> counts = r.out().lines().filter(l -> l.startsWith("QUEUED ")).toList();
        assertThat(counts).hasSize(3);
        Pattern expected = Pattern.compile("QUEUED 1 +PROVISIONING 0 +STAGING_IN 0 +RUNNING 1 +STAGING_OUT 0 +"
                + "CANCELING 0 +SUCCEEDED 1 +FAILED 0 +CANCELED 0 +total 3");
        assertThat(counts).allMatch(line -> expected.matcher(line).matches(), expected.pattern());
        assertThat(r.out().lines().filter(l -> l.startsWith("ID "))).hasSize(3);
        assertThat(r.out()).contains("holder", "waiter", "done");
    }

    @Test
    void watchRedrawsInPlaceOnATerminal() {
        cli.terminal = true;
        try {
            Result r = assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> cli.run(USER, "watch", "--interval", "0.1", "-n", "2", "--no-color"));
            assertThat(r.exit()).isZero();
            assertThat(r.out()).startsWith("\033[2J\033[H"); // cleared once
            assertThat(r.out().split("\033\\[H", -1)).hasSize(3); // then homed for each view
            assertThat(r.out()).contains("\033[K\n").endsWith("\033[J");
            assertThat(r.out()).contains("QUEUED 1");
        } finally {
            cli.terminal = false;
        }
    }
}
