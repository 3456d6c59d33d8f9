package dev.skyport.samples.daemon.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * What every command that talks to a daemon shares: where the daemon is, how to print, and one connection per run.
 * Exceptions are left to {@link Cli.ErrorHandler}, so every command fails the same way.
 */
abstract class ClientCommand implements Callable<Integer> {
    /** Set by {@link Cli}'s factory; the program's context when a command is created some other way. */
    CliContext context = CliContext.system();

    @Spec
    CommandSpec spec;

    @Option(names = "--url", paramLabel = "URL",
            description = "The daemon, e.g. https://head:8443 (default: $SKYPORT_URL, else https://localhost:8443).")
    URI url;

    @Option(names = "--cert-dir", paramLabel = "DIR",
            description = "Where cert.pem, key.pem and the CA chain are (default: ~/.swm).")
    Path certDir;

    @Option(names = "--no-color", description = "No colours even on a terminal (as is NO_COLOR=1).")
    boolean noColor;

    @Option(names = "--verbose", description = "Print the stack trace of an unexpected error.")
    boolean verbose;

    @Override
    public final Integer call() throws Exception {
        // Arguments and local files first: a usage error should not wait for (or be hidden by) the network.
        prepare();
        try (Connection connection = context.connector().connect(Optional.ofNullable(url),
                Optional.ofNullable(certDir))) {
            return run(connection);
        } finally {
            out().flush();
            err().flush();
        }
    }

    /** Checks what can be checked without the daemon; throws a usage error or {@link CommandFailure}. */
    void prepare() throws Exception {
    }

    /** Runs the command; returns its exit code. */
    abstract int run(Connection connection) throws Exception;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    boolean color() {
        return !noColor && context.colorAllowed();
    }

    Style style() {
        return color() ? Style.ANSI : Style.PLAIN;
    }

    /** {@code skyport <command>: message} on stderr, for a failure that does not end the command. */
    void complain(String message) {
        err().println(spec.qualifiedName() + ": " + message);
    }
}
