package dev.skyport.gate;

import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.JobId;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepOutput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The steps driver's command line, and the driver itself run by /bin/sh with a stand-in for the runtime that runs each
 * step's command on this machine: what it records, when it stops, which paths it refuses. The real runtime's part is
 * in skyport-core's {@code ContainerStepsRunTest}.
 */
class StepsRunTest {
    private static final JobId JOB = new JobId(UUID.fromString("01890a5d-ac96-774b-bcce-b302099a8057"));

    @TempDir
    Path tmp;
    private int jobs;

    private static ContainerStep step(String image, List<String> command, String workdir, String stdin, String stdout,
                                      String stderr, Map<String, String> env, boolean ignore) {
        return new ContainerStep(image, command, Optional.ofNullable(workdir), Optional.ofNullable(stdin),
                Optional.ofNullable(stdout), Optional.ofNullable(stderr), env, ignore);
    }

    private static RunRequest request(String dir, ContainerSteps steps) {
        return new RunRequest(JOB, 2, dir, Optional.empty(), List.of(), dir, Map.of("TOKEN", "s3cret"), "alice", 3,
                64L << 20, Optional.empty(), List.of(), Optional.of(steps));
    }

    /** The client's words of step {@code i} in the driver's command line, with the ten words before them. */
    private static List<String> group(List<String> program, int i) {
        int at = 7;
        for (int s = 0; ; s++) {
            int n = Integer.parseInt(program.get(at + 9));
            if (s == i) {
                return program.subList(at, at + 10 + n);
            }
            at += 10 + n;
        }
    }

