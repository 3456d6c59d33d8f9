package dev.skyport.samples.daemon.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * {@code skyport completion}: the bash (and zsh, through bashcompinit) completion script picocli generates from the
 * command tree, so it always matches the commands and options of this build.
 */
@Command(name = "completion", mixinStandardHelpOptions = true,
        description = {"Prints the bash/zsh completion script for skyport.",
                "Use: source <(skyport completion), or save it in /etc/bash_completion.d/skyport."})
public final class CompletionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().print(AutoComplete.bash(spec.root().name(), spec.root().commandLine()));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
