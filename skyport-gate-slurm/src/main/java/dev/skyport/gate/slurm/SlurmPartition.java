package dev.skyport.gate.slurm;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A Slurm partition as Slurm reports it: {@code up} when its state is {@code UP}; {@code maxNodes} its
 * {@code MaxNodes} (empty: unlimited); {@code maxTime} its {@code MaxTime} (empty: {@code UNLIMITED});
 * {@code allowedAccounts} its {@code AllowAccounts} (empty: {@code ALL}); {@code nodes} its node names, expanded.
 */
record SlurmPartition(String name, boolean isDefault, boolean up, OptionalInt maxNodes, Optional<Duration> maxTime,
                      List<String> allowedAccounts, List<String> nodes) {
    SlurmPartition {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(maxNodes, "maxNodes");
        Objects.requireNonNull(maxTime, "maxTime");
        allowedAccounts = List.copyOf(allowedAccounts);
        nodes = List.copyOf(nodes);
    }
}
