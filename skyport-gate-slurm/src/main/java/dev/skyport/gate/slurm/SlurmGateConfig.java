package dev.skyport.gate.slurm;

import dev.skyport.core.internal.ssh.SshTarget;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.GateOptions;
import okhttp3.HttpUrl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The {@code slurm} gate's options, checked at start: every error names the option (an unknown one with the closest
 * known one). See {@code docs/slurm-gate.md} for what each means.
 */
final class SlurmGateConfig {
    /** How the gate reaches Slurm. */
    enum Backend {
        /** slurmrestd over HTTP(S) with JWT authentication. */
        REST,
        /** Slurm's commands on a login node over SSH, for sites without slurmrestd. */
        SSH
    }

    /** How job directories on the cluster's shared file system are reached from the engine's machine. */
    enum Files {
        /** The engine's machine mounts the cluster's file system at the same path. */
        LOCAL,
        /** Through the login node with SFTP. */
        SSH
    }

    static final Set<String> KEYS = Set.of("backend", "rest-url", "user", "jwt-token-file", "jwt-key-file",
            "jwt-lifetime", "work-root", "files", "ssh-host", "ssh-port", "ssh-user", "ssh-key", "known-hosts",
            "host-key-fingerprints", "default-partition", "request-timeout", "site", "run-as-owner");
    /** Options the engine builder derives from settings of its own and passes to every gate. */
    static final Set<String> ENGINE_KEYS = Set.of("job-isolation", "job-isolation-required", "job-isolation-hide",
            "job-accounts", "job-account", "forward-out-ports", "cpus", "memoryBytes");

    private static final Pattern USER = Pattern.compile("[A-Za-z_][A-Za-z0-9._-]{0,63}");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final Pattern PATH = Pattern.compile("/[A-Za-z0-9._/+-]*");

    final Backend backend;
    final Optional<HttpUrl> restUrl;
    /** The Slurm user jobs are submitted as (X-SLURM-USER-NAME); also the JWT's {@code sun}. */
    final String user;
    final Optional<Path> jwtTokenFile;
    final Optional<Path> jwtKeyFile;
    final Duration jwtLifetime;
    /** Absolute directory on the cluster's shared file system under which job directories are made. */
    final String workRoot;
    final Files files;
    /** The login node, for {@code files=ssh} and {@code backend=ssh}. */
    final Optional<SshTarget> login;
    final Duration requestTimeout;
    /** Each job is submitted as, and runs as, the Unix user of its owner's name (tokens signed per owner). */
    final boolean runAsOwner;
    final Optional<String> defaultPartition;
    /** The site's name as the engine lists it ({@link dev.skyport.api.RemoteSite#name()}). */
    final String site;

