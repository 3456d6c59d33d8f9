package dev.skyport.samples.daemon;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.Limits;
import dev.skyport.samples.daemon.pki.UserHome;

import javax.security.auth.x500.X500Principal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The daemon's settings: {@code skyport.yaml} (every key optional, unknown keys refused), then environment overrides
 * ({@code SKYPORT_PORT}, {@code SKYPORT_BIND}, {@code SKYPORT_SPOOL}, {@code SKYPORT_DATA_DIR}, {@code SKYPORT_GATE},
 * {@code SKYPORT_SCHEDULER}, {@code SKYPORT_MAX_SCRIPT_BYTES}, {@code SKYPORT_ADMINS} with subjects separated by
 * {@code ;}).
 *
 * @param port           HTTPS port; 0 picks a free one (tests)
 * @param bind           address to listen on
 * @param spool          the upstream spool: certificates under {@code secure/} (see {@code skyport certs})
 * @param dataDir        the engine's data directory (job store, job directories)
 * @param gate           the gate the engine runs jobs with
 * @param scheduler      the scheduling policy
 * @param maxScriptBytes the largest job script {@code POST /user/job} accepts
 * @param admins         registered users who see and act on every user's jobs: user names, or certificate subjects
 *                       (RFC 2253, e.g. {@code CN=root}) matched exactly
 * @param clients        what one client may hold of the daemon: requests in flight, data rates, deadlines
 * @param jobIsolation   how jobs are kept from each other and from the daemon's files ({@code job-isolation}:
 *                       {@code auto}, {@code account}, {@code sandbox} or {@code none}); the daemon serves many
 *                       users, so it refuses to start when no isolation is possible unless this is {@code none}
 * @param jobs           what one user's jobs may hold of the engine, and how long ended jobs are kept
 */
