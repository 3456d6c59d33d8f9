package dev.skyport.gate.slurm;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * A Slurm partition as Slurm reports it: {@code up} when its state is {@code UP}; {@code maxNodes} its
 * {@code MaxNodes} (empty: unlimited); {@code maxTime} its {@code MaxTime} (empty: {@code UNLIMITED});
 * {@code allowedAccounts} its {@code AllowAccounts} (empty: {@code ALL}); {@code nodes} its node names, expanded;
 * {@code maxCpusPerNode} its {@code MaxCPUsPerNode} and {@code maxMemoryPerNodeMiB} its {@code MaxMemPerNode} (empty:
 * unlimited), which bound what a job may ask of a node below the node's own size.
 */
record SlurmPartition(String name, boolean isDefault, boolean up, OptionalInt maxNodes, Optional<Duration> maxTime,
                      List<String> allowedAccounts, List<String> nodes, OptionalInt maxCpusPerNode,
                      OptionalLong maxMemoryPerNodeMiB) {
    SlurmPartition(String name, boolean isDefault, boolean up, OptionalInt maxNodes, Optional<Duration> maxTime,
                   List<String> allowedAccounts, List<String> nodes) {
        this(name, isDefault, up, maxNodes, maxTime, allowedAccounts, nodes, OptionalInt.empty(), OptionalLong.empty());
    }

    SlurmPartition {
        Objects.requireNonNull(maxCpusPerNode, "maxCpusPerNode");
        Objects.requireNonNull(maxMemoryPerNodeMiB, "maxMemoryPerNodeMiB");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(maxNodes, "maxNodes");
        Objects.requireNonNull(maxTime, "maxTime");
        allowedAccounts = List.copyOf(allowedAccounts);
        nodes = List.copyOf(nodes);
    }
}
