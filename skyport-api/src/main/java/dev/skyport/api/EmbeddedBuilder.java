package dev.skyport.api;

import dev.skyport.api.spi.EmbeddedEngineProvider;

import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.ServiceLoader;

/**
 * Configures and starts an in-process Sky Port. Not thread-safe; every setter checks its argument at once.
 * Defaults: data under {@code ~/.skyport}, the {@code local} gate with this machine's cpus and memory, the
 * {@code backfill} scheduler, the system clock, {@link Limits#defaults()}, owner = the OS user name, job isolation
 * {@link JobIsolation#AUTO}.
 */
public final class EmbeddedBuilder {
    private Path dataDir = Path.of(System.getProperty("user.home"), ".skyport");
    private String gate = "local";
    private final Map<String, String> gateOptions = new LinkedHashMap<>();
    private Optional<String> cloudGate = Optional.empty();
    private final Map<String, String> cloudGateOptions = new LinkedHashMap<>();
    private PartitionPolicy partitionPolicy = PartitionPolicy.defaults();
    private final Map<String, BatchSite> batchSites = new LinkedHashMap<>();
    private String scheduler = "backfill";
    private Clock clock = Clock.systemUTC();
    private Limits limits = Limits.defaults();
    private String owner = System.getProperty("user.name", "user");
    private OptionalInt localCpus = OptionalInt.empty();
    private OptionalLong localMemoryBytes = OptionalLong.empty();
    private OptionalLong randomSeed = OptionalLong.empty();
    private Optional<Path> inputRoot = Optional.empty();
    private EngineMetrics metrics = EngineMetrics.NONE;

    EmbeddedBuilder() {
    }

    /**
     * Directory of the store, the job directories and logs. Created when missing.
     *
     * @param dir the directory
     * @return this builder
     */
    public EmbeddedBuilder dataDir(Path dir) {
        this.dataDir = Objects.requireNonNull(dir, "dataDir");
        return this;
    }

    /**
     * The gate by name, as its {@code GateProvider} reports it ({@code local}, {@code ssh}, {@code azure}).
     *
     * @param name the gate's name
     * @return this builder
     */
    public EmbeddedBuilder gate(String name) {
        this.gate = requireName("gate", name);
        return this;
    }

