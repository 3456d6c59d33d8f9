package dev.skyport.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class JobSpecTest {

    private static JobSpec.Builder scriptBuilder() {
        return JobSpec.builder().script("echo hello");
    }

    private static InvalidJobSpecException rejected(Executable action) {
        try {
            action.execute();
        } catch (InvalidJobSpecException e) {
            return e;
        } catch (Throwable t) {
            throw new AssertionError("expected InvalidJobSpecException, got " + t, t);
        }
        throw new AssertionError("expected InvalidJobSpecException");
    }

    /** A spec with every field set to something other than its default. */
    private static JobSpec everyFieldSet() {
        return JobSpec.builder()
                .script("#!/bin/sh\necho all")
                .name("all")
                .containerImage("img:1")
                .cloudImage("ubuntu-hpc/2204")
                .nodes(2)
                .cpus(4)
                .memoryBytes(8L << 30)
                .gpus(1)
                .flavor("Standard_NC6")
                .remoteSite("azure")
                .relocatable(false)
                .port(new PortSpec(8888, "tcp", PortSpec.Direction.IN))
                .port(new PortSpec(8081, "tcp", PortSpec.Direction.OUT))
                .inputFile("/in/a")
                .inputFile("/in/b")
                .outputFile("out")
                .workdir("/work")
                .env("A", "1")
                .env("B", "x=y")
                .account("acc")
                .priority(-3)
                .timeLimit(Duration.ofHours(2))
                .retryPolicy(RetryPolicy.none())
                .tag("project", "p")
                .comment("note")
                .submissionAddress("10.0.0.1")
                .storage("blob")
                .warning("line 1: something")
                .build();
    }

    /** Calls the canonical constructor with {@code base}'s values except the ones under test. */
    private static JobSpec construct(JobSpec base, Optional<String> script, List<String> command, int nodes, int cpus,
                                     long memoryBytes, int gpus) {
        return new JobSpec(base.name(), script, command, base.containerImage(), base.cloudImage(), nodes, cpus,
                memoryBytes, gpus, base.flavor(), base.remoteSite(), base.relocatable(), base.ports(),
                base.inputFiles(), base.outputFiles(), base.workdir(), base.env(), base.account(), base.priority(),
                base.timeLimit(), base.retryPolicy(), base.tags(), base.comment(), base.submissionAddress(),
                base.storage(), base.idempotencyKey(), base.warnings(), false);
    }

    @Test
    void builderDefaults() {
        JobSpec spec = scriptBuilder().build();
        assertThat(spec.name()).isEmpty();
        assertThat(spec.script()).hasValue("echo hello");
        assertThat(spec.command()).isEmpty();
        assertThat(spec.containerImage()).isEmpty();
        assertThat(spec.cloudImage()).isEmpty();
        assertThat(spec.nodes()).isEqualTo(1);
        assertThat(spec.cpus()).isEqualTo(1);
        assertThat(spec.memoryBytes()).isZero();
        assertThat(spec.gpus()).isZero();
        assertThat(spec.flavor()).isEmpty();
        assertThat(spec.remoteSite()).isEmpty();
        assertThat(spec.relocatable()).isTrue();
        assertThat(spec.ports()).isEmpty();
        assertThat(spec.inputFiles()).isEmpty();
        assertThat(spec.outputFiles()).isEmpty();
        assertThat(spec.workdir()).isEmpty();
        assertThat(spec.env()).isEmpty();
        assertThat(spec.account()).isEmpty();
        assertThat(spec.priority()).isZero();
        assertThat(spec.timeLimit()).isEmpty();
        assertThat(spec.retryPolicy()).isEqualTo(RetryPolicy.defaults());
        assertThat(spec.tags()).isEmpty();
        assertThat(spec.comment()).isEmpty();
        assertThat(spec.submissionAddress()).isEmpty();
        assertThat(spec.storage()).isEmpty();
        assertThat(spec.warnings()).isEmpty();
    }

    @Test
    void everySetterIsReflectedInTheSpec() {
        JobSpec spec = everyFieldSet();
        assertThat(spec.name()).isEqualTo("all");
        assertThat(spec.containerImage()).hasValue("img:1");
        assertThat(spec.cloudImage()).hasValue("ubuntu-hpc/2204");
        assertThat(spec.nodes()).isEqualTo(2);
        assertThat(spec.cpus()).isEqualTo(4);
        assertThat(spec.memoryBytes()).isEqualTo(8L << 30);
        assertThat(spec.gpus()).isEqualTo(1);
        assertThat(spec.flavor()).hasValue("Standard_NC6");
        assertThat(spec.remoteSite()).hasValue("azure");
        assertThat(spec.relocatable()).isFalse();
        assertThat(spec.ports()).extracting(PortSpec::toString).containsExactly("8888/tcp/in", "8081/tcp/out");
        assertThat(spec.inputFiles()).containsExactly("/in/a", "/in/b");
        assertThat(spec.outputFiles()).containsExactly("out");
        assertThat(spec.workdir()).hasValue("/work");
        assertThat(spec.env()).isEqualTo(Map.of("A", "1", "B", "x=y"));
        assertThat(spec.account()).hasValue("acc");
        assertThat(spec.priority()).isEqualTo(-3);
        assertThat(spec.timeLimit()).hasValue(Duration.ofHours(2));
        assertThat(spec.retryPolicy()).isEqualTo(RetryPolicy.none());
        assertThat(spec.tags()).isEqualTo(Map.of("project", "p"));
        assertThat(spec.comment()).isEqualTo("note");
        assertThat(spec.submissionAddress()).hasValue("10.0.0.1");
        assertThat(spec.storage()).hasValue("blob");
        assertThat(spec.warnings()).containsExactly("line 1: something");
    }

    static Stream<Arguments> badSetterValues() {
        return Stream.of(
                Arguments.of("script", (Executable) () -> JobSpec.builder().script(" \n")),
                Arguments.of("command", (Executable) () -> JobSpec.builder().command(List.of())),
                Arguments.of("command", (Executable) () -> JobSpec.builder().command(List.of(" ", "arg"))),
                Arguments.of("containerImage", (Executable) () -> JobSpec.builder().containerImage("")),
                Arguments.of("containerImage", (Executable) () -> JobSpec.builder().containerImage("--privileged")),
                Arguments.of("containerImage", (Executable) () -> JobSpec.builder().containerImage("-v/:/h")),
                Arguments.of("containerImage", (Executable) () -> JobSpec.builder().containerImage("img --privileged")),
                Arguments.of("cloudImage", (Executable) () -> JobSpec.builder().cloudImage(" ")),
                Arguments.of("nodes", (Executable) () -> JobSpec.builder().nodes(0)),
                Arguments.of("nodes", (Executable) () -> JobSpec.builder().nodes(-1)),
                Arguments.of("cpus", (Executable) () -> JobSpec.builder().cpus(0)),
                Arguments.of("memoryBytes", (Executable) () -> JobSpec.builder().memoryBytes(0)),
                Arguments.of("memoryBytes", (Executable) () -> JobSpec.builder().memoryBytes(-1)),
                Arguments.of("gpus", (Executable) () -> JobSpec.builder().gpus(-1)),
                Arguments.of("flavor", (Executable) () -> JobSpec.builder().flavor("")),
                Arguments.of("remoteSite", (Executable) () -> JobSpec.builder().remoteSite("\t")),
                Arguments.of("inputFiles", (Executable) () -> JobSpec.builder().inputFile(" ")),
                Arguments.of("outputFiles", (Executable) () -> JobSpec.builder().outputFile("")),
                Arguments.of("workdir", (Executable) () -> JobSpec.builder().workdir(" ")),
                Arguments.of("env", (Executable) () -> JobSpec.builder().env("1A", "x")),
                Arguments.of("env", (Executable) () -> JobSpec.builder().env("A-B", "x")),
                Arguments.of("env", (Executable) () -> JobSpec.builder().env("", "x")),
                Arguments.of("env", (Executable) () -> JobSpec.builder().env("A B", "x")),
                Arguments.of("account", (Executable) () -> JobSpec.builder().account("")),
                Arguments.of("timeLimit", (Executable) () -> JobSpec.builder().timeLimit(Duration.ZERO)),
                Arguments.of("timeLimit", (Executable) () -> JobSpec.builder().timeLimit(Duration.ofSeconds(-1))),
                Arguments.of("tags", (Executable) () -> JobSpec.builder().tag(" ", "v")),
                Arguments.of("submissionAddress", (Executable) () -> JobSpec.builder().submissionAddress("")),
                Arguments.of("storage", (Executable) () -> JobSpec.builder().storage(" ")),
                Arguments.of("warnings", (Executable) () -> JobSpec.builder().warning("")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badSetterValues")
    void setterRejectsBadValueNamingTheField(String field, Executable action) {
        InvalidJobSpecException e = rejected(action);
        assertThat(e.field()).isEqualTo(field);
        assertThat(e.line()).isEmpty();
        assertThat(e.getMessage()).startsWith(field + ": ");
    }

    @Test
    void setterReasonsSayWhatIsWrong() {
        assertThat(rejected(() -> JobSpec.builder().nodes(0)).reason()).isEqualTo("must be positive, got 0");
        assertThat(rejected(() -> JobSpec.builder().gpus(-2)).reason()).isEqualTo("must not be negative, got -2");
        assertThat(rejected(() -> JobSpec.builder().flavor(" ")).reason()).isEqualTo("must not be blank");
        assertThat(rejected(() -> JobSpec.builder().env("9x", "v")).reason()).isEqualTo("not a variable name: '9x'");
        assertThat(rejected(() -> JobSpec.builder().command(List.of())).reason()).isEqualTo("must name a program");
    }

    @Test
    void goodEdgeValuesAreAccepted() {
        JobSpec spec = scriptBuilder().gpus(0).env("_", "").env("a_B9", "v").tag("k", "").priority(Integer.MIN_VALUE)
                .timeLimit(Duration.ofNanos(1)).memoryBytes(1).name("").comment("").build();
        assertThat(spec.gpus()).isZero();
        assertThat(spec.env()).containsOnlyKeys("_", "a_B9");
        assertThat(spec.tags()).containsEntry("k", "");
        assertThat(spec.timeLimit()).hasValue(Duration.ofNanos(1));
    }

    @Test
    void nullArgumentsAreNullPointerExceptions() {
        assertThatNullPointerException().isThrownBy(() -> JobSpec.builder().name(null));
        assertThatNullPointerException().isThrownBy(() -> JobSpec.builder().script(null));
        assertThatNullPointerException().isThrownBy(() -> JobSpec.builder().flavor(null));
        assertThatNullPointerException().isThrownBy(() -> JobSpec.builder().port(null));
        assertThatNullPointerException().isThrownBy(() -> JobSpec.builder().env("A", null));
        assertThatNullPointerException().isThrownBy(() -> JobSpec.builder().env(null, "v"));
        assertThatNullPointerException().isThrownBy(() -> JobSpec.builder().tag("k", null));
        assertThatNullPointerException().isThrownBy(() -> JobSpec.builder().timeLimit(null));
        assertThatNullPointerException().isThrownBy(() -> JobSpec.builder().retryPolicy(null));
        assertThatNullPointerException().isThrownBy(() -> JobSpec.builder().comment(null));
    }

    /** Every free-text field, list and map is bounded; the error names the field and never echoes the value. */
    @Nested
    class Limits {
        private static String text(int length) {
            return "a".repeat(length);
        }

        static Stream<Arguments> fieldsAtTheirLimit() {
            return Stream.of(
                    Arguments.of("name", JobSpec.MAX_NAME_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().name(text(n))),
                    Arguments.of("account", JobSpec.MAX_ACCOUNT_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().account(text(n))),
                    Arguments.of("comment", JobSpec.MAX_COMMENT_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().comment(text(n))),
                    Arguments.of("containerImage", JobSpec.MAX_IMAGE_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().containerImage(text(n))),
                    Arguments.of("cloudImage", JobSpec.MAX_IMAGE_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().cloudImage(text(n))),
                    Arguments.of("flavor", JobSpec.MAX_IDENTIFIER_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().flavor(text(n))),
                    Arguments.of("remoteSite", JobSpec.MAX_IDENTIFIER_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().remoteSite(text(n))),
                    Arguments.of("storage", JobSpec.MAX_IDENTIFIER_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().storage(text(n))),
                    Arguments.of("submissionAddress", JobSpec.MAX_IDENTIFIER_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().submissionAddress(text(n))),
                    Arguments.of("workdir", JobSpec.MAX_PATH_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().workdir(text(n))),
                    Arguments.of("inputFiles", JobSpec.MAX_PATH_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().inputFile(text(n))),
                    Arguments.of("outputFiles", JobSpec.MAX_PATH_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().outputFile(text(n))),
                    Arguments.of("inputFiles", JobSpec.MAX_FILES, (LimitedSetter) n -> {
                        JobSpec.Builder b = scriptBuilder();
                        for (int i = 0; i < n; i++) {
                            b.inputFile("f" + i);
                        }
                        return b;
                    }),
                    Arguments.of("outputFiles", JobSpec.MAX_FILES, (LimitedSetter) n -> {
                        JobSpec.Builder b = scriptBuilder();
                        for (int i = 0; i < n; i++) {
                            b.outputFile("f" + i);
                        }
                        return b;
                    }),
                    Arguments.of("env", JobSpec.MAX_ENV_NAME_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().env(text(n), "v")),
                    Arguments.of("env", JobSpec.MAX_ENV_VALUE_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().env("V", text(n))),
                    Arguments.of("env", JobSpec.MAX_ENV_VARIABLES, (LimitedSetter) n -> {
                        JobSpec.Builder b = scriptBuilder();
                        for (int i = 0; i < n; i++) {
                            b.env("V" + i, "");
                        }
                        return b;
                    }),
                    Arguments.of("tags", JobSpec.MAX_TAG_KEY_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().tag(text(n), "v")),
                    Arguments.of("tags", JobSpec.MAX_TAG_VALUE_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().tag("k", text(n))),
                    Arguments.of("tags", JobSpec.MAX_TAGS, (LimitedSetter) n -> {
                        JobSpec.Builder b = scriptBuilder();
                        for (int i = 0; i < n; i++) {
                            b.tag("k" + i, "v");
                        }
                        return b;
                    }),
                    Arguments.of("ports", JobSpec.MAX_PORTS, (LimitedSetter) n -> {
                        JobSpec.Builder b = scriptBuilder();
                        for (int i = 0; i < n; i++) {
                            b.port(new PortSpec(1000 + i, "tcp", PortSpec.Direction.IN));
                        }
                        return b;
                    }),
                    Arguments.of("ports", JobSpec.MAX_PORTS, (LimitedSetter) n -> scriptBuilder().ports(
                            Stream.iterate(1, i -> i + 1).limit(n)
                                    .map(i -> new PortSpec(i, "udp", PortSpec.Direction.OUT)).toList())),
                    Arguments.of("command", JobSpec.MAX_COMMAND_ARGUMENT_LENGTH,
                            (LimitedSetter) n -> JobSpec.builder().command(List.of("echo", text(n)))),
                    Arguments.of("command", JobSpec.MAX_COMMAND_ARGUMENTS,
                            (LimitedSetter) n -> JobSpec.builder().command(
                                    Stream.generate(() -> "x").limit(n).toList())),
                    Arguments.of("warnings", JobSpec.MAX_WARNING_LENGTH,
                            (LimitedSetter) n -> scriptBuilder().warning(text(n))));
        }

        @FunctionalInterface
        interface LimitedSetter {
            JobSpec.Builder apply(int size);
        }

        @ParameterizedTest(name = "{0} up to {1}")
        @MethodSource("fieldsAtTheirLimit")
        void aFieldAtItsLimitIsAcceptedAndOnePastIsRefusedNamingIt(String field, int limit, LimitedSetter setter) {
            assertThat(setter.apply(limit).build()).isNotNull();
            InvalidJobSpecException e = rejected(() -> setter.apply(limit + 1));
            assertThat(e.field()).isEqualTo(field);
            assertThat(e.reason()).contains(Integer.toString(limit)).doesNotContain("aaaaaaaaaa");
        }

        @Test
        void theEnvironmentIsBoundedAsAWholeToo() {
            JobSpec.Builder b = scriptBuilder();
            int value = JobSpec.MAX_ENV_VALUE_LENGTH;
            int fits = JobSpec.MAX_ENV_TOTAL_LENGTH / (value + 2); // names V0..V7 are two characters
            for (int i = 0; i < fits; i++) {
                b.env("V" + i, text(value));
            }
            InvalidJobSpecException e = rejected(() -> b.env("W" + fits, text(value)));
            assertThat(e.field()).isEqualTo("env");
            assertThat(e.reason()).contains("all variables together").contains(
                    Integer.toString(JobSpec.MAX_ENV_TOTAL_LENGTH));
            // Replacing a variable counts its new value, not both.
            assertThat(b.env("V0", text(value)).build().env()).hasSize(fits);
        }

        @Test
        void aCommandIsBoundedAsAWholeToo() {
            String word = text(JobSpec.MAX_COMMAND_ARGUMENT_LENGTH);
            List<String> words = Stream.generate(() -> word)
                    .limit(JobSpec.MAX_COMMAND_LENGTH / JobSpec.MAX_COMMAND_ARGUMENT_LENGTH + 1).toList();
            assertThat(rejected(() -> JobSpec.builder().command(words)).reason()).contains("all words together");
        }

        @Test
        void replacingATagOrVariableAtTheCountLimitIsAllowed() {
            JobSpec.Builder b = scriptBuilder();
            for (int i = 0; i < JobSpec.MAX_TAGS; i++) {
                b.tag("k" + i, "v");
            }
            assertThat(b.tag("k0", "w").build().tags()).hasSize(JobSpec.MAX_TAGS).containsEntry("k0", "w");
        }

        @Test
        void warningsPastTheLimitAreCountedNotKept() {
            JobSpec.Builder b = scriptBuilder();
            for (int i = 0; i < JobSpec.MAX_WARNINGS + 5; i++) {
                b.warning("w" + i);
            }
            JobSpec spec = b.build();
            assertThat(spec.warnings()).hasSize(JobSpec.MAX_WARNINGS + 1)
                    .endsWith("5 more warning(s) dropped; a job keeps at most " + JobSpec.MAX_WARNINGS);
            assertThat(spec.toBuilder().build()).isEqualTo(spec);
        }

        @Test
        void buildChecksAgainWhatTheCanonicalConstructorLetThrough() {
            // The constructor accepts an oversized field so that jobs stored before the limit stay readable, but
            // such a spec cannot be submitted again through the builder.
            JobSpec base = scriptBuilder().build();
            JobSpec stored = new JobSpec(base.name(), base.script(), base.command(), base.containerImage(),
                    base.cloudImage(), 1, 1, 0, 0, base.flavor(), base.remoteSite(), true, List.of(), List.of(),
                    List.of(), Optional.empty(), Map.of(), Optional.of(text(1 << 20)), 0, Optional.empty(),
                    base.retryPolicy(), Map.of(), "", Optional.empty(), Optional.empty(), Optional.empty(), List.of(), false);
            assertThat(rejected(() -> stored.toBuilder().build()).field()).isEqualTo("account");
        }
    }

    @Nested
    class ScriptOrCommand {
        @Test
        void buildNeedsAScriptOrACommand() {
            InvalidJobSpecException e = rejected(() -> JobSpec.builder().build());
            assertThat(e.field()).isEqualTo("script");
            assertThat(e.reason()).isEqualTo("give a script, a command or container steps");
        }

        @Test
        void commandReplacesScript() {
            JobSpec spec = scriptBuilder().command(List.of("echo", "hi")).build();
            assertThat(spec.script()).isEmpty();
            assertThat(spec.command()).containsExactly("echo", "hi");
        }

        @Test
        void scriptReplacesCommand() {
            JobSpec spec = JobSpec.builder().command(List.of("echo")).script("echo hi").build();
            assertThat(spec.script()).hasValue("echo hi");
            assertThat(spec.command()).isEmpty();
        }

        @Test
        void commandFactory() {
            JobSpec spec = JobSpec.command("sleep", "10");
            assertThat(spec.command()).containsExactly("sleep", "10");
            assertThat(spec.script()).isEmpty();
            assertThat(spec.nodes()).isEqualTo(1);
        }

        @Test
        void recordRejectsBothOrNeither() {
            JobSpec base = scriptBuilder().build();
            InvalidJobSpecException both = rejected(() -> construct(base, Optional.of("echo"), List.of("echo"), 1, 1, 0, 0));
            assertThat(both.field()).isEqualTo("script");
            assertThat(both.reason()).isEqualTo("give exactly one of a script, a command or container steps");
            InvalidJobSpecException neither = rejected(() -> construct(base, Optional.empty(), List.of(), 1, 1, 0, 0));
            assertThat(neither.field()).isEqualTo("script");
            assertThat(neither.reason()).isEqualTo("give exactly one of a script, a command or container steps");
        }

        @Test
        void recordRejectsBlankScript() {
            JobSpec base = scriptBuilder().build();
            InvalidJobSpecException e = rejected(() -> construct(base, Optional.of(" \n"), List.of(), 1, 1, 0, 0));
            assertThat(e.field()).isEqualTo("script");
            assertThat(e.reason()).isEqualTo("is empty");
        }
    }

    @Nested
    class RecordInvariants {
        private final JobSpec base = scriptBuilder().build();
        private final Optional<String> script = base.script();

        @Test
        void acceptsZeroMemoryAndGpus() {
            assertThat(construct(base, script, List.of(), 1, 1, 0, 0)).isEqualTo(base);
        }

        @Test
        void rejectsNonPositiveNodes() {
            assertThat(rejected(() -> construct(base, script, List.of(), 0, 1, 0, 0)).field()).isEqualTo("nodes");
        }

        @Test
        void rejectsNonPositiveCpus() {
            assertThat(rejected(() -> construct(base, script, List.of(), 1, -1, 0, 0)).field()).isEqualTo("cpus");
        }

        @Test
        void rejectsNegativeMemory() {
            assertThat(rejected(() -> construct(base, script, List.of(), 1, 1, -1, 0)).field())
                    .isEqualTo("memoryBytes");
        }

        @Test
        void rejectsNegativeGpus() {
            assertThat(rejected(() -> construct(base, script, List.of(), 1, 1, 0, -1)).field()).isEqualTo("gpus");
        }

        @Test
        void rejectsNullComponents() {
            assertThatNullPointerException().isThrownBy(() -> new JobSpec(null, script, List.of(), Optional.empty(),
                    Optional.empty(), 1, 1, 0, 0, Optional.empty(), Optional.empty(), true, List.of(), List.of(),
                    List.of(), Optional.empty(), Map.of(), Optional.empty(), 0, Optional.empty(),
                    RetryPolicy.defaults(), Map.of(), "", Optional.empty(), Optional.empty(), Optional.empty(), List.of(), false));
            assertThatNullPointerException().isThrownBy(() -> new JobSpec("", script, List.of(), Optional.empty(),
                    Optional.empty(), 1, 1, 0, 0, Optional.empty(), Optional.empty(), true, List.of(), List.of(),
                    List.of(), Optional.empty(), Map.of(), Optional.empty(), 0, Optional.empty(),
                    null, Map.of(), "", Optional.empty(), Optional.empty(), Optional.empty(), List.of(), false));
        }

        @Test
        void copiesMutableArguments() {
            List<String> command = new ArrayList<>(List.of("echo"));
            JobSpec spec = construct(base, Optional.empty(), command, 1, 1, 0, 0);
            command.add("changed");
            assertThat(spec.command()).containsExactly("echo");
        }
    }

    @Nested
    class Copies {
        @Test
        void toBuilderRoundTripIsEqual() {
            JobSpec spec = everyFieldSet();
            JobSpec copy = spec.toBuilder().build();
            assertThat(copy).isEqualTo(spec).hasSameHashCodeAs(spec);
        }

        @Test
        void toBuilderRoundTripOfACommandSpec() {
            JobSpec spec = JobSpec.command("ls", "-l");
            assertThat(spec.toBuilder().build()).isEqualTo(spec);
        }

        @Test
        void toBuilderRoundTripKeepsZeroMemoryThatTheSetterWouldReject() {
            JobSpec spec = scriptBuilder().build();
            assertThat(spec.toBuilder().build().memoryBytes()).isZero();
        }

        @Test
        void changingTheBuilderFromToBuilderLeavesTheSpecAlone() {
            JobSpec spec = everyFieldSet();
            JobSpec.Builder builder = spec.toBuilder();
            builder.inputFile("/in/c").env("C", "3").tag("t", "v").port(PortSpec.parse("1/udp/in")).warning("w")
                    .name("other");
            JobSpec changed = builder.build();
            assertThat(spec).isEqualTo(everyFieldSet());
            assertThat(changed).isNotEqualTo(spec);
            assertThat(changed.inputFiles()).containsExactly("/in/a", "/in/b", "/in/c");
        }

        @Test
        void changingTheBuilderAfterBuildLeavesTheSpecAlone() {
            JobSpec.Builder builder = scriptBuilder().inputFile("a").env("A", "1");
            JobSpec spec = builder.build();
            builder.inputFile("b").env("B", "2").outputFile("o").tag("k", "v").warning("w");
            assertThat(spec.inputFiles()).containsExactly("a");
            assertThat(spec.env()).containsOnlyKeys("A");
            assertThat(spec.outputFiles()).isEmpty();
            assertThat(spec.tags()).isEmpty();
            assertThat(spec.warnings()).isEmpty();
        }

        @Test
        void listsPassedToTheBuilderAreCopied() {
            List<String> command = new ArrayList<>(List.of("echo", "a"));
            List<PortSpec> ports = new ArrayList<>(List.of(PortSpec.parse("1/tcp/in")));
            JobSpec.Builder builder = JobSpec.builder().command(command).ports(ports);
            command.add("b");
            ports.clear();
            JobSpec spec = builder.build();
            assertThat(spec.command()).containsExactly("echo", "a");
            assertThat(spec.ports()).hasSize(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"command", "ports", "inputFiles", "outputFiles", "warnings"})
    void listsAreImmutable(String list) {
        JobSpec spec = everyFieldSet();
        List<?> values = switch (list) {
            case "command" -> JobSpec.command("ls").command();
            case "ports" -> spec.ports();
            case "inputFiles" -> spec.inputFiles();
            case "outputFiles" -> spec.outputFiles();
            case "warnings" -> spec.warnings();
            default -> throw new IllegalArgumentException(list);
        };
        assertThatThrownBy(values::clear).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> values.remove(0)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void mapsAreImmutable() {
        JobSpec spec = everyFieldSet();
        assertThatThrownBy(() -> spec.env().put("X", "y")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> spec.env().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> spec.tags().put("X", "y")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> spec.tags().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void hasSubmissionAddress() {
        assertThat(scriptBuilder().hasSubmissionAddress()).isFalse();
        assertThat(scriptBuilder().submissionAddress("h").hasSubmissionAddress()).isTrue();
    }
}
