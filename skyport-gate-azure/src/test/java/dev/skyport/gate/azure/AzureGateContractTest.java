package dev.skyport.gate.azure;

import dev.skyport.gate.Gate;
import dev.skyport.gate.PartitionGateContractTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The Azure gate passes the partition gates' contract against the fake Resource Manager. */
class AzureGateContractTest extends PartitionGateContractTest {
    private static FakeArm arm;

    @BeforeAll
    static void startArm() {
        arm = new FakeArm();
    }

    @AfterAll
    static void stopArm() {
        arm.close();
    }

    @Override
    protected Gate createGate(Path workDir) {
        return new AzureGate("azure", arm.azure(), TestCatalogue.standard(), new PartitionSettings("azure", "eastus",
                "skyport", List.of("203.0.113.0/24"), 22, workDir, Clock.systemUTC()));
    }

    @AfterEach
    void nothingUnexpected() {
        assertThat(arm.wireMock().findAllUnmatchedRequests()).as("requests WireMock had no stub for").isEmpty();
        assertThat(arm.unexpected()).as("requests the fake could not serve").isEmpty();
    }
}
