package dev.skyport.samples.daemon;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.skyport.api.JobIsolation;
import dev.skyport.samples.daemon.pki.UserHome;

import javax.security.auth.x500.X500Principal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The daemon's settings: {@code skyport.yaml} (every key optional, unknown keys refused), then environment overrides
 * ({@code SKYPORT_PORT}, {@code SKYPORT_BIND}, {@code SKYPORT_SPOOL}, {@code SKYPORT_DATA_DIR}, {@code SKYPORT_GATE},
 * {@code SKYPORT_SCHEDULER}, {@code SKYPORT_MAX_SCRIPT_BYTES}, {@code SKYPORT_ADMINS} with subjects separated by
 * {@code ;}, {@code SKYPORT_JOB_ISOLATION}).
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
 * @param jobIsolation   how jobs are kept from each other and from the daemon's files ({@code job-isolation}:
 *                       {@code auto}, {@code account}, {@code sandbox} or {@code none}); the daemon serves many
 *                       users, so it refuses to start when no isolation is possible unless this is {@code none}
 */
public record DaemonConfig(int port, String bind, Path spool, Path dataDir, String gate, String scheduler,
                           int maxScriptBytes, List<String> admins, JobIsolation jobIsolation) {
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
        if (port < 0 || port > 65_535) {
            throw new ConfigException("port: expected 0..65535, got " + port);
        }
        if (maxScriptBytes < 1 || maxScriptBytes > MAX_MAX_SCRIPT_BYTES) {
            throw new ConfigException("max-script-bytes: expected 1.." + MAX_MAX_SCRIPT_BYTES + ", got "
                    + maxScriptBytes);
        }
        admins = admins("admins", admins);
        Objects.requireNonNull(jobIsolation, "jobIsolation");
    }

    /** The defaults: port 8443 on all addresses, spool {@code ~/.swm/spool}, data {@code ~/.skyport}, local gate. */
    public static DaemonConfig defaults() {
        Path home = UserHome.current();
        return new DaemonConfig(DEFAULT_PORT, "0.0.0.0", home.resolve(".swm/spool"), home.resolve(".skyport"),
                "local", "backfill", DEFAULT_MAX_SCRIPT_BYTES, List.of(), JobIsolation.AUTO);
    }

    public DaemonConfig withPort(int newPort) {
        return new DaemonConfig(newPort, bind, spool, dataDir, gate, scheduler, maxScriptBytes, admins, jobIsolation);
    }

    public DaemonConfig withBind(String newBind) {
        return new DaemonConfig(port, newBind, spool, dataDir, gate, scheduler, maxScriptBytes, admins, jobIsolation);
    }

    public DaemonConfig withSpool(Path newSpool) {
        return new DaemonConfig(port, bind, newSpool, dataDir, gate, scheduler, maxScriptBytes, admins, jobIsolation);
    }

    public DaemonConfig withDataDir(Path newDataDir) {
        return new DaemonConfig(port, bind, spool, newDataDir, gate, scheduler, maxScriptBytes, admins, jobIsolation);
    }

    public DaemonConfig withMaxScriptBytes(int bytes) {
        return new DaemonConfig(port, bind, spool, dataDir, gate, scheduler, bytes, admins, jobIsolation);
    }

    public DaemonConfig withJobIsolation(JobIsolation mode) {
        return new DaemonConfig(port, bind, spool, dataDir, gate, scheduler, maxScriptBytes, admins, mode);
    }

    public DaemonConfig withAdmins(List<String> newAdmins) {
        return new DaemonConfig(port, bind, spool, dataDir, gate, scheduler, maxScriptBytes, newAdmins, jobIsolation);
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
                s.jobIsolation != null ? parseJobIsolation("job-isolation", s.jobIsolation) : base.jobIsolation);
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
                    c.jobIsolation);
        }
        if ((v = env.get("SKYPORT_SCHEDULER")) != null) {
            c = new DaemonConfig(c.port, c.bind, c.spool, c.dataDir, c.gate, v, c.maxScriptBytes, c.admins,
                    c.jobIsolation);
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
                "max-script-bytes", "admins", "job-isolation");
        final Integer port;
        final String bind;
        final String spool;
        final String dataDir;
        final String gate;
        final String scheduler;
        final Integer maxScriptBytes;
        final List<String> admins;
        final String jobIsolation;

        @JsonCreator
        FileSettings(@JsonProperty("port") Integer port, @JsonProperty("bind") String bind,
                     @JsonProperty("spool") String spool, @JsonProperty("data-dir") String dataDir,
                     @JsonProperty("gate") String gate, @JsonProperty("scheduler") String scheduler,
                     @JsonProperty("max-script-bytes") Integer maxScriptBytes,
                     @JsonProperty("admins") List<String> admins,
                     @JsonProperty("job-isolation") String jobIsolation) {
            this.port = port;
            this.bind = bind;
            this.spool = spool;
            this.dataDir = dataDir;
            this.gate = gate;
            this.scheduler = scheduler;
            this.maxScriptBytes = maxScriptBytes;
            this.admins = admins;
            this.jobIsolation = jobIsolation;
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
