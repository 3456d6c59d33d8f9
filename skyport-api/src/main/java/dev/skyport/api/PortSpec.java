package dev.skyport.api;

import java.util.Locale;
import java.util.Objects;

/**
 * A port a job uses: {@code IN} is opened on the job's node for clients to reach, {@code OUT} is tunnelled from the
 * node back to the submission address. Written {@code <port>/<protocol>/<in|out>} as in {@code #SWM ports}.
 *
 * @param port the port number, 1 to 65535
 * @param protocol {@code tcp} or {@code udp}
 * @param direction {@code IN} to open on the node, {@code OUT} to tunnel back to the submission address
 */
public record PortSpec(int port, String protocol, Direction direction) {
    /** Which way a port's connections go. */
    public enum Direction {
        /** Opened on the job's node for clients to reach. */
        IN,
        /** Tunnelled from the job's node back to the submission address. */
        OUT
    }

    /**
     * Rejects null components.
     *
     * @param port the port number, 1 to 65535
     * @param protocol {@code tcp} or {@code udp}
     * @param direction {@code IN} to open on the node, {@code OUT} to tunnel back to the submission address
     * @throws InvalidJobSpecException when a component is out of its range (the message names it)
     */
    public PortSpec {
        if (port < 1 || port > 65535) {
            throw new InvalidJobSpecException("ports", "port must be 1..65535, got " + port);
        }
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(direction, "direction");
        if (!protocol.equals("tcp") && !protocol.equals("udp")) {
            throw new InvalidJobSpecException("ports", "protocol must be tcp or udp, got '" + Text.abbreviate(protocol) + "'");
        }
    }

    /**
     * Parses one item such as {@code 8888/tcp/in}.
     *
     * @param item the text, {@code <port>/<protocol>/<in|out>}
     * @return the port
     * @throws InvalidJobSpecException with field {@code ports} when the item is malformed
     */
    public static PortSpec parse(String item) {
        String[] parts = item.trim().split("/", -1);
        if (parts.length != 3) {
            throw new InvalidJobSpecException("ports",
                    "expected <port>/<protocol>/<in|out>, got '" + Text.abbreviate(item.trim()) + "'");
        }
        int port;
        try {
            port = Integer.parseInt(parts[0]);
        } catch (NumberFormatException e) {
            throw new InvalidJobSpecException("ports", "port is not a number: '" + Text.abbreviate(parts[0]) + "'");
        }
        Direction direction = switch (parts[2]) {
            case "in" -> Direction.IN;
            case "out" -> Direction.OUT;
            default -> throw new InvalidJobSpecException("ports",
                    "direction must be in or out, got '" + Text.abbreviate(parts[2]) + "'");
        };
        return new PortSpec(port, parts[1], direction);
    }

    @Override
    public String toString() {
        return port + "/" + protocol + "/" + direction.name().toLowerCase(Locale.ROOT);
    }
}
