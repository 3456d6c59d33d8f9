package dev.skyport.samples.daemon.cli;

import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.SkyPortException;
import dev.skyport.samples.daemon.SkyportCommand;
import dev.skyport.samples.daemon.cli.CliHarness.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What every command shares: --help, exit codes, errors without traces, colour only on a terminal, completion. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CommandLineRulesTest {
    private static final String USER = "rules";
    private CliHarness cli;

    @BeforeAll
    void start(@TempDir Path dir) {
        cli = new CliHarness(dir.resolve("data"), 2);
    }

    @AfterAll
    void stop() {
        cli.close();
    }

    /** Every command and subcommand, as the words that name it: [submit], [certs, init], ... */
    private static List<List<String>> everyCommand() {
        CommandLine root = Cli.commandLine(new SkyportCommand(), new CliContext((u, c) -> {
            throw new AssertionError("not used");
        }, java.io.InputStream.nullInputStream(), java.io.OutputStream.nullOutputStream(), false, Map.of(),
                Clock.systemUTC()));
        List<List<String>> commands = new ArrayList<>();
        collect(root, new ArrayList<>(), commands);
        return commands;
    }

    private static void collect(CommandLine cli, List<String> path, List<List<String>> into) {
        for (Map.Entry<String, CommandLine> sub : cli.getSubcommands().entrySet()) {
            List<String> words = new ArrayList<>(path);
            words.add(sub.getKey());
            into.add(words);
            collect(sub.getValue(), words, into);
        }
    }

    @Test
    void everyCommandHasHelpThatExitsZero() {
        List<List<String>> commands = everyCommand();
        assertThat(commands).extracting(words -> String.join(" ", words)).contains("submit", "jobs", "show",
                "cancel", "requeue", "logs", "watch", "nodes", "flavors", "images", "remotes", "partitions",
                "completion", "certs", "certs init", "daemon");
        for (List<String> words : commands) {
            if (words.equals(List.of("help"))) {
                continue; // picocli's help command has no --help of its own: `skyport help` is the help
            }
            List<String> args = new ArrayList<>(words);
            args.add("--help");
            Result r = cli.run(USER, args.toArray(String[]::new));
            assertThat(r.exit()).as(String.join(" ", args)).isZero();
            assertThat(r.out()).as(String.join(" ", args)).startsWith("Usage: skyport " + String.join(" ", words));
        }
        Result top = cli.run(USER, "--help");
        assertThat(top.exit()).isZero();
        assertThat(top.out()).contains("submit", "jobs", "watch", "completion", "certs", "daemon");
    }

    @Test
    void usageErrorsExitTwoAndNameTheProblem() {
        Result unknownOption = cli.run(USER, "jobs", "--colour");
        assertThat(unknownOption.exit()).isEqualTo(2);
        assertThat(unknownOption.err()).contains("Unknown option: '--colour'");
        assertThat(cli.run(USER, "cancel").exit()).isEqualTo(2); // needs an id
        assertThat(cli.run(USER, "watch", "--interval", "0").exit()).isEqualTo(2);
        assertThat(cli.run(USER, "logs", "a", "b").exit()).isEqualTo(2);
    }

    @Test
    void argumentsAndLocalFilesAreCheckedBeforeConnecting() {
        Connector unreachable = (url, certDir) -> {
            throw new SkyPortException("cannot reach the daemon");
        };
        assertThat(cli.run(unreachable, "jobs", "--limit", "0").err()).contains("--limit must be at least 1");
        Result twice = cli.run(unreachable, "jobs", "--tag", "k=1", "--tag", "k=2");
        assertThat(twice.exit()).isEqualTo(2);
        assertThat(twice.err()).contains("--tag names the key 'k' twice").doesNotContain("reach");
        assertThat(cli.run(unreachable, "watch", "--iterations", "-1").exit()).isEqualTo(2);
        Result missing = cli.run(unreachable, "submit", "/nonexistent/job.sh");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("no such file: /nonexistent/job.sh").doesNotContain("reach");
        cli.stdin = "#!/bin/sh\n#SWM gpus -1\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Result invalid = cli.run(unreachable, "submit", "-");
        cli.stdin = new byte[0];
        assertThat(invalid.exit()).isEqualTo(1);
        assertThat(invalid.err()).startsWith("skyport submit: line 2: #SWM gpus").doesNotContain("reach");
    }

    @Test
    void aRefusalFromTheDaemonIsItsMessageOnly() {
        Connector refusing = (url, certDir) -> {
            throw new SkyPortException("cannot reach https://nowhere:8443: connection refused");
        };
        Result r = cli.run(refusing, "jobs");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("skyport jobs: cannot reach https://nowhere:8443: connection refused"
                + System.lineSeparator());
    }

    @Test
    void aFailureAFutureWrapsIsItsCausesMessage() {
        Connector wrapped = (url, certDir) -> {
            throw new java.util.concurrent.CompletionException(new SkyPortException("the daemon went away"));
        };
        Result r = cli.run(wrapped, "nodes");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("skyport nodes: the daemon went away" + System.lineSeparator());
    }

    @Test
    void anUnexpectedErrorIsOneLineAndTheTraceOnlyWithVerbose() {
        Connector broken = (url, certDir) -> {
            throw new IllegalStateException("bug\nsecond line");
        };
        Result r = cli.run(broken, "nodes");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("skyport nodes: IllegalStateException: bug (run with --verbose for details)"
                + System.lineSeparator());
        Result verbose = cli.run(broken, "nodes", "--verbose");
        assertThat(verbose.exit()).isEqualTo(1);
        assertThat(verbose.err()).startsWith("skyport nodes: IllegalStateException: bug\n")
                .contains("\tat ").contains("java.lang.IllegalStateException: bug");
    }

    @Test
    void theConnectorGetsTheUrlAndCertificateDirectory() {
        List<Object> seen = new ArrayList<>();
        Connector recording = (url, certDir) -> {
            seen.add(url);
            seen.add(certDir);
            return new Connection(cli.sky.asUser(USER), java.util.Optional.of(USER), false);
        };
        assertThat(cli.run(recording, "remotes", "--url", "https://head:8443", "--cert-dir", "/tmp/swm").exit())
                .isZero();
        assertThat(seen).containsExactly(java.util.Optional.of(java.net.URI.create("https://head:8443")),
                java.util.Optional.of(Path.of("/tmp/swm")));
    }

    @Test
    void colourOnlyOnATerminalWithoutNoColorOrNoColorOption() throws Exception {
        JobId id = cli.as(USER).jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n")).id();
        cli.await(id);
        try {
            assertThat(cli.run(USER, "jobs").out()).doesNotContain("\033[");
            cli.terminal = true;
            assertThat(cli.run(USER, "jobs").out()).contains("\033[32mSUCCEEDED\033[0m", "\033[1mID\033[0m");
            assertThat(cli.run(USER, "jobs", "--no-color").out()).doesNotContain("\033[");
            cli.env = Map.of("NO_COLOR", "1");
            assertThat(cli.run(USER, "jobs").out()).doesNotContain("\033[");
        } finally {
            cli.terminal = false;
            cli.env = Map.of();
        }
    }

    @Test
    void completionPrintsABashScriptForEveryCommand() {
        Result r = cli.run(USER, "completion");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).startsWith("#!/usr/bin/env bash").contains("complete -F _complete_skyport")
                .contains("submit", "jobs", "watch", "requeue", "remotes", "certs", "--idempotency-key",
                        "--no-color");
        assertThat(r.out()).contains("SUCCEEDED"); // --state's values
    }
}
