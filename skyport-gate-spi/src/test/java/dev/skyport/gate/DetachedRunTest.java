package dev.skyport.gate;

import dev.skyport.api.JobId;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

class DetachedRunTest {
    private static RunRequest script(String script) {
        return new RunRequest(new JobId(UUID.randomUUID()), 2, "/data/jobs/x", Optional.of(script), List.of(),
                "/work", Map.of());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "#!/bin/bash\\necho hi|/bin/bash /data/jobs/x/script",
            "#!/usr/bin/env python3\\nprint(1)|/usr/bin/env python3 /data/jobs/x/script",
            "#! /bin/sh -eu\\ntrue|/bin/sh -eu /data/jobs/x/script",
            "#!/bin/sh -e -x\\ntrue|/bin/sh -e -x /data/jobs/x/script",
            "echo no shebang|/bin/sh /data/jobs/x/script",
            "#!\\necho empty shebang|/bin/sh /data/jobs/x/script",
            "#!/bin/sh|/bin/sh /data/jobs/x/script"})
    void aScriptRunsThroughTheInterpreterOfItsShebangLine(String script, String expected) {
        // As the kernel does, everything after the interpreter is one argument ("-e -x" stays together).
        List<String> program = DetachedRun.program(script(script.replace("\\n", "\n")));
        List<String> want = expected.contains("-e -x")
                ? List.of("/bin/sh", "-e -x", "/data/jobs/x/script")
                : Arrays.asList(expected.split(" "));
        assertThat(program).isEqualTo(want);
    }

    @Test
    void aCommandRunsAsGiven() {
        RunRequest req = new RunRequest(new JobId(UUID.randomUUID()), 1, "/d", Optional.empty(),
                List.of("echo", "a b"), "/d", Map.of());
        assertThat(DetachedRun.program(req)).containsExactly("echo", "a b");
        assertThat(DetachedRun.command(req, DetachedRun.program(req)))
                .startsWith("setsid", "/bin/sh", "-c", DetachedRun.WRAPPER, "skyport-run", "/d", "1", "/d")
                .endsWith("echo", "a b");
    }

    @Test
    void aContainedRunNamesItsCgroupAndTheJobsLimits() {
        RunRequest req = new RunRequest(new JobId(UUID.randomUUID()), 1, "/d", Optional.empty(), List.of("true"),
                "/d", Map.of(), "bob", 2, 1L << 30);
        assertThat(DetachedRun.command(req, DetachedRun.program(req), RunIsolation.none(), Optional.of("/cg/x.1")))
                .containsExactly("setsid", "/bin/sh", "-c", DetachedRun.WRAPPER, "skyport-run", "/d", "1", "/d",
                        "/cg/x.1", "1073741824", "200000 100000", "true");
        assertThat(DetachedRun.command(req, DetachedRun.program(req)))
                .containsSequence("/d", "1", "/d", "", "", "", "true");
    }

    @Test
    void anAccountRunDropsToItsAccountInsideTheSandboxAndHidesPathsUnderSystemOnes() {
        RunRequest req = new RunRequest(new JobId(UUID.randomUUID()), 3, "/opt/sky/jobs/j", Optional.of("true"),
                List.of(), "/opt/sky/jobs/j", Map.of(), "bob", 1, 0);
        List<String> argv = DetachedRun.command(req, DetachedRun.program(req),
                RunIsolation.account("bwrap", 65534, 65533, List.of("/opt/sky", "/home/x/.swm/spool")), Optional.empty());
        assertThat(argv).containsSequence("--tmpfs", "/opt/sky")
                .doesNotContain("/home/x/.swm/spool")
                .containsSequence("--bind", "/opt/sky/jobs/j", "/opt/sky/jobs/j",
                        "--ro-bind", "/opt/sky/jobs/j/run.3", "/opt/sky/jobs/j/run.3")
                .containsSequence("setpriv", "--reuid=65534", "--regid=65533")
                .doesNotContain("--unshare-user")
                .endsWith("env", "--default-signal=TERM,INT,HUP", "/bin/sh", "/opt/sky/jobs/j/script");
        // What is hidden, then the job directory mounted over it.
        assertThat(argv.lastIndexOf("/opt/sky")).isLessThan(argv.indexOf("--bind"));
    }

    @Test
    void aSandboxRunHasAUserNamespaceAndNoCapabilities() {
        RunRequest req = new RunRequest(new JobId(UUID.randomUUID()), 1, "/d", Optional.empty(), List.of("true"),
                "/d", Map.of(), "bob", 1, 0);
        assertThat(DetachedRun.command(req, DetachedRun.program(req), RunIsolation.sandbox("/usr/bin/bwrap",
                List.of()), Optional.empty()))
                .contains("/usr/bin/bwrap")
                .containsSequence("--unshare-user", "--cap-drop", "ALL")
                .doesNotContain("setpriv");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"0\\n|0", "137\\n|137", " 3 \\n|3"})
    void aCompleteExitCodeFileParses(String content, int status) {
        assertThat(DetachedRun.parseStatus(content.replace("\\n", "\n"))).hasValue(status);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"''", "12", "abc\\n", "\\n"})
    void anEmptyOrPartialExitCodeFileDoesNot(String content) {
        assertThat(DetachedRun.parseStatus(content.replace("\\n", "\n"))).isEmpty();
    }

    @Test
    void statusAbove128MeansASignal() {
        assertThat(RunOutcome.exited(143).signal()).hasValue(15);
        assertThat(RunOutcome.exited(1).signal()).isEmpty();
        assertThat(RunOutcome.exited(200).signal()).isEmpty();
    }
}