    /**
     * A gate-specific setting, e.g. {@code hosts} for the ssh gate.
     *
     * @param key the option's name
     * @param value its value
     * @return this builder
     */
    public EmbeddedBuilder gateOption(String key, String value) {
        gateOptions.put(requireName("gateOption", key), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * The scheduling policy by name: {@code backfill} (the default, conservative backfill), {@code fcfs} (upstream
     * first-come first-served) or {@code fair-share}, or another policy a scheduler provider adds.
     *
     * @param name the policy's name
     * @return this builder
     */
    public EmbeddedBuilder scheduler(String name) {
        this.scheduler = requireName("scheduler", name);
        return this;
    }

    /**
     * The time source: tests pass a controllable clock.
     *
     * @param clock the clock
     * @return this builder
     */
    public EmbeddedBuilder clock(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        return this;
    }

    /**
     * Seeds every random choice the engine makes (the jitter of retry back-offs), as {@link #clock} fixes its time:
     * two engines with the same seed, clock and inputs choose the same delays. By default each engine draws a fresh
     * seed.
     *
     * @param seed the seed
     * @return this builder
     */
    public EmbeddedBuilder randomSeed(long seed) {
        this.randomSeed = OptionalLong.of(seed);
        return this;
    }

    /**
     * Engine limits (script size, unfinished jobs, per-user bounds, retention); {@link Limits#defaults()} by default.
     *
     * @param limits the limits
     * @return this builder
     */
    public EmbeddedBuilder limits(Limits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
        return this;
    }

    /**
     * The user name recorded on jobs submitted through this instance. The same rule holds for every user name,
     * including those of {@link SkyPort#asUser} views: not blank, no control characters.
     *
     * @param owner the user name
     * @throws IllegalArgumentException when {@code owner} breaks that rule
     * @return this builder
     */
    public EmbeddedBuilder owner(String owner) {
        this.owner = requireName("owner", owner);
        return this;
    }

    /**
     * Cpus the local gate offers; by default the number of processors of this machine.
     *
     * @param cpus at least 1
     * @return this builder
     */
    public EmbeddedBuilder localCpus(int cpus) {
        if (cpus < 1) {
            throw new IllegalArgumentException("localCpus must be positive, got " + cpus);
        }
        this.localCpus = OptionalInt.of(cpus);
        return this;
    }

    /**
     * Memory the local gate offers; by default the physical memory of this machine.
     *
     * @param bytes at least 1
     * @return this builder
     */
    public EmbeddedBuilder localMemoryBytes(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("localMemoryBytes must be positive, got " + bytes);
        }
        this.localMemoryBytes = OptionalLong.of(bytes);
        return this;
    }

    /**
     * How jobs are kept from what is not theirs (see {@link JobIsolation}); default {@link JobIsolation#AUTO}, which
     * falls back to no isolation with one warning at start when this machine allows none, unless
     * {@link #requireJobIsolation()} was called. Passed to the gate as its option {@code job-isolation}.
     *
     * @param mode the isolation mode
     * @return this builder
     */
    public EmbeddedBuilder jobIsolation(JobIsolation mode) {
        gateOptions.put("job-isolation", Objects.requireNonNull(mode, "jobIsolation").configName());
        return this;
    }

    /**
     * Refuses to start when no job isolation is possible, instead of falling back to none; what a multi-user front
     * end (the daemon) sets. {@link JobIsolation#NONE} chosen explicitly still starts. Gate option
     * {@code job-isolation-required}.
     *
     * @return this builder
     */
    public EmbeddedBuilder requireJobIsolation() {
        gateOptions.put("job-isolation-required", "true");
        return this;
    }

    /**
     * The OS account that runs the jobs of Sky Port user {@code user} in {@link JobIsolation#ACCOUNT} mode; users
     * without an entry use {@link #defaultJobAccount} ({@code nobody} unless set). Gate option {@code job-accounts}.
     *
     * @param user the Sky Port user's name
     * @param osAccount the OS account's name
     * @throws IllegalArgumentException when either name is not a plain account name
     *   ({@code [A-Za-z0-9_][A-Za-z0-9._-]*},
     *                                  at most 64 characters)
     * @return this builder
     */
    public EmbeddedBuilder jobAccount(String user, String osAccount) {
        String entry = requireAccountName("jobAccount user", user) + "=" + requireAccountName("jobAccount", osAccount);
        gateOptions.merge("job-accounts", entry, (a, b) -> a + "," + b);
        return this;
    }

    /**
     * The OS account that runs jobs of users {@link #jobAccount} does not map; {@code nobody} by default.
     *
     * @param osAccount the OS account's name
     * @return this builder
     */
    public EmbeddedBuilder defaultJobAccount(String osAccount) {
        gateOptions.put("job-account", requireAccountName("defaultJobAccount", osAccount));
        return this;
    }

    /**
     * Where every job's {@code input-files} must lie on this machine, after symbolic links are resolved; a relative
     * input is taken relative to it. {@code {owner}} in the path stands for the name of the job's owner, so that
     * {@code /srv/inputs/{owner}} gives each user a directory of their own: what a multi-user front end (the daemon)
     * sets so that a user cannot stage another user's files or the engine's own. By default (a trusted application)
     * any file the engine can read may be staged, and relative inputs are relative to the working directory.
     *
     * @param root the directory; {@code {owner}} in it stands for the job owner's name
     * @throws IllegalArgumentException when {@code root} is not absolute or names {@code {owner}} other than as a
     *                                  whole path segment
     * @return this builder
     */
    public EmbeddedBuilder inputRoot(Path root) {
        Objects.requireNonNull(root, "inputRoot");
        if (!root.isAbsolute()) {
            throw new IllegalArgumentException("inputRoot must be an absolute path, got '"
                    + Text.abbreviate(root.toString()) + "'");
        }
        for (Path segment : root) {
            String s = segment.toString();
            if (s.contains("{owner}") && !s.equals("{owner}")) {
                throw new IllegalArgumentException("inputRoot: {owner} must be a whole path segment, got '"
                        + Text.abbreviate(root.toString()) + "'");
            }
        }
        this.inputRoot = Optional.of(root.normalize());
        return this;
    }

    /**
     * A gate that creates partitions ({@code azure}), beside {@link #gate(String)}: jobs that ask for one of its
     * flavors, images or remote sites, and jobs no node of the main gate can hold, get a partition of their own there,
     * created for them and deleted after them. With none (the default) such jobs wait as infeasible.
     *
     * @param name the gate's name
     * @return this builder
     */
    public EmbeddedBuilder cloudGate(String name) {
        this.cloudGate = Optional.of(requireName("cloudGate", name));
        return this;
    }

    /**
     * A setting of the {@link #cloudGate(String)}, e.g. {@code subscription-id} for the azure gate.
     *
     * @param key the option's name
     * @param value its value
     * @return this builder
     */
    public EmbeddedBuilder cloudGateOption(String key, String value) {
        cloudGateOptions.put(requireName("cloudGateOption", key), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * Adds a site whose own scheduler runs the jobs Sky Port hands it, e.g. {@code batchSite("hpc", "slurm", Map.of(
     * "rest-url", "https://slurm:6820", ...))}. Sky Port's scheduler then picks the site (this machine's nodes, a cloud
     * partition or a batch site) by fit and cost; the site's scheduler picks its nodes.
     *
     * @param name the site's name, what jobs' {@code remoteSite} names
     * @param gate the gate that reaches it
     * @param options the gate's settings for this site
     * @throws IllegalArgumentException when the name is blank or holds '/', or a site of that name was added
     * @return this builder
     */
    public EmbeddedBuilder batchSite(String name, String gate, Map<String, String> options) {
        BatchSite site = new BatchSite(requireName("batchSite", name), requireName("batchSite gate", gate), options);
        if (batchSites.putIfAbsent(name, site) != null) {
            throw new IllegalArgumentException("a batch site named '" + name + "' was already added");
        }
        return this;
    }

    /**
     * How partitions are created, retried, reconciled and deleted; {@link PartitionPolicy#defaults()} by default.
     *
     * @param policy the policy
     * @return this builder
     */
    public EmbeddedBuilder partitionPolicy(PartitionPolicy policy) {
        this.partitionPolicy = Objects.requireNonNull(policy, "partitionPolicy");
        return this;
    }

    /**
     * Where the engine reports its meters (queue depth, transitions, submit and scheduling times, gate calls); none by
     * default. For Micrometer: {@code metrics(MicrometerMetrics.of(registry))} from {@code skyport-core}, with
     * {@code io.micrometer:micrometer-core} added to the application (the engine does not bring it).
     *
     * @param metrics the sink of the engine's meters
     * @return this builder
     */
    public EmbeddedBuilder metrics(EngineMetrics metrics) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        return this;
    }

    /** {@return the collected settings} */
    public EmbeddedConfig config() {
        return new EmbeddedConfig(dataDir, gate, gateOptions, scheduler, clock, limits, owner, localCpus,
                localMemoryBytes, randomSeed, inputRoot, cloudGate, cloudGateOptions, partitionPolicy,
                java.util.List.copyOf(batchSites.values()), metrics);
    }

    /**
     * Starts the engine: opens (or creates) the store, re-attaches to jobs that were running, and starts scheduling.
     *
     * @throws SkyPortException when no engine is on the class path ({@code skyport-core} is missing) or it cannot start
     * @return the running engine; close it to stop the engine (running jobs go on and are re-attached by the next
     *   start)
     */
    public SkyPort start() {
        EmbeddedConfig config = config();
        return ServiceLoader.load(EmbeddedEngineProvider.class).findFirst()
                .orElseThrow(() -> new SkyPortException(
                        "no embedded engine on the class path: add dev.skyport:skyport-core"))
                .start(config);
    }

    private static String requireAccountName(String field, String value) {
        Objects.requireNonNull(value, field);
        if (!value.matches("[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")) {
            throw new IllegalArgumentException(field + " must be a plain account name, got '"
                    + Text.abbreviate(value) + "'");
        }
        return value;
    }

    /**
     * A name users give (gate, scheduler, owner): blank names and control characters would make it unreadable in
     * listings and logs, or let it forge lines there.
     */
    private static String requireName(String field, String value) {
        Objects.requireNonNull(value, field);
        if (value.isBlank()) {
            throw new IllegalArgumentException(field + " must not be blank");
        }
        if (value.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException(field + " must not contain control characters, got '"
                    + Text.abbreviate(value) + "'");
        }
        return value;
    }
}
