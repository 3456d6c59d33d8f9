package dev.skyport.samples.quickstart;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The quickstart on a real engine: the hello job, then a sweep with progress, as plain lines when its output is not a
 * terminal and as one line redrawn in place when it is (the "is a terminal" switch {@link Quickstart#main} sets from
 * {@code System.console()}).
 */
class QuickstartTest {
    private static final int SWEEP = 12;
    /** 1² + ... + 12². */
    private static final long SQUARES = 650;

    @TempDir
    Path data;

    private String run(boolean terminal) throws InterruptedException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Quickstart.run(data, new PrintStream(bytes, true, StandardCharsets.UTF_8), terminal, SWEEP);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void offATerminalTheSweepsProgressIsPlainLines() throws Exception {
        String out = run(false);
        assertThat(out).contains("ended SUCCEEDED with exit code 0").contains("step 3")
                .contains("sweep: 12 of 12 jobs succeeded; the squares add up to " + SQUARES)
                .doesNotContain("\r").doesNotContain("\033");
        List<String> submitted = out.lines().filter(l -> l.startsWith("submitted ") && l.contains("/12 jobs"))
                .toList();
        List<String> ended = out.lines().filter(l -> l.startsWith("ended ") && l.contains("/12 jobs")).toList();
        assertThat(submitted).isNotEmpty().hasSizeLessThanOrEqualTo(11);
        assertThat(submitted.get(submitted.size() - 1)).startsWith("submitted 12/12 jobs (100%), ");
        assertThat(ended).hasSizeBetween(2, 11);
        assertThat(ended.get(ended.size() - 1)).startsWith("ended 12/12 jobs (100%), ").endsWith("/s");
    }

    @Test
    void onATerminalEachPhaseIsOneLineRedrawnInPlace() throws Exception {
        String out = run(true);
        String sweep = out.substring(out.indexOf("\rsubmitted "));
        List<String> lines = List.of(sweep.split("\n")); // not lines(): it would split at each \r too
        assertThat(lines).hasSize(3); // submitted, ended, the summary
        assertThat(lines.get(0)).startsWith("\rsubmitted ").endsWith("\033[K")
                .contains("\rsubmitted 12/12 jobs (100%), ");
        assertThat(lines.get(1)).startsWith("\rended ").contains("\rended 12/12 jobs (100%), ");
        assertThat(lines.get(2)).isEqualTo("sweep: 12 of 12 jobs succeeded; the squares add up to " + SQUARES);
    }
}