    @Test
    void eachStepIsAContainerWithTheMountsItsWorkdirEnvironmentAndStreams() {
        ContainerSteps steps = new ContainerSteps(List.of(
                step("localhost/a:1", List.of("sh", "-c", "echo $X > /work/x"), null, null, null, null,
                        Map.of("X", "secret value"), false),
                step("localhost/b:1", List.of("tr", "a-z", "A-Z"), "/work", "/in/data.txt", "/out/sub/r.txt",
                        "/work/err", Map.of(), true)),
                List.of(StepInput.content("/in/data.txt", "x"), StepInput.content("/work/seed", "y")),
                List.of(StepOutput.file("/out/sub/r.txt", "/dest/r.txt")), List.of("/work", "/out"));
        RunRequest r = request("/data/jobs/j", steps);
        List<String> p = StepsRun.program(r, "/usr/bin/podman",
                new ContainerRuntime(List.of("podman"), List.of("--runtime", "runc")),
                RunIsolation.account("bwrap", 1234, 5678, List.of()), Optional.empty());
        assertThat(p.subList(0, 7)).containsExactly("/bin/sh", "-c", StepsRun.DRIVER, "skyport-steps",
                "/usr/bin/podman", "/data/jobs/j/run.2", "1234:5678");
        String name0 = "skyport-" + JOB + "-2-0";
        assertThat(StepsRun.name(JOB, 2, 0)).isEqualTo(name0);
        List<String> g0 = group(p, 0);
        // No stdin, stdout or stderr mapped: the step's own files in the run directory.
        assertThat(g0.subList(0, 10)).containsExactly("0", "0", name0, "", "", "", "", "", "",
                Integer.toString(g0.size() - 10));
        List<String> c0 = g0.subList(10, g0.size());
        assertThat(c0.subList(0, 5)).containsExactly("/usr/bin/podman", "create", "--init", "--name", name0);
        String s0 = String.join(" ", c0);
        assertThat(s0).contains("--label skyport-job=" + JOB, "--label skyport-attempt=2", "--label skyport-step=0",
                "--cap-drop=ALL", "--security-opt no-new-privileges", "--pids-limit " + ContainerRun.PIDS_LIMIT,
                "--runtime runc", "--user 1234:5678", "--cpus 3", "--memory " + (64L << 20),
                "--env-file /data/jobs/j/run.2/step.0.env",
                // shared directories (volumes, outputs' directories) read-write, inputs outside them read-only
                "-v /data/jobs/j/mounts/2/shared/0:/work -v /data/jobs/j/mounts/2/shared/1:/out "
                        + "-v /data/jobs/j/mounts/2/inputs/0:/in/data.txt:ro");
        assertThat(c0).doesNotContain("-w", "-i", "-e").noneMatch(w -> w.contains("secret") || w.contains("s3cret"));
        // The step's argv is the container's command, with no shell added.
        assertThat(c0.subList(c0.size() - 4, c0.size())).containsExactly("localhost/a:1", "sh", "-c",
                "echo $X > /work/x");
        // The input inside a volume is placed there, not mounted on its own.
        assertThat(s0).doesNotContain(":/work/seed");

        List<String> g1 = group(p, 1);
        assertThat(g1.subList(0, 9)).containsExactly("1", "1", StepsRun.name(JOB, 2, 1),
                "/data/jobs/j/mounts/2/inputs/0", "", "/data/jobs/j/mounts/2/shared/1", "sub/r.txt",
                "/data/jobs/j/mounts/2/shared/0", "err");
        assertThat(StepLayout.stdoutOf("/data/jobs/j", 2, r.runDirectory(), steps, 1))
                .isEqualTo("/data/jobs/j/mounts/2/shared/1/sub/r.txt");
        assertThat(StepLayout.stderrOf("/data/jobs/j", 2, r.runDirectory(), steps, 1))
                .isEqualTo("/data/jobs/j/mounts/2/shared/0/err");
        assertThat(StepLayout.stdoutOf("/data/jobs/j", 2, r.runDirectory(), steps, 0))
                .isEqualTo(StepLayout.stdout(r.runDirectory(), 0));
        List<String> c1 = g1.subList(10, g1.size());
        assertThat(String.join(" ", c1)).contains("-w /work", "--label skyport-step=1",
                "--env-file /data/jobs/j/run.2/step.1.env", "-i localhost/b:1 tr a-z A-Z");
        assertThat(c1.indexOf("--runtime")).isLessThan(c1.indexOf("--cpus"));
        assertThat(p).hasSize(7 + g0.size() + g1.size());

        assertThat(StepsRun.envFile(r, 0)).isEqualTo("TOKEN=s3cret\nSKYPORT_JOB_ID=" + JOB + "\nSWM_JOB_ID=" + JOB
                + "\nSKYPORT_ATTEMPT=2\nSKYPORT_JOB_DIR=/data/jobs/j\nUSER=alice\nLOGNAME=alice\nX=secret value\n");
        assertThat(StepsRun.envFileName(1)).isEqualTo("step.1.env");
        assertThat(StepsRun.mark(r)).isEqualTo(name0 + "\n" + StepsRun.name(JOB, 2, 1) + "\n");
        assertThat(StepsRun.isStepsMark(StepsRun.mark(r), JOB, 2)).isTrue();
        assertThat(StepsRun.isStepsMark(ContainerRun.name(JOB, 2) + "\n", JOB, 2)).isFalse();
    }

    @Test
    void aStreamPathOverAnInputIsNotWrittenAndStdinMayComeFromAVolume() {
        ContainerSteps steps = new ContainerSteps(List.of(
                step("img", List.of("cat"), null, "/work/in", "/in/data.txt", null, Map.of(), false)),
                List.of(StepInput.content("/in/data.txt", "x")), List.of(), List.of("/work"));
        List<String> g = group(StepsRun.program(request("/j", steps), "podman", ContainerRuntime.auto(),
                RunIsolation.none(), Optional.empty()), 0);
        assertThat(g.subList(3, 9)).containsExactly("/j/mounts/2/shared/0", "in", "", "", "", "");
        assertThat(StepLayout.stdoutOf("/j", 2, "/j/run.2", steps, 0)).isEqualTo("/j/run.2/step.0.stdout");
    }

