package dev.skyport.samples.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class BenchFiguresTest {

    @Test
    void percentilesAreNearestRankInMilliseconds() {
        long[] nanos = {4_000_000, 1_000_000, 3_000_000, 2_000_000};
        assertThat(BenchFigures.pct(nanos, 50)).isEqualTo(2.0);
        assertThat(BenchFigures.pct(nanos, 90)).isEqualTo(4.0);
        assertThat(BenchFigures.pct(nanos, 0)).isEqualTo(1.0);
        assertThat(nanos[0]).as("the input stays unsorted").isEqualTo(4_000_000);
    }

    @Test
    void cpuUseSaysWhereTheCpuWentOrThatItIsUnknown() {
        BenchFigures.CpuUse start = BenchFigures.CpuUse.now();
        long spin = System.nanoTime() + 50_000_000;
        while (System.nanoTime() < spin) {
            Thread.onSpinWait();
        }
        assertThat(start.since()).matches("cpu use unknown|cpu \\(of \\d+ cores\\): this JVM [\\d.]+, others [\\d.]+,"
                + " idle [\\d.]+");
        assertThat(start.since("others (Slurm)")).matches("cpu use unknown|.*, others \\(Slurm\\) [\\d.]+, idle.*");
        assertThat(start.sinceWithJobs()).matches("cpu use unknown|.*this JVM [\\d.]+, its jobs [\\d.]+, others .*");
        assertThat(new BenchFigures.CpuUse(-1, 0, 0, 0).since()).isEqualTo("cpu use unknown");
    }

    @Test
    void deleteTreeRemovesTheDirectoryAndEverythingInIt(@TempDir Path dir) throws IOException {
        Path root = Files.createDirectories(dir.resolve("a/b"));
        Files.writeString(root.resolve("f"), "x");
        BenchFigures.deleteTree(dir.resolve("a"));
        assertThat(dir.resolve("a")).doesNotExist();
    }
}
