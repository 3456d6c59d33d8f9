package dev.skyport.api;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The submit-time rules of input and output files, through every way into the builder. */
class StagingPathsTest {
    private static JobSpec.Builder job() {
        return JobSpec.builder().command(java.util.List.of("true"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x", "a/../../x", "/abs/x", "a//b", "..", ".", "a/..", "./"})
    void refusesOutputsThatLeaveOrNameNoFileOfTheJobDirectory(String path) {
        assertThatThrownBy(() -> job().outputFile(path))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                    assertThat(e.field()).isEqualTo("outputFiles");
                    assertThat(e.reason()).contains("'" + path + "'");
                });
    }

    @Test
    void pathTraversalIsNamedSo() {
        assertThatThrownBy(() -> job().outputFile("a/../../etc/passwd")).hasMessageContaining("path traversal");
        assertThatThrownBy(() -> job().inputFile("/data/../etc/shadow")).hasMessageContaining("path traversal");
    }

    @Test
    void acceptsOutputsThatStayInside() {
        JobSpec spec = job().outputFile("a/../b").outputFile("./c/d.txt").outputFile("results/").build();
        assertThat(spec.outputFiles()).containsExactly("a/../b", "./c/d.txt", "results/");
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x", "/data/../x", "a//b", "/data/", "/data/.", "/in/stdout.log", "stderr.log",
            "/x/script", "/x/run.1", "run.anything"})
    void refusesInputsThatTraverseOrCollideWithTheRunsFiles(String path) {
        assertThatThrownBy(() -> job().inputFile(path))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                    assertThat(e.field()).isEqualTo("inputFiles");
                    assertThat(e.reason()).contains("'" + path + "'");
                });
    }

    @Test
    void refusesTwoInputsWithOneBaseNameAndRepeatedOutputs() {
        assertThatThrownBy(() -> job().inputFile("/a/data.csv").inputFile("/b/data.csv").build())
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                    assertThat(e.field()).isEqualTo("inputFiles");
                    assertThat(e.reason()).contains("/b/data.csv").contains("data.csv");
                });
        assertThatThrownBy(() -> job().outputFile("out.txt").outputFile("./out.txt").build())
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field())
                        .isEqualTo("outputFiles"));
    }

    @Test
    void theScriptParserAppliesTheSameRules() {
        assertThatThrownBy(() -> JobSpec.script("#!/bin/sh\n#SWM output-files ../../etc/passwd\ntrue\n"))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                    assertThat(e.reason()).contains("path traversal");
                    assertThat(e.line()).hasValue(2);
                });
        assertThatThrownBy(() -> JobSpec.script("#!/bin/sh\n#SWM input-files /a/x /b/x\ntrue\n"))
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> assertThat(e.field())
                        .isEqualTo("inputFiles"));
    }
}
