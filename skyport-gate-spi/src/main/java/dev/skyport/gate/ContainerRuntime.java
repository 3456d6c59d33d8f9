package dev.skyport.gate;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Which container runtime a gate looks for on its nodes, and what every {@code run} of it needs besides the job's own
 * arguments. Read from the gate options {@code container-runtime} ({@code none}; {@code auto} = podman, then docker;
 * or a comma-separated list of programs, names or absolute paths, tried in order) and {@code container-runtime-args}
 * (arguments of {@code run} separated by blanks, e.g. {@code --runtime runc --ulimit nofile=1024:1024} where the node's
 * default OCI runtime cannot start containers). {@link ContainerRun} builds the commands from it.
 *
 * @param candidates the programs looked for, in order; never empty
 * @param runArguments arguments added to every {@code run}, after the runtime's own and before the job's
 */
public record ContainerRuntime(List<String> candidates, List<String> runArguments) {
    /** The option naming the runtime. */
    public static final String OPTION = "container-runtime";
    /** The option with extra arguments of {@code run}. */
    public static final String ARGS_OPTION = "container-runtime-args";
    /** What {@code auto} looks for, in order. */
    public static final List<String> AUTO = List.of("podman", "docker");

    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param candidates the programs looked for, in order; never empty
     * @param runArguments arguments added to every {@code run}, after the runtime's own and before the job's
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public ContainerRuntime {
        candidates = List.copyOf(candidates);
        runArguments = List.copyOf(runArguments);
        if (candidates.isEmpty()) {
            throw new IllegalArgumentException("no container runtime candidates");
        }
        for (String c : candidates) {
            // A candidate is run by the node's shell as one word: nothing in it may be read by that shell.
            if (!c.matches("[A-Za-z0-9_./+-]+")) {
                throw GateException.permanent("gate option " + OPTION + " must name programs (letters, digits, "
                        + "'_', '.', '/', '+', '-'), got '" + c + "'");
            }
        }
        for (String a : runArguments) {
            Objects.requireNonNull(a, "runArguments");
        }
    }

    /** {@return Podman, else docker, with no extra arguments} */
    public static ContainerRuntime auto() {
        return new ContainerRuntime(AUTO, List.of());
    }

    /**
     * {@return the runtime {@code config}'s options ask for, or {@code byDefault} (one of the option's values) when the
     * option is absent; empty for {@code none}: the gate then runs no container images}
     *
     * @param config the gate's configuration
     * @param byDefault the value when {@code container-runtime} is not set
     * @throws GateException (permanent) naming the option when a value is malformed
     */
    public static Optional<ContainerRuntime> fromOptions(GateConfig config, String byDefault) {
        String value = config.option(OPTION).orElse(byDefault).strip();
        List<String> args = config.option(ARGS_OPTION).map(String::strip).filter(s -> !s.isEmpty())
                .map(s -> List.of(s.split("\\s+"))).orElse(List.of());
        String lower = value.toLowerCase(Locale.ROOT);
        if (lower.equals("none")) {
            if (!args.isEmpty()) {
                throw GateException.permanent("gate option " + ARGS_OPTION + " is set but " + OPTION + " is none");
            }
            return Optional.empty();
        }
        if (lower.equals("auto")) {
            return Optional.of(new ContainerRuntime(AUTO, args));
        }
        List<String> names = Arrays.stream(value.split(",", -1)).map(String::strip).toList();
        if (value.isEmpty() || names.stream().anyMatch(String::isEmpty)) {
            throw GateException.permanent("gate option " + OPTION + " must be none, auto or programs separated by "
                    + "commas, got '" + value + "'");
        }
        return Optional.of(new ContainerRuntime(names, args));
    }

    /** {@return how the candidates read in a message: {@code podman or docker}} */
    public String describe() {
        return String.join(" or ", candidates);
    }
}
