package dev.skyport.core.internal.local;

import dev.skyport.api.JobId;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The local gate's launcher with real processes: what reaches a job, how ends are reported, and what a {@code kill -9}
 * of the launcher does to runs that are running and to requests it had not started yet.
 */
class LocalLauncherTest {
    private static final long WAIT_SECONDS = 30;

    @TempDir
    Path workDir;

    private final List<LocalGate> gates = new ArrayList<>();

    @AfterEach
    void closeGates() {
        gates.forEach(LocalGate::close);
    }

    /** A gate whose runs are checked once an hour only: an end seen sooner was reported, not polled. */
    private LocalNodeAccess node(Map<String, String> extra) {
        Map<String, String> options = new HashMap<>(Map.of("cpus", "2", "job-isolation", "none",
                "launcher-check-ms", Long.toString(Duration.ofHours(1).toMillis())));
        options.putAll(extra);
        LocalGate gate = new LocalGate(new GateConfig(workDir, options, Clock.systemUTC()));
        gates.add(gate);
        return (LocalNodeAccess) gate.access(LocalGate.NODE);
    }

    private RunRequest request(String script) {
        JobId id = new JobId(UUID.randomUUID());
        String dir = workDir.resolve("jobs").resolve(id.toString()).toString();
        return new RunRequest(id, 1, dir, Optional.of(script), List.of(), dir, Map.of());
    }

    @Test
    void argumentsVariablesAndWorkdirReachTheJobByteForByte() throws Exception {
        LocalNodeAccess node = node(Map.of());
        List<String> awkward = List.of("it's", "a\nb", "$HOME", "back\\slash", " spaced  out ", "\"dq\"", "`id`",
                "$(id)", "*", "'", "", "\\'\n'\\", "tab\there", "-e", "ünï");
        List<String> command = new ArrayList<>(List.of("/bin/sh", "-c",
                "printf '%s\\0' \"$@\" > \"$OUT\"; printf '%s' \"$AWKWARD\" > \"$OUT.env\"; pwd > \"$OUT.pwd\"", "sh"));
        command.addAll(awkward);
        JobId id = new JobId(UUID.randomUUID());
        String dir = workDir.resolve("jobs").resolve(id.toString()).toString();
        Path workdir = workDir.resolve("work 'dir' $x\n`y`");
        Files.createDirectories(workdir);
        Path out = workDir.resolve("args.bin");
        String value = "x'y\"z\n$PATH `id` \\ end";
        RunRequest req = new RunRequest(id, 1, dir, Optional.empty(), command, workdir.toString(),
                Map.of("OUT", out.toString(), "AWKWARD", value));

        RunOutcome outcome = node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS);

