package dev.skyport.samples.daemon.cli;

import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.MutableClock;
import dev.skyport.samples.daemon.cli.CliHarness.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * {@code skyport submit} of a sweep of scripts, on a real engine: progress on stderr as plain lines off a terminal
 * and as one line redrawn in place on one (the harness's "is a terminal" switch), ids on stdout, and with
 * {@code --watch} the wait for all of them.
 */
class SubmitProgressTest {
    private static final int JOBS = 25;
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;
    private CliHarness cli;

    @AfterEach
    void stop() {
        if (cli != null) {
            cli.close();
        }
    }

    private String[] sweep(int jobs, int failing, String... options) throws IOException {
        List<String> args = new ArrayList<>(List.of("submit"));
        args.addAll(List.of(options));
        for (int i = 0; i < jobs; i++) {
            Path script = dir.resolve("job-" + i + ".sh");
            Files.writeString(script, "#!/bin/sh\n#SWM name sweep-" + i + "\n" + (i < failing ? "exit 3" : "true")
                    + "\n");
            args.add(script.toString());
        }
        return args.toArray(String[]::new);
    }

    @Test
    void offATerminalASweepPrintsPlainProgressLinesAndItsIdsAndWaitsForAll() throws Exception {
        cli = new CliHarness(dir.resolve("data"), 2);
        String[] args = sweep(JOBS, 0, "--watch");
        Result r = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> cli.run("sweeper", args));
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> ids = r.out().lines().toList();
        assertThat(ids).hasSize(JOBS);
        for (String id : ids) {
            assertThat(cli.sky.jobs().get(JobId.parse(id)).state()).isEqualTo(JobState.SUCCEEDED);
        }
        assertThat(r.err()).doesNotContain("\r").doesNotContain("\033");
        List<String> lines = r.err().lines().toList();
        List<String> submitted = lines.stream().filter(l -> l.startsWith("submitted ")).toList();
        List<String> ended = lines.stream().filter(l -> l.startsWith("ended ")).toList();
        assertThat(submitted).isNotEmpty().hasSizeLessThanOrEqualTo(11);
        assertThat(submitted.get(submitted.size() - 1)).startsWith("submitted 25/25 (100%) jobs");
        assertThat(ended).isNotEmpty().hasSizeLessThanOrEqualTo(11);
        assertThat(ended.get(ended.size() - 1)).startsWith("ended 25/25 (100%) 25 succeeded, 0 failed, 0 canceled");
        assertThat(lines).hasSize(submitted.size() + ended.size());
    }

    @Test
    void aSweepWithAFailedJobExitsOneAndCountsIt() throws Exception {
        cli = new CliHarness(dir.resolve("data"), 2);
        String[] args = sweep(4, 1, "--watch");
        Result r = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> cli.run("sweeper", args));
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err().lines().reduce((a, b) -> b).orElseThrow())
                .startsWith("ended 4/4 (100%) 3 succeeded, 1 failed, 0 canceled");
    }

    @Test
    void onATerminalTheProgressIsOneLineRedrawnInPlace() throws Exception {
        cli = new CliHarness(dir.resolve("data"), 2);
        cli.terminal = true;
        String[] args = sweep(JOBS, 0, "--watch");
        Result r = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> cli.run("sweeper", args));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().lines()).hasSize(JOBS);
        // Each phase is one line: redrawn with \r and erased to its end, and ended by one newline.
        assertThat(r.err().chars().filter(c -> c == '\n').count()).isEqualTo(2);
        String[] phases = r.err().split("\n");
        assertThat(phases[0]).startsWith("\rsubmitted ");
        assertThat(phases[0].substring(phases[0].lastIndexOf('\r') + 1)).startsWith("submitted 25/25 (100%) jobs")
                .endsWith("\033[K");
        String lastDraw = phases[1].substring(phases[1].lastIndexOf('\r') + 1);
        assertThat(lastDraw).startsWith("ended 25/25 (100%) 25 succeeded, 0 failed, 0 canceled").endsWith("\033[K");
    }

    @Test
    void progressCanBeSwitchedOffOrForcedPlainAndABadModeIsAUsageError() throws Exception {
        cli = new CliHarness(dir.resolve("data"), 2);
        cli.terminal = true;
        Result none = cli.run("sweeper", sweep(3, 0, "--progress", "none"));
        assertThat(none.exit()).as(none.err()).isZero();
        assertThat(none.err()).isEmpty();
        assertThat(none.out().lines()).hasSize(3);

        Result plain = cli.run("sweeper", sweep(3, 0, "--progress", "plain"));
        assertThat(plain.err()).doesNotContain("\r").contains("submitted 3/3 (100%) jobs");

        Result bad = cli.run("sweeper", sweep(3, 0, "--progress", "fancy"));
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("--progress must be auto, line, plain or none");

        Result key = cli.run("sweeper", sweep(2, 0, "--idempotency-key", "k1"));
        assertThat(key.exit()).isEqualTo(2);
        assertThat(key.err()).contains("--idempotency-key takes one script");
        assertThat(cli.sky.jobs().list(dev.skyport.api.JobQuery.all()).items()).as("nothing more queued")
                .hasSize(6);
    }

    @Test
    void theLineIsRedrawnAtMostTenTimesASecondWithTheRate() {
        MutableClock clock = new MutableClock(T0);
        StringWriter text = new StringWriter();
        Progress p = new Progress(new PrintWriter(text), Progress.Mode.LINE, clock, "ended", 1000);
        for (int i = 1; i <= 400; i++) {
            p.update(i, "");
        }
        assertThat(text.toString()).isEqualTo("\rended 1/1000 (0%)\033[K"); // no time has passed: no rate either
        clock.advance(Duration.ofSeconds(2));
        p.update(500, "x");
        assertThat(text.toString()).endsWith("\rended 500/1000 (50%) x, 250.0/s\033[K");
        p.finish(1000, "x");
        assertThat(text.toString()).endsWith("\rended 1000/1000 (100%) x, 500.0/s\033[K\n");
    }

    @Test
    void plainLinesComeAtEachTenthAndOnceAtTheEnd() {
        StringWriter text = new StringWriter();
        Progress p = new Progress(new PrintWriter(text), Progress.Mode.PLAIN, new MutableClock(T0), "submitted", 1000);
        for (int i = 1; i <= 1000; i++) {
            p.update(i, "jobs");
        }
        p.finish(1000, "jobs");
        List<String> lines = text.toString().lines().toList();
        assertThat(lines).hasSize(11);
        assertThat(lines.get(0)).isEqualTo("submitted 1/1000 (0%) jobs");
        assertThat(lines.get(1)).isEqualTo("submitted 100/1000 (10%) jobs");
        assertThat(lines.get(10)).isEqualTo("submitted 1000/1000 (100%) jobs");
    }
}
