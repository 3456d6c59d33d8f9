package dev.skyport.gate;

import dev.skyport.api.Flavor;
import dev.skyport.api.PortSpec;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The behaviour every gate that creates partitions ({@link Gate#createsPartitions()}: a cloud, the loopback test
 * gate) must show on top of {@link GateContractTest}: creation that is idempotent and tagged, nodes with pinned host
 * keys, deletion that is idempotent, a listing that survives a restart, clear refusals. Reaching the nodes over SSH is
 * the engine's part and is tested there.
 */
public abstract class PartitionGateContractTest extends GateContractTest {

    /** A name for a partition of this test, {@code swm-} and 8 characters as the engine makes them. */
    protected String partitionName() {
        return "swm-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** A spec of {@code nodes} nodes of the cheapest flavor, tagged as the engine tags them. */
    protected PartitionSpec spec(String name, int nodes) {
        Flavor cheapest = gate.flavors().stream().min(Comparator.comparingDouble(Flavor::pricePerHour)).orElseThrow();
        String job = UUID.randomUUID().toString();
        return new PartitionSpec(name, Optional.of(cheapest.name()), nodes, Optional.empty(), Optional.empty(),
                List.of(new PortSpec(8888, "tcp", PortSpec.Direction.IN)), Map.of(PartitionSpec.TAG_PARTITION, name,
                PartitionSpec.TAG_JOB, job, PartitionSpec.TAG_OWNER, "alice", PartitionSpec.TAG_ENGINE, "contract"));
    }

    @Test
    void itCreatesPartitionsAndOffersPricedFlavors() {
        assertThat(gate.createsPartitions()).isTrue();
        assertThat(gate.flavors()).isNotEmpty();
    }

    @Test
    void aCreatedPartitionIsReadyWithEveryNodeItsHostKeysAndAKey() throws Exception {
        String name = partitionName();
        PartitionSpec spec = spec(name, 3);
        Flavor flavor = gate.flavors().stream().filter(f -> f.name().equals(spec.flavor().orElseThrow()))
                .findFirst().orElseThrow();
        PartitionHandle p = gate.createPartition(spec);
        try {
            assertThat(p.name()).isEqualTo(name);
            assertThat(p.gate()).isEqualTo(gate.name());
            assertThat(p.state()).isEqualTo(PartitionState.READY);
            assertThat(p.nodes()).hasSize(3);
            assertThat(p.nodes().stream().map(PartitionNode::name).distinct()).hasSize(3);
            assertThat(p.nodes()).filteredOn(n -> n.role().equals("head")).hasSize(1);
            for (PartitionNode n : p.nodes()) {
                assertThat(n.host()).isNotBlank();
                assertThat(n.hostKeyFingerprints()).as("host keys of %s are pinned", n.name()).isNotEmpty();
                assertThat(n.cpus()).isEqualTo(flavor.cpus());
                assertThat(n.memoryBytes()).isEqualTo(flavor.memoryBytes());
                assertThat(n.gpus()).isEqualTo(flavor.gpus());
            }
            assertThat(p.sshUser()).isNotBlank();
            assertThat(p.sshKey()).isPresent();
            assertThat(Files.isRegularFile(p.sshKey().get())).as("the partition's private key is kept").isTrue();
            assertThat(Files.getPosixFilePermissions(p.sshKey().get())).as("readable by its owner only")
                    .isSubsetOf(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
            assertThat(p.tags()).containsAllEntriesOf(spec.tags());
            assertThat(p.toString()).doesNotContain("PRIVATE KEY");
        } finally {
            gate.deletePartition(name);
        }
    }

    @Test
    void creatingTheSamePartitionAgainReturnsItInsteadOfASecondOne() {
        String name = partitionName();
        PartitionSpec spec = spec(name, 2);
        PartitionHandle first = gate.createPartition(spec);
        try {
            PartitionHandle again = gate.createPartition(spec);
            assertThat(again.nodes()).isEqualTo(first.nodes());
            assertThat(gate.listPartitions().stream().filter(p -> p.name().equals(name))).hasSize(1);
        } finally {
            gate.deletePartition(name);
        }
    }

    @Test
    void aPartitionIsListedWithItsTagsAlsoAfterARestartAndGoneOnceDeleted() {
        String name = partitionName();
        PartitionSpec spec = spec(name, 1);
        gate.createPartition(spec);
        reopen();
        assertThat(gate.listPartitions()).filteredOn(p -> p.name().equals(name)).singleElement()
                .satisfies(p -> assertThat(p.tags()).containsAllEntriesOf(spec.tags()));
        assertThat(gate.partitions()).anySatisfy(p -> assertThat(p.name()).isEqualTo(name));
        gate.deletePartition(name);
        assertThat(gate.listPartitions()).noneMatch(p -> p.name().equals(name));
        gate.deletePartition(name); // again: not an error
    }

    @Test
    void deletingAPartitionThatNeverExistedIsNotAnError() {
        gate.deletePartition(partitionName());
    }

    @Test
    void anUnknownFlavorIsRefusedPermanentlyNamingItAndCreatesNothing() {
        String name = partitionName();
        PartitionSpec good = spec(name, 1);
        PartitionSpec bad = new PartitionSpec(name, Optional.of("no-such-flavor-x1"), 1, good.cloudImage(),
                good.containerImage(), good.ports(), good.tags());
        assertThatThrownBy(() -> gate.createPartition(bad))
                .isInstanceOfSatisfying(GateException.class, e -> {
                    assertThat(e.isTransient()).isFalse();
                    assertThat(e.getMessage()).contains("no-such-flavor-x1");
                });
        assertThat(gate.listPartitions()).noneMatch(p -> p.name().equals(name));
    }
}
