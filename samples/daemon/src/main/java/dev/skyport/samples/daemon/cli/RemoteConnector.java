package dev.skyport.samples.daemon.cli;

import dev.skyport.api.SkyPort;
import dev.skyport.client.ClientTls;
import dev.skyport.client.SkyPortClient;
import dev.skyport.samples.daemon.pki.UserIdentity;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The program's connector: the daemon's {@code /api/v1} through {@code skyport-client}, with the certificate layout
 * {@code skyport certs} installs. The daemon is {@code --url}, else {@code $SKYPORT_URL}, else
 * {@code https://localhost:8443} (a daemon with the default settings on this machine). The identity is
 * {@code cert.pem} and {@code key.pem} of {@code --cert-dir}, else of {@code ~/.swm}; the CA bundle
 * ({@code secure/cluster/ca-chain-cert.pem}) comes from the first of {@code $SKYPORT_SPOOL}, {@code <cert dir>/spool}
 * and {@code /opt/swm/spool} that has one, as the client and the upstream clients look for it.
 *
 * <p>The caller's user id is the certificate's UUID, read with the same {@link UserIdentity} the daemon identifies
 * callers with, so {@code skyport jobs} lists an admin's own jobs unless {@code --all}.
 */
final class RemoteConnector implements Connector {
    static final URI DEFAULT_URL = URI.create("https://localhost:8443");
    private static final Path CA_BUNDLE = Path.of("secure", "cluster", "ca-chain-cert.pem");
    private static final Path UPSTREAM_SPOOL = Path.of("/opt/swm/spool");

    private final Map<String, String> env;
    private final Path userHome;

    RemoteConnector(Map<String, String> env, Path userHome) {
        this.env = Map.copyOf(env);
        this.userHome = Objects.requireNonNull(userHome, "userHome");
    }

    /** With the process's environment and {@code $HOME} (else {@code user.home}). */
    static RemoteConnector system() {
        String home = System.getenv("HOME");
        return new RemoteConnector(System.getenv(), home != null && !home.isBlank() && Path.of(home).isAbsolute()
                ? Path.of(home) : Path.of(System.getProperty("user.home")));
    }

    @Override
    public Connection connect(Optional<URI> url, Optional<Path> certDir) {
        URI target = url.orElseGet(this::defaultUrl);
        ClientTls tls = tls(certDir.orElse(userHome.resolve(".swm")));
        SkyPort sky;
        try {
            sky = SkyPortClient.connect(target, tls);
        } catch (IllegalArgumentException e) {
            throw new CommandFailure(e.getMessage());
        }
        return new Connection(sky, UserIdentity.of(tls.certificate()).map(identity -> identity.uuid().toString()),
                true);
    }

    URI defaultUrl() {
        String variable = env.get(SkyPortClient.URL_VARIABLE);
        if (variable == null || variable.isBlank()) {
            return DEFAULT_URL;
        }
        try {
            return new URI(variable.trim());
        } catch (java.net.URISyntaxException e) {
            throw new CommandFailure(SkyPortClient.URL_VARIABLE + " is not a URL: " + e.getMessage());
        }
    }

    private ClientTls tls(Path dir) {
        List<Path> spools = new ArrayList<>();
        String spoolVariable = env.get("SKYPORT_SPOOL");
        if (spoolVariable != null && !spoolVariable.isBlank()) {
            spools.add(Path.of(spoolVariable));
        }
        spools.add(dir.resolve("spool"));
        spools.add(UPSTREAM_SPOOL);
        Path bundle = spools.stream().map(spool -> spool.resolve(CA_BUNDLE)).filter(Files::isRegularFile)
                .findFirst().orElseThrow(() -> new CommandFailure("no CA bundle found in "
                        + String.join(", ", spools.stream().map(s -> s.resolve(CA_BUNDLE).toString()).toList())
                        + " (skyport certs init creates one; or set SKYPORT_SPOOL)"));
        try {
            return ClientTls.fromPem(dir.resolve("cert.pem"), dir.resolve("key.pem"), bundle);
        } catch (IllegalArgumentException e) {
            throw new CommandFailure(e.getMessage());
        }
    }
}
