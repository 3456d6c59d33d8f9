package dev.skyport.core.internal.ssh;

import dev.skyport.gate.ContainerRuntime;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.GateOptions;
import dev.skyport.gate.RunIsolation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code ssh} gate's options, read from the flat {@link GateConfig} map and checked whole before anything is
 * started: every key must be known (a typo is an error naming it), every number and size must parse, every key file
 * and {@code known_hosts} file must be readable, and no node may appear twice by name or by {@code user@host:port}.
 * Every failure is a permanent {@link GateException} naming the option. See {@code docs/ssh-gate.md}.
 */
final class SshGateConfig {
    /** The node label that names the host a node is reached at (the upstream {@code /user} API shows it). */
    static final String HOST_LABEL = "host";
    /** The node label that says why a node is DOWN; absent while it is UP. */
    static final String STATE_REASON_LABEL = "state-reason";

    private static final Set<String> GATE_KEYS = Set.of("nodes", "user", "key", "port", "known-hosts", "remote-root",
            "health-interval", "node-lost-after", "connect-timeout", ContainerRuntime.OPTION,
            ContainerRuntime.ARGS_OPTION, "bwrap");
    private static final Set<String> NODE_KEYS = Set.of("host", "port", "user", "key", "cpus", "memory", "gpus",
            "labels", "partition", "host-key");
    /** Options the engine builder derives from settings of its own; see {@link #isolation}. */
    private static final Set<String> ENGINE_KEYS = Set.of("job-isolation", "job-isolation-required",
            "job-isolation-hide", "job-accounts", "job-account", "forward-out-ports");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,19})\\s*(?:([KMGTkmgt])(?:i?[Bb])?|[Bb])?");

    /** One node as configured. */
    record NodeSpec(String name, SshTarget target, int cpus, long memoryBytes, int gpus, Map<String, String> labels,
                    String partition) {
    }

    final List<NodeSpec> nodes;
    /** Where job directories go: absolute, or relative to the login's home directory. */
    final String remoteRoot;
    final Duration healthInterval;
    final Duration nodeLostAfter;
    final Duration connectTimeout;
    /** The container runtimes tried on a node for a job with an image; empty when images are not run. */
    final Optional<ContainerRuntime> containers;
    /**
     * How runs are isolated on every node: {@link RunIsolation.Mode#NONE} or {@link RunIsolation.Mode#SANDBOX}, with
     * the bubblewrap program to look for on the node ({@code command -v}) and the directories to hide.
     */
    final RunIsolation isolation;
    /** Whether a node without a working bubblewrap fails runs ({@code sandbox}, required) or runs them bare. */
    final boolean sandboxRequired;

    private SshGateConfig(List<NodeSpec> nodes, String remoteRoot, Duration healthInterval, Duration nodeLostAfter,
                          Duration connectTimeout, Optional<ContainerRuntime> containers, RunIsolation isolation, boolean sandboxRequired) {
        this.containers = containers;
        this.sandboxRequired = sandboxRequired;
        this.isolation = isolation;
        this.nodes = nodes;
        this.remoteRoot = remoteRoot;
        this.healthInterval = healthInterval;
        this.nodeLostAfter = nodeLostAfter;
        this.connectTimeout = connectTimeout;
    }

    static SshGateConfig parse(GateConfig config) {
        Map<String, String> o = config.options();
        List<String> names = nodeNames(o);
        Set<String> listed = new LinkedHashSet<>(names);
        for (String key : new TreeSet<>(o.keySet())) {
            if (GATE_KEYS.contains(key) || ENGINE_KEYS.contains(key)) {
                continue;
            }
            if (key.startsWith("node.")) {
                int dot = key.lastIndexOf('.');
                String node = dot > 5 ? key.substring(5, dot) : "";
                String field = key.substring(dot + 1);
                if (!NODE_KEYS.contains(field)) {
                    throw GateException.permanent("unknown ssh gate option '" + key + "' (a node knows "
                            + String.join(", ", new TreeSet<>(NODE_KEYS)) + ")");
                }
                if (!listed.contains(node)) {
                    throw GateException.permanent("ssh gate option '" + key + "' is for node '" + node
                            + "', which 'nodes' does not list (" + String.join(",", names) + ")");
                }
                continue;
            }
            throw GateException.permanent("unknown ssh gate option '" + key + "' (known: "
                    + String.join(", ", new TreeSet<>(GATE_KEYS)) + ", node.<name>.{"
                    + String.join(",", new TreeSet<>(NODE_KEYS)) + "}"
                    + (key.equals("cpus") || key.equals("memoryBytes")
                    ? "; an ssh node's capacity is node.<name>.cpus and node.<name>.memory" : "") + ")");
        }
        String isolationMode = isolation(o);
        Duration connectTimeout = duration(o, "connect-timeout", Duration.ofSeconds(10));
        Duration healthInterval = duration(o, "health-interval", Duration.ofSeconds(10));
        Duration nodeLostAfter = duration(o, "node-lost-after", Duration.ofSeconds(60));
        String remoteRoot = remoteRoot(o.getOrDefault("remote-root", ".skyport/jobs"));
        Optional<Path> knownHosts = Optional.ofNullable(o.get("known-hosts")).map(String::strip).map(Path::of);
        knownHosts.ifPresent(k -> readable("known-hosts", k));
        String defaultUser = o.getOrDefault("user", System.getProperty("user.name", "")).strip();
        Optional<Path> defaultKey = Optional.ofNullable(o.get("key")).map(String::strip).map(Path::of);
        defaultKey.ifPresent(k -> readable("key", k));
        int defaultPort = port("port", o.getOrDefault("port", "22"));

        List<NodeSpec> nodes = new ArrayList<>();
        Map<String, String> byAddress = new HashMap<>();
        for (String name : names) {
            String p = "node." + name + ".";
            String host = Optional.ofNullable(o.get(p + "host")).map(String::strip).orElse("");
            if (host.isEmpty()) {
                throw GateException.permanent("ssh gate option '" + p + "host' is missing: every node needs a host");
            }
            if (!host.matches("[A-Za-z0-9._:\\[\\]-]+")) {
                throw GateException.permanent("ssh gate option '" + p + "host' is not a host name or address: '"
                        + host + "'");
            }
            int port = o.containsKey(p + "port") ? port(p + "port", o.get(p + "port")) : defaultPort;
            String user = o.getOrDefault(p + "user", defaultUser).strip();
            if (!user.matches("[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")) {
                throw GateException.permanent("ssh gate option '" + (o.containsKey(p + "user") ? p + "user" : "user")
                        + "' is not a user name: '" + user + "'");
            }
            Path key = Optional.ofNullable(o.get(p + "key")).map(String::strip).map(Path::of)
                    .or(() -> defaultKey).orElseThrow(() -> GateException.permanent("node " + name
                            + " has no private key: set the ssh gate option 'key' or '" + p + "key'"));
            if (o.containsKey(p + "key")) {
                readable(p + "key", key);
            }
            Set<String> pinned = fingerprints(p + "host-key", o.get(p + "host-key"));
            SshTarget target;
            if (!pinned.isEmpty()) {
                target = new SshTarget(host, port, user, Optional.of(key), Optional.empty(), Optional.empty(), pinned);
            } else {
                Path kh = knownHosts.orElseGet(() -> Path.of(System.getProperty("user.home", "/"), ".ssh",
                        "known_hosts"));
                if (knownHosts.isEmpty()) {
                    readable("known-hosts (default " + kh + ", needed by node " + name + " without "
                            + p + "host-key)", kh);
                }
                target = SshTarget.withKnownHosts(host, port, user, key, kh);
            }
            String other = byAddress.putIfAbsent(target.address(), name);
            if (other != null) {
                throw GateException.permanent("ssh gate nodes '" + other + "' and '" + name + "' are the same login "
                        + target.address());
            }
            int cpus = positiveInt(p + "cpus", required(o, p + "cpus"));
            long memory = size(p + "memory", required(o, p + "memory"));
            int gpus = o.containsKey(p + "gpus") ? nonNegativeInt(p + "gpus", o.get(p + "gpus")) : 0;
            String partition = o.getOrDefault(p + "partition", SshGate.NAME).strip();
            if (!NAME.matcher(partition).matches()) {
                throw GateException.permanent("ssh gate option '" + p + "partition' is not a name: '" + partition
                        + "'");
            }
            Map<String, String> labels = labels(p + "labels", o.getOrDefault(p + "labels", ""));
            labels.put(HOST_LABEL, host);
            nodes.add(new NodeSpec(name, target, cpus, memory, gpus, Map.copyOf(labels), partition));
        }
        // On-prem hosts run images with what they have (podman, then docker), as the issue asks; a node with neither
        // fails such a job with a message naming it. The local gate differs (none unless set): see its provider.
        Optional<ContainerRuntime> containers = ContainerRuntime.fromOptions(config, "auto");
        RunIsolation isolation = RunIsolation.none();
        if (!isolationMode.equals("none")) {
            String bwrap = o.getOrDefault("bwrap", "bwrap").strip();
            if (bwrap.isEmpty() || bwrap.contains("\n")) {
                throw GateException.permanent("ssh gate option bwrap must name a program, got '" + bwrap + "'");
            }
            List<String> hidden = new ArrayList<>();
            // Job directories under a system path the sandbox shows would show the siblings of every job.
            if (remoteRoot.startsWith("/")) {
                hidden.add(remoteRoot);
            }
            for (String h : o.getOrDefault("job-isolation-hide", "").split(":")) {
                if (h.strip().startsWith("/")) {
                    hidden.add(h.strip());
                }
            }
            isolation = RunIsolation.sandbox(bwrap, hidden);
        }
        return new SshGateConfig(List.copyOf(nodes), remoteRoot, healthInterval, nodeLostAfter, connectTimeout,
                containers, isolation, isolationMode.equals("sandbox"));
    }

    private static List<String> nodeNames(Map<String, String> o) {
        String raw = o.getOrDefault("nodes", "").strip();
        if (raw.isEmpty()) {
            throw GateException.permanent("the ssh gate needs the option 'nodes': a comma-separated list of node"
                    + " names, each with node.<name>.host");
        }
        List<String> names = new ArrayList<>();
        for (String n : raw.split(",")) {
            String name = n.strip();
            if (!NAME.matcher(name).matches()) {
                throw GateException.permanent("ssh gate option 'nodes': '" + name + "' is not a node name"
                        + " (letters, digits, '.', '_', '-'; at most 63)");
            }
            if (names.contains(name)) {
                throw GateException.permanent("ssh gate option 'nodes' lists '" + name + "' twice");
            }
            names.add(name);
        }
        return names;
    }

    /**
     * The isolation of runs on ssh nodes, following the local gate's modes: {@code sandbox}, and {@code auto} when
     * {@code job-isolation-required} insists, give each run a bubblewrap sandbox on its node (a node without a working
     * bubblewrap then fails the run, never runs it unsandboxed); {@code auto} alone sandboxes runs on nodes where
     * bubblewrap works and runs them bare elsewhere (one WARN per node); {@code none} runs them as the node's login
     * user. {@code account} is refused: the login user is not root, so it cannot switch accounts.
     *
     * @return {@code sandbox} (required), {@code auto} (where possible) or {@code none}
     */
    private static String isolation(Map<String, String> o) {
        String mode = o.getOrDefault("job-isolation", "auto").strip().toLowerCase(Locale.ROOT);
        boolean required = Boolean.parseBoolean(o.getOrDefault("job-isolation-required", "false").strip());
        return switch (mode) {
            case "none" -> "none";
            case "auto" -> required ? "sandbox" : "auto";
            case "sandbox" -> "sandbox";
            case "account" -> throw GateException.permanent("job-isolation account is not possible on the ssh gate:"
                    + " jobs run as each node's login user, which cannot switch to mapped accounts; set"
                    + " job-isolation: sandbox to run each job in a bubblewrap sandbox on its node");
            default -> throw GateException.permanent("gate option job-isolation must be auto, account, sandbox or "
                    + "none, got '" + mode + "'");
        };
    }

    private static String remoteRoot(String raw) {
        String root = raw.strip();
        if (root.startsWith("~/")) {
            root = root.substring(2);
        }
        while (root.length() > 1 && root.endsWith("/")) {
            root = root.substring(0, root.length() - 1);
        }
        if (root.isEmpty() || root.equals("/") || root.equals("~") || !root.matches("[A-Za-z0-9._/+-]+")
                || List.of(root.split("/")).contains("..")) {
            throw GateException.permanent("ssh gate option 'remote-root' must be a directory path (absolute, or"
                    + " relative to the login's home) of letters, digits and . _ / + -, without '..': '" + raw + "'");
        }
        return root;
    }

    private static void readable(String key, Path file) {
        if (!Files.isRegularFile(file)) {
            throw GateException.permanent("ssh gate option '" + key + "': no such file " + file);
        }
        try (var in = Files.newInputStream(file)) {
            in.read();
        } catch (IOException e) {
            throw GateException.permanent("ssh gate option '" + key + "': cannot read " + file + " ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    private static Set<String> fingerprints(String key, String raw) {
        Set<String> out = new LinkedHashSet<>();
        if (raw == null) {
            return out;
        }
        for (String f : raw.split(",")) {
            String s = f.strip();
            if (!s.matches("SHA256:[A-Za-z0-9+/]{43}")) {
                throw GateException.permanent("ssh gate option '" + key + "' must be SHA256:<43 base64 characters>"
                        + " fingerprints as ssh-keygen -l prints them, got '" + s + "'");
            }
            out.add(s);
        }
        return out;
    }

    private static Map<String, String> labels(String key, String raw) {
        Map<String, String> labels = new LinkedHashMap<>();
        if (raw.isBlank()) {
            return labels;
        }
        for (String entry : raw.split(",")) {
            String e = entry.strip();
            int eq = e.indexOf('=');
            String k = (eq < 0 ? e : e.substring(0, eq)).strip();
            String v = eq < 0 ? "true" : e.substring(eq + 1).strip();
            if (!NAME.matcher(k).matches() || v.length() > 256) {
                throw GateException.permanent("ssh gate option '" + key + "' must be name=value pairs separated by"
                        + " commas, got '" + e + "'");
            }
            if (k.equals(HOST_LABEL) || k.equals(STATE_REASON_LABEL)) {
                throw GateException.permanent("ssh gate option '" + key + "': the label '" + k
                        + "' is set by the gate");
            }
            if (labels.put(k, v) != null) {
                throw GateException.permanent("ssh gate option '" + key + "' gives the label '" + k + "' twice");
            }
        }
        return labels;
    }

    private static String required(Map<String, String> o, String key) {
        String v = o.get(key);
        if (v == null || v.isBlank()) {
            throw GateException.permanent("ssh gate option '" + key + "' is missing: each node states its capacity");
        }
        return v;
    }

    private static int port(String key, String raw) {
        int p = nonNegativeInt(key, raw);
        if (p < 1 || p > 65535) {
            throw GateException.permanent("ssh gate option '" + key + "' must be a port in 1..65535, got '" + raw
                    + "'");
        }
        return p;
    }

    private static int positiveInt(String key, String raw) {
        int v = nonNegativeInt(key, raw);
        if (v < 1) {
            throw GateException.permanent("ssh gate option '" + key + "' must be a positive integer, got '" + raw
                    + "'");
        }
        return v;
    }

    private static int nonNegativeInt(String key, String raw) {
        try {
            int v = Integer.parseInt(raw.strip());
            if (v >= 0) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw GateException.permanent("ssh gate option '" + key + "' must be a non-negative integer, got '" + raw
                + "'");
    }

    /** Bytes as a number or with a binary suffix as in {@code #SWM mem}: {@code 512M}, {@code 16G}, {@code 1TiB}. */
    static long size(String key, String raw) {
        Matcher m = SIZE.matcher(raw.strip());
        if (m.matches()) {
            int shift = m.group(2) == null ? 0 : 10 * ("KMGT".indexOf(m.group(2).toUpperCase(Locale.ROOT)) + 1);
            try {
                long n = Long.parseLong(m.group(1));
                if (n > 0 && n <= (Long.MAX_VALUE >> shift)) {
                    return n << shift;
                }
            } catch (NumberFormatException ignored) {
                // reported below
            }
        }
        throw GateException.permanent("ssh gate option '" + key + "' must be a positive size such as 4096, 512M,"
                + " 16G or 1TiB, got '" + raw + "'");
    }

    /** A positive duration: whole seconds, or a number with {@code ms}, {@code s}, {@code m} or {@code h}. */
    static Duration duration(Map<String, String> o, String key, Duration otherwise) {
        String raw = o.get(key);
        if (raw == null) {
            return otherwise;
        }
        return GateOptions.positiveDuration(raw).orElseThrow(() -> GateException.permanent("ssh gate option '" + key
                + "' must be a positive duration such as 30, 30s, 500ms, 5m or 1h, got '" + raw + "'"));
    }
}
