package dev.skyport.api;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The settings of an embedded engine, as collected by {@link EmbeddedBuilder}. Engine implementations receive it
 * through {@link dev.skyport.api.spi.EmbeddedEngineProvider}.
 *
 * @param dataDir          where the store, job directories and logs live
 * @param gate             the gate that provides nodes ({@code local} by default)
 * @param gateOptions      gate-specific settings, passed to the gate's provider
 * @param scheduler        the scheduling policy by name
 * @param clock            the time source of every timestamp, deadline and back-off
 * @param limits           engine limits
 * @param owner            the user name recorded on jobs submitted through this instance
 * @param localCpus        cpus the local gate offers (default: the machine's)
 * @param localMemoryBytes memory the local gate offers (default: the machine's)
 * @param randomSeed       the seed of every random choice the engine makes (retry jitter); empty: a fresh seed
 * @param inputRoot        where every job's input files must lie, {@code {owner}} standing for the job owner's name;
 *                         empty: any file the engine can read
 * @param cloudGate        a second gate, beside {@code gate}, that creates partitions for jobs that need them (a cloud)
 * @param cloudGateOptions its settings, passed to its provider
 * @param partitions       how partitions are created, retried, reconciled and deleted
 * @param batchSites       the sites whose own schedulers run the jobs Sky Port hands them
 * @param metrics          where the engine reports its meters; {@link EngineMetrics#NONE} for nowhere
 */
public record EmbeddedConfig(Path dataDir, String gate, Map<String, String> gateOptions, String scheduler, Clock clock,
                             Limits limits, String owner, OptionalInt localCpus, OptionalLong localMemoryBytes,
                             OptionalLong randomSeed, Optional<Path> inputRoot, Optional<String> cloudGate,
                             Map<String, String> cloudGateOptions, PartitionPolicy partitions,
                             java.util.List<BatchSite> batchSites, EngineMetrics metrics) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param dataDir where the store, job directories and logs live
     * @param gate the gate that provides nodes ({@code local} by default)
     * @param gateOptions gate-specific settings, passed to the gate's provider
     * @param scheduler the scheduling policy by name
     * @param clock the time source of every timestamp, deadline and back-off
     * @param limits engine limits
     * @param owner the user name recorded on jobs submitted through this instance
     * @param localCpus cpus the local gate offers (default: the machine's)
     * @param localMemoryBytes memory the local gate offers (default: the machine's)
     * @param randomSeed the seed of every random choice the engine makes (retry jitter); empty: a fresh seed
     * @param inputRoot where every job's input files must lie, {@code {owner}} standing for the job owner's name;
     *   empty: any file the engine can read
     * @param cloudGate a second gate, beside {@code gate}, that creates partitions for jobs that need them (a cloud)
     * @param cloudGateOptions its settings, passed to its provider
     * @param partitions how partitions are created, retried, reconciled and deleted
     * @param batchSites the sites whose own schedulers run the jobs Sky Port hands them
     * @param metrics where the engine reports its meters; {@link EngineMetrics#NONE} for nowhere
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public EmbeddedConfig {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(gate, "gate");
        gateOptions = Map.copyOf(gateOptions);
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(localCpus, "localCpus");
        Objects.requireNonNull(localMemoryBytes, "localMemoryBytes");
        Objects.requireNonNull(randomSeed, "randomSeed");
        Objects.requireNonNull(inputRoot, "inputRoot");
        Objects.requireNonNull(cloudGate, "cloudGate");
        cloudGateOptions = Map.copyOf(cloudGateOptions);
        Objects.requireNonNull(partitions, "partitions");
        batchSites = java.util.List.copyOf(batchSites);
        if (batchSites.stream().map(BatchSite::name).distinct().count() != batchSites.size()) {
            throw new IllegalArgumentException("batch site names must be distinct");
        }
        Objects.requireNonNull(metrics, "metrics");
    }

    /**
     * A configuration that reports no meters; kept so that code written before metrics existed still compiles.
     *
     * @param dataDir where the store, job directories and logs live
     * @param gate the gate that provides nodes ({@code local} by default)
     * @param gateOptions gate-specific settings, passed to the gate's provider
     * @param scheduler the scheduling policy by name
     * @param clock the time source of every timestamp, deadline and back-off
     * @param limits engine limits
     * @param owner the user name recorded on jobs submitted through this instance
     * @param localCpus cpus the local gate offers (default: the machine's)
     * @param localMemoryBytes memory the local gate offers (default: the machine's)
     * @param randomSeed the seed of every random choice the engine makes (retry jitter); empty: a fresh seed
     * @param inputRoot where every job's input files must lie, {@code {owner}} standing for the job owner's name;
     *   empty: any file the engine can read
     * @param cloudGate a second gate, beside {@code gate}, that creates partitions for jobs that need them (a cloud)
     * @param cloudGateOptions its settings, passed to its provider
     * @param partitions how partitions are created, retried, reconciled and deleted
     * @param batchSites the sites whose own schedulers run the jobs Sky Port hands them
     */
    public EmbeddedConfig(Path dataDir, String gate, Map<String, String> gateOptions, String scheduler, Clock clock,
                          Limits limits, String owner, OptionalInt localCpus, OptionalLong localMemoryBytes,
                          OptionalLong randomSeed, Optional<Path> inputRoot, Optional<String> cloudGate,
                          Map<String, String> cloudGateOptions, PartitionPolicy partitions,
                          java.util.List<BatchSite> batchSites) {
        this(dataDir, gate, gateOptions, scheduler, clock, limits, owner, localCpus, localMemoryBytes, randomSeed,
                inputRoot, cloudGate, cloudGateOptions, partitions, batchSites, EngineMetrics.NONE);
    }

    /**
     * A configuration without batch sites.
     *
     * @param clock the time source of every timestamp, deadline and back-off
     * @param cloudGate a second gate, beside {@code gate}, that creates partitions for jobs that need them (a cloud)
     * @param cloudGateOptions its settings, passed to its provider
     * @param dataDir where the store, job directories and logs live
     * @param gate the gate that provides nodes ({@code local} by default)
     * @param gateOptions gate-specific settings, passed to the gate's provider
     * @param inputRoot where every job's input files must lie, {@code {owner}} standing for the job owner's name;
     *   empty: any file the engine can read
     * @param limits engine limits
     * @param localCpus cpus the local gate offers (default: the machine's)
     * @param localMemoryBytes memory the local gate offers (default: the machine's)
     * @param owner the user name recorded on jobs submitted through this instance
     * @param partitions how partitions are created, retried, reconciled and deleted
     * @param randomSeed the seed of every random choice the engine makes (retry jitter); empty: a fresh seed
     * @param scheduler the scheduling policy by name
     */
    public EmbeddedConfig(Path dataDir, String gate, Map<String, String> gateOptions, String scheduler, Clock clock,
                          Limits limits, String owner, OptionalInt localCpus, OptionalLong localMemoryBytes,
                          OptionalLong randomSeed, Optional<Path> inputRoot, Optional<String> cloudGate,
                          Map<String, String> cloudGateOptions, PartitionPolicy partitions) {
        this(dataDir, gate, gateOptions, scheduler, clock, limits, owner, localCpus, localMemoryBytes, randomSeed,
                inputRoot, cloudGate, cloudGateOptions, partitions, java.util.List.of(), EngineMetrics.NONE);
    }

    /** As a record's, with the values of secret options redacted ({@link Secrets}). */
    @Override
    public String toString() {
        return "EmbeddedConfig[dataDir=" + dataDir + ", gate=" + gate + ", gateOptions=" + Secrets.redacted(gateOptions)
                + ", scheduler=" + scheduler + ", clock=" + clock + ", limits=" + limits + ", owner=" + owner
                + ", localCpus=" + localCpus + ", localMemoryBytes=" + localMemoryBytes + ", randomSeed=" + randomSeed
                + ", inputRoot=" + inputRoot + ", cloudGate=" + cloudGate + ", cloudGateOptions="
                + Secrets.redacted(cloudGateOptions) + ", partitions=" + partitions + ", batchSites=" + batchSites
                + ", metrics=" + metrics + "]";
    }
}
