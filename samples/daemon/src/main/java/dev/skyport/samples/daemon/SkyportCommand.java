package dev.skyport.samples.daemon;

import dev.skyport.samples.daemon.cli.Cli;
import dev.skyport.samples.daemon.cli.CliContext;
import dev.skyport.samples.daemon.pki.CertsCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code skyport} command line: {@code skyport certs ...} and {@code skyport daemon} here, and the commands that
 * talk to a daemon ({@code submit}, {@code jobs}, ...), which {@link Cli} adds.
 */
@Command(name = "skyport", mixinStandardHelpOptions = true, version = "Sky Port for Java 0.1.0",
        subcommands = {CertsCommand.class, DaemonCommand.class, CommandLine.HelpCommand.class},
        description = "Sky Port: a workload manager for private HPC and the cloud.")
public final class SkyportCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(Cli.commandLine(new SkyportCommand(), CliContext.system()).execute(args));
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command (skyport --help lists them)");
    }
}
