package dev.skyport.samples.daemon.cli;

import dev.skyport.api.SkyPort;

import java.util.Objects;
import java.util.Optional;

/**
 * A {@link SkyPort} for one command, and who the caller is when the connector knows it. {@code userId} is the id the
 * caller's jobs are owned by: {@code skyport jobs} without {@code --all} lists only those, which matters for admins,
 * who see every user's jobs. Empty means "list what the daemon shows". {@code owned}: whether closing the connection
 * closes {@code sky} (a client made for the command is; an engine lent by a test is not).
 */
public record Connection(SkyPort sky, Optional<String> userId, boolean owned) implements AutoCloseable {
    public Connection {
        Objects.requireNonNull(sky, "sky");
        Objects.requireNonNull(userId, "userId");
    }

    @Override
    public void close() {
        if (owned) {
            sky.close();
        }
    }
}
