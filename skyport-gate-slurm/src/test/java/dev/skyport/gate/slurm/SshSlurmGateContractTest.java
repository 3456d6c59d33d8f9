package dev.skyport.gate.slurm;

import dev.skyport.gate.BatchGateContractTest;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateProvider;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ServiceLoader;

/**
 * The slurm gate over SSH (found as the engine finds it, given ssh-host and no rest-url: Slurm's commands and SFTP on
 * the login node) passes the batch gate contract against a real Slurm on loopback.
 */
class SshSlurmGateContractTest extends BatchGateContractTest {
    private static SlurmCluster cluster;
    private static SlurmLoginNode login;
    @TempDir
    static Path loginDir;

    @BeforeAll
    static void startClusterAndLoginNode() throws Exception {
        cluster = SlurmCluster.start();
        login = SlurmLoginNode.start(cluster, loginDir);
    }

    @AfterAll
    static void stopClusterAndLoginNode() throws Exception {
        try {
            if (login != null) {
                login.close();
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
    }

    @Override
    protected Gate createGate(Path workDir) {
        GateProvider provider = ServiceLoader.load(GateProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("slurm")).findFirst().orElseThrow();
        return provider.create(new GateConfig(workDir, login.gateOptions(cluster), Clock.systemUTC()));
    }
}
