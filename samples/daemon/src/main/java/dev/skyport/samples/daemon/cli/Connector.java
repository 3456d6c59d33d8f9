package dev.skyport.samples.daemon.cli;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the client commands get their {@link Connection} from: the REST client in the program, an embedded engine in
 * the tests. The commands know nothing else about the daemon, so they behave the same against either.
 */
@FunctionalInterface
public interface Connector {
    /**
     * Opens a connection for one command.
     *
     * @param url     {@code --url}; empty means the default ({@code SKYPORT_URL}, else https://localhost:8443)
     * @param certDir {@code --cert-dir}; empty means the default ({@code ~/.swm})
     * @throws dev.skyport.api.SkyPortException when the daemon cannot be reached or the certificates are unusable
     */
    Connection connect(Optional<URI> url, Optional<Path> certDir);
}
