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