    private SlurmGateConfig(Map<String, String> o) {
        List<String> unknown = new ArrayList<>();
        for (String key : new TreeSet<>(o.keySet())) {
            if (!KEYS.contains(key) && !ENGINE_KEYS.contains(key)) {
                unknown.add(key);
            }
        }
        if (!unknown.isEmpty()) {
            throw refused(unknown.get(0), "is not an option of the slurm gate" + suggestion(unknown.get(0))
                    + "; the options are " + new TreeSet<>(KEYS));
        }
        // Without backend: slurmrestd when its address is given, else Slurm's commands on the login node given.
        backend = choice(o, "backend", !o.containsKey("rest-url") && o.containsKey("ssh-host") ? "ssh" : "rest",
                Backend.class);
        files = choice(o, "files", backend == Backend.SSH ? "ssh" : "local", Files.class);
        site = optional(o, "site").map(s -> {
            if (!NAME.matcher(s).matches()) {
                throw refused("site", "must be a name of letters, digits and . _ -, got '" + s + "'");
            }
            return s;
        }).orElse(SlurmGate.NAME);
        if (backend == Backend.REST) {
            restUrl = Optional.of(url(required(o, "rest-url", "the slurmrestd address, e.g. http://slurm:6820")));
        } else {
            restUrl = optional(o, "rest-url").map(SlurmGateConfig::url);
        }
        if (backend == Backend.SSH && !o.containsKey("user")) {
            // Over SSH jobs are submitted as the login user.
            user = required(o, "ssh-user", "the user to log in to the login node as (or give user)");
        } else {
            user = required(o, "user", "the Slurm user jobs are submitted as");
        }
        if (!USER.matcher(user).matches()) {
            throw refused(o.containsKey("user") ? "user" : "ssh-user", "must be a user name, got '" + user + "'");
        }
        if (backend == Backend.REST && user.equals("root")) {
            throw refused("user", "must not be root: slurmrestd refuses tokens for root; submit as a user of the"
                    + " cluster");
        }
        jwtTokenFile = optional(o, "jwt-token-file").map(p -> readable("jwt-token-file", p));
        jwtKeyFile = optional(o, "jwt-key-file").map(p -> readable("jwt-key-file", p));
        if (backend == Backend.REST && jwtTokenFile.isPresent() == jwtKeyFile.isPresent()) {
            throw refused(jwtTokenFile.isPresent() ? "jwt-key-file" : "jwt-token-file",
                    jwtTokenFile.isPresent() ? "cannot be given with jwt-token-file: give one of them"
                            : "is missing: give jwt-token-file (a file holding a token, as scontrol token prints it)"
                            + " or jwt-key-file (the cluster's jwt_key, to sign tokens)");
        }
        jwtLifetime = duration(o, "jwt-lifetime", Duration.ofMinutes(30));
        if (o.containsKey("jwt-lifetime") && jwtKeyFile.isEmpty()) {
            throw refused("jwt-lifetime", "is only for jwt-key-file (tokens the gate signs itself)");
        }
        if (jwtLifetime.compareTo(Duration.ofMinutes(1)) < 0) {
            throw refused("jwt-lifetime", "must be at least 1m, got '" + o.get("jwt-lifetime") + "'");
        }
        workRoot = required(o, "work-root", "the directory on the cluster's shared file system for job directories");
        if (!PATH.matcher(workRoot).matches() || List.of(workRoot.split("/")).contains("..")) {
            throw refused("work-root", "must be an absolute path of letters, digits and . _ / + -, without '..', got '"
                    + workRoot + "'");
        }
        requestTimeout = duration(o, "request-timeout", Duration.ofSeconds(30));
        runAsOwner = optional(o, "run-as-owner").map(v -> switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes" -> true;
            case "false", "no" -> false;
            default -> throw refused("run-as-owner", "must be true or false, got '" + v + "'");
        }).orElse(false);
        if (runAsOwner && jwtKeyFile.isEmpty()) {
            throw refused("run-as-owner", "needs jwt-key-file: the gate signs a token for each job's owner with the"
                    + " cluster's jwt_key, and a jwt-token-file holds one user's token only");
        }
        defaultPartition = optional(o, "default-partition").map(p -> {
            if (!NAME.matcher(p).matches()) {
                throw refused("default-partition", "must be a partition name, got '" + p + "'");
            }
            return p;
        });
        login = login(o, files == Files.SSH || backend == Backend.SSH);
        if (backend == Backend.SSH && !login.orElseThrow().user().equals(user)) {
            throw refused("user", "must be the login user ssh-user '" + login.orElseThrow().user() + "' with backend"
                    + " ssh, whose commands submit jobs as the user they log in as; got '" + user + "'");
        }
    }

    static SlurmGateConfig parse(GateConfig config) {
        return new SlurmGateConfig(config.options());
    }

    private static Optional<SshTarget> login(Map<String, String> o, boolean needed) {
        List<String> sshKeys = List.of("ssh-host", "ssh-port", "ssh-user", "ssh-key", "known-hosts",
                "host-key-fingerprints");
        if (!needed) {
            for (String key : sshKeys) {
                if (o.containsKey(key)) {
                    throw refused(key, "is only for files=ssh or backend=ssh (the login node)");
                }
            }
            return Optional.empty();
        }
        String why = "the login node (files=ssh or backend=ssh)";
        String host = required(o, "ssh-host", why);
        if (!host.matches("[A-Za-z0-9._:\\[\\]-]+")) {
            throw refused("ssh-host", "is not a host name or address: '" + host + "'");
        }
        int port = optional(o, "ssh-port").map(raw -> {
            try {
                int p = Integer.parseInt(raw);
                if (p >= 1 && p <= 65535) {
                    return p;
                }
            } catch (NumberFormatException ignored) {
                // reported below
            }
            throw refused("ssh-port", "must be a port in 1..65535, got '" + raw + "'");
        }).orElse(22);
        String sshUser = optional(o, "ssh-user").orElse(o.getOrDefault("user", "").strip());
        if (!USER.matcher(sshUser).matches()) {
            throw refused("ssh-user", "must be a user name, got '" + sshUser + "'");
        }
        Path key = readable("ssh-key", required(o, "ssh-key", "the private key for " + why));
        Optional<Path> knownHosts = optional(o, "known-hosts").map(p -> readable("known-hosts", p));
        Set<String> pinned = new LinkedHashSet<>();
        optional(o, "host-key-fingerprints").ifPresent(raw -> {
            for (String f : raw.split(",")) {
                String s = f.strip();
                if (!s.matches("SHA256:[A-Za-z0-9+/]{43}")) {
                    throw refused("host-key-fingerprints", "must be SHA256:<43 base64 characters> fingerprints as"
                            + " ssh-keygen -l prints them, separated by commas, got '" + s + "'");
                }
                pinned.add(s);
            }
        });
        if (knownHosts.isPresent() == !pinned.isEmpty()) {
            throw refused(knownHosts.isPresent() ? "host-key-fingerprints" : "known-hosts",
                    knownHosts.isPresent() ? "cannot be given with known-hosts: give one of them"
                            : "is missing: give known-hosts or host-key-fingerprints to check the login node's host key");
        }
        return Optional.of(new SshTarget(host, port, sshUser, Optional.of(key), Optional.empty(), knownHosts, pinned));
    }

    private static HttpUrl url(String raw) {
        HttpUrl url = HttpUrl.parse(raw);
        if (url == null || url.encodedQuery() != null) {
            throw refused("rest-url", "must be an http or https URL such as http://slurm:6820, got '" + raw + "'");
        }
        return url;
    }

    private static <E extends Enum<E>> E choice(Map<String, String> o, String key, String otherwise, Class<E> type) {
        String raw = o.getOrDefault(key, otherwise).strip();
        for (E value : type.getEnumConstants()) {
            if (value.name().toLowerCase(Locale.ROOT).equals(raw)) {
                return value;
            }
        }
        List<String> choices = new ArrayList<>();
        for (E value : type.getEnumConstants()) {
            choices.add(value.name().toLowerCase(Locale.ROOT));
        }
        throw refused(key, "must be one of " + String.join(", ", choices) + ", got '" + raw + "'");
    }

    private static Optional<String> optional(Map<String, String> o, String key) {
        return Optional.ofNullable(o.get(key)).map(String::strip);
    }

    private static String required(Map<String, String> o, String key, String what) {
        String v = o.get(key);
        if (v == null || v.isBlank()) {
            throw refused(key, "is missing: " + what);
        }
        return v.strip();
    }

    private static Path readable(String key, String raw) {
        Path file = Path.of(raw);
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw refused(key, "names " + raw + ", which is not a file");
        }
        try (var in = java.nio.file.Files.newInputStream(file)) {
            in.read();
        } catch (IOException e) {
            throw refused(key, "names " + raw + ", which cannot be read (" + e.getClass().getSimpleName() + ")");
        }
        return file;
    }

    /** A positive duration: whole seconds, or a number with {@code ms}, {@code s}, {@code m} or {@code h}. */
    private static Duration duration(Map<String, String> o, String key, Duration otherwise) {
        String raw = o.get(key);
        if (raw == null) {
            return otherwise;
        }
        return GateOptions.positiveDuration(raw).orElseThrow(() -> refused(key,
                "must be a positive duration such as 30, 30s, 500ms, 5m or 1h, got '" + raw + "'"));
    }

    private static String suggestion(String key) {
        String normal = GateOptions.normalKey(key);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String known : new TreeSet<>(KEYS)) {
            int d = GateOptions.editDistance(known, normal);
            if (d < bestDistance) {
                best = known;
                bestDistance = d;
            }
        }
        return best != null && bestDistance <= 3 ? " (did you mean " + best + "?)" : "";
    }


    static GateException refused(String key, String why) {
        return GateException.permanent("slurm gate option " + key + " " + why);
    }
}
