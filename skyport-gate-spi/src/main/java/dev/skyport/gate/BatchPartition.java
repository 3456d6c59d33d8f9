package dev.skyport.gate;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A partition (queue) of a {@link BatchQueue}'s site with its limits: the most nodes a job may take
 * ({@code maxNodes}), the cpus, memory and gpus of its largest node, the longest time a job may ask for (empty:
 * none), whether it is the site's default and takes jobs now ({@code up}), the accounts allowed to use it (empty:
 * any) and its nodes' names.
 *
 * @param name the partition's name at the site
 * @param isDefault whether it is the site's default
 * @param up whether it takes jobs now
 * @param maxNodes the most nodes one job may take
 * @param maxCpusPerNode the cpus of its largest node
 * @param maxMemoryPerNode the memory of its largest node, in bytes
 * @param maxGpusPerNode the gpus of its largest node
 * @param maxTime the longest time a job may ask for; empty: no bound
 * @param allowedAccounts the accounts allowed to use it; empty: any
 * @param nodes its nodes' names
 */
public record BatchPartition(String name, boolean isDefault, boolean up, int maxNodes, int maxCpusPerNode,
                             long maxMemoryPerNode, int maxGpusPerNode, Optional<Duration> maxTime,
                             List<String> allowedAccounts, List<String> nodes) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param name the partition's name at the site
     * @param isDefault whether it is the site's default
     * @param up whether it takes jobs now
     * @param maxNodes the most nodes one job may take
     * @param maxCpusPerNode the cpus of its largest node
     * @param maxMemoryPerNode the memory of its largest node, in bytes
     * @param maxGpusPerNode the gpus of its largest node
     * @param maxTime the longest time a job may ask for; empty: no bound
     * @param allowedAccounts the accounts allowed to use it; empty: any
     * @param nodes its nodes' names
     */
    public BatchPartition {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(maxTime, "maxTime");
        allowedAccounts = List.copyOf(allowedAccounts);
        nodes = List.copyOf(nodes);
    }

    /** {@return the limits as a user reads them, e.g. {@code debug: up to 2 nodes of 2 cpus, 2000 MiB, 0 gpus, 1h}} */
    public String describe() {
        return name + ": up to " + maxNodes + " node" + (maxNodes == 1 ? "" : "s") + " of " + maxCpusPerNode
                + " cpus, " + (maxMemoryPerNode >> 20) + " MiB, " + maxGpusPerNode + " gpus, "
                + maxTime.map(t -> t.toMinutes() + " min").orElse("no time limit")
                + (allowedAccounts.isEmpty() ? "" : ", accounts " + String.join(",", allowedAccounts));
    }
}
