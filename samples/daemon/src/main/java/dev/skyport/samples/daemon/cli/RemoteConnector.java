package dev.skyport.samples.daemon.cli;

import dev.skyport.api.SkyPortException;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The program's connector: the daemon's {@code /api/v1} through {@code skyport-client}, with the certificate layout
 * of {@code skyport certs} ({@code ~/.swm/cert.pem}, {@code key.pem} and the CA chain) and {@code SKYPORT_URL}.
 */
final class RemoteConnector implements Connector {
    @Override
    public Connection connect(Optional<URI> url, Optional<Path> certDir) {
        // skyport-client's SkyPortClient is being written on another branch; until it is merged the commands run
        // only against an engine a test connects them to.
        throw new SkyPortException("this build has no REST client yet (skyport-client); cannot reach "
                + url.map(URI::toString).orElse("the daemon"));
    }
}
