package dev.skyport.gate.slurm;

import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateProvider;

import java.time.Clock;
import java.time.Duration;

/**
 * Creates the {@code slurm} gate (found with {@link java.util.ServiceLoader}). Its options are checked first, each
 * error naming the option; then the backend is asked once, so that a server that does not serve the supported API
 * version is refused at start.
 */
public final class SlurmGateProvider implements GateProvider {
    @Override
    public String name() {
        return SlurmGate.NAME;
    }

    @Override
    public Gate create(GateConfig config) {
        SlurmGateConfig c = SlurmGateConfig.parse(config);
        SshConnections connections = c.login.isPresent() ? new SshConnections(Duration.ofSeconds(10)) : null;
        SlurmBackend backend = null;
        SharedFiles files = null;
        try {
            files = switch (c.files) {
                case LOCAL -> new LocalSharedFiles(c.site + "-files", c.workRoot);
                case SSH -> new LoginNodeFiles(c.site + "-login", c.workRoot, c.login.orElseThrow(), connections);
            };
            backend = backend(c, connections);
            backend.ping();
            SlurmQueue queue = new SlurmQueue(backend, files, c.defaultPartition, c.site,
                    config.workDir().resolve("slurm-scratch"), Clock.systemUTC());
            return new SlurmGate(c, backend, queue, files, () -> {
                if (connections != null) {
                    connections.close();
                }
            });
        } catch (RuntimeException e) {
            if (files != null) {
                files.close();
            }
            if (backend != null) {
                backend.close();
            }
            if (connections != null) {
                connections.close();
            }
            throw e;
        }
    }

    /** The way to Slurm the options name: slurmrestd, or Slurm's commands on the login node over SSH. */
    static SlurmBackend backend(SlurmGateConfig c, SshConnections connections) {
        return switch (c.backend) {
            case REST -> new RestBackend(c.restUrl.orElseThrow(), c.user, tokens(c), c.requestTimeout);
            case SSH -> new SshBackend(c.login.orElseThrow(), connections, c.requestTimeout);
        };
    }

    private static JwtTokens tokens(SlurmGateConfig c) {
        if (c.jwtTokenFile.isPresent()) {
            return JwtTokens.fromFile(c.jwtTokenFile.get());
        }
        // The system clock, not the engine's: slurmctld checks exp and iat against the real time.
        return JwtTokens.signed(c.jwtKeyFile.orElseThrow(), c.user, c.jwtLifetime, Clock.systemUTC());
    }
}
