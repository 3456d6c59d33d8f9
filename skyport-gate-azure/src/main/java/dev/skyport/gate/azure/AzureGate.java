package dev.skyport.gate.azure;

import com.azure.resourcemanager.AzureResourceManager;
import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.RemoteSite;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionSpec;

import java.util.List;

/**
 * PLACEHOLDER from branch i14-azcat, so that {@link AzureGateProvider} compiles and is tested before the real gate
 * arrives. INTEGRATOR: when merging branch i14-azpart, take ITS AzureGate.java and drop this file's content; only the
 * constructor's shape {@code AzureGate(String, AzureResourceManager, Catalogue, PartitionSettings)} is relied on.
 */
final class AzureGate implements Gate {
    private final String name;

    AzureGate(String name, AzureResourceManager azure, Catalogue catalogue, PartitionSettings settings) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Node> nodes() {
        return List.of();
    }

    @Override
    public List<Flavor> flavors() {
        return List.of();
    }

    @Override
    public List<Image> images() {
        return List.of();
    }

    @Override
    public List<RemoteSite> remotes() {
        return List.of();
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        throw GateException.permanent("placeholder azure gate: partitions arrive with branch i14-azpart");
    }

    @Override
    public void deletePartition(String name) {
        throw GateException.permanent("placeholder azure gate: partitions arrive with branch i14-azpart");
    }

    @Override
    public NodeAccess access(String nodeName) {
        throw GateException.permanent("placeholder azure gate has no nodes");
    }

    @Override
    public void close() {
    }
}
