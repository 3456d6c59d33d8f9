package dev.skyport.gate.slurm;

import dev.skyport.gate.slurm.testing.SlurmCluster;
import okhttp3.HttpUrl;

import java.time.Clock;
import java.time.Duration;

/** The REST backend passes the same scenarios as the SSH one, so that the gate behaves the same over either. */
class RestBackendContractTest extends SlurmBackendContractTest {
    @Override
    protected SlurmBackend createBackend() {
        return new RestBackend(HttpUrl.get(cluster.restUrl()), SlurmCluster.REST_USER,
                JwtTokens.signed(cluster.jwtKeyFile(), SlurmCluster.REST_USER, Duration.ofMinutes(30),
                        Clock.systemUTC()), Duration.ofSeconds(30));
    }
}
