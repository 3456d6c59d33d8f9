package dev.skyport.gate;

import dev.skyport.api.Flavor;
import dev.skyport.api.Node;
import dev.skyport.api.RemoteSite;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The behaviour every {@link Gate} must show, whether it has nodes of its own ({@link NodeGateContractTest}) or creates
 * partitions ({@link PartitionGateContractTest}). A gate module extends one of those and supplies {@link #createGate};
 * each test gets a fresh gate over the same work directory, and {@link #reopen()} stands for an engine restart.
 */
public abstract class GateContractTest {
    @TempDir
    protected Path workDir;

    protected Gate gate;

    /** A new gate over {@code workDir}, as the engine would create it after a start or restart. */
    protected abstract Gate createGate(Path workDir);

    @BeforeEach
    void openGate() {
        gate = createGate(workDir);
    }

    @AfterEach
    void closeGate() {
        gate.close();
    }

    protected void reopen() {
        gate.close();
        gate = createGate(workDir);
    }

    @Test
    void unknownNodeIsAPermanentError() {
        assertThatThrownBy(() -> gate.access("no-such-node-" + UUID.randomUUID()))
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse());
    }

    @Test
    void itsCatalogueIsConsistent() {
        assertThat(gate.name()).isNotBlank();
        Set<String> remotes = gate.remotes().stream().map(RemoteSite::name).collect(Collectors.toSet());
        assertThat(gate.flavors().stream().map(Flavor::name).distinct().count()).as("flavor names are unique")
                .isEqualTo(gate.flavors().size());
        for (Flavor f : gate.flavors()) {
            assertThat(f.cpus()).as("cpus of %s", f.name()).isPositive();
            assertThat(f.memoryBytes()).as("memory of %s", f.name()).isNotNegative();
            assertThat(f.pricePerHour()).as("price of %s", f.name()).isNotNegative();
            assertThat(f.currency()).as("currency of %s", f.name()).isNotBlank();
            if (!remotes.isEmpty()) {
                assertThat(remotes).as("the remote of flavor %s is listed", f.name()).contains(f.remoteSite());
            }
        }
        for (Node n : gate.nodes()) {
            assertThat(n.name()).isNotBlank();
        }
        assertThat(gate.partitions()).allSatisfy(p -> assertThat(p.gate()).isEqualTo(gate.name()));
    }

    @Test
    void closingTwiceIsHarmless() {
        gate.close();
        gate.close();
        gate = createGate(workDir);
    }
}
