package dev.skyport.samples.daemon.cli;

import dev.skyport.api.SkyPortException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IFactory;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.util.List;
import java.util.Objects;

/**
 * Wires the client commands into a {@code skyport} command line: a factory that hands them their {@link CliContext},
 * and the handler that turns exceptions into one line on stderr and exit code 1.
 */
public final class Cli {
    private Cli() {
    }

    /** The commands that talk to a daemon, in the order {@code skyport --help} lists them. */
    private static final List<Class<?>> COMMANDS = List.of(SubmitCommand.class, JobsCommand.class,
            ShowCommand.class, JobActionCommand.Cancel.class, JobActionCommand.Requeue.class, LogsCommand.class,
            WatchCommand.class, ResourceCommands.Nodes.class, ResourceCommands.Flavors.class,
            ResourceCommands.Images.class, ResourceCommands.Remotes.class, ResourceCommands.Partitions.class,
            CompletionCommand.class);

    /**
     * A command line for {@code root} with the client commands added (they use {@code context}), and the exit code
     * and error handling they share. Call before setting streams: the settings reach the commands added here.
     */
    public static CommandLine commandLine(Object root, CliContext context) {
        CommandLine cli = new CommandLine(root, new Factory(context));
        for (Class<?> command : COMMANDS) {
            cli.addSubcommand(command);
        }
        cli.setExecutionExceptionHandler(new ErrorHandler());
        return cli;
    }

    /** Creates commands with the default factory, then gives client commands their context. */
    private static final class Factory implements IFactory {
        private final IFactory fallback = CommandLine.defaultFactory();
        private final CliContext context;

        Factory(CliContext context) {
            this.context = Objects.requireNonNull(context, "context");
        }

        @Override
        public <K> K create(Class<K> type) throws Exception {
            K made = fallback.create(type);
            if (made instanceof ClientCommand command) {
                command.context = context;
            }
            return made;
        }
    }

    /**
     * A {@link SkyPortException} is the daemon (or the engine) refusing on purpose: its message says what is wrong, so
     * it is all the user sees. Anything else is a bug or an environment problem: one line, and the trace only with
     * {@code --verbose}.
     */
    static final class ErrorHandler implements IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception thrown, CommandLine cli, ParseResult parsed) {
            Exception e = unwrapped(thrown);
            PrintWriter err = cli.getErr();
            String prefix = cli.getCommandSpec().qualifiedName() + ": ";
            boolean verbose = cli.getCommand() instanceof ClientCommand command && command.verbose;
            if (e instanceof SkyPortException || e instanceof CommandFailure) {
                err.println(prefix + e.getMessage());
            } else {
                String message = e.getMessage() == null ? null : e.getMessage().lines().findFirst().orElse("");
                err.println(prefix + e.getClass().getSimpleName() + (message != null ? ": " + message : "")
                        + (verbose ? "" : " (run with --verbose for details)"));
            }
            if (verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            return cli.getCommandSpec().exitCodeOnExecutionException();
        }

        /** A future's wrapper says nothing of what went wrong; its cause does. */
        private static Exception unwrapped(Exception e) {
            Exception shown = e;
            while ((shown instanceof java.util.concurrent.ExecutionException
                    || shown instanceof java.util.concurrent.CompletionException)
                    && shown.getCause() instanceof Exception cause) {
                shown = cause;
            }
            return shown;
        }
    }
}
