package dev.skyport.samples.daemon;

import dev.skyport.api.BatchSite;
import dev.skyport.api.EmbeddedBuilder;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.Limits;
import dev.skyport.api.PartitionPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.gate.GateProvider;
import dev.skyport.samples.daemon.DaemonConfig.ConfigException;
import dev.skyport.scheduler.SchedulerProvider;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.ServiceLoader;
import java.util.function.Function;

/**
 * The embedded engine's part of {@code skyport.yaml}: the settings of {@link SkyPort#embedded()}, one key each. Every
 * value is checked when the settings are made, by the builder's own setters and {@link Limits} (the error names the
 * file's key), and the gate and scheduler by the providers on the class path, so a value the engine would refuse at
 * start is refused when the file is read. Immutable.
 *
 * @param gate              the gate by its provider's name ({@code gate})
 * @param gateOptions       gate-specific settings ({@code gate-options}); those with a key of their own are refused
 * @param scheduler         the scheduling policy by its provider's name ({@code scheduler})
 * @param limits            the engine's limits, the daemon's script size included ({@code max-script-bytes},
 *                          {@code max-active-jobs}, {@code kill-grace-period}, {@code max-jobs-per-user},
 *                          {@code max-stored-bytes-per-user}, {@code job-retention-hours})
 * @param localCpus         cpus the local gate offers; the machine's when empty ({@code local-cpus})
 * @param localMemoryBytes  memory the local gate offers; the machine's when empty ({@code local-memory})
 * @param jobIsolation      how jobs are kept from each other and from the daemon's files ({@code job-isolation})
 * @param jobAccounts       the OS account running each Sky Port user's jobs in account mode ({@code job-accounts})
 * @param defaultJobAccount the OS account for users {@code jobAccounts} does not name ({@code default-job-account})
 * @param cloudGate         the gate that creates partitions for jobs, by its provider's name ({@code cloud-gate})
 * @param cloudGateOptions  its settings ({@code cloud-gate-options}); only with a {@code cloudGate}
 * @param partitions        how the engine runs those partitions ({@code partitions})
 * @param batchSites        sites whose own scheduler runs the jobs handed to them, such as Slurm clusters
 *                          ({@code batch-sites: {<name>: {gate: slurm, options: {...}}}})
 */
