package dev.skyport.samples.daemon;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.skyport.api.EmbeddedBuilder;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.Limits;
import dev.skyport.api.PartitionPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.samples.daemon.pki.UserHome;

import javax.security.auth.x500.X500Principal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The daemon's settings: {@code skyport.yaml} (every key optional, unknown keys refused), then environment overrides
 * ({@code SKYPORT_PORT}, {@code SKYPORT_BIND}, {@code SKYPORT_SPOOL}, {@code SKYPORT_DATA_DIR}, {@code SKYPORT_GATE},
 * {@code SKYPORT_SCHEDULER}, {@code SKYPORT_MAX_SCRIPT_BYTES}, {@code SKYPORT_ADMINS} with subjects separated by
 * {@code ;}, {@code SKYPORT_JOB_ISOLATION}). What the engine is given ({@link EngineSettings}) is exactly what
 * {@link SkyPort#embedded()} takes, checked by the builder itself when the file is read.
 *
 * @param port    HTTPS port; 0 picks a free one (tests)
 * @param bind    address to listen on
 * @param spool   the upstream spool: certificates under {@code secure/} (see {@code skyport certs})
 * @param dataDir the engine's data directory (job store, job directories)
 * @param admins  registered users who see and act on every user's jobs: user names, or certificate subjects
 *                (RFC 2253, e.g. {@code CN=root}) matched exactly
 * @param clients what one client may hold of the daemon: requests in flight, data rates, deadlines
 * @param engine  the embedded engine's settings: gate, scheduler, limits, local node, job isolation
 */
public record DaemonConfig(int port, String bind, Path spool, Path dataDir, List<String> admins,
                           ClientLimits clients, EngineSettings engine) {
    public static final int DEFAULT_PORT = 8443;
    public static final int DEFAULT_MAX_SCRIPT_BYTES = Limits.defaults().maxScriptBytes();
    /** Scripts are held in memory while being checked; larger ones are data, which belongs in input files. */
    public static final int MAX_MAX_SCRIPT_BYTES = 64 << 20;

    public DaemonConfig {
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(spool, "spool");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(clients, "clients");
        Objects.requireNonNull(engine, "engine");
        if (port < 0 || port > 65_535) {
            throw new ConfigException("port: expected 0..65535, got " + port);
        }
        admins = admins("admins", admins);
    }

    /** The defaults: port 8443 on all addresses, spool {@code ~/.swm/spool}, data {@code ~/.skyport}, local gate. */
    public static DaemonConfig defaults() {
        Path home = UserHome.current();
        return new DaemonConfig(DEFAULT_PORT, "0.0.0.0", home.resolve(".swm/spool"), home.resolve(".skyport"),
                List.of(), ClientLimits.defaults(), EngineSettings.defaults());
    }

    public DaemonConfig withPort(int newPort) {
        return new DaemonConfig(newPort, bind, spool, dataDir, admins, clients, engine);
    }

    public DaemonConfig withBind(String newBind) {
        return new DaemonConfig(port, newBind, spool, dataDir, admins, clients, engine);
    }

    public DaemonConfig withSpool(Path newSpool) {
        return new DaemonConfig(port, bind, newSpool, dataDir, admins, clients, engine);
    }

    public DaemonConfig withDataDir(Path newDataDir) {
        return new DaemonConfig(port, bind, spool, newDataDir, admins, clients, engine);
    }

    public DaemonConfig withAdmins(List<String> newAdmins) {
        return new DaemonConfig(port, bind, spool, dataDir, newAdmins, clients, engine);
    }

    public DaemonConfig withClients(ClientLimits newClients) {
        return new DaemonConfig(port, bind, spool, dataDir, admins, newClients, engine);
    }

    public DaemonConfig withEngine(EngineSettings newEngine) {
        return new DaemonConfig(port, bind, spool, dataDir, admins, clients, newEngine);
    }

    public DaemonConfig withLimits(Limits limits) {
        return withEngine(engine.withLimits(limits));
    }

    public DaemonConfig withMaxScriptBytes(int bytes) {
        return withLimits(setting("max-script-bytes", () -> engine.limits().withMaxScriptBytes(bytes)));
    }

    public DaemonConfig withJobIsolation(JobIsolation mode) {
        return withEngine(engine.withJobIsolation(mode));
    }

    /**
     * The engine's limits: the one place every limit is set, the script size included (the daemon refuses a larger
     * {@code POST /user/job} body with 413 before the engine sees it, by the same number).
     */
    public Limits limits() {
        return engine.limits();
    }

    /** A builder of the engine these settings describe, data directory included; the caller may add to it. */
    public EmbeddedBuilder embedded() {
        return engine.configure(SkyPort.embedded().dataDir(dataDir));
    }

    /**
     * Reads {@code file} (when present) over the defaults, then applies {@code env}.
     *
     * @throws ConfigException naming the file, key and problem (a named file that does not exist is one)
     */
    public static DaemonConfig load(Optional<Path> file, Map<String, String> env) {
        DaemonConfig config = defaults();
        if (file.isPresent()) {
            config = read(file.get(), config);
        }
        return withEnvironment(config, env);
    }

    private static DaemonConfig read(Path file, DaemonConfig base) {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory())
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        FileSettings s;
        try {
            s = yaml.readValue(Files.readAllBytes(file), FileSettings.class);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": no such file");
        } catch (UnrecognizedPropertyException e) {
            throw new ConfigException(file + ": unknown key '" + e.getPropertyName() + "' (known: "
                    + String.join(", ", FileSettings.KEYS) + ")");
        } catch (JsonProcessingException e) {
            throw new ConfigException(file + ": " + e.getOriginalMessage()
                    + Optional.ofNullable(e.getLocation()).map(l -> " at line " + l.getLineNr()).orElse(""));
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read (" + e.getMessage() + ")");
        }
        if (s == null) {
            return base; // an empty file
        }
        Path dir = Optional.ofNullable(file.toAbsolutePath().getParent()).orElse(Path.of("."));
        return new DaemonConfig(
                s.port != null ? s.port : base.port,
                s.bind != null ? s.bind : base.bind,
                s.spool != null ? resolve(dir, s.spool) : base.spool,
                s.dataDir != null ? resolve(dir, s.dataDir) : base.dataDir,
                s.admins != null ? s.admins : base.admins,
                new ClientLimits(
                        s.maxRequestsPerUser != null ? s.maxRequestsPerUser : base.clients.maxRequestsPerUser(),
                        s.maxConnectionsPerUser != null ? s.maxConnectionsPerUser
                                : base.clients.maxConnectionsPerUser(),
                        s.minDataRate != null ? s.minDataRate : base.clients.minDataRate(),
                        s.requestTimeout != null ? Duration.ofSeconds(s.requestTimeout)
                                : base.clients.requestTimeout(),
                        s.idleTimeout != null ? Duration.ofSeconds(s.idleTimeout) : base.clients.idleTimeout(),
                        s.maxStreamsPerUser != null ? s.maxStreamsPerUser : base.clients.maxStreamsPerUser(),
                        s.maxWaitsPerUser != null ? s.maxWaitsPerUser : base.clients.maxWaitsPerUser()),
                engine(s, base.engine));
    }

    /** The engine's part of the file; each value goes through what the engine's own builder or record checks. */
    private static EngineSettings engine(FileSettings s, EngineSettings base) {
        Limits limits = base.limits();
        limits = limit(limits, "max-script-bytes", s.maxScriptBytes, Limits::withMaxScriptBytes);
        limits = limit(limits, "max-active-jobs", s.maxActiveJobs, Limits::withMaxActiveJobs);
        limits = limit(limits, "max-jobs-per-user", s.maxJobsPerUser, Limits::withMaxActiveJobsPerUser);
        limits = limit(limits, "max-stored-bytes-per-user", s.maxStoredBytesPerUser,
                Limits::withMaxStoredBytesPerUser);
        limits = limit(limits, "job-retention-hours", s.jobRetentionHours,
                (l, hours) -> l.withJobRetention(Duration.ofHours(hours)));
        limits = limit(limits, "kill-grace-period", s.killGracePeriod,
                (l, seconds) -> l.withKillGracePeriod(Duration.ofSeconds(seconds)));
        return new EngineSettings(
                s.gate != null ? s.gate : base.gate(),
                s.gateOptions != null ? flatten(s.gateOptions) : base.gateOptions(),
                s.scheduler != null ? s.scheduler : base.scheduler(),
                limits,
                s.localCpus != null ? OptionalInt.of(s.localCpus) : base.localCpus(),
                s.localMemory != null ? OptionalLong.of(bytes("local-memory", s.localMemory))
                        : base.localMemoryBytes(),
                s.jobIsolation != null ? parseJobIsolation("job-isolation", s.jobIsolation) : base.jobIsolation(),
                s.jobAccounts != null ? s.jobAccounts : base.jobAccounts(),
                s.defaultJobAccount != null ? Optional.of(s.defaultJobAccount) : base.defaultJobAccount(),
                s.cloudGate != null ? Optional.of(s.cloudGate) : base.cloudGate(),
                s.cloudGateOptions != null ? flatten("cloud-gate-options", s.cloudGateOptions)
                        : base.cloudGateOptions(),
                s.partitions != null ? partitions(s.partitions, base.partitions()) : base.partitions(),
                s.batchSites != null ? batchSites(s.batchSites) : base.batchSites());
    }

    /**
     * {@code batch-sites}: each site by its name, with the {@code gate} that reaches it and that gate's
     * {@code options}; any other key is refused, naming the site.
     */
    private static List<dev.skyport.api.BatchSite> batchSites(Map<String, Object> raw) {
        List<dev.skyport.api.BatchSite> sites = new java.util.ArrayList<>();
        for (Map.Entry<String, Object> e : raw.entrySet()) {
            String key = "batch-sites." + e.getKey();
            if (!(e.getValue() instanceof Map<?, ?> site)) {
                throw new ConfigException(key + ": expected a map with 'gate' and 'options'");
            }
            Object gate = null;
            Map<String, Object> options = Map.of();
            for (Map.Entry<?, ?> field : site.entrySet()) {
                String name = String.valueOf(field.getKey());
                switch (name) {
                    case "gate" -> gate = field.getValue();
                    case "options" -> {
                        if (!(field.getValue() instanceof Map<?, ?> m)) {
                            throw new ConfigException(key + ".options: expected a map of the gate's settings");
                        }
                        Map<String, Object> typed = new LinkedHashMap<>();
                        m.forEach((k, v) -> typed.put(String.valueOf(k), v));
                        options = typed;
                    }
                    default -> throw new ConfigException(key + ": unknown key '" + name + "' (known: gate, options)");
                }
            }
            if (!(gate instanceof String g) || g.isBlank()) {
                throw new ConfigException(key + ".gate: expected the name of a gate, such as slurm");
            }
            Map<String, String> flat = flatten(key + ".options", options);
            sites.add(setting(key, () -> new dev.skyport.api.BatchSite(e.getKey(), g, flat)));
        }
        return sites;
    }

    /** The keys of {@code partitions}, each a {@link PartitionPolicy} field in kebab-case. */
    static final List<String> PARTITION_KEYS = List.of("create-timeout", "ready-timeout", "create-attempts",
            "retry-budget", "reconcile-interval", "orphan-grace", "idle-timeout", "max-in-flight");

    /**
     * {@code partitions}: durations in seconds as the file's other durations are, or with a unit ({@code 90s},
     * {@code 20m}, {@code 2h}); counts as integers. Every value is checked here, so the error names the key.
     */
    private static PartitionPolicy partitions(Map<String, Object> raw, PartitionPolicy base) {
        PartitionPolicy p = base;
        for (Map.Entry<String, Object> e : raw.entrySet()) {
            String key = "partitions." + e.getKey();
            Object v = e.getValue();
            p = switch (String.valueOf(e.getKey())) {
                case "create-timeout" -> p.withCreateTimeout(duration(key, v, false));
                case "ready-timeout" -> p.withReadyTimeout(duration(key, v, false));
                case "create-attempts" -> p.withCreateAttempts(count(key, v));
                case "retry-budget" -> p.withRetryBudget(duration(key, v, false));
                case "reconcile-interval" -> p.withReconcileInterval(duration(key, v, false));
                case "orphan-grace" -> p.withOrphanGrace(duration(key, v, false));
                case "idle-timeout" -> p.withIdleTimeout(duration(key, v, true));
                case "max-in-flight" -> p.withMaxInFlight(count(key, v));
                default -> throw new ConfigException("partitions: unknown key '" + e.getKey() + "' (known: "
                        + String.join(", ", PARTITION_KEYS) + ")");
            };
        }
        return p;
    }

    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})\\s*([smhd]?)");
    /** A partition phase measured in years is a typo (hours written as seconds?), not a plan. */
    private static final Duration MAX_PARTITION_DURATION = Duration.ofDays(365);

    private static Duration duration(String key, Object value, boolean zeroAllowed) {
        String text = value instanceof Number || value instanceof String ? String.valueOf(value).strip() : "";
        Matcher m = DURATION.matcher(text);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            Duration d = switch (m.group(2)) {
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> Duration.ofSeconds(n);
            };
            if ((zeroAllowed || !d.isZero()) && d.compareTo(MAX_PARTITION_DURATION) <= 0) {
                return d;
            }
        }
        throw new ConfigException(key + ": expected " + (zeroAllowed ? "0 or more" : "1 or more")
                + " seconds (or with a unit: 90s, 20m, 2h; at most 365 days), got '" + value + "'");
    }

    private static int count(String key, Object value) {
        if (value instanceof Integer n && n >= 1 && n <= 100_000) {
            return n;
        }
        throw new ConfigException(key + ": expected an integer 1..100000, got '" + value + "'");
    }

    /**
     * {@code gate-options} as the flat map gates read: a nested map's keys joined with dots
     * ({@code node: {a: {host: h}}} is {@code node.a.host: h}), a list of scalars joined with commas, a scalar as
     * written.
     */
    static Map<String, String> flatten(Map<String, Object> options) {
        return flatten("gate-options", options);
    }

    /** {@link #flatten(Map)} for the map under {@code key}, which its errors name. */
    static Map<String, String> flatten(String key, Map<String, Object> options) {
        Map<String, String> flat = new LinkedHashMap<>();
        flatten(key, "", options, flat);
        return flat;
    }

    private static void flatten(String owner, String prefix, Map<?, ?> options, Map<String, String> flat) {
        for (Map.Entry<?, ?> e : options.entrySet()) {
            String key = prefix + e.getKey();
            Object v = e.getValue();
            if (v instanceof Map<?, ?> nested) {
                flatten(owner, key + ".", nested, flat);
                continue;
            }
            String value;
            if (v instanceof List<?> list && list.stream().noneMatch(x -> x == null || x instanceof Map
                    || x instanceof List)) {
                value = String.join(",", list.stream().map(String::valueOf).toList());
            } else if (v instanceof String || v instanceof Number || v instanceof Boolean) {
                value = String.valueOf(v);
            } else {
                throw new ConfigException(owner + ": '" + key + "' must be a value, a list of values or a map");
            }
            if (flat.put(key, value) != null) {
                throw new ConfigException(owner + ": '" + key + "' is given twice");
            }
        }
    }

    /** {@code limits} with the value of {@code key} when the file has one, as {@link Limits} accepts it. */
    private static <T> Limits limit(Limits limits, String key, T value, BiFunction<Limits, T, Limits> with) {
        return value == null ? limits : setting(key, () -> with.apply(limits, value));
    }

    private static DaemonConfig withEnvironment(DaemonConfig c, Map<String, String> env) {
        String v;
        if ((v = env.get("SKYPORT_PORT")) != null) {
            c = c.withPort(integer("SKYPORT_PORT", v));
        }
        if ((v = env.get("SKYPORT_BIND")) != null) {
            c = c.withBind(v);
        }
        if ((v = env.get("SKYPORT_SPOOL")) != null) {
            c = c.withSpool(Path.of(v));
        }
        if ((v = env.get("SKYPORT_DATA_DIR")) != null) {
            c = c.withDataDir(Path.of(v));
        }
        if ((v = env.get("SKYPORT_GATE")) != null) {
            String gate = v;
            EngineSettings e = c.engine;
            c = c.withEngine(overriding("SKYPORT_GATE", () -> e.withGate(gate)));
        }
        if ((v = env.get("SKYPORT_SCHEDULER")) != null) {
            String scheduler = v;
            EngineSettings e = c.engine;
            c = c.withEngine(overriding("SKYPORT_SCHEDULER", () -> e.withScheduler(scheduler)));
        }
        if ((v = env.get("SKYPORT_MAX_SCRIPT_BYTES")) != null) {
            int bytes = integer("SKYPORT_MAX_SCRIPT_BYTES", v);
            DaemonConfig d = c;
            c = overriding("SKYPORT_MAX_SCRIPT_BYTES", () -> d.withMaxScriptBytes(bytes));
        }
        if ((v = env.get("SKYPORT_JOB_ISOLATION")) != null) {
            c = c.withJobIsolation(parseJobIsolation("SKYPORT_JOB_ISOLATION", v));
        }
        if ((v = env.get("SKYPORT_ADMINS")) != null) {
            List<String> subjects = new ArrayList<>();
            for (String s : v.split(";")) {
                if (!s.isBlank()) {
                    subjects.add(s.strip());
                }
            }
            c = c.withAdmins(admins("SKYPORT_ADMINS", subjects));
        }
        return c;
    }

    /** A setting from the environment, refused in the words of the file's key it overrides. */
    private static <T> T overriding(String variable, Supplier<T> value) {
        try {
            return value.get();
        } catch (ConfigException e) {
            throw new ConfigException(variable + " (overrides " + e.getMessage() + ")");
        }
    }

    /** Runs a setter of the engine's builder or records; what it refuses is refused under {@code key}. */
    static <T> T setting(String key, Supplier<T> value) {
        try {
            return value.get();
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new ConfigException(key + ": " + e.getMessage());
        }
    }

    private static Path resolve(Path dir, String path) {
        if (path.equals("~") || path.startsWith("~/")) {
            return Path.of(UserHome.current() + path.substring(1));
        }
        return dir.resolve(path).normalize();
    }

    private static int integer(String key, String value) {
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new ConfigException(key + ": expected an integer, got '" + value + "'");
        }
    }

    /** Bytes as a number, or with a binary suffix as in {@code #SWM mem}: {@code 512M}, {@code 16G}, {@code 1T}. */
    private static long bytes(String key, String value) {
        Matcher m = SIZE.matcher(value.strip());
        if (m.matches()) {
            int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
                case "K" -> 10;
                case "M" -> 20;
                case "G" -> 30;
                case "T" -> 40;
                default -> 0;
            };
            try {
                long n = Long.parseLong(m.group(1));
                if (n <= (Long.MAX_VALUE >> shift)) {
                    return n << shift;
                }
            } catch (NumberFormatException e) {
                // too long: reported below
            }
        }
        throw new ConfigException(key + ": expected bytes such as 17179869184, 16G or 512M, got '" + value + "'");
    }

    private static final Pattern SIZE = Pattern.compile("(\\d{1,19})([KMGTkmgt]?)");

    private static JobIsolation parseJobIsolation(String key, String value) {
        try {
            return JobIsolation.parse(value);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + ": " + e.getMessage());
        }
    }

    /** Admins as written: user names, or subjects (with '=') that must parse as X.500 names. */
    private static List<String> admins(String key, List<String> admins) {
        for (String admin : admins) {
            Objects.requireNonNull(admin, key);
            if (admin.contains("=")) {
                try {
                    new X500Principal(admin);
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(key + ": '" + admin + "' is not a certificate subject such as 'CN=root'");
                }
            } else if (!admin.matches("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")) {
                throw new ConfigException(key + ": '" + admin + "' is neither a user name nor a certificate subject");
            }
        }
        return List.copyOf(admins);
    }

    /** The keys of {@code skyport.yaml}, as written in the file. */
    private static final class FileSettings {
        static final List<String> KEYS = List.of("port", "bind", "spool", "data-dir", "gate", "gate-options",
                "scheduler", "max-script-bytes", "max-active-jobs", "kill-grace-period", "local-cpus", "local-memory",
                "admins", "max-requests-per-user", "max-connections-per-user", "min-data-rate", "request-timeout",
                "idle-timeout", "job-isolation", "job-accounts", "default-job-account", "max-jobs-per-user",
                "max-stored-bytes-per-user", "job-retention-hours", "max-streams-per-user", "max-waits-per-user",
                "cloud-gate", "cloud-gate-options", "partitions", "batch-sites");
        final Integer port;
        final String bind;
        final String spool;
        final String dataDir;
        final String gate;
        final Map<String, Object> gateOptions;
        final String scheduler;
        final Integer maxScriptBytes;
        final Integer maxActiveJobs;
        final Integer killGracePeriod;
        final Integer localCpus;
        final String localMemory;
        final List<String> admins;
        final Integer maxRequestsPerUser;
        final Integer maxConnectionsPerUser;
        final Integer minDataRate;
        final Integer requestTimeout;
        final Integer idleTimeout;
        final String jobIsolation;
        final Map<String, String> jobAccounts;
        final String defaultJobAccount;
        final Integer maxJobsPerUser;
        final Long maxStoredBytesPerUser;
        final Integer jobRetentionHours;
        final Integer maxStreamsPerUser;
        final Integer maxWaitsPerUser;
        final String cloudGate;
        final Map<String, Object> cloudGateOptions;
        final Map<String, Object> partitions;
        final Map<String, Object> batchSites;

        @JsonCreator
        FileSettings(@JsonProperty("port") Integer port, @JsonProperty("bind") String bind,
                     @JsonProperty("spool") String spool, @JsonProperty("data-dir") String dataDir,
                     @JsonProperty("gate") String gate,
                     @JsonProperty("gate-options") Map<String, Object> gateOptions,
                     @JsonProperty("scheduler") String scheduler,
                     @JsonProperty("max-script-bytes") Integer maxScriptBytes,
                     @JsonProperty("max-active-jobs") Integer maxActiveJobs,
                     @JsonProperty("kill-grace-period") Integer killGracePeriod,
                     @JsonProperty("local-cpus") Integer localCpus,
                     @JsonProperty("local-memory") String localMemory,
                     @JsonProperty("admins") List<String> admins,
                     @JsonProperty("max-requests-per-user") Integer maxRequestsPerUser,
                     @JsonProperty("max-connections-per-user") Integer maxConnectionsPerUser,
                     @JsonProperty("min-data-rate") Integer minDataRate,
                     @JsonProperty("request-timeout") Integer requestTimeout,
                     @JsonProperty("idle-timeout") Integer idleTimeout,
                     @JsonProperty("job-isolation") String jobIsolation,
                     @JsonProperty("job-accounts") Map<String, String> jobAccounts,
                     @JsonProperty("default-job-account") String defaultJobAccount,
                     @JsonProperty("max-jobs-per-user") Integer maxJobsPerUser,
                     @JsonProperty("max-stored-bytes-per-user") Long maxStoredBytesPerUser,
                     @JsonProperty("job-retention-hours") Integer jobRetentionHours,
                     @JsonProperty("max-streams-per-user") Integer maxStreamsPerUser,
                     @JsonProperty("max-waits-per-user") Integer maxWaitsPerUser,
                     @JsonProperty("cloud-gate") String cloudGate,
                     @JsonProperty("cloud-gate-options") Map<String, Object> cloudGateOptions,
                     @JsonProperty("partitions") Map<String, Object> partitions,
                     @JsonProperty("batch-sites") Map<String, Object> batchSites) {
            this.port = port;
            this.bind = bind;
            this.spool = spool;
            this.dataDir = dataDir;
            this.gate = gate;
            this.gateOptions = gateOptions;
            this.scheduler = scheduler;
            this.maxScriptBytes = maxScriptBytes;
            this.maxActiveJobs = maxActiveJobs;
            this.killGracePeriod = killGracePeriod;
            this.localCpus = localCpus;
            this.localMemory = localMemory;
            this.admins = admins;
            this.maxRequestsPerUser = maxRequestsPerUser;
            this.maxConnectionsPerUser = maxConnectionsPerUser;
            this.minDataRate = minDataRate;
            this.requestTimeout = requestTimeout;
            this.idleTimeout = idleTimeout;
            this.jobIsolation = jobIsolation;
            this.jobAccounts = jobAccounts;
            this.defaultJobAccount = defaultJobAccount;
            this.maxJobsPerUser = maxJobsPerUser;
            this.maxStoredBytesPerUser = maxStoredBytesPerUser;
            this.jobRetentionHours = jobRetentionHours;
            this.maxStreamsPerUser = maxStreamsPerUser;
            this.maxWaitsPerUser = maxWaitsPerUser;
            this.cloudGate = cloudGate;
            this.cloudGateOptions = cloudGateOptions;
            this.partitions = partitions;
            this.batchSites = batchSites;
        }
    }

    /**
     * What one client may hold of the daemon, so that slow or hostile peers cannot stall it for the others.
     *
     * @param maxRequestsPerUser requests one registered user (by certificate) may have in flight at once; more are
     *                           answered 429 and their connection closed ({@code max-requests-per-user})
     * @param maxConnectionsPerUser connections one client certificate identity may have open at once; more are closed
     *                           right after the TLS handshake ({@code max-connections-per-user})
     * @param minDataRate        bytes per second a request body must arrive at and a reply must be read at, measured
     *                           over {@link #RATE_WINDOW}; 0 turns the check off ({@code min-data-rate})
     * @param requestTimeout     the deadline for a whole request body ({@code request-timeout}, seconds)
     * @param idleTimeout        how long a connection may stay without any traffic ({@code idle-timeout}, seconds)
     * @param maxStreamsPerUser  event streams ({@code GET /api/v1/events}) one user may have open at once, counted
     *                           apart from {@code maxRequestsPerUser} so that they never block ordinary calls; bounded
     *                           because each holds an ordered subscription, a thread ({@code max-streams-per-user})
     * @param maxWaitsPerUser    long polls ({@code ?wait=}) and log follows ({@code follow=true}) one user may have in
     *                           flight at once, also apart from the ordinary requests ({@code max-waits-per-user})
     */
    public record ClientLimits(int maxRequestsPerUser, int maxConnectionsPerUser, int minDataRate,
                               Duration requestTimeout, Duration idleTimeout, int maxStreamsPerUser,
                               int maxWaitsPerUser) {
        /** The span over which a data rate is measured: a peer is cut off after one such window below the rate. */
        public static final Duration RATE_WINDOW = Duration.ofSeconds(5);
        public static final int MAX_REQUESTS_PER_USER = 10_000;
        public static final int MAX_CONNECTIONS_PER_USER = 10_000;
        /** A client needs one stream (a view's subscription) or a few; each costs the daemon a thread. */
        public static final int DEFAULT_STREAMS_PER_USER = 16;
        /** Long polls and follows cost no thread; the bound only keeps one user from piling up unbounded state. */
        public static final int DEFAULT_WAITS_PER_USER = 256;
        private static final Duration MAX_TIMEOUT = Duration.ofHours(1);

        public ClientLimits {
            Objects.requireNonNull(requestTimeout, "requestTimeout");
            Objects.requireNonNull(idleTimeout, "idleTimeout");
            if (maxRequestsPerUser < 1 || maxRequestsPerUser > MAX_REQUESTS_PER_USER) {
                throw new ConfigException("max-requests-per-user: expected 1.." + MAX_REQUESTS_PER_USER + ", got "
                        + maxRequestsPerUser);
            }
            if (maxConnectionsPerUser < 1 || maxConnectionsPerUser > MAX_CONNECTIONS_PER_USER) {
                throw new ConfigException("max-connections-per-user: expected 1.." + MAX_CONNECTIONS_PER_USER
                        + ", got " + maxConnectionsPerUser);
            }
            if (minDataRate < 0) {
                throw new ConfigException("min-data-rate: expected bytes per second >= 0 (0 turns it off), got "
                        + minDataRate);
            }
            timeout("request-timeout", requestTimeout);
            timeout("idle-timeout", idleTimeout);
            if (maxStreamsPerUser < 1 || maxStreamsPerUser > MAX_REQUESTS_PER_USER) {
                throw new ConfigException("max-streams-per-user: expected 1.." + MAX_REQUESTS_PER_USER + ", got "
                        + maxStreamsPerUser);
            }
            if (maxWaitsPerUser < 1 || maxWaitsPerUser > MAX_REQUESTS_PER_USER) {
                throw new ConfigException("max-waits-per-user: expected 1.." + MAX_REQUESTS_PER_USER + ", got "
                        + maxWaitsPerUser);
            }
        }

        /** The limits with the default {@link #DEFAULT_STREAMS_PER_USER} and {@link #DEFAULT_WAITS_PER_USER}. */
        public ClientLimits(int maxRequestsPerUser, int maxConnectionsPerUser, int minDataRate,
                            Duration requestTimeout, Duration idleTimeout) {
            this(maxRequestsPerUser, maxConnectionsPerUser, minDataRate, requestTimeout, idleTimeout,
                    DEFAULT_STREAMS_PER_USER, DEFAULT_WAITS_PER_USER);
        }

        /**
         * 32 requests in flight and 64 connections per user (the upstream console and spawner use one or two), 1 KiB/s,
         * 60 s for a request body (a 1 MiB script then needs ~17 KiB/s), 30 s idle (Jetty's own default), 16 event
         * streams and 256 long polls or follows.
         */
        public static ClientLimits defaults() {
            return new ClientLimits(32, 64, 1024, Duration.ofSeconds(60), Duration.ofSeconds(30));
        }

        private static void timeout(String key, Duration d) {
            if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(MAX_TIMEOUT) > 0) {
                throw new ConfigException(key + ": expected 1.." + MAX_TIMEOUT.toSeconds() + " seconds, got "
                        + d.toSeconds());
            }
        }
    }

    /** A setting that cannot be used, with the key and the reason. */
    public static final class ConfigException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ConfigException(String message) {
            super(message);
        }
    }
}
