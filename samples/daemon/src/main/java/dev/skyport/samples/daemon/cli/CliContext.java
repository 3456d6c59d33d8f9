package dev.skyport.samples.daemon.cli;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;

/**
 * What the client commands take from the world besides their arguments: the connector, standard input, the byte
 * stream raw logs go to (picocli's {@code getOut()} is a character writer), whether standard output is a terminal,
 * the environment ({@code NO_COLOR}) and the clock ages are measured with. Tests pass their own.
 */
public record CliContext(Connector connector, InputStream stdin, OutputStream binaryOut, boolean terminal,
                         Map<String, String> env, Clock clock) {
    public CliContext {
        Objects.requireNonNull(connector, "connector");
        Objects.requireNonNull(stdin, "stdin");
        Objects.requireNonNull(binaryOut, "binaryOut");
        env = Map.copyOf(env);
        Objects.requireNonNull(clock, "clock");
    }

    /** The program's: the REST connector, the process's streams, and a terminal when there is a console. */
    public static CliContext system() {
        PrintStream out = System.out;
        return new CliContext(RemoteConnector.system(), System.in, out, System.console() != null, System.getenv(),
                Clock.systemUTC());
    }

    /** Colour and redrawing in place only on a terminal, and never when {@code NO_COLOR} is set (no-color.org). */
    boolean colorAllowed() {
        String noColor = env.get("NO_COLOR");
        return terminal && (noColor == null || noColor.isEmpty());
    }
}
