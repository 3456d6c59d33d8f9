package dev.skyport.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class SwmScriptParserTest {

    private static JobSpec parse(String... lines) {
        return SwmScriptParser.parse(String.join("\n", lines)).build();
    }

    /** Parses {@code script} and returns the exception it must raise. */
    private static InvalidJobSpecException rejected(String script) {
        try {
            SwmScriptParser.parse(script);
        } catch (InvalidJobSpecException e) {
            return e;
        }
        throw new AssertionError("expected InvalidJobSpecException for script:\n" + script);
    }

    private static InvalidJobSpecException rejected(String... lines) {
        return rejected(String.join("\n", lines));
    }

    private static void assertRejected(InvalidJobSpecException e, String field, int line, String fragment) {
        assertThat(e.field()).isEqualTo(field);
        assertThat(e.line()).hasValue(line);
        assertThat(e.reason()).contains(fragment);
        assertThat(e.getMessage()).startsWith("line " + line + ": #SWM " + field + ": ");
    }

    @Nested
    class ScriptText {
        @Test
        void originalTextIsKeptByteForByte() {
            String script = "#!/bin/bash\r\n#SWM flavor  m1.small \t\r\n\techo  'héllo'\t\r# SWM gpus 1\n\n#SWM\n"
                    + "cat <<EOF\n#SWM comment inside\nEOF\n  trailing   ";
            JobSpec spec = SwmScriptParser.parse(script).build();
            assertThat(spec.script()).hasValue(script);
            assertThat(spec.command()).isEmpty();
        }

        @Test
        void scriptWithoutDirectivesKeepsDefaults() {
            JobSpec spec = parse("#!/bin/sh", "echo hello");
            assertThat(spec).isEqualTo(JobSpec.builder().script("#!/bin/sh\necho hello").build());
        }

        @ParameterizedTest
        @ValueSource(strings = {"", " ", "\n", "\r\n\t \r"})
        void emptyOrBlankScriptIsRejected(String script) {
            InvalidJobSpecException e = rejected(script);
            assertThat(e.field()).isEqualTo("script");
            assertThat(e.reason()).isEqualTo("is empty");
            assertThat(e.line()).isEmpty();
        }

        @Test
        void nullScriptIsANullPointerException() {
            assertThatNullPointerException().isThrownBy(() -> SwmScriptParser.parse(null));
        }

        @Test
        void parsedBuilderCanBeAdjustedBeforeBuilding() {
            JobSpec spec = SwmScriptParser.parse("#SWM name a\necho").name("b").priority(3).build();
            assertThat(spec.name()).isEqualTo("b");
            assertThat(spec.priority()).isEqualTo(3);
            assertThat(spec.warnings()).isEmpty();
        }

        @Test
        void publicEntryPointsUseTheParser() {
            assertThat(JobSpec.script("#SWM gpus 3\nnvidia-smi").gpus()).isEqualTo(3);
            assertThat(JobSpec.parseScript("#SWM cpus 4\necho").build().cpus()).isEqualTo(4);
        }
    }

    @Nested
    class LineRecognition {
        @Test
        void crlfLineEndingsAreNotPartOfValues() {
            JobSpec spec = SwmScriptParser.parse("#!/bin/sh\r\n#SWM gpus 2\r\n#SWM flavor x\r\necho\r\n").build();
            assertThat(spec.gpus()).isEqualTo(2);
            assertThat(spec.flavor()).hasValue("x");
            assertThat(spec.script()).hasValue("#!/bin/sh\r\n#SWM gpus 2\r\n#SWM flavor x\r\necho\r\n");
        }

        @Test
        void lineEndingOnTheLastDirectiveIsNotPartOfTheValue() {
            assertThat(SwmScriptParser.parse("#SWM gpus 2\r\n").build().gpus()).isEqualTo(2);
            assertThat(SwmScriptParser.parse("#SWM gpus 2\r").build().gpus()).isEqualTo(2);
            assertThat(SwmScriptParser.parse("#SWM gpus 2").build().gpus()).isEqualTo(2);
        }

        @Test
        void loneCarriageReturnsEndLines() {
            JobSpec spec = SwmScriptParser.parse("#!/bin/sh\r#SWM gpus 2\r#SWM flavor x\recho\r").build();
            assertThat(spec.gpus()).isEqualTo(2);
            assertThat(spec.flavor()).hasValue("x");
        }

        @ParameterizedTest(name = "{0}")
        @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
                "LF                | a\\nb\\nc\\n#SWM gpus x         | 4",
                "CRLF              | a\\r\\nb\\r\\nc\\r\\n#SWM gpus x | 4",
                "CR                | a\\rb\\rc\\r#SWM gpus x         | 4",
                "mixed             | a\\r\\nb\\rc\\n#SWM gpus x      | 4",
                "empty lines LF    | \\n\\n#SWM gpus x             | 3",
                "empty lines CRLF  | \\r\\n\\r\\n#SWM gpus x         | 3",
                "empty lines CR    | \\r\\r#SWM gpus x             | 3",
                "first line        | #SWM gpus x                   | 1",
        })
        void linesAreNumberedFromOneCountingEmptyLines(String label, String escaped, int line) {
            String script = escaped.replace("\\r", "\r").replace("\\n", "\n");
            assertRejected(rejected(script), "gpus", line, "got 'x'");
        }

        @Test
        void tabsMaySeparateMarkerKeyAndValue() {
            JobSpec spec = parse("#SWM\tflavor\tm1.small", "#SWM \t comment \t a\tb  c \t");
            assertThat(spec.flavor()).hasValue("m1.small");
            assertThat(spec.comment()).isEqualTo("a\tb  c");
        }

        @ParameterizedTest
        @ValueSource(strings = {"   #SWM flavor x", "\t#SWM flavor x", " \t #SWM flavor x"})
        void leadingBlanksAreAllowed(String line) {
            assertThat(parse(line).flavor()).hasValue("x");
        }

        @Test
        void valueIsTrimmedOfBlanks() {
            assertThat(parse("#SWM flavor   x \t ").flavor()).hasValue("x");
        }

        @ParameterizedTest
        @ValueSource(strings = {
                "# SWM flavor x", "#  SWM flavor x", "#swm flavor x", "#Swm flavor x", "#SWMflavor x",
                "##SWM flavor x", "#SWM-flavor x", "echo #SWM flavor x", "x#SWM flavor x", "SWM flavor x",
                "\u00a0#SWM flavor x"})
        void otherCommentsAreIgnoredSilently(String line) {
            JobSpec spec = parse("#!/bin/sh", line, "echo");
            assertThat(spec.flavor()).isEmpty();
            assertThat(spec.warnings()).isEmpty();
        }

        @ParameterizedTest
        @ValueSource(strings = {"#SWM", "#SWM ", "#SWM \t ", "  #SWM"})
        void bareMarkerIsIgnoredWithAWarning(String line) {
            JobSpec spec = parse("#!/bin/sh", line, "echo");
            assertThat(spec.warnings()).containsExactly("line 2: empty #SWM directive ignored");
        }

        @Test
        void directivesAfterCommandsAreStillParsed() {
            JobSpec spec = parse("#!/bin/sh", "echo start", "#SWM flavor late", "echo end");
            assertThat(spec.flavor()).hasValue("late");
        }

        @Test
        void directivesInsideHeredocsAreStillParsed() {
            // Upstream scans every line; a generated file that happens to hold #SWM lines configures the job too.
            JobSpec spec = parse("#!/bin/sh", "cat > job.sh <<'EOF'", "#SWM gpus 4", "EOF", "sh job.sh");
            assertThat(spec.gpus()).isEqualTo(4);
        }

        @Test
        void keysAreCaseSensitive() {
            JobSpec spec = parse("#SWM Flavor x", "#SWM GPUS 2");
            assertThat(spec.flavor()).isEmpty();
            assertThat(spec.gpus()).isZero();
            assertThat(spec.warnings()).containsExactly(
                    "line 1: unknown directive #SWM Flavor ignored",
                    "line 2: unknown directive #SWM GPUS ignored");
        }
    }

    @Nested
    class TextDirectives {
        @Test
        void nameKeepsInnerBlanks() {
            assertThat(parse("#SWM name  My  first job ").name()).isEqualTo("My  first job");
        }

        @Test
        void comment() {
            assertThat(parse("#SWM comment a note: with = and # signs").comment())
                    .isEqualTo("a note: with = and # signs");
        }

        @Test
        void account() {
            assertThat(parse("#SWM account openstack").account()).hasValue("openstack");
        }

        @Test
        void flavor() {
            assertThat(parse("#SWM flavor Standard_D4s_v3").flavor()).hasValue("Standard_D4s_v3");
        }

        @Test
        void cloudImage() {
            assertThat(parse("#SWM cloud-image ubuntu-hpc/2204").cloudImage()).hasValue("ubuntu-hpc/2204");
        }

        @Test
        void remoteSiteNamesABatchSiteOrOneOfItsPartitions() {
            assertThat(parse("#SWM remote-site hpc/debug").remoteSite()).hasValue("hpc/debug");
        }

        @Test
        void containerImage() {
            assertThat(parse("#SWM container-image swmregistry.azurecr.io/jupyter/pytorch-notebook:cuda12-hub-5.2.1")
                    .containerImage()).hasValue("swmregistry.azurecr.io/jupyter/pytorch-notebook:cuda12-hub-5.2.1");
        }

        @Test
        void aContainerImageThatReadsAsAnOptionIsRefused() {
            assertThat(rejected("#!/usr/bin/env myimage", "#SWM container-image --privileged").reason())
                    .contains("container image reference");
        }

        @Test
        void submissionAddress() {
            JobSpec spec = parse("#SWM submission-address 10.0.0.5");
            assertThat(spec.submissionAddress()).hasValue("10.0.0.5");
        }

        @Test
        void workdir() {
            assertThat(parse("#SWM workdir /scratch/run 1").workdir()).hasValue("/scratch/run 1");
        }

        @Test
        void storage() {
            assertThat(parse("#SWM storage swmblobcontainer").storage()).hasValue("swmblobcontainer");
        }

        @Test
        void imageIsADeprecatedAliasOfContainerImage() {
            JobSpec spec = parse("#!/bin/sh", "#SWM image ubuntu:22.04");
            assertThat(spec.containerImage()).hasValue("ubuntu:22.04");
            assertThat(spec.warnings()).containsExactly("line 2: #SWM image is deprecated; use container-image");
        }

        @Test
        void imageWithoutValueOnlyWarns() {
            JobSpec spec = parse("#SWM image");
            assertThat(spec.containerImage()).isEmpty();
            assertThat(spec.warnings()).containsExactly("line 1: #SWM image is deprecated; use container-image");
        }

        @Test
        void imageAndContainerImageSetTheSameField() {
            JobSpec spec = parse("#SWM container-image a:1", "#SWM image b:2");
            assertThat(spec.containerImage()).hasValue("b:2");
            assertThat(spec.warnings()).containsExactly(
                    "line 2: #SWM image is deprecated; use container-image",
                    "line 2: #SWM image repeated; the last value wins");
        }
    }

    @Nested
    class Resources {
        @Test
        void portsAreParsedInOrderAndItemsTrimmed() {
            JobSpec spec = parse("#SWM ports 8888/tcp/in, 8081/tcp/out ,53/udp/in");
            assertThat(spec.ports()).containsExactly(
                    new PortSpec(8888, "tcp", PortSpec.Direction.IN),
                    new PortSpec(8081, "tcp", PortSpec.Direction.OUT),
                    new PortSpec(53, "udp", PortSpec.Direction.IN));
        }

        @Test
        void repeatedPortsReplaceTheEarlierList() {
            JobSpec spec = parse("#SWM ports 1/tcp/in,2/tcp/in", "#SWM ports 3/tcp/out");
            assertThat(spec.ports()).containsExactly(new PortSpec(3, "tcp", PortSpec.Direction.OUT));
            assertThat(spec.warnings()).containsExactly("line 2: #SWM ports repeated; the last value wins");
        }

        @ParameterizedTest
        @CsvSource({"0, 0", "1, 1", "8, 8", "007, 7"})
        void gpus(String value, int expected) {
            assertThat(parse("#SWM gpus " + value).gpus()).isEqualTo(expected);
        }

        @ParameterizedTest
        @CsvSource({"1, 1", "4, 4", "128, 128"})
        void nodes(String value, int expected) {
            assertThat(parse("#SWM nodes " + value).nodes()).isEqualTo(expected);
        }

        @ParameterizedTest
        @CsvSource({"1, 1", "16, 16", "2147483647, 2147483647"})
        void cpus(String value, int expected) {
            assertThat(parse("#SWM cpus " + value).cpus()).isEqualTo(expected);
        }

        static Stream<Arguments> memorySizes() {
            long k = 1024;
            return Stream.of(
                    Arguments.of("1", 1L),
                    Arguments.of("4096", 4096L),
                    Arguments.of("1K", k),
                    Arguments.of("1k", k),
                    Arguments.of("1KB", k),
                    Arguments.of("1kb", k),
                    Arguments.of("1KiB", k),
                    Arguments.of("1kib", k),
                    Arguments.of("512M", 512 * k * k),
                    Arguments.of("512MB", 512 * k * k),
                    Arguments.of("512MiB", 512 * k * k),
                    Arguments.of("4G", 4 * k * k * k),
                    Arguments.of("4gb", 4 * k * k * k),
                    Arguments.of("4GiB", 4 * k * k * k),
                    Arguments.of("2T", 2 * k * k * k * k),
                    Arguments.of("2TB", 2 * k * k * k * k),
                    Arguments.of("2TiB", 2 * k * k * k * k),
                    Arguments.of("8388607T", 8388607 * k * k * k * k));
        }

        @ParameterizedTest
        @MethodSource("memorySizes")
        void mem(String value, long bytes) {
            assertThat(parse("#SWM mem " + value).memoryBytes()).isEqualTo(bytes);
        }

        @ParameterizedTest
        @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
                "0          | expected a positive size",
                "00M        | expected a positive size",
                "-1         | expected a positive size",
                "+1         | expected a positive size",
                "1.5G       | expected a positive size",
                "4 G        | expected a positive size",
                "4X         | expected a positive size",
                "4B         | expected a positive size",
                "4GBB       | expected a positive size",
                "4iB        | expected a positive size",
                "4Gi        | expected a positive size",
                "G          | expected a positive size",
                "1e3        | expected a positive size",
                "8388608T   | is too large",
                "99999999999999999999 | is too large",
        })
        void memRejectsBadSizes(String value, String fragment) {
            assertRejected(rejected("#!/bin/sh", "#SWM mem " + value), "mem", 2, fragment);
        }

        static Stream<Arguments> timeLimits() {
            return Stream.of(
                    Arguments.of("1", Duration.ofMinutes(1)),
                    Arguments.of("90", Duration.ofMinutes(90)),
                    Arguments.of("0:30", Duration.ofSeconds(30)),
                    Arguments.of("10:05", Duration.ofMinutes(10).plusSeconds(5)),
                    Arguments.of("120:00", Duration.ofHours(2)),
                    Arguments.of("1:30:00", Duration.ofMinutes(90)),
                    Arguments.of("48:00:00", Duration.ofHours(48)),
                    Arguments.of("0:0:1", Duration.ofSeconds(1)),
                    Arguments.of("2-0", Duration.ofDays(2)),
                    Arguments.of("1-12", Duration.ofHours(36)),
                    Arguments.of("0-1", Duration.ofHours(1)),
                    Arguments.of("1-2:30", Duration.ofDays(1).plusHours(2).plusMinutes(30)),
                    Arguments.of("1-2:30:15", Duration.ofDays(1).plusHours(2).plusMinutes(30).plusSeconds(15)),
                    Arguments.of("0-0:0:1", Duration.ofSeconds(1)));
        }

        @ParameterizedTest
        @MethodSource("timeLimits")
        void time(String value, Duration limit) {
            assertThat(parse("#SWM time " + value).timeLimit()).hasValue(limit);
        }

        @ParameterizedTest
        @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
                "0           | must be positive",
                "0:00        | must be positive",
                "0:0:0       | must be positive",
                "0-0         | must be positive",
                "0-0:0:0     | must be positive",
                "1:60        | seconds must be below 60",
                "1:60:00     | minutes must be below 60",
                "1:00:60     | seconds must be below 60",
                "1-24        | hours must be below 24",
                "1-2:60      | minutes must be below 60",
                "1-2:3:60    | seconds must be below 60",
                "1:2:3:4     | expected minutes, M:S",
                "1-2:3:4:5   | expected minutes, M:S",
                "abc         | expected minutes, M:S",
                "1h          | expected minutes, M:S",
                "-5          | expected minutes, M:S",
                "1:          | expected minutes, M:S",
                ":30         | expected minutes, M:S",
                "1--2        | expected minutes, M:S",
                "1-          | expected minutes, M:S",
                "1.5         | expected minutes, M:S",
                "1 30        | expected minutes, M:S",
                "UNLIMITED   | expected minutes, M:S",
                "99999999999999999999 | is too large",
                "999999999999999-0    | is too large",
        })
        void timeRejectsBadLimits(String value, String fragment) {
            assertRejected(rejected("#!/bin/sh", "", "#SWM time " + value), "time", 3, fragment);
        }

        @ParameterizedTest
        @CsvSource({"0, 0", "10, 10", "-5, -5", "+7, 7", "-2147483648, -2147483648"})
        void priority(String value, int expected) {
            assertThat(parse("#SWM priority " + value).priority()).isEqualTo(expected);
        }

        @ParameterizedTest
        @ValueSource(strings = {"true", "yes", ""})
        void relocatableTrue(String value) {
            JobSpec spec = parse("#SWM relocatable no", "#SWM relocatable " + value);
            assertThat(spec.relocatable()).isTrue();
        }

        @ParameterizedTest
        @ValueSource(strings = {"false", "no"})
        void relocatableFalse(String value) {
            assertThat(parse("#SWM relocatable " + value).relocatable()).isFalse();
        }

        @Test
        void bareRelocatableIsTrue() {
            JobSpec spec = parse("#SWM relocatable");
            assertThat(spec.relocatable()).isTrue();
            assertThat(spec.warnings()).isEmpty();
        }
    }

    @Nested
    class FileLists {
        @Test
        void inputAndOutputFilesAccumulateAcrossLinesAndSplitOnBlanks() {
            JobSpec spec = parse(
                    "#SWM input-files /tmp/a.ipynb  /tmp/b.ipynb",
                    "#SWM output-files a.ipynb",
                    "#SWM input-files\t/data/c.csv\t /data/d.csv ",
                    "#SWM output-files b.ipynb c.out");
            assertThat(spec.inputFiles()).containsExactly("/tmp/a.ipynb", "/tmp/b.ipynb", "/data/c.csv", "/data/d.csv");
            assertThat(spec.outputFiles()).containsExactly("a.ipynb", "b.ipynb", "c.out");
            assertThat(spec.warnings()).isEmpty();
        }

        @ParameterizedTest
        @ValueSource(strings = {"#SWM input-files", "#SWM input-files   ", "#SWM output-files", "#SWM output-files \t"})
        void emptyFileListIsANoOp(String line) {
            JobSpec spec = parse(line);
            assertThat(spec.inputFiles()).isEmpty();
            assertThat(spec.outputFiles()).isEmpty();
            assertThat(spec.warnings()).isEmpty();
        }
    }

    @Nested
    class EnvironmentAndTags {
        @Test
        void envAccumulatesAndKeepsEqualsAndBlanksInValues() {
            JobSpec spec = parse(
                    "#SWM env OMP_NUM_THREADS=4",
                    "#SWM env JAVA_OPTS=-Xmx1g -Dkey=value",
                    "#SWM env EMPTY=",
                    "#SWM env _X1=a  b");
            assertThat(spec.env()).isEqualTo(Map.of(
                    "OMP_NUM_THREADS", "4", "JAVA_OPTS", "-Xmx1g -Dkey=value", "EMPTY", "", "_X1", "a  b"));
            assertThat(spec.warnings()).isEmpty();
        }

        @Test
        void repeatedEnvNameKeepsTheLastValueWithoutWarning() {
            JobSpec spec = parse("#SWM env A=1", "#SWM env A=2");
            assertThat(spec.env()).containsExactly(Map.entry("A", "2"));
            assertThat(spec.warnings()).isEmpty();
        }

        @Test
        void tagsAccumulate() {
            JobSpec spec = parse("#SWM tag project=alpha", "#SWM tag cost-center=42=x", "#SWM tag note=");
            assertThat(spec.tags()).isEqualTo(Map.of("project", "alpha", "cost-center", "42=x", "note", ""));
            assertThat(spec.warnings()).isEmpty();
        }
    }

    /** A directive past a field's limit is refused naming the directive and its line, never echoing the value. */
    @Nested
    class Limits {
        private static final String MEBIBYTE = "x".repeat(1 << 20);

        @ParameterizedTest
        @CsvSource({
                "name, " + JobSpec.MAX_NAME_LENGTH,
                "account, " + JobSpec.MAX_ACCOUNT_LENGTH,
                "comment, " + JobSpec.MAX_COMMENT_LENGTH,
                "flavor, " + JobSpec.MAX_IDENTIFIER_LENGTH,
                "cloud-image, " + JobSpec.MAX_IMAGE_LENGTH,
                "container-image, " + JobSpec.MAX_IMAGE_LENGTH,
                "image, " + JobSpec.MAX_IMAGE_LENGTH,
                "submission-address, " + JobSpec.MAX_IDENTIFIER_LENGTH,
                "workdir, " + JobSpec.MAX_PATH_LENGTH,
                "storage, " + JobSpec.MAX_IDENTIFIER_LENGTH,
                "input-files, " + JobSpec.MAX_PATH_LENGTH,
                "output-files, " + JobSpec.MAX_PATH_LENGTH})
        void aTextDirectivePastItsLimitIsRefusedWithItsLine(String key, int limit) {
            String fits = "y".repeat(limit);
            assertThat(parse("#!/bin/sh", "#SWM " + key + " " + fits)).isNotNull();
            InvalidJobSpecException e = rejected("#!/bin/sh", "echo", "#SWM " + key + " " + fits + "y");
            assertRejected(e, key, 3, "at most " + limit);
        }

        @Test
        void aMebibyteAccountIsRefusedWithoutEchoingIt() {
            InvalidJobSpecException e = rejected("#!/bin/sh", "#SWM account " + MEBIBYTE, "echo hi");
            assertRejected(e, "account", 2, "is 1048576 characters long; at most " + JobSpec.MAX_ACCOUNT_LENGTH);
            assertThat(e.getMessage()).hasSizeLessThan(200);
        }

        @Test
        void envAndTagsAreBoundedPerEntryAndInCount() {
            assertRejected(rejected("#SWM env A=" + MEBIBYTE), "env", 1, "at most " + JobSpec.MAX_ENV_VALUE_LENGTH);
            assertRejected(rejected("#SWM env " + MEBIBYTE + "=1"), "env", 1, "at most " + JobSpec.MAX_ENV_NAME_LENGTH);
            assertRejected(rejected("#SWM tag k=" + MEBIBYTE), "tag", 1, "at most " + JobSpec.MAX_TAG_VALUE_LENGTH);
            StringBuilder tags = new StringBuilder("#!/bin/sh\n");
            for (int i = 0; i <= JobSpec.MAX_TAGS; i++) {
                tags.append("#SWM tag k").append(i).append("=v\n");
            }
            assertRejected(rejected(tags.toString()), "tag", JobSpec.MAX_TAGS + 2, "at most " + JobSpec.MAX_TAGS);
        }

        @Test
        void fileListsAreBoundedInCountOverAllTheirLines() {
            String half = String.join(" ", Stream.iterate(0, i -> i + 1).limit(JobSpec.MAX_FILES / 2)
                    .map(i -> "f" + i).toList());
            // Other base names on the second line: two inputs with one base name are refused.
            String other = half.replace('f', 'g');
            assertThat(parse("#SWM input-files " + half, "#SWM input-files " + other).inputFiles())
                    .hasSize(JobSpec.MAX_FILES);
            assertRejected(rejected("#SWM input-files " + half, "#SWM input-files " + other, "#SWM input-files one"),
                    "input-files", 3, "at most " + JobSpec.MAX_FILES);
        }

        @Test
        void manyUnknownDirectivesKeepABoundedNumberOfWarnings() {
            String script = "#!/bin/sh\n" + "#SWM nonsense\n".repeat(10_000);
            JobSpec spec = SwmScriptParser.parse(script).build();
            assertThat(spec.warnings()).hasSize(JobSpec.MAX_WARNINGS + 1);
            assertThat(spec.warnings().get(JobSpec.MAX_WARNINGS)).startsWith((10_000 - JobSpec.MAX_WARNINGS) + " more");
        }
    }

    @Nested
    class Errors {
        @Test
        void messageNamesLineDirectiveAndValue() {
            InvalidJobSpecException e = rejected("#!/bin/sh", "", "#SWM gpus x");
            assertThat(e).hasMessage("line 3: #SWM gpus: expected a non-negative integer, got 'x'");
        }

        @ParameterizedTest
        @ValueSource(strings = {
                "name", "comment", "account", "container-image", "submission-address",
                "workdir", "storage", "ports", "gpus", "nodes", "cpus", "mem", "time", "priority", "env", "tag"})
        void directiveWithoutValueIsRejected(String key) {
            assertRejected(rejected("#!/bin/sh", "#SWM " + key), key, 2, "needs a value");
            assertRejected(rejected("#!/bin/sh", "#SWM " + key + " \t "), key, 2, "needs a value");
        }

        @ParameterizedTest
        @CsvSource(delimiterString = "=>", quoteCharacter = '"', value = {
                "8888/tcp                   => expected <port>/<protocol>/<in|out>, got '8888/tcp'",
                "8888/tcp/in/x              => expected <port>/<protocol>/<in|out>",
                "x/tcp/in                   => port is not a number: 'x'",
                "8888/sctp/in               => protocol must be tcp or udp, got 'sctp'",
                "8888/TCP/in                => protocol must be tcp or udp",
                "8888/tcp/both              => direction must be in or out, got 'both'",
                "0/tcp/in                   => port must be 1..65535, got 0",
                "70000/tcp/in               => port must be 1..65535, got 70000",
                "8888/tcp/in,               => empty item",
                ",8888/tcp/in               => empty item",
                "8888/tcp/in,,8081/tcp/out  => empty item",
                "8888/tcp/in, ,8081/tcp/out => empty item",
                "8888/tcp/in 8081/tcp/out   => expected <port>/<protocol>/<in|out>, got '8888/tcp/in 8081/tcp/out'",
        })
        void malformedPortsAreRejected(String value, String fragment) {
            assertRejected(rejected("#!/bin/sh", "#SWM ports " + value), "ports", 2, fragment);
        }

        @ParameterizedTest
        @ValueSource(strings = {"x", "-1", "+1", "1.5", "2 3", "0x1", "1e2", "99999999999", "\u0663"})
        void gpusRejectsAnythingButANonNegativeInteger(String value) {
            assertRejected(rejected("#SWM gpus " + value), "gpus", 1, "expected a non-negative integer, got '");
        }

        @ParameterizedTest
        @ValueSource(strings = {"0", "-1", "x", "1.0", "2 nodes", "99999999999"})
        void nodesRejectsAnythingButAPositiveInteger(String value) {
            assertRejected(rejected("#SWM nodes " + value), "nodes", 1, "expected a positive integer, got '" + value);
        }

        @ParameterizedTest
        @ValueSource(strings = {"0", "-4", "four", "2.5"})
        void cpusRejectsAnythingButAPositiveInteger(String value) {
            assertRejected(rejected("#SWM cpus " + value), "cpus", 1, "expected a positive integer, got '" + value);
        }

        @ParameterizedTest
        @ValueSource(strings = {"high", "1.0", "--1", "2147483648", "- 1"})
        void priorityRejectsNonIntegers(String value) {
            assertRejected(rejected("#SWM priority " + value), "priority", 1, "expected an integer, got '" + value);
        }

        @ParameterizedTest
        @ValueSource(strings = {"maybe", "TRUE", "Yes", "1", "0", "true false"})
        void relocatableRejectsOtherValues(String value) {
            assertRejected(rejected("#SWM relocatable " + value), "relocatable", 1,
                    "expected true, yes, false, no or nothing, got '" + value + "'");
        }

        @ParameterizedTest
        @ValueSource(strings = {"stdin", "stdout", "stderr"})
        void standardStreamsAreNotSupported(String key) {
            String fragment = "not supported: the job's output is in stdout.log and stderr.log of its directory";
            assertRejected(rejected("#!/bin/sh", "#SWM " + key + " /tmp/x.log"), key, 2, fragment);
            assertRejected(rejected("#!/bin/sh", "#SWM " + key), key, 2, fragment);
        }

        @ParameterizedTest
        @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
                "NOEQUALS     | expected NAME=VALUE, got 'NOEQUALS'",
                "1BAD=x       | not a variable name: '1BAD'",
                "BAD-NAME=x   | not a variable name: 'BAD-NAME'",
                "=x           | not a variable name: ''",
                "A =x         | not a variable name: 'A '",
        })
        void envRejectsBadEntriesWithTheBuildersReason(String value, String fragment) {
            assertRejected(rejected("#!/bin/sh", "#SWM env " + value), "env", 2, fragment);
        }

        @ParameterizedTest
        @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
                "novalue | expected NAME=VALUE, got 'novalue'",
                "=x      | must not be blank",
        })
        void tagRejectsBadEntries(String value, String fragment) {
            assertRejected(rejected("#!/bin/sh", "#SWM tag " + value), "tag", 2, fragment);
        }

        @Test
        void firstBadDirectiveWins() {
            assertRejected(rejected("#SWM gpus 1", "#SWM cpus 0", "#SWM gpus x"), "cpus", 2, "got '0'");
        }

        @Test
        void longValuesAreShortenedInMessages() {
            String value = "x".repeat(500);
            InvalidJobSpecException e = rejected("#SWM gpus " + value);
            assertThat(e.getMessage()).contains("'" + "x".repeat(60) + "...'").hasSizeLessThan(150);
        }

        @Test
        void controlCharactersAreMaskedInMessages() {
            InvalidJobSpecException e = rejected("#SWM gpus 1\u00072");
            assertThat(e.reason()).endsWith("got '1?2'");
        }

        @Test
        void tabInsideAValueIsKeptAndMasked() {
            assertRejected(rejected("#SWM gpus 1\t2"), "gpus", 1, "got '1?2'");
        }
    }

    @Nested
    class RepeatsAndUnknowns {
        @ParameterizedTest
        @CsvSource({
                "name, a, b", "comment, a, b", "account, a, b", "flavor, a, b", "cloud-image, a, b", "remote-site, a, b",
                "container-image, a, b", "submission-address, a, b", "workdir, a, b", "storage, a, b",
                "ports, 1/tcp/in, 2/tcp/in", "gpus, 1, 2", "relocatable, yes, no", "nodes, 1, 2", "cpus, 1, 2",
                "mem, 1G, 2G", "time, 10, 20", "priority, 1, 2"})
        void repeatedScalarWarnsAtTheRepeatingLine(String key, String first, String second) {
            JobSpec spec = parse("#!/bin/sh", "#SWM " + key + " " + first, "echo", "#SWM " + key + " " + second);
            assertThat(spec.warnings()).containsExactly("line 4: #SWM " + key + " repeated; the last value wins");
        }

        @Test
        void repeatedScalarKeepsTheLastValue() {
            JobSpec spec = parse("#SWM flavor small", "#SWM gpus 1", "#SWM flavor large", "#SWM gpus 0",
                    "#SWM flavor huge");
            assertThat(spec.flavor()).hasValue("huge");
            assertThat(spec.gpus()).isZero();
            assertThat(spec.warnings()).containsExactly(
                    "line 3: #SWM flavor repeated; the last value wins",
                    "line 4: #SWM gpus repeated; the last value wins",
                    "line 5: #SWM flavor repeated; the last value wins");
        }

        @Test
        void unknownDirectivesAreKeptAsWarnings() {
            JobSpec spec = parse("#!/bin/sh", "#SWM checkpoint dmtcp", "#SWM input data.dat", "#SWM account_id 42",
                    "#SWM walltime");
            assertThat(spec.warnings()).containsExactly(
                    "line 2: unknown directive #SWM checkpoint ignored",
                    "line 3: unknown directive #SWM input ignored",
                    "line 4: unknown directive #SWM account_id ignored",
                    "line 5: unknown directive #SWM walltime ignored");
        }

        @Test
        void unknownKeyIsShortenedInTheWarning() {
            JobSpec spec = parse("#SWM " + "k".repeat(100) + " v");
            assertThat(spec.warnings()).containsExactly("line 1: unknown directive #SWM " + "k".repeat(60) + "... ignored");
        }
    }

    @Nested
    class UpstreamScripts {
        /** What swm-jupyter-term's job.sh.jinja renders (spec E.2): a CPU-only flavor and two notebooks. */
        private static final String SPAWNER_SCRIPT = """
                #!/bin/bash
                #
                # This is a job script that is executed by Sky Port on a compute node.
                # The script is used to start JupyterHub user server.

                #SWM relocatable
                #SWM flavor Standard_D4s_v3
                #SWM ports 8888/tcp/in,8081/tcp/out
                #SWM account openstack
                #SWM cloud-image ubuntu-hpc/2204
                #SWM container-image swmregistry.azurecr.io/jupyter/pytorch-notebook:cuda12-hub-5.2.1
                #SWM input-files /tmp/.swmjupyter_k2j3/analysis.ipynb /tmp/.swmjupyter_k2j3/plots.ipynb
                #SWM output-files analysis.ipynb plots.ipynb
                #SWM storage swmblobcontainer
                #SWM gpus 0

                export HOME=$(pwd)
                export XDG_CACHE_HOME=${HOME}/.cache/
                export JUPYTERHUB_API_TOKEN=0123456789abcdef
                export JUPYTERHUB_CLIENT_ID=jupyterhub-user-alice
                export JUPYTERHUB_API_URL=http://localhost:8081/hub/api
                export JUPYTER_RUNTIME_DIR=/tmp
                export JUPYTERHUB_USER=$USER
                export JUPYTERHUB_SERVICE_PREFIX=/user/$USER
                export JUPYTERHUB_SERVICE_URL=http://0.0.0.0:8888
                export JUPYTERHUB_OAUTH_ACCESS_SCOPES="[\\"access:servers!server=$USER/\\", \\"access:servers!user=$USER\\"]"
                export NVIDIA_VISIBLE_DEVICES=all

                echo Start single user jupyter server
                jupyterhub-singleuser --debug
                """;

        @Test
        void jupyterSpawnerScriptParsesWithoutErrorsOrWarnings() {
            JobSpec spec = SwmScriptParser.parse(SPAWNER_SCRIPT).build();
            assertThat(spec.relocatable()).isTrue();
            assertThat(spec.flavor()).hasValue("Standard_D4s_v3");
            assertThat(spec.ports()).containsExactly(
                    new PortSpec(8888, "tcp", PortSpec.Direction.IN),
                    new PortSpec(8081, "tcp", PortSpec.Direction.OUT));
            assertThat(spec.account()).hasValue("openstack");
            assertThat(spec.cloudImage()).hasValue("ubuntu-hpc/2204");
            assertThat(spec.containerImage())
                    .hasValue("swmregistry.azurecr.io/jupyter/pytorch-notebook:cuda12-hub-5.2.1");
            assertThat(spec.inputFiles())
                    .containsExactly("/tmp/.swmjupyter_k2j3/analysis.ipynb", "/tmp/.swmjupyter_k2j3/plots.ipynb");
            assertThat(spec.outputFiles()).containsExactly("analysis.ipynb", "plots.ipynb");
            assertThat(spec.storage()).hasValue("swmblobcontainer");
            assertThat(spec.gpus()).isZero();
            assertThat(spec.submissionAddress()).isEmpty();
            assertThat(spec.warnings()).isEmpty();
            assertThat(spec.script()).hasValue(SPAWNER_SCRIPT);
        }

        @Test
        void jupyterSpawnerScriptWithoutNotebooksAndWithAGpuFlavor() {
            String script = SPAWNER_SCRIPT
                    .replaceFirst("#SWM input-files .*\n", "#SWM input-files \n")
                    .replaceFirst("#SWM output-files .*\n", "#SWM output-files \n")
                    .replace("#SWM gpus 0", "#SWM gpus 1");
            JobSpec spec = SwmScriptParser.parse(script).build();
            assertThat(spec.inputFiles()).isEmpty();
            assertThat(spec.outputFiles()).isEmpty();
            assertThat(spec.gpus()).isEqualTo(1);
            assertThat(spec.warnings()).isEmpty();
        }

        @Test
        void jupyterSpawnerScriptWithCrlfLineEnds() {
            JobSpec spec = SwmScriptParser.parse(SPAWNER_SCRIPT.replace("\n", "\r\n")).build();
            assertThat(spec.flavor()).hasValue("Standard_D4s_v3");
            assertThat(spec.gpus()).isZero();
            assertThat(spec.outputFiles()).containsExactly("analysis.ipynb", "plots.ipynb");
        }

        /**
         * The spawner writes "#SWM cloud-image " with nothing after it unless the user picked an image, and
         * "#SWM flavor " when no flavor row is selected. Upstream ignores such lines, and so do we, with a warning:
         * rejecting them would break the spawner's most common script.
         */
        @ParameterizedTest
        @CsvSource({"cloud-image, ubuntu-hpc/2204", "flavor, Standard_D4s_v3"})
        void jupyterSpawnerScriptWithoutASelectionIsAcceptedWithAWarning(String key, String selected) {
            String script = SPAWNER_SCRIPT.replace("#SWM " + key + " " + selected, "#SWM " + key + " ");
            int line = SPAWNER_SCRIPT.substring(0, SPAWNER_SCRIPT.indexOf("#SWM " + key)).split("\n", -1).length;
            JobSpec spec = SwmScriptParser.parse(script).build();
            assertThat(key.equals("flavor") ? spec.flavor() : spec.cloudImage()).isEmpty();
            assertThat(spec.warnings()).containsExactly("line " + line + ": #SWM " + key + " has no value; ignored");
        }

        @Test
        void pythonClientSubmitExampleUsesTheDeprecatedImage() {
            JobSpec spec = SwmScriptParser.parse("#!/bin/bash\n#SWM image ubuntu:22.04\necho hello\n").build();
            assertThat(spec.containerImage()).hasValue("ubuntu:22.04");
            assertThat(spec.warnings()).containsExactly("line 2: #SWM image is deprecated; use container-image");
        }

        @Test
        void coreMpiExampleParses() {
            JobSpec spec = parse(
                    "#!/bin/bash",
                    "set -euo pipefail",
                    "#SWM name Multi-node MPI example",
                    "#SWM nodes 2",
                    "#SWM relocatable",
                    "#SWM comment OpenMPI hello via swm-task --pmix (one rank per node)",
                    "#SWM flavor Standard_D2_v4",
                    "#SWM cloud-image ubuntu-hpc/2404",
                    "#SWM container-image swmregistry.azurecr.io/openworkload/ubuntu:24.04",
                    "#SWM storage swmblobcontainer",
                    "#SWM input-files ~/mpi_hello",
                    "MPI_HELLO=\"./mpi_hello\"");
            assertThat(spec.name()).isEqualTo("Multi-node MPI example");
            assertThat(spec.nodes()).isEqualTo(2);
            assertThat(spec.comment()).isEqualTo("OpenMPI hello via swm-task --pmix (one rank per node)");
            assertThat(spec.inputFiles()).containsExactly("~/mpi_hello");
            assertThat(spec.warnings()).isEmpty();
        }

        @Test
        void netcatExamplePortWithoutDirectionIsRejected() {
            // Upstream drops "1234/tcp" silently; we say why the port would not be opened.
            assertRejected(rejected("#!/bin/sh", "", "#SWM name Netcat", "#SWM ports 1234/tcp", "#SWM nodes 5"),
                    "ports", 4, "expected <port>/<protocol>/<in|out>, got '1234/tcp'");
        }
    }

    @Test
    void everyDirectiveTogether() {
        JobSpec spec = parse(
                "#!/bin/sh",
                "#SWM name all",
                "#SWM comment every directive",
                "#SWM account acc",
                "#SWM flavor fl",
                "#SWM cloud-image ci",
                "#SWM container-image img:1",
                "#SWM submission-address host.example",
                "#SWM workdir /w",
                "#SWM storage st",
                "#SWM ports 22/tcp/in",
                "#SWM gpus 2",
                "#SWM relocatable false",
                "#SWM input-files in1 in2",
                "#SWM output-files out1",
                "#SWM nodes 3",
                "#SWM cpus 8",
                "#SWM mem 16G",
                "#SWM time 1-00:00:00",
                "#SWM priority -1",
                "#SWM env A=b",
                "#SWM tag t=v",
                "run");
        JobSpec expected = JobSpec.builder()
                .script(spec.script().orElseThrow())
                .name("all").comment("every directive").account("acc").flavor("fl").cloudImage("ci")
                .containerImage("img:1").submissionAddress("host.example").workdir("/w").storage("st")
                .port(PortSpec.parse("22/tcp/in")).gpus(2).relocatable(false)
                .inputFile("in1").inputFile("in2").outputFile("out1")
                .nodes(3).cpus(8).memoryBytes(16L << 30).timeLimit(Duration.ofDays(1)).priority(-1)
                .env("A", "b").tag("t", "v")
                .build();
        assertThat(spec).isEqualTo(expected);
        assertThat(spec.warnings()).isEqualTo(List.of());
    }
}