    @Test
    void dockerRunsAsTheGatesUserWithoutAnAccountAndPodmanAsItsOwnRoot() {
        RunRequest r = request("/j", ContainerSteps.of(ContainerStep.of("img", "true")));
        assertThat(StepsRun.program(r, "/usr/bin/docker", ContainerRuntime.auto(), RunIsolation.none(),
                Optional.of("1000:1001"))).containsSequence("--user", "1000:1001");
        List<String> podman = StepsRun.program(r, "/usr/bin/podman", ContainerRuntime.auto(), RunIsolation.none(),
                Optional.of("1000:1001"));
        assertThat(podman).doesNotContain("--user");
        assertThat(podman.get(6)).as("no owner for what the driver creates").isEmpty();
    }

    @Test
    void whatCannotBePassedIsRefused() {
        RunRequest colon = request("/data/a:b", ContainerSteps.of(ContainerStep.of("img", "true")));
        assertThatThrownBy(() -> StepsRun.program(colon, "podman", ContainerRuntime.auto(), RunIsolation.none(),
                Optional.empty())).isInstanceOf(GateException.class).hasMessageContaining("/data/a:b");
        RunRequest noSteps = new RunRequest(JOB, 1, "/j", Optional.empty(), List.of("true"), "/j", Map.of());
        assertThatThrownBy(() -> StepsRun.program(noSteps, "podman", ContainerRuntime.auto(), RunIsolation.none(),
                Optional.empty())).isInstanceOf(GateException.class).hasMessageContaining("no steps");
        String word = "x".repeat(100_000);
        List<ContainerStep> many = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            many.add(ContainerStep.of("img", "echo", word));
        }
        RunRequest huge = request("/j", new ContainerSteps(many, List.of(), List.of(), List.of()));
        assertThatThrownBy(() -> StepsRun.program(huge, "podman", ContainerRuntime.auto(), RunIsolation.none(),
                Optional.empty())).isInstanceOf(GateException.class).matches(e -> !((GateException) e).isTransient())
                .hasMessageContaining("command line");
    }

    @Test
    void aSigkillStopsEveryContainerOfTheAttemptByItsLabels() {
        assertThat(StepsRun.stopCommands("podman", JOB, 2, RunSignal.TERM)).isEmpty();
        assertThat(StepsRun.stopCommands("/usr/bin/podman", JOB, 2, RunSignal.KILL)).containsExactly(
                List.of("/bin/sh", "-c", StepsRun.KILL_BY_LABEL, "skyport-stop", "/usr/bin/podman", JOB.toString(),
                        "2"));
    }

    @Test
    void theKillByLabelAsksTheRuntimeForTheAttemptsContainersAndStopsThem() throws Exception {
        Path log = tmp.resolve("calls");
        Path rt = script("rt", "echo \"$*\" >> " + log + "\n[ \"$1\" = ps ] && printf 'c1\\nc2\\n'\nexit 0\n");
        List<String> kill = StepsRun.stopCommands(rt.toString(), JOB, 2, RunSignal.KILL).get(0);
        assertThat(new ProcessBuilder(kill).start().waitFor()).isZero();
        assertThat(log).hasContent("ps -a -q --filter label=skyport-job=" + JOB + " --filter label=skyport-attempt=2\n"
                + "kill --signal KILL c1 c2\nrm -f c1 c2");
    }

    /**
     * A runtime on this machine: {@code create} keeps the command after the image (one word a line) under the
     * container's name, refusing the image {@code missing} with 125; {@code start -a [-i] <name>} runs it, and a
     * command {@code never-starts} leaves the container {@code created} with 125, as a failed start does;
     * {@code inspect} gives that state; {@code rm} forgets the container.
     */
    private Path fakeRuntime() throws IOException {
        Path containers = Files.createDirectories(tmp.resolve("containers"));
        return script("fake-runtime", String.join("\n",
                "c=" + containers,
                "case $1 in",
                "  create) shift",
                "    while [ $# -gt 0 ]; do case $1 in",
                "      --name) n=$2; shift 2;;",
                "      --rm|--init|-i|--*=*) shift;;",
                "      -*) shift 2;;",
                "      *) break;; esac; done",
                "    [ \"$1\" = missing ] && { echo \"Error: image missing not known\" >&2; exit 125; }",
                "    shift; : > \"$c/$n\"; for w in \"$@\"; do printf '%s\\n' \"$w\" >> \"$c/$n\"; done",
                "    echo id-$n;;",
                "  start) shift; while [ \"$1\" = -a ] || [ \"$1\" = -i ]; do shift; done; n=$1",
                "    [ -f \"$c/$n\" ] || exit 125",
                "    set --; while IFS= read -r w; do set -- \"$@\" \"$w\"; done < \"$c/$n\"",
                "    [ \"$1\" = never-starts ] && { echo created > \"$c/$n.state\"; echo \"Error: no such executable\" >&2;"
                        + " exit 125; }",
                "    exec \"$@\";;",
                "  inspect) [ -f \"$c/$4.state\" ] && cat \"$c/$4.state\";;",
                "  rm) rm -f \"$c/$3\" \"$c/$3.state\";;",
                "  *) exit 1;;",
                "esac", ""));
    }

    private Path script(String name, String body) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path p = bin.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private RunRequest driverRequest(ContainerSteps steps) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("job" + (++jobs)));
        for (StepLayout.Mount m : StepLayout.mounts(dir.toString(), 1, steps)) {
            if (m.directory()) {
                Files.createDirectories(Path.of(m.host()));
            }
        }
        RunRequest r = new RunRequest(JOB, 1, dir.toString(), Optional.empty(), List.of(), dir.toString(), Map.of(),
                "alice", 1, 0, Optional.empty(), List.of(), Optional.of(steps));
        Files.createDirectories(Path.of(r.runDirectory()));
        return r;
    }

    /** Runs the driver to its end with {@code path} first in the PATH; its exit status. */
    private int drive(RunRequest r, Optional<Path> path) throws Exception {
        return drive(r, path, RunIsolation.none());
    }

    private int drive(RunRequest r, Optional<Path> path, RunIsolation isolation) throws Exception {
        List<String> argv = StepsRun.program(r, fakeRuntime().toString(), ContainerRuntime.auto(), isolation,
                Optional.empty());
        ProcessBuilder pb = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File(
                "/dev/null"))).redirectErrorStream(true);
        path.ifPresent(p -> pb.environment().put("PATH", p + ":" + System.getenv("PATH")));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out).as("the driver's own output").isEmpty();
        return p.exitValue();
    }

    private static Optional<StepLayout.StepRecord> record(RunRequest r, int i) throws IOException {
        Path f = Path.of(StepLayout.record(r.runDirectory(), i));
        return Files.exists(f) ? StepLayout.parseRecord(Files.readString(f)) : Optional.empty();
    }

    private static ContainerStep sh(String script, boolean ignore) {
        return new ContainerStep("img", List.of("sh", "-c", script), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), Map.of(), ignore);
    }

    @Test
    void theDriverRecordsEachStepAndEndsWithTheFirstFailureThatDoesNotIgnoreErrors() throws Exception {
        RunRequest r = driverRequest(ContainerSteps.of(sh("echo a; echo b >&2", false), sh("exit 3", true),
                sh("exit 4", false), sh("echo never", false)));
        long before = System.currentTimeMillis();
        assertThat(drive(r, Optional.empty())).isEqualTo(4);
        long after = System.currentTimeMillis();
        String run = r.runDirectory();
        assertThat(Path.of(StepLayout.stdout(run, 0))).hasContent("a");
        assertThat(Path.of(StepLayout.stderr(run, 0))).hasContent("b");
        assertThat(record(r, 0).orElseThrow().status()).hasValue(0);
        assertThat(record(r, 1).orElseThrow().status()).hasValue(3);
        assertThat(record(r, 2).orElseThrow().status()).hasValue(4);
        assertThat(record(r, 3)).isEmpty();
        assertThat(Path.of(StepLayout.stdout(run, 3))).doesNotExist();
        // Milliseconds from GNU date (this machine's): not all on whole seconds, and within the run.
        List<Long> times = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            StepLayout.StepRecord rec = record(r, i).orElseThrow();
            times.add(rec.start().toEpochMilli());
            times.add(rec.end().orElseThrow().toEpochMilli());
        }
        assertThat(times).isSorted().allMatch(t -> t >= before - 1000 && t <= after + 1000)
                .anyMatch(t -> t % 1000 != 0);
    }

    @Test
    void aCommandsOwn125IsItsStatusAndAContainerNeverMadeEndsTheRunEvenWhenItIgnoresErrors() throws Exception {
        ContainerStep missing = new ContainerStep("missing", List.of("true"), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), Map.of(), true);
        RunRequest r = driverRequest(ContainerSteps.of(sh("echo own; exit 125", true), missing, sh("echo never", true)));
        assertThat(drive(r, Optional.empty())).isEqualTo(StepLayout.RUNTIME_FAILURE);
        StepLayout.StepRecord own = record(r, 0).orElseThrow();
        assertThat(own.status()).hasValue(125);
        assertThat(own.noContainer()).as("the command's own 125").isFalse();
        assertThat(Path.of(StepLayout.stdout(r.runDirectory(), 0))).hasContent("own");
        StepLayout.StepRecord none = record(r, 1).orElseThrow();
        assertThat(none.status()).hasValue(StepLayout.RUNTIME_FAILURE);
        assertThat(none.noContainer()).isTrue();
        assertThat(Path.of(StepLayout.stderr(r.runDirectory(), 1))).content().contains("image missing not known");
        assertThat(record(r, 2)).as("no step after a container that could not be made").isEmpty();

        RunRequest started = driverRequest(ContainerSteps.of(sh("exit 0", false),
                new ContainerStep("img", List.of("never-starts"), Optional.empty(), Optional.empty(), Optional.empty(),
                        Optional.empty(), Map.of(), false)));
        assertThat(drive(started, Optional.empty())).isEqualTo(StepLayout.RUNTIME_FAILURE);
        assertThat(record(started, 1).orElseThrow().noContainer()).as("created but never started").isTrue();
        assertThat(record(started, 0).orElseThrow().noContainer()).isFalse();
        try (var left = Files.list(tmp.resolve("containers"))) {
            assertThat(left).as("every container removed").isEmpty();
        }
    }

    @Test
    void allStepsIgnoringErrorsEndWithZero() throws Exception {
        RunRequest r = driverRequest(ContainerSteps.of(sh("exit 1", true), sh("exit 2", true)));
        assertThat(drive(r, Optional.empty())).isZero();
        assertThat(record(r, 1).orElseThrow().status()).hasValue(2);
    }

    @Test
    void aDateWithoutNanosecondsGivesWholeSeconds() throws Exception {
        // busybox's and BSD's date print the format's unknown part instead of digits.
        Path bin = script("date", "case $1 in +%s) exec /bin/date +%s;; *) /bin/date +%s%%3N | sed 's/%//';; esac\n")
                .getParent();
        RunRequest r = driverRequest(ContainerSteps.of(sh("true", false)));
        assertThat(drive(r, Optional.of(bin))).isZero();
        StepLayout.StepRecord rec = record(r, 0).orElseThrow();
        assertThat(rec.start().toEpochMilli() % 1000).isZero();
        assertThat(rec.end().orElseThrow().toEpochMilli() % 1000).isZero();
        assertThat(rec.start()).isAfter(Instant.now().minusSeconds(60));
    }

    @Test
    void streamsMapToTheirMountsAndALinkAnEarlierStepPlantedIsRefused() throws Exception {
        Path victim = Files.writeString(tmp.resolve("victim"), "the node's\n");
        ContainerStep copy = new ContainerStep("img", List.of("cat"), Optional.empty(), Optional.of("/in/data"),
                Optional.of("/out/a/b/copy"), Optional.of("/out/a/b/copy"), Map.of(), false);
        ContainerStep overwrite = new ContainerStep("img", List.of("echo", "overwrite"), Optional.empty(),
                Optional.empty(), Optional.of("/out/link/x"), Optional.empty(), Map.of(), true);
        ContainerStep blocked = new ContainerStep("img", List.of("echo", "blocked"), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.of("/out/fifo"), Map.of(), true);
        ContainerStep steal = new ContainerStep("img", List.of("cat"), Optional.empty(), Optional.of("/out/stolen"),
                Optional.empty(), Optional.empty(), Map.of(), false);
        for (List<ContainerStep> list : List.of(List.of(copy, overwrite), List.of(blocked), List.of(steal))) {
            ContainerSteps steps = new ContainerSteps(list, List.of(StepInput.content("/in/data", "input\n")),
                    List.of(StepOutput.file("/out/copy", "/dest/copy")), List.of());
            RunRequest r = driverRequest(steps);
            Path out = Path.of(r.directory(), "mounts/1/shared/0");
            Files.writeString(Files.createDirectories(Path.of(r.directory(), "mounts/1/inputs")).resolve("0"),
                    "input\n");
            Files.createSymbolicLink(out.resolve("link"), tmp);
            Files.createSymbolicLink(out.resolve("stolen"), victim);
            assertThat(new ProcessBuilder("mkfifo", out.resolve("fifo").toString()).start().waitFor()).isZero();
            // A refused path is a step that never had a container: it ends the run even when it ignores errors.
            assertThat(drive(r, Optional.empty())).isEqualTo(StepLayout.RUNTIME_FAILURE);
            int refused = list.size() - 1;
            assertThat(record(r, refused).orElseThrow().status()).hasValue(StepLayout.RUNTIME_FAILURE);
            assertThat(record(r, refused).orElseThrow().noContainer()).isTrue();
            if (list.get(0) == copy) {
                assertThat(out.resolve("a/b/copy")).hasContent("input");
                assertThat(record(r, 0).orElseThrow().status()).hasValue(0);
                assertThat(tmp.resolve("x")).doesNotExist();
                assertThat(Path.of(StepLayout.stderr(r.runDirectory(), 1))).content().contains("symbolic link");
            }
            // Opening a FIFO would block the driver until someone reads it; nothing is read through "stolen".
            assertThat(Path.of(StepLayout.stdout(r.runDirectory(), refused))).doesNotExist();
        }
        assertThat(victim).hasContent("the node's");
    }

    @Test
    void asAnAccountTheDriverOpensStreamPathsWithTheAccountsRightsOnly() throws Exception {
        // A path the check finds clean may be swapped for a link by another process of the account right after it:
        // what counts is that the open is the account's. A root-only directory inside the mount stands for wherever
        // such a swap could point.
        assertThat(new ProcessBuilder("id", "-u").start().inputReader().readLine()).as("runs as root").isEqualTo("0");
        ContainerSteps steps = new ContainerSteps(List.of(
                new ContainerStep("img", List.of("cat"), Optional.empty(), Optional.of("/out/secret/f"),
                        Optional.of("/out/made/res"), Optional.empty(), Map.of(), false),
                new ContainerStep("img", List.of("echo", "written"), Optional.empty(), Optional.empty(),
                        Optional.of("/out/secret/g"), Optional.empty(), Map.of(), false)),
                List.of(), List.of(), List.of("/out"));
        RunRequest r = driverRequest(steps);
        for (Path p = Path.of(r.directory()); p.startsWith(tmp); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Path out = Path.of(r.directory(), "mounts/1/shared/0");
        Files.setPosixFilePermissions(Path.of(r.directory(), "mounts"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(Path.of(r.directory(), "mounts/1"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(out.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setAttribute(out, "unix:uid", 65534);
        Files.setAttribute(out, "unix:gid", 65534);
        Path secret = Files.createDirectory(out.resolve("secret"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.writeString(secret.resolve("f"), "root only\n");
        Files.writeString(secret.resolve("g"), "kept\n");
        int status = drive(r, Optional.empty(), RunIsolation.account("bwrap", 65534, 65534, List.of()));
        Path res = out.resolve("made/res");
        assertThat(res).as("made by the account").exists();
        assertThat(Files.getAttribute(res, "unix:uid")).isEqualTo(65534);
        assertThat(Files.getAttribute(res.getParent(), "unix:uid")).isEqualTo(65534);
        assertThat(Files.readString(res)).doesNotContain("root only");
        assertThat(Files.readString(Path.of(StepLayout.stderr(r.runDirectory(), 0)))).contains("ermission denied");
        // The second step's stdout cannot be made in the root-only directory: it never starts, nothing is written.
        assertThat(status).isEqualTo(StepLayout.RUNTIME_FAILURE);
        assertThat(record(r, 1).orElseThrow().noContainer()).isTrue();
        assertThat(secret.resolve("g")).hasContent("kept");
    }

    @Test
    void aSigtermEndsTheCurrentStepAndStartsNoOther() throws Exception {
        RunRequest r = driverRequest(ContainerSteps.of(sh("echo started; exec sleep 300", false),
                sh("echo never", false)));
        List<String> argv = StepsRun.program(r, fakeRuntime().toString(), ContainerRuntime.auto(),
                RunIsolation.none(), Optional.empty());
        List<String> detached = DetachedRun.command(r, argv);
        Process p = new ProcessBuilder(detached).start();
        Path started = Path.of(StepLayout.stdout(r.runDirectory(), 0));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(Files.exists(started) && Files.readString(started).contains("started"))) {
            assertThat(System.nanoTime()).as("step 0 started").isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(20);
        }
        long group = Long.parseLong(Files.readString(Path.of(r.runDirectory(), DetachedRun.PID)).trim());
        assertThat(new ProcessBuilder("kill", "-TERM", "--", "-" + group).start().waitFor()).isZero();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(DetachedRun.parseStatus(Files.readString(Path.of(r.runDirectory(), DetachedRun.EXIT_CODE))))
                .hasValue(StepsRun.TERMINATED_STATUS);
        assertThat(record(r, 0).orElseThrow().status()).hasValue(StepsRun.TERMINATED_STATUS);
        assertThat(record(r, 1)).isEmpty();
    }

    @Test
    void aRecordReadsWhateverIsCompleteOfIt() {
        assertThat(StepLayout.parseRecord("")).isEmpty();
        assertThat(StepLayout.parseRecord("start 1700000000123\nend 1700000001000 125 nocontainer\n").orElseThrow()
                .noContainer()).isTrue();
        assertThat(StepLayout.parseRecord("start 1700000000123\nend 1700000001000 125\n").orElseThrow()
                .noContainer()).isFalse();
        assertThat(StepLayout.parseRecord("start 1700000000123\nend 1700000001000 125 other\n").orElseThrow()
                .ended()).as("a word it does not know").isFalse();
        assertThat(StepLayout.parseRecord("start 17")).as("half-written").isEmpty();
        assertThat(StepLayout.parseRecord("start 1700000000123\n")).contains(new StepLayout.StepRecord(
                Instant.ofEpochMilli(1700000000123L), Optional.empty(), OptionalInt.empty()));
        assertThat(StepLayout.parseRecord("start 1700000000123\nend 1700000001")).as("end half-written")
                .contains(new StepLayout.StepRecord(Instant.ofEpochMilli(1700000000123L), Optional.empty(),
                        OptionalInt.empty()));
        StepLayout.StepRecord ended = StepLayout.parseRecord("start 1700000000123\nend 1700000004567 137\n")
                .orElseThrow();
        assertThat(ended.ended()).isTrue();
        assertThat(ended.end()).contains(Instant.ofEpochMilli(1700000004567L));
        assertThat(ended.status()).hasValue(137);
        assertThat(StepLayout.parseRecord("garbage\nstart x\nend 5 1\n")).as("an end with no start").isEmpty();
        assertThat(StepLayout.parseRecord("start 1000\nend 2000 x\n").orElseThrow().ended()).isFalse();
        assertThatThrownBy(() -> new StepLayout.StepRecord(Instant.EPOCH, Optional.of(Instant.EPOCH),
                OptionalInt.empty())).isInstanceOf(IllegalArgumentException.class);
    }
}