public record EngineSettings(String gate, Map<String, String> gateOptions, String scheduler, Limits limits,
                             OptionalInt localCpus, OptionalLong localMemoryBytes, JobIsolation jobIsolation,
                             Map<String, String> jobAccounts, Optional<String> defaultJobAccount,
                             Optional<String> cloudGate, Map<String, String> cloudGateOptions,
                             PartitionPolicy partitions, List<BatchSite> batchSites) {
    /** Gate options the builder derives from settings of their own, and the file key (or owner) of each. */
    private static final Map<String, String> DERIVED_OPTIONS = Map.of("job-isolation", "job-isolation",
            "job-accounts", "job-accounts", "job-account", "default-job-account", "cpus", "local-cpus",
            "memoryBytes", "local-memory", "job-isolation-required", "the daemon itself",
            "job-isolation-hide", "the daemon itself");
    /** An ended job kept longer than ten years is a mistake (days written as hours?), not a plan. */
    private static final Duration MAX_RETENTION = Duration.ofDays(3650);

    public EngineSettings {
        Objects.requireNonNull(gate, "gate");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(localCpus, "localCpus");
        Objects.requireNonNull(localMemoryBytes, "localMemoryBytes");
        Objects.requireNonNull(jobIsolation, "jobIsolation");
        Objects.requireNonNull(defaultJobAccount, "defaultJobAccount");
        gateOptions = Collections.unmodifiableMap(new LinkedHashMap<>(gateOptions));
        jobAccounts = Collections.unmodifiableMap(new LinkedHashMap<>(jobAccounts));
        Objects.requireNonNull(cloudGate, "cloudGate");
        cloudGateOptions = Collections.unmodifiableMap(new LinkedHashMap<>(cloudGateOptions));
        Objects.requireNonNull(partitions, "partitions");
        batchSites = List.copyOf(batchSites);
        if (cloudGate.isEmpty() && !cloudGateOptions.isEmpty()) {
            throw new ConfigException("cloud-gate-options: set without a cloud-gate to take them");
        }
        for (String option : gateOptions.keySet()) {
            String owner = DERIVED_OPTIONS.get(option);
            if (owner != null) {
                throw new ConfigException("gate-options: '" + option + "' is set by " + owner
                        + (owner.contains(" ") ? "" : " (a key of its own)"));
            }
        }
        if (limits.maxScriptBytes() > DaemonConfig.MAX_MAX_SCRIPT_BYTES) {
            throw new ConfigException("max-script-bytes: expected 1.." + DaemonConfig.MAX_MAX_SCRIPT_BYTES
                    + ", got " + limits.maxScriptBytes());
        }
        if (limits.jobRetention().compareTo(MAX_RETENTION) > 0) {
            throw new ConfigException("job-retention-hours: expected 1.." + MAX_RETENTION.toHours() + ", got "
                    + limits.jobRetention().toHours());
        }
        configure(SkyPort.embedded(), gate, gateOptions, scheduler, limits, localCpus, localMemoryBytes, jobIsolation,
                jobAccounts, defaultJobAccount, cloudGate, cloudGateOptions, partitions, batchSites);
        provided("gate", gate, GateProvider.class, GateProvider::name);
        for (BatchSite site : batchSites) {
            provided("batch-sites." + site.name() + ".gate", site.gate(), GateProvider.class, GateProvider::name);
        }
        cloudGate.ifPresent(g -> provided("cloud-gate", g, GateProvider.class, GateProvider::name));
        provided("scheduler", scheduler, SchedulerProvider.class, SchedulerProvider::name);
    }

    /** Settings without batch sites. */
    public EngineSettings(String gate, Map<String, String> gateOptions, String scheduler, Limits limits,
                          OptionalInt localCpus, OptionalLong localMemoryBytes, JobIsolation jobIsolation,
                          Map<String, String> jobAccounts, Optional<String> defaultJobAccount,
                          Optional<String> cloudGate, Map<String, String> cloudGateOptions,
                          PartitionPolicy partitions) {
        this(gate, gateOptions, scheduler, limits, localCpus, localMemoryBytes, jobIsolation, jobAccounts,
                defaultJobAccount, cloudGate, cloudGateOptions, partitions, List.of());
    }

    /** These settings with {@code sites} as the batch sites. */
    public EngineSettings withBatchSites(List<BatchSite> sites) {
        return new EngineSettings(gate, gateOptions, scheduler, limits, localCpus, localMemoryBytes, jobIsolation,
                jobAccounts, defaultJobAccount, cloudGate, cloudGateOptions, partitions, sites);
    }

    /** The engine's defaults: the local gate with this machine's cpus and memory, backfill, automatic isolation. */
    public static EngineSettings defaults() {
        return new EngineSettings("local", Map.of(), "backfill", Limits.defaults(), OptionalInt.empty(),
                OptionalLong.empty(), JobIsolation.AUTO, Map.of(), Optional.empty(), Optional.empty(), Map.of(),
                PartitionPolicy.defaults());
    }

    public EngineSettings withGate(String newGate) {
        return new EngineSettings(newGate, gateOptions, scheduler, limits, localCpus, localMemoryBytes, jobIsolation,
                jobAccounts, defaultJobAccount, cloudGate, cloudGateOptions, partitions, batchSites);
    }

    public EngineSettings withScheduler(String newScheduler) {
        return new EngineSettings(gate, gateOptions, newScheduler, limits, localCpus, localMemoryBytes, jobIsolation,
                jobAccounts, defaultJobAccount, cloudGate, cloudGateOptions, partitions, batchSites);
    }

    public EngineSettings withLimits(Limits newLimits) {
        return new EngineSettings(gate, gateOptions, scheduler, newLimits, localCpus, localMemoryBytes, jobIsolation,
                jobAccounts, defaultJobAccount, cloudGate, cloudGateOptions, partitions, batchSites);
    }

    public EngineSettings withJobIsolation(JobIsolation mode) {
        return new EngineSettings(gate, gateOptions, scheduler, limits, localCpus, localMemoryBytes, mode,
                jobAccounts, defaultJobAccount, cloudGate, cloudGateOptions, partitions, batchSites);
    }

    /** As a record's, with the values of secret options redacted ({@link dev.skyport.api.Secrets}). */
    @Override
    public String toString() {
        return "EngineSettings[gate=" + gate + ", gateOptions=" + dev.skyport.api.Secrets.redacted(gateOptions)
                + ", scheduler=" + scheduler + ", limits=" + limits + ", localCpus=" + localCpus + ", localMemoryBytes="
                + localMemoryBytes + ", jobIsolation=" + jobIsolation + ", jobAccounts=" + jobAccounts
                + ", defaultJobAccount=" + defaultJobAccount + ", cloudGate=" + cloudGate + ", cloudGateOptions="
                + dev.skyport.api.Secrets.redacted(cloudGateOptions) + ", partitions=" + partitions + ", batchSites="
                + batchSites + "]";
    }

    /** These settings with {@code name} as the cloud gate, configured with {@code options}. */
    public EngineSettings withCloudGate(String name, Map<String, String> options) {
        return new EngineSettings(gate, gateOptions, scheduler, limits, localCpus, localMemoryBytes, jobIsolation,
                jobAccounts, defaultJobAccount, Optional.of(name), options, partitions, batchSites);
    }

    public EngineSettings withPartitions(PartitionPolicy policy) {
        return new EngineSettings(gate, gateOptions, scheduler, limits, localCpus, localMemoryBytes, jobIsolation,
                jobAccounts, defaultJobAccount, cloudGate, cloudGateOptions, policy, batchSites);
    }

    /** Gives {@code builder} these settings and returns it. */
    public EmbeddedBuilder configure(EmbeddedBuilder builder) {
        return configure(builder, gate, gateOptions, scheduler, limits, localCpus, localMemoryBytes, jobIsolation,
                jobAccounts, defaultJobAccount, cloudGate, cloudGateOptions, partitions, batchSites);
    }

    /** One path for checking and for configuring: what passes here when the file is read passes at start. */
    private static EmbeddedBuilder configure(EmbeddedBuilder b, String gate, Map<String, String> gateOptions,
                                             String scheduler, Limits limits, OptionalInt localCpus,
                                             OptionalLong localMemoryBytes, JobIsolation jobIsolation,
                                             Map<String, String> jobAccounts, Optional<String> defaultJobAccount,
                                             Optional<String> cloudGate, Map<String, String> cloudGateOptions,
                                             PartitionPolicy partitions, List<BatchSite> batchSites) {
        DaemonConfig.setting("gate", () -> b.gate(gate));
        gateOptions.forEach((k, v) -> DaemonConfig.setting("gate-options", () -> b.gateOption(k, v)));
        DaemonConfig.setting("scheduler", () -> b.scheduler(scheduler));
        b.limits(limits);
        localCpus.ifPresent(c -> DaemonConfig.setting("local-cpus", () -> b.localCpus(c)));
        localMemoryBytes.ifPresent(m -> DaemonConfig.setting("local-memory", () -> b.localMemoryBytes(m)));
        b.jobIsolation(jobIsolation);
        jobAccounts.forEach((user, account) -> DaemonConfig.setting("job-accounts", () -> b.jobAccount(user, account)));
        defaultJobAccount.ifPresent(a -> DaemonConfig.setting("default-job-account", () -> b.defaultJobAccount(a)));
        cloudGate.ifPresent(g -> DaemonConfig.setting("cloud-gate", () -> b.cloudGate(g)));
        cloudGateOptions.forEach((k, v) -> DaemonConfig.setting("cloud-gate-options", () -> b.cloudGateOption(k, v)));
        b.partitionPolicy(partitions);
        for (BatchSite site : batchSites) {
            DaemonConfig.setting("batch-sites." + site.name(), () -> b.batchSite(site.name(), site.gate(),
                    site.options()));
        }
        return b;
    }

    /** The engine finds gates and schedulers by name among these providers; a name none has would fail its start. */
    private static <P> void provided(String key, String name, Class<P> type, Function<P, String> nameOf) {
        List<String> names = new ArrayList<>();
        for (P provider : ServiceLoader.load(type)) {
            if (nameOf.apply(provider).equals(name)) {
                return;
            }
            names.add(nameOf.apply(provider));
        }
        throw new ConfigException(key + ": no " + key + " named '" + name + "'; available: "
                + String.join(", ", names));
    }
}