public record DaemonConfig(int port, String bind, Path spool, Path dataDir, String gate, String scheduler,
                           int maxScriptBytes, List<String> admins, ClientLimits clients, JobIsolation jobIsolation,
                           JobLimits jobs) {
    public static final int DEFAULT_PORT = 8443;
    public static final int DEFAULT_MAX_SCRIPT_BYTES = 1 << 20;
    /** Scripts are held in memory while being checked; larger ones are data, which belongs in input files. */
    public static final int MAX_MAX_SCRIPT_BYTES = 64 << 20;

    public DaemonConfig {
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(spool, "spool");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(gate, "gate");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(clients, "clients");
        if (port < 0 || port > 65_535) {
            throw new ConfigException("port: expected 0..65535, got " + port);
        }
        if (maxScriptBytes < 1 || maxScriptBytes > MAX_MAX_SCRIPT_BYTES) {
            throw new ConfigException("max-script-bytes: expected 1.." + MAX_MAX_SCRIPT_BYTES + ", got "
                    + maxScriptBytes);
        }
        admins = admins("admins", admins);
        Objects.requireNonNull(clients, "clients");
        Objects.requireNonNull(jobIsolation, "jobIsolation");
        Objects.requireNonNull(jobs, "jobs");
    }

    /** The defaults: port 8443 on all addresses, spool {@code ~/.swm/spool}, data {@code ~/.skyport}, local gate. */
    public static DaemonConfig defaults() {
        Path home = UserHome.current();
        return new DaemonConfig(DEFAULT_PORT, "0.0.0.0", home.resolve(".swm/spool"), home.resolve(".skyport"),
                "local", "backfill", DEFAULT_MAX_SCRIPT_BYTES, List.of(), ClientLimits.defaults(),
                JobIsolation.AUTO, JobLimits.defaults());
    }

    public DaemonConfig withPort(int newPort) {
        return new DaemonConfig(newPort, bind, spool, dataDir, gate, scheduler, maxScriptBytes, admins, clients,
                jobIsolation, jobs);
    }

    public DaemonConfig withBind(String newBind) {
        return new DaemonConfig(port, newBind, spool, dataDir, gate, scheduler, maxScriptBytes, admins, clients,
                jobIsolation, jobs);
    }

    public DaemonConfig withSpool(Path newSpool) {
        return new DaemonConfig(port, bind, newSpool, dataDir, gate, scheduler, maxScriptBytes, admins, clients,
                jobIsolation, jobs);
    }

    public DaemonConfig withDataDir(Path newDataDir) {
        return new DaemonConfig(port, bind, spool, newDataDir, gate, scheduler, maxScriptBytes, admins, clients,
                jobIsolation, jobs);
    }

    public DaemonConfig withMaxScriptBytes(int bytes) {
        return new DaemonConfig(port, bind, spool, dataDir, gate, scheduler, bytes, admins, clients,
                jobIsolation, jobs);
    }

    public DaemonConfig withClients(ClientLimits newClients) {
        return new DaemonConfig(port, bind, spool, dataDir, gate, scheduler, maxScriptBytes, admins, newClients,
                jobIsolation, jobs);
    }

    public DaemonConfig withJobIsolation(JobIsolation mode) {
        return new DaemonConfig(port, bind, spool, dataDir, gate, scheduler, maxScriptBytes, admins, clients, mode,
                jobs);
    }

    public DaemonConfig withJobs(JobLimits newJobs) {
        return new DaemonConfig(port, bind, spool, dataDir, gate, scheduler, maxScriptBytes, admins, clients,
                jobIsolation, newJobs);
    }

    /** The engine's limits these settings give: the script size, and each user's jobs, bytes and retention. */
    public Limits limits() {
        return Limits.defaults().withMaxScriptBytes(maxScriptBytes).withMaxActiveJobsPerUser(jobs.maxJobsPerUser())
                .withMaxStoredBytesPerUser(jobs.maxStoredBytesPerUser()).withJobRetention(jobs.retention());
    }

    public DaemonConfig withAdmins(List<String> newAdmins) {
        return new DaemonConfig(port, bind, spool, dataDir, gate, scheduler, maxScriptBytes, newAdmins, clients,
                jobIsolation, jobs);
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
                s.gate != null ? s.gate : base.gate,
                s.scheduler != null ? s.scheduler : base.scheduler,
                s.maxScriptBytes != null ? s.maxScriptBytes : base.maxScriptBytes,
                s.admins != null ? s.admins : base.admins,
                new ClientLimits(
                        s.maxRequestsPerUser != null ? s.maxRequestsPerUser : base.clients.maxRequestsPerUser(),
                        s.maxConnectionsPerUser != null ? s.maxConnectionsPerUser
                                : base.clients.maxConnectionsPerUser(),
                        s.minDataRate != null ? s.minDataRate : base.clients.minDataRate(),
                        s.requestTimeout != null ? Duration.ofSeconds(s.requestTimeout)
                                : base.clients.requestTimeout(),
                        s.idleTimeout != null ? Duration.ofSeconds(s.idleTimeout) : base.clients.idleTimeout()),
                s.jobIsolation != null ? parseJobIsolation("job-isolation", s.jobIsolation) : base.jobIsolation,
                new JobLimits(
                        s.maxJobsPerUser != null ? s.maxJobsPerUser : base.jobs.maxJobsPerUser(),
                        s.maxStoredBytesPerUser != null ? s.maxStoredBytesPerUser : base.jobs.maxStoredBytesPerUser(),
                        s.jobRetentionHours != null ? Duration.ofHours(s.jobRetentionHours) : base.jobs.retention()));
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
            c = new DaemonConfig(c.port, c.bind, c.spool, c.dataDir, v, c.scheduler, c.maxScriptBytes, c.admins,
                    c.clients, c.jobIsolation, c.jobs);
        }
        if ((v = env.get("SKYPORT_SCHEDULER")) != null) {
            c = new DaemonConfig(c.port, c.bind, c.spool, c.dataDir, c.gate, v, c.maxScriptBytes, c.admins,
                    c.clients, c.jobIsolation, c.jobs);
        }
        if ((v = env.get("SKYPORT_MAX_SCRIPT_BYTES")) != null) {
            c = c.withMaxScriptBytes(integer("SKYPORT_MAX_SCRIPT_BYTES", v));
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
        static final List<String> KEYS = List.of("port", "bind", "spool", "data-dir", "gate", "scheduler",
                "max-script-bytes", "admins", "max-requests-per-user", "max-connections-per-user",
                "min-data-rate", "request-timeout", "idle-timeout", "job-isolation", "max-jobs-per-user",
                "max-stored-bytes-per-user", "job-retention-hours");
        final Integer port;
        final String bind;
        final String spool;
        final String dataDir;
        final String gate;
        final String scheduler;
        final Integer maxScriptBytes;
        final List<String> admins;
        final Integer maxRequestsPerUser;
        final Integer maxConnectionsPerUser;
        final Integer minDataRate;
        final Integer requestTimeout;
        final Integer idleTimeout;
        final String jobIsolation;
        final Integer maxJobsPerUser;
        final Long maxStoredBytesPerUser;
        final Integer jobRetentionHours;

        @JsonCreator
        FileSettings(@JsonProperty("port") Integer port, @JsonProperty("bind") String bind,
                     @JsonProperty("spool") String spool, @JsonProperty("data-dir") String dataDir,
                     @JsonProperty("gate") String gate, @JsonProperty("scheduler") String scheduler,
                     @JsonProperty("max-script-bytes") Integer maxScriptBytes,
                     @JsonProperty("admins") List<String> admins,
                     @JsonProperty("max-requests-per-user") Integer maxRequestsPerUser,
                     @JsonProperty("max-connections-per-user") Integer maxConnectionsPerUser,
                     @JsonProperty("min-data-rate") Integer minDataRate,
                     @JsonProperty("request-timeout") Integer requestTimeout,
                     @JsonProperty("idle-timeout") Integer idleTimeout,
                     @JsonProperty("job-isolation") String jobIsolation,
                     @JsonProperty("max-jobs-per-user") Integer maxJobsPerUser,
                     @JsonProperty("max-stored-bytes-per-user") Long maxStoredBytesPerUser,
                     @JsonProperty("job-retention-hours") Integer jobRetentionHours) {
            this.port = port;
            this.bind = bind;
            this.spool = spool;
            this.dataDir = dataDir;
            this.gate = gate;
            this.scheduler = scheduler;
            this.maxScriptBytes = maxScriptBytes;
            this.admins = admins;
            this.maxRequestsPerUser = maxRequestsPerUser;
            this.maxConnectionsPerUser = maxConnectionsPerUser;
            this.minDataRate = minDataRate;
            this.requestTimeout = requestTimeout;
            this.idleTimeout = idleTimeout;
            this.jobIsolation = jobIsolation;
            this.maxJobsPerUser = maxJobsPerUser;
            this.maxStoredBytesPerUser = maxStoredBytesPerUser;
            this.jobRetentionHours = jobRetentionHours;
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
     */
    public record ClientLimits(int maxRequestsPerUser, int maxConnectionsPerUser, int minDataRate,
                               Duration requestTimeout, Duration idleTimeout) {
        /** The span over which a data rate is measured: a peer is cut off after one such window below the rate. */
        public static final Duration RATE_WINDOW = Duration.ofSeconds(5);
        public static final int MAX_REQUESTS_PER_USER = 10_000;
        public static final int MAX_CONNECTIONS_PER_USER = 10_000;
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
        }

        /**
         * 32 requests in flight and 64 connections per user (the upstream console and spawner use one or two), 1 KiB/s,
         * 60 s for a request body (a 1 MiB script then needs ~17 KiB/s), 30 s idle (Jetty's own default).
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

    /**
     * What one user's jobs may hold of the engine ({@link Limits}): past either bound a submission gets 429.
     *
     * @param maxJobsPerUser        jobs of one user that have not ended ({@code max-jobs-per-user})
     * @param maxStoredBytesPerUser the size of one user's stored jobs, ended ones included until they are purged
     *                              ({@code max-stored-bytes-per-user})
     * @param retention             how long an ended job, its logs and its directory are kept
     *                              ({@code job-retention-hours})
     */
    public record JobLimits(int maxJobsPerUser, long maxStoredBytesPerUser, Duration retention) {
        private static final Duration MAX_RETENTION = Duration.ofDays(3650);

        public JobLimits {
            Objects.requireNonNull(retention, "retention");
            if (maxJobsPerUser < 1) {
                throw new ConfigException("max-jobs-per-user: expected a positive number, got " + maxJobsPerUser);
            }
            if (maxStoredBytesPerUser < 1) {
                throw new ConfigException("max-stored-bytes-per-user: expected a positive number of bytes, got "
                        + maxStoredBytesPerUser);
            }
            if (retention.compareTo(Duration.ofHours(1)) < 0 || retention.compareTo(MAX_RETENTION) > 0) {
                throw new ConfigException("job-retention-hours: expected 1.." + MAX_RETENTION.toHours() + ", got "
                        + retention.toHours());
            }
        }

        /** The engine's defaults: 10,000 unfinished jobs and 1 GiB per user, ended jobs kept 36 hours. */
        public static JobLimits defaults() {
            Limits d = Limits.defaults();
            return new JobLimits(d.maxActiveJobsPerUser(), d.maxStoredBytesPerUser(), d.jobRetention());
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