        assertThat(outcome.exitCode()).as("stderr: %s", Files.readString(Path.of(dir, DetachedRun.STDERR)))
                .hasValue(0);
        assertThat(node.launcherPid()).as("started through the launcher").isPresent();
        String expected = String.join("\0", awkward) + "\0";
        assertThat(new String(Files.readAllBytes(out), StandardCharsets.UTF_8)).isEqualTo(expected);
        assertThat(Files.readString(Path.of(out + ".env"))).isEqualTo(value);
        assertThat(Files.readString(Path.of(out + ".pwd"))).isEqualTo(workdir + "\n");
    }

    @Test
    void aRequestLongerThanAnAtomicPipeWriteStartsThroughTheLauncherWhole() throws Exception {
        LocalNodeAccess node = node(Map.of());
        // Over PIPE_BUF (4 KiB) several times, with what quoting must keep: quotes, newlines, non-ASCII.
        String big = ("line 'q' \"dq\" $x ü €\n").repeat(3_000);
        JobId id = new JobId(UUID.randomUUID());
        String dir = workDir.resolve("jobs").resolve(id.toString()).toString();
        RunRequest req = new RunRequest(id, 1, dir, Optional.of("#!/bin/sh\nprintf %s \"$BIG\" > big.txt\n"),
                List.of(), dir, Map.of("BIG", big));
        RunHandle handle = node.launch(req);
        assertThat(handle.processGroup()).as("started by the launcher").isZero();
        assertThat(node.requestBytes(handle)).isGreaterThan(4 * 4096);
        assertThat(node.watch(handle).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(0);
        assertThat(Files.readString(Path.of(dir, "big.txt"))).isEqualTo(big);
        // Nothing of it was left in the pipe to be taken for the next request.
        RunRequest next = request("#!/bin/sh\nexit 4\n");
        assertThat(node.watch(node.launch(next)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(4);
    }

    @Test
    void everyCharacterReachesTheJobWhenTheLauncherRunsInAUtf8Locale() throws Exception {
        // bash reads a request by its length in characters, which in a UTF-8 locale are not bytes: requests are ASCII.
        // Three sent back to back, which may share a write: a request's length must end where the next one starts.
        ProcessBuilder counts = new ProcessBuilder("/bin/bash", "-c", "x=$'\\303\\274'; [ ${#x} = 1 ]").inheritIO();
        counts.environment().put("LC_ALL", "C.UTF-8");
        assertThat(counts.start().waitFor()).as("bash counts characters in C.UTF-8 (else this test proves nothing)")
                .isZero();
        StringBuilder all = new StringBuilder();
        for (char c = 1; c < 0x80; c++) {
            all.append(c);
        }
        String value = all.append("ünï € \uD834\uDD1E é").toString();
        Map<Long, CompletableFuture<String>> ends = new ConcurrentHashMap<>();
        // The launcher's own variables are skyport_*: one the engine exports reaches a plain job with its own value.
        LocalLauncher launcher = new LocalLauncher("/bin/bash", Map.of("PATH", System.getenv("PATH"),
                "LC_ALL", "C.UTF-8", "skyport_q", "the engine's"), List.of(), List.of(), new LocalLauncher.Listener() {
                    @Override
                    public void ended(LocalLauncher.Run run) {
                        ends.get(run.token).complete("ended");
                    }

                    @Override
                    public void fenced(LocalLauncher.Run run) {
                        ends.get(run.token).complete("fenced");
                    }

                    @Override
                    public void launcherGone(java.util.Collection<LocalLauncher.Run> sent) {
                        sent.forEach(run -> ends.get(run.token).complete("launcher gone"));
                    }

                    @Override
                    public void failed(LocalLauncher.Run run, java.io.IOException why) {
                        ends.get(run.token).complete("failed: " + why);
                    }
                });
        List<RunRequest> requests = new ArrayList<>();
        List<LocalLauncher.Run> runs = new ArrayList<>();
        List<String> requestTexts = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                JobId id = new JobId(UUID.randomUUID());
                Path dir = Files.createDirectories(workDir.resolve("jobs").resolve(id.toString()));
                Path out = dir.resolve("out");
                String mine = value + "ß".repeat(i);
                List<String> program = List.of("/bin/sh", "-c",
                        "printf '%s' \"$1\" > \"$OUT\"; printf '%s' \"$V\" > \"$OUT.env\"; env > \"$OUT.all\"", "sh",
                        mine);
                RunRequest req = new RunRequest(id, 1, dir.toString(), Optional.empty(), program, dir.toString(),
                        Map.of());
                Files.createDirectories(Path.of(req.runDirectory()));
                LocalLauncher.Run run = launcher.newRun(new RunHandle(id, 1, dir.toString(), 0), req,
                        Optional.empty(), Optional.empty());
                ends.put(run.token, new CompletableFuture<>());
                Map<String, String> exports = new java.util.LinkedHashMap<>();
                exports.put("OUT", out.toString());
                exports.put("V", mine);
                requests.add(req);
                runs.add(run);
                requestTexts.add(LocalLauncher.request(run, "plain", exports, dir.toString(), Optional.empty(),
                        program));
            }
            for (int i = 0; i < 3; i++) {
                launcher.send(runs.get(i), requestTexts.get(i));
            }
            for (LocalLauncher.Run run : runs) {
                assertThat(ends.get(run.token).get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("ended");
            }
        } finally {
            launcher.close();
        }
        for (int i = 0; i < 3; i++) {
            RunRequest req = requests.get(i);
            Path dir = Path.of(req.directory());
            assertThat(Files.readString(Path.of(req.runDirectory(), DetachedRun.EXIT_CODE)).strip())
                    .as("stderr: %s", Files.readString(dir.resolve(DetachedRun.STDERR))).isEqualTo("0");
            byte[] expected = (value + "ß".repeat(i)).getBytes(StandardCharsets.UTF_8);
            assertThat(Files.readAllBytes(dir.resolve("out"))).isEqualTo(expected);
            assertThat(Files.readAllBytes(dir.resolve("out.env"))).isEqualTo(expected);
            assertThat(Files.readAllLines(dir.resolve("out.all"), StandardCharsets.ISO_8859_1))
                    .filteredOn(line -> line.startsWith("skyport_")).containsExactly("skyport_q=the engine's");
        }
    }

    @Test
    void anEndIsReportedWithoutPolling() throws Exception {
        LocalNodeAccess node = node(Map.of());
        RunRequest req = request("#!/bin/sh\nsleep 0.2\nexit 3\n");
        RunOutcome outcome = node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(outcome.exitCode()).hasValue(3);
        assertThat(node.launcherPid()).isPresent();
    }

    @Test
    void theJobGetsNoneOfTheLaunchersDescriptors() throws Exception {
        LocalNodeAccess node = node(Map.of());
        RunRequest req = request("#!/bin/sh\nls /proc/self/fd\n");
        assertThat(node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(0);
        // ls itself opens one more to read the directory.
        assertThat(Files.readString(Path.of(req.directory(), DetachedRun.STDOUT)).split("\n")).hasSizeLessThanOrEqualTo(4)
                .contains("0", "1", "2").doesNotContain("255");
    }

    @Test
    void aSandboxedJobSeesNoPipeOfTheLauncherInAnyProcess() throws Exception {
        // The E/F lines and requests travel over pipes: a job holding one could forge an end or start a run.
        LocalNodeAccess node = node(Map.of("job-isolation", "sandbox"));
        RunRequest req = request("#!/bin/sh\nfor p in /proc/[0-9]*; do ls -l $p/fd/ 2>&1; done\n");
        assertThat(node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(0);
        assertThat(node.launcherPid()).as("started through the launcher").isPresent();
        String fds = Files.readString(Path.of(req.directory(), DetachedRun.STDOUT));
        assertThat(fds).contains("stdout.log").doesNotContain("pipe:");
    }

    @Test
    void aSandboxedJobsVariablesReachNoProcessOutsideTheSandbox() throws Exception {
        // LD_PRELOAD in bubblewrap's environment would run the job's code as the engine (root in account mode) outside
        // the sandbox. The dynamic loader's debug output shows who got the variables: inside the sandbox /tmp is empty,
        // so only a process outside can write where this points.
        LocalNodeAccess node = node(Map.of("job-isolation", "sandbox"));
        Path marks = Files.createDirectories(workDir.resolve("loader-marks"));
        JobId id = new JobId(UUID.randomUUID());
        String dir = workDir.resolve("jobs").resolve(id.toString()).toString();
        RunRequest req = new RunRequest(id, 1, dir, Optional.of("#!/bin/sh\nprintf %s \"$MINE\" > mine.txt\n"), List.of(), dir,
                Map.of("LD_DEBUG", "libs", "LD_DEBUG_OUTPUT", marks.resolve("ld").toString(), "MINE", "x'y"));
        assertThat(node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(0);
        assertThat(node.launcherPid()).as("started through the launcher").isPresent();
        assertThat(Files.readString(Path.of(dir, "mine.txt"))).as("the job has its variables").isEqualTo("x'y");
        try (var written = Files.list(marks)) {
            assertThat(written.toList()).as("processes outside the sandbox that had the job's variables").isEmpty();
        }
    }

    @Test
    void aSandboxedJobsVariablesReachNoProcessOutsideTheSandboxWithoutALauncher() throws Exception {
        LocalNodeAccess node = node(Map.of("job-isolation", "sandbox", "launcher", "none"));
        JobId id = new JobId(UUID.randomUUID());
        assertVariablesStayInTheSandbox(node, workDir.resolve("jobs").resolve(id.toString()), id, false);
        assertThat(node.launcherPid()).as("no launcher").isEmpty();
    }

    @Test
    void aSandboxedJobInADirectoryOfAPathLongerThanAnAtomicPipeWriteStartsThroughTheLauncher() throws Exception {
        // A user chooses how deep the job directory is; its path is in the request several times.
        LocalNodeAccess node = node(Map.of("job-isolation", "sandbox"));
        JobId id = new JobId(UUID.randomUUID());
        Path deep = workDir.resolve("jobs");
        while (deep.toString().length() < 2000) {
            deep = deep.resolve("d".repeat(200));
        }
        assertVariablesStayInTheSandbox(node, deep.resolve(id.toString()), id, true);
    }

    @Test
    void aSandboxedJobsVariableWithANulIsRefusedAndNothingRuns() throws Exception {
        // Split at the NUL, the rest would be bubblewrap options of the job's choosing (--bind / /...). Both paths
        // write the arguments with the same writeSandboxArgs, which refuses it.
        for (String launcher : List.of("none", "auto")) {
            LocalNodeAccess node = node(Map.of("job-isolation", "sandbox", "launcher", launcher));
            JobId id = new JobId(UUID.randomUUID());
            String dir = workDir.resolve("jobs").resolve(id.toString()).toString();
            RunRequest req = new RunRequest(id, 1, dir, Optional.of("#!/bin/sh\ntouch ran\n"), List.of(), dir,
                    Map.of("X", "a\0--bind\0/\0/host"));
            assertThatThrownBy(() -> node.launch(req)).as("launcher %s", launcher).isInstanceOf(GateException.class)
                    .hasMessageContaining("cannot be set").matches(e -> !((GateException) e).isTransient());
            assertThat(Path.of(dir, "ran")).doesNotExist();
            assertThat(Path.of(req.runDirectory(), DetachedRun.CLAIM)).as("no wrapper started").doesNotExist();
            assertThat(node.launcherPid()).as("no launcher started for it").isEmpty();
        }
    }

    /**
     * Runs a sandboxed job whose variables ask the dynamic loader for its debug output in a directory the sandbox does
     * not show: a file there was written by a process outside the sandbox that had the job's variables.
     */
    private void assertVariablesStayInTheSandbox(LocalNodeAccess node, Path jobDir, JobId id, boolean throughLauncher)
            throws Exception {
        Path marks = Files.createDirectories(workDir.resolve("loader-marks"));
        String dir = jobDir.toString();
        RunRequest req = new RunRequest(id, 1, dir, Optional.of("#!/bin/sh\nprintf %s \"$MINE\" > mine.txt\n"),
                List.of(), dir, Map.of("LD_DEBUG", "libs", "LD_DEBUG_OUTPUT", marks.resolve("ld").toString(),
                "MINE", "x'y"));
        RunHandle handle = node.launch(req);
        if (throughLauncher) {
            assertThat(handle.processGroup()).as("started by the launcher").isZero();
            assertThat(node.requestBytes(handle)).isGreaterThan(4096);
        } else {
            assertThat(handle.processGroup()).as("started as a process of the engine's, not by the launcher")
                    .isPositive();
        }
        assertThat(node.watch(handle).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(0);
        assertThat(Files.readString(jobDir.resolve("mine.txt"))).as("the job has its variables").isEqualTo("x'y");
        try (var written = Files.list(marks)) {
            assertThat(written.toList()).as("processes outside the sandbox that had the job's variables").isEmpty();
        }
    }

    @Test
    void runsOutliveAKilledLauncherAndANewOneStartsTheNextRuns() throws Exception {
        LocalNodeAccess node = node(Map.of("launcher-check-ms", "200"));
        RunRequest req = request("#!/bin/sh\nwhile [ ! -e go ]; do sleep 0.05; done\necho ran >> ran.txt\nexit 7\n");
        RunHandle handle = node.launch(req);
        awaitFile(Path.of(req.runDirectory(), DetachedRun.PID));
        long first = node.launcherPid().orElseThrow();

        kill9(first);
        awaitGone(first);
        Files.writeString(Path.of(req.directory(), "go"), "go");

        RunOutcome outcome = node.watch(handle).get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(outcome.exitCode()).hasValue(7);
        assertThat(Files.readString(Path.of(req.directory(), "ran.txt"))).isEqualTo("ran\n");

        RunRequest next = request("#!/bin/sh\nexit 4\n");
        assertThat(node.watch(node.launch(next)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(4);
        assertThat(node.launcherPid()).isPresent().isNotEqualTo(Optional.of(first));
    }

    @Test
    void requestsALauncherLostEndNeverStartedAndNeverRun() throws Exception {
        LocalNodeAccess node = node(Map.of());
        long launcher = stoppedLauncher(node);
        List<RunRequest> queued = new ArrayList<>();
        List<RunHandle> handles = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            RunRequest r = request("#!/bin/sh\necho ran >> ran.txt\n");
            queued.add(r);
            handles.add(node.launch(r));
        }
        // The requests are in the pipe, unread: the launcher stopped.
        awaitSent(node, handles.get(4));
        kill9(launcher);

        for (int i = 0; i < queued.size(); i++) {
            RunOutcome lost = node.watch(handles.get(i)).get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertThat(lost.exitCode()).as("never started").isEmpty();
            assertThat(lost.detail()).contains("never");
        }
        RunRequest after = request("#!/bin/sh\nexit 5\n");
        assertThat(node.watch(node.launch(after)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(5);
        for (RunRequest r : queued) {
            assertThat(Path.of(r.directory(), "ran.txt")).as("a lost request did not run").doesNotExist();
            assertThat(Path.of(r.runDirectory(), DetachedRun.CLAIM)).as("fenced off").exists();
        }
        // A later engine's probe agrees: the run ended without starting (after waiting for a pid, 5 s).
        RunProbe probe = node.probe(queued.get(0));
        assertThat(probe.state()).isEqualTo(RunProbe.State.ENDED);
        assertThat(probe.outcome().orElseThrow().exitCode()).isEmpty();
    }

    @Test
    void aLongRequestWhoseLauncherDiedInItsWriteGoesWholeToTheNextLauncherAndRunsOnce() throws Exception {
        LocalNodeAccess node = node(Map.of());
        long launcher = stoppedLauncher(node);
        JobId id = new JobId(UUID.randomUUID());
        String dir = workDir.resolve("jobs").resolve(id.toString()).toString();
        // More than the pipe holds (64 KiB), less than one variable may hold (128 KiB): the write blocks part way.
        RunRequest req = new RunRequest(id, 1, dir, Optional.of("#!/bin/sh\necho ran >> ran.txt\nexit 3\n"),
                List.of(), dir, Map.of("BIG", "x".repeat(100_000)));
        RunHandle handle;
        try {
            handle = node.launch(req);
            Instant deadline = Instant.now().plusSeconds(WAIT_SECONDS);
            while (!node.beingSentToLauncher(handle)) {
                assertThat(Instant.now()).as("the write begun").isBefore(deadline);
                TimeUnit.MILLISECONDS.sleep(10);
            }
            // Still blocked: a stopped launcher reads nothing.
            TimeUnit.MILLISECONDS.sleep(200);
            assertThat(node.beingSentToLauncher(handle)).isTrue();
            kill9(launcher);
        } finally {
            // Only for a failure before the kill: a launcher killed just now may still count as running here and be
            // gone by the time the signal is sent (seen once in CI), which is no failure.
            if (LocalNodeAccess.isRunning(launcher)) {
                new ProcessBuilder("kill", "-s", "CONT", Long.toString(launcher)).inheritIO().start().waitFor();
            }
        }
        // The launcher got part of it, which it never runs; the next one gets it whole.
        assertThat(node.watch(handle).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(3);
        assertThat(Files.readString(Path.of(dir, "ran.txt"))).isEqualTo("ran\n");
        assertThat(node.launcherPid()).isPresent().isNotEqualTo(Optional.of(launcher));
    }

    @Test
    void aRunStoppedBeforeTheLauncherStartedItNeverStarts() throws Exception {
        LocalNodeAccess node = node(Map.of());
        long launcher = stoppedLauncher(node);
        try {
            RunRequest r = request("#!/bin/sh\necho ran >> ran.txt\n");
            RunHandle handle = node.launch(r);
            node.signal(handle, dev.skyport.gate.RunSignal.TERM);
            assertThat(node.watch(handle).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).isEmpty();
            signal("CONT", launcher);
            // The launcher now reads the request; its run finds the claim taken and reports so.
            RunRequest after = request("#!/bin/sh\nexit 6\n");
            assertThat(node.watch(node.launch(after)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(6);
            assertThat(Path.of(r.directory(), "ran.txt")).doesNotExist();
        } finally {
            signal("CONT", launcher);
        }
    }

    @Test
    void aRunDirectorySwappedBeforeTheLauncherReadsTheRequestGetsNothingRun() throws Exception {
        // Before the job directory was the engine's (1770), a job's account could rename the engine's run directory and
        // put one of its own there, and the first launcher read its requests from `run.<n>/launch`: nothing the
        // launcher (the engine's user, root in account mode) runs may come from the run directory.
        LocalNodeAccess node = node(Map.of());
        Path planted = workDir.resolve("planted-ran");
        long launcher = stoppedLauncher(node);
        RunHandle handle;
        try {
            RunRequest r = request("#!/bin/sh\nexit 0\n");
            handle = node.launch(r);
            Path runDir = Path.of(r.runDirectory());
            Files.move(runDir, Path.of(r.directory(), "moved"));
            Files.createDirectory(runDir);
            Files.writeString(runDir.resolve("launch"), "touch '" + planted + "'\n");
        } finally {
            signal("CONT", launcher);
        }
        var end = node.watch(handle);
        Instant deadline = Instant.now().plusSeconds(WAIT_SECONDS);
        while (!end.isDone() && !Files.exists(planted)) {
            assertThat(Instant.now()).as("the run ended").isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(10);
        }
        assertThat(planted).as("the planted request ran").doesNotExist();
        assertThat(end.get().exitCode()).hasValue(0);
    }

    @Test
    void aGateClosesWhileItsLauncherIsStoppedWithAFullPipe() throws Exception {
        LocalNodeAccess node = node(Map.of());
        long launcher = stoppedLauncher(node);
        try {
            // More requests than a pipe holds (64 KiB): the writer blocks in its write.
            int bytes = 0;
            while (bytes < 80 * 1024) {
                RunHandle h = node.launch(request("#!/bin/sh\nexit 0\n"));
                bytes += node.requestBytes(h);
            }
            LocalGate gate = gates.remove(0);
            var closed = java.util.concurrent.CompletableFuture.runAsync(gate::close);
            // The gate waits 10 s for the launcher to take what was queued, then gives up on it.
            closed.get(WAIT_SECONDS + 30, TimeUnit.SECONDS);
            awaitGone(launcher);
        } finally {
            if (LocalNodeAccess.isRunning(launcher)) { // as above: it may end between the check and the signal
                new ProcessBuilder("kill", "-s", "KILL", Long.toString(launcher)).inheritIO().start().waitFor();
            }
        }
    }

    @Test
    void endedRunsLeaveNoZombiesUnderTheLauncher() throws Exception {
        LocalNodeAccess node = node(Map.of());
        List<RunHandle> handles = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            handles.add(node.launch(request("#!/bin/sh\nexit 0\n")));
        }
        for (RunHandle h : handles) {
            assertThat(node.watch(h).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(0);
        }
        long launcher = node.launcherPid().orElseThrow();
        Instant deadline = Instant.now().plusSeconds(WAIT_SECONDS);
        while (true) {
            List<Long> zombies = ProcessHandle.of(launcher).orElseThrow().children()
                    .filter(c -> isZombie(c.pid())).map(ProcessHandle::pid).toList();
            if (zombies.isEmpty()) {
                break;
            }
            assertThat(Instant.now()).as("zombies %s reaped", zombies).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    @Test
    void theLauncherExitsWhenTheGateClosesAndItsRunsGoOn() throws Exception {
        LocalNodeAccess node = node(Map.of());
        RunRequest req = request("#!/bin/sh\nwhile [ ! -e go ]; do sleep 0.05; done\nexit 9\n");
        node.launch(req);
        awaitFile(Path.of(req.runDirectory(), DetachedRun.PID));
        long launcher = node.launcherPid().orElseThrow();
        gates.remove(0).close();
        awaitGone(launcher);
        long wrapper = Long.parseLong(Files.readString(Path.of(req.runDirectory(), DetachedRun.PID)).trim());
        assertThat(LocalNodeAccess.isRunning(wrapper)).as("the run goes on").isTrue();

        LocalNodeAccess again = node(Map.of());
        RunProbe probe = again.probe(req);
        assertThat(probe.state()).isEqualTo(RunProbe.State.RUNNING);
        Files.writeString(Path.of(req.directory(), "go"), "go");
        assertThat(again.watch(probe.handle().orElseThrow()).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode())
                .hasValue(9);
    }

    @Test
    void requestsTheLauncherHadNotReadWhenTheGateClosedStillRunAndTheNextEngineFollowsThem() throws Exception {
        // Closing ends the launcher's input; what it had not read yet it still forks, and those runs claim after it
        // exited. Nothing may fence them off meanwhile: they were reported started, and a restart would retry them.
        LocalNodeAccess node = node(Map.of("launcher-check-ms", "50"));
        long launcher = stoppedLauncher(node);
        List<RunRequest> sent = new ArrayList<>();
        RunHandle last = null;
        java.util.concurrent.CompletableFuture<Void> closed = null;
        try {
            for (int i = 0; i < 20; i++) {
                // Ends by itself when the test's directory is gone, so a failed run leaves nothing polling.
                RunRequest r = request("#!/bin/sh\nwhile [ ! -e go ] && [ -e \"$0\" ]; do sleep 0.05; done\n"
                        + "echo ran > ran.txt\n");
                sent.add(r);
                last = node.launch(r);
            }
            awaitSent(node, last);
            LocalGate gate = gates.remove(0);
            closed = java.util.concurrent.CompletableFuture.runAsync(gate::close);
            // Checks run every 50 ms while the gate closes; the launcher reads nothing yet.
            TimeUnit.MILLISECONDS.sleep(300);
        } finally {
            signal("CONT", launcher);
        }
        closed.get(WAIT_SECONDS, TimeUnit.SECONDS);
        awaitGone(launcher);
        LocalNodeAccess again = node(Map.of());
        for (RunRequest r : sent) {
            RunProbe probe = again.probe(r);
            assertThat(probe.state()).as("run %s", r.job()).isEqualTo(RunProbe.State.RUNNING);
            Files.writeString(Path.of(r.directory(), "go"), "go");
            assertThat(again.watch(probe.handle().orElseThrow()).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode())
                    .hasValue(0);
            assertThat(Path.of(r.directory(), "ran.txt")).exists();
        }
    }

    @Test
    void stoppingARunThatEndedSignalsNothing() throws Exception {
        LocalNodeAccess node = node(Map.of());
        RunRequest req = request("#!/bin/sh\nexit 0\n");
        RunHandle handle = node.launch(req);
        assertThat(node.watch(handle).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(0);
        // The handle of a launcher's run carries no pid: a signal must not become `kill -- -0`, the engine's group.
        assertThat(handle.processGroup()).isZero();
        node.signal(handle, dev.skyport.gate.RunSignal.TERM);
        node.signal(handle, dev.skyport.gate.RunSignal.KILL);
        assertThat(ProcessHandle.current().isAlive()).isTrue();
    }

    @Test
    void aLauncherThatIsNoBashIsRefusedByName() {
        assertThatThrownBy(() -> node(Map.of("launcher", workDir.resolve("no-such-bash").toString())))
                .isInstanceOf(GateException.class).hasMessageContaining("gate option launcher");
    }

    @Test
    void aBashWhoseReadCannotTakeALengthIsRefusedByName() throws Exception {
        // As bash 3.2 answers `read -N` (the launcher reads each request by its length).
        Path old = workDir.resolve("bash-3.2");
        Files.writeString(old, "#!/bin/sh\necho \"bash: read: -N: invalid option\" >&2\nexit 2\n");
        Files.setPosixFilePermissions(old, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        assertThatThrownBy(() -> node(Map.of("launcher", old.toString()))).isInstanceOf(GateException.class)
                .hasMessageContaining("gate option launcher").hasMessageContaining("bash 4.1 or later");
    }

    @Test
    void withoutALauncherRunsAreProcessesOfTheEngine() throws Exception {
        LocalNodeAccess node = node(Map.of("launcher", "none"));
        RunRequest req = request("#!/bin/sh\nexit 2\n");
        assertThat(node.watch(node.launch(req)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(2);
        assertThat(node.launcherPid()).isEmpty();
        assertThat(workDir.resolve("launch")).doesNotExist();
    }

    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (java.io.IOException gone) {
            return false;
        }
    }

    private static void kill9(long pid) throws Exception {
        signal("KILL", pid);
    }

    /**
     * Starts {@code node}'s launcher with a run that must succeed, then stops it (SIGSTOP) and returns its pid: the
     * launcher reads no request until it is continued.
     */
    private long stoppedLauncher(LocalNodeAccess node) throws Exception {
        RunRequest warm = request("#!/bin/sh\nexit 0\n");
        assertThat(node.watch(node.launch(warm)).get(WAIT_SECONDS, TimeUnit.SECONDS).exitCode()).hasValue(0);
        long launcher = node.launcherPid().orElseThrow();
        signal("STOP", launcher);
        return launcher;
    }

    private static void signal(String name, long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-s", name, Long.toString(pid)).inheritIO().start();
        assertThat(p.waitFor()).isZero();
    }

    private static void awaitGone(long pid) throws Exception {
        Instant deadline = Instant.now().plusSeconds(WAIT_SECONDS);
        while (LocalNodeAccess.isRunning(pid)) {
            assertThat(Instant.now()).as("process %d ended", pid).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }

    private static void awaitSent(LocalNodeAccess node, RunHandle handle) throws Exception {
        Instant deadline = Instant.now().plusSeconds(WAIT_SECONDS);
        while (!node.sentToLauncher(handle)) {
            assertThat(Instant.now()).as("the request written to the launcher").isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }

    private static void awaitFile(Path file) throws Exception {
        Instant deadline = Instant.now().plusSeconds(WAIT_SECONDS);
        while (!Files.exists(file) || Files.size(file) == 0) {
            assertThat(Instant.now()).as("%s written", file).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }
}
