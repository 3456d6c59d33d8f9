package dev.skyport.samples.daemon.cli;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** Cell text against what a terminal shows, written out by hand. */
class CellsTest {
    @Test
    void widthCountsTerminalColumns() {
        assertThat(Cells.width("abc")).isEqualTo(3);
        assertThat(Cells.width("日本語")).isEqualTo(6);
        assertThat(Cells.width("한국어")).isEqualTo(6);
        assertThat(Cells.width("ｆｕｌｌ")).isEqualTo(8); // fullwidth Latin
        assertThat(Cells.width("🚀🧪")).isEqualTo(4);
        assertThat(Cells.width("e\u0301")).isEqualTo(1); // combining acute
        assertThat(Cells.width("a\u200Bb")).isEqualTo(2); // zero-width space
    }

    @Test
    void truncateCutsToColumnsWithAnEllipsisAndKeepsSurrogatePairs() {
        assertThat(Cells.truncate("abcdef", 6)).isEqualTo("abcdef");
        assertThat(Cells.truncate("abcdefg", 6)).isEqualTo("abcde…");
        assertThat(Cells.truncate("日本語です", 6)).isEqualTo("日本…"); // 語 would need columns 5-6, the … column 6
        assertThat(Cells.truncate("ab🚀cd", 4)).isEqualTo("ab…");
    }

    @Test
    void safeNeutralisesEscapeSequencesAndLineBreaks() {
        assertThat(Cells.safe("evil\033]0;title\007name")).isEqualTo("evil?]0;title?name");
        assertThat(Cells.safe("two\nlines\tand tab")).isEqualTo("two lines and tab");
        assertThat(Cells.safe("plain")).isEqualTo("plain");
    }

    @Test
    void ageAndBytesReadAsDockerPrintsThem() {
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        assertThat(Cells.age(t, t.plusSeconds(45))).isEqualTo("45s");
        assertThat(Cells.age(t, t.plusSeconds(600))).isEqualTo("10m");
        assertThat(Cells.age(t, t.plusSeconds(3 * 3600))).isEqualTo("3h");
        assertThat(Cells.age(t, t.plusSeconds(3 * 86400))).isEqualTo("3d");
        assertThat(Cells.age(t, t.minusSeconds(5))).isEqualTo("0s");
        assertThat(Cells.bytes(512)).isEqualTo("512B");
        assertThat(Cells.bytes(1536)).isEqualTo("1.5Ki");
        assertThat(Cells.bytes(16L << 30)).isEqualTo("16Gi");
    }
}
