package dev.skyport.gate.slurm;

import dev.skyport.gate.BatchGateContractTest;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateProvider;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.ServiceLoader;

/** The slurm gate, found as the engine finds it, against a real Slurm on loopback, passes the batch gate contract. */
class SlurmGateContractTest extends BatchGateContractTest {
    private static SlurmCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = SlurmCluster.start();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Override
    protected Gate createGate(Path workDir) {
        GateProvider provider = ServiceLoader.load(GateProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("slurm")).findFirst().orElseThrow();
        Map<String, String> options = cluster.restGateOptions();
        options.put("request-timeout", "30s");
        return provider.create(new GateConfig(workDir, options, Clock.systemUTC()));
    }
}
