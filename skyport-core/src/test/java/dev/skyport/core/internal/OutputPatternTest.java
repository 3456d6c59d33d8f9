package dev.skyport.core.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** POSIX filename expansion of output patterns, name by name and over a real directory tree. */
class OutputPatternTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} ~ {1}: {2}")
    @CsvSource(delimiter = '|', value = {
        "*.txt | a.txt | true",
        "*.txt | a.txt.gz | false",
        "*.txt | .txt | false",
        "*.txt | .hidden.txt | false",
        "*| .profile | false",
        ".* | .profile | true",
        ".*.txt | .hidden.txt | true",
        "? | a | true",
        "? | . | false",
        "?? | ab | true",
        "?? | abc | false",
        "a?c | abc | true",
        "a*c | ac | true",
        "a*c | abbbbc | true",
        "a*c | abbbbcd | false",
        "a**c | abc | true",
        "*a*b*c* | xxaxxbxxcxx | true",
        "*a*b*c* | xxaxxcxxbxx | false",
        "[abc].txt | b.txt | true",
        "[abc].txt | d.txt | false",
        "[a-c]1 | b1 | true",
        "[a-c]1 | d1 | false",
        "[!a-c]1 | d1 | true",
        "[!a-c]1 | b1 | false",
        "[!a]* | .a | false",
        "[.]a | .a | false",
        "[]a] | ] | true",
        "[]a] | a | true",
        "[!]a] | ] | false",
        "[!]a] | b | true",
        "[[:digit:]][[:digit:]] | 42 | true",
        "[[:digit:]][[:digit:]] | 4x | false",
        "[[:upper:]]* | Readme | true",
        "[[:upper:]]* | readme | false",
        "[a | [a | true",
        "[a | a | false",
        "\\* | * | true",
        "\\* | x | false",
        "a\\?b | a?b | true",
        "a\\?b | axb | false",
        "plain | plain | true",
        "plain | plainer | false",
        "* | a/b | false",
        "[/] | / | false",
    })
    void aSegmentMatchesAsPosixFilenameExpansionSays(String pattern, String name, boolean matches) {
        assertThat(OutputPattern.matches(pattern, name)).isEqualTo(matches);
    }

    @Test
    void theSpecsExampleMatchesTheTextFilesOfItsDirectoryOnly() throws Exception {
        // path=/data/out/*.txt with path_prefix=/data/out/: a.txt and b.txt, not the hidden, nested or other files.
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.writeString(out.resolve("a.txt"), "a");
        Files.writeString(out.resolve("b.txt"), "b");
        Files.writeString(out.resolve(".c.txt"), "hidden");
        Files.writeString(out.resolve("d.md5"), "other");
        Files.createDirectories(out.resolve("sub.txt"));
        Files.writeString(out.resolve("sub.txt/e.txt"), "nested");
        Files.createSymbolicLink(out.resolve("link.txt"), out.resolve("a.txt"));

        assertThat(OutputPattern.expand(out, List.of("*.txt"))).containsExactly("a.txt", "b.txt");
    }

    @Test
    void laterSegmentsDescendIntoMatchingDirectoriesButNeverThroughLinksOrDotDirectories() throws Exception {
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.createDirectories(out.resolve("run1"));
        Files.createDirectories(out.resolve("run2"));
        Files.createDirectories(out.resolve(".cache"));
        Files.writeString(out.resolve("run1/x.csv"), "1");
        Files.writeString(out.resolve("run2/y.csv"), "2");
        Files.writeString(out.resolve("run2/notes.txt"), "n");
        Files.writeString(out.resolve(".cache/z.csv"), "hidden");
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Files.writeString(elsewhere.resolve("secret.csv"), "s");
        Files.createSymbolicLink(out.resolve("run3"), elsewhere);
        Files.writeString(out.resolve("runfile"), "not a directory");

        assertThat(OutputPattern.expand(out, List.of("run*", "*.csv"))).containsExactly("run1/x.csv",
                "run2/y.csv");
        assertThat(OutputPattern.expand(out, List.of("*", "*.csv"))).containsExactly("run1/x.csv", "run2/y.csv");
        assertThat(OutputPattern.expand(out, List.of(".*", "*.csv"))).containsExactly(".cache/z.csv");
        assertThat(OutputPattern.expand(out, List.of("run2", "notes.???"))).containsExactly("run2/notes.txt");
        assertThat(OutputPattern.expand(dir.resolve("missing"), List.of("*"))).isEmpty();
    }
}
