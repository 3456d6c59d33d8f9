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
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The Azure gate: its flavors are the catalogue's VM sizes in one region, and it creates a partition of VMs per cloud
 * job ({@link AzurePartitions}). It has no nodes of its own: the engine reaches a partition's nodes over SSH with the
 * key and the pinned host keys the partition's handle names. Thread-safe: partitions of different names are created
 * at once, each call on the caller's thread.
 */
final class AzureGate implements Gate {
    // address ranges that mean "anyone": an NSG rule open to them would expose SSH to the internet
    private static final Set<String> EVERYONE = Set.of("*", "0.0.0.0/0", "::/0", "internet", "any");

    private final String name;
    private final Catalogue catalogue;
    private final PartitionSettings settings;
    private final AzurePartitions partitions;
    private final RsaKeyPool keyPool;
    private volatile boolean closed;
    // partition keys made ahead: the next creations after an idle spell skip the key's 0.5-1.4 s; held in memory only
    static final int KEYS_AHEAD = 2;

    /**
     * @throws GateException (permanent) when the settings would open SSH to everyone or name no source
     */
    AzureGate(String name, AzureResourceManager azure, Catalogue catalogue, PartitionSettings settings) {
        this.name = Objects.requireNonNull(name, "name");
        this.catalogue = Objects.requireNonNull(catalogue, "catalogue");
        this.settings = Objects.requireNonNull(settings, "settings");
        if (settings.sshSources().isEmpty()) {
            throw GateException.permanent("gate " + name + ": ssh sources must name the address ranges (CIDR) "
                    + "allowed to reach the partitions");
        }
        for (String source : settings.sshSources()) {
            if (EVERYONE.contains(source.trim().toLowerCase(Locale.ROOT))) {
                throw GateException.permanent("gate " + name + ": ssh source '" + source + "' would open SSH to "
                        + "everyone; name the engine's address ranges");
            }
        }
        if (settings.sshPort() < 1 || settings.sshPort() > 65535) {
            throw GateException.permanent("gate " + name + ": ssh port must be 1..65535, got " + settings.sshPort());
        }
        this.keyPool = new RsaKeyPool(name, KEYS_AHEAD);
        this.partitions = new AzurePartitions(name, Objects.requireNonNull(azure, "azure"), catalogue, settings,
                keyPool);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean createsPartitions() {
        return true;
    }

    @Override
    public List<Node> nodes() {
        return List.of();
    }

    @Override
    public List<Flavor> flavors() {
        return catalogue.sizes().stream().map(s -> new Flavor(s.name(), settings.region(), s.cpus(), s.memoryBytes(),
                s.storageBytes(), s.gpus(), s.pricePerHour(), s.currency())).toList();
    }

    @Override
    public List<Image> images() {
        return catalogue.images().stream().map(i -> new Image(i.name(), settings.region(), "cloud")).toList();
    }

    @Override
    public List<RemoteSite> remotes() {
        return List.of(new RemoteSite(settings.region(), name, settings.region()));
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        open();
        return partitions.create(spec);
    }

    @Override
    public void deletePartition(String partition) {
        open();
        partitions.delete(partition);
    }

    @Override
    public List<PartitionHandle> listPartitions() {
        open();
        return partitions.list();
    }

    @Override
    public NodeAccess access(String nodeName) {
        throw GateException.permanent("gate " + name + " has no nodes of its own: the engine reaches partition node '"
                + nodeName + "' over SSH");
    }

    /**
     * Marks the gate closed. The SDK client is not the gate's to close: its provider built it and may share its HTTP
     * connection pool; nothing else is held between calls.
     */
    @Override
    public void close() {
        closed = true;
        keyPool.close();
    }

    private void open() {
        if (closed) {
            throw GateException.permanent("gate " + name + " is closed");
        }
    }
}
