package dev.skyport.core.internal.local;

import dev.skyport.api.JobId;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.RunIsolation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The local gate's isolation and containment, decided once when the gate starts from its options and what this
 * machine offers: whether Sky Port runs as root, whether bubblewrap works, and where the cgroup v2 hierarchy is.
 *
 * <p>Options: {@code job-isolation} ({@code auto}, {@code account}, {@code sandbox}, {@code none}),
 * {@code job-isolation-required} ({@code true}: {@code auto} refuses to start without isolation),
 * {@code job-accounts} ({@code user=account,...}), {@code job-account} (default {@code nobody}) and
 * {@code job-isolation-hide} (directories separated by {@code :}, hidden from jobs besides the data directory) and
 * {@code bwrap} (the bubblewrap program, {@code bwrap} from the PATH by default).
 */
final class LocalIsolation {
    private static final Logger LOG = LoggerFactory.getLogger(LocalIsolation.class);
    private static final File DEV_NULL = new File("/dev/null");

    private record Account(String name, int uid, int gid) {
    }

    private final RunIsolation.Mode mode;
    private final String bwrap;
    private final Map<String, Account> accounts;
    private final Account defaultAccount;
    private final List<String> hidden;
    private final Optional<Path> cgroups;

    private LocalIsolation(RunIsolation.Mode mode, String bwrap, Map<String, Account> accounts, Account defaultAccount,
                           List<String> hidden, Optional<Path> cgroups) {
        this.mode = mode;
        this.bwrap = bwrap;
        this.accounts = accounts;
        this.defaultAccount = defaultAccount;
        this.hidden = hidden;
        this.cgroups = cgroups;
    }

    /**
     * Decides from {@code config}'s options and this machine.
     *
     * @throws GateException (permanent) when the chosen mode is not possible here, saying why and what to do
     */
    static LocalIsolation resolve(GateConfig config, Path dataDir) {
        String wanted = config.option("job-isolation").orElse("auto").strip().toLowerCase(Locale.ROOT);
        boolean required = Boolean.parseBoolean(config.option("job-isolation-required").orElse("false").strip());
        List<String> hidden = new ArrayList<>();
        hidden.add(dataDir.toAbsolutePath().normalize().toString());
        for (String h : config.option("job-isolation-hide").orElse("").split(":")) {
            Path p = Path.of(h.strip()).toAbsolutePath().normalize();
            // bubblewrap mounts an empty file system over each: a missing directory would fail every job.
            if (!h.isBlank() && Files.isDirectory(p)) {
                hidden.add(p.toString());
            }
        }
        String bwrap = config.option("bwrap").orElse("bwrap").strip();
        boolean root = isRoot();
        RunIsolation.Mode mode = switch (wanted) {
            case "none" -> RunIsolation.Mode.NONE;
            case "account" -> {
                if (!root) {
                    throw GateException.permanent("job-isolation account needs Sky Port to run as root; "
                            + "use job-isolation: sandbox, or none to opt out");
                }
                requireOk(probe(bwrap, RunIsolation.Mode.ACCOUNT), "account");
                yield RunIsolation.Mode.ACCOUNT;
            }
            case "sandbox" -> {
                requireOk(probe(bwrap, RunIsolation.Mode.SANDBOX), "sandbox");
                yield RunIsolation.Mode.SANDBOX;
            }
            case "auto" -> {
                String accountProblem = root ? probe(bwrap, RunIsolation.Mode.ACCOUNT) : "Sky Port does not run as root";
                if (accountProblem == null) {
                    yield RunIsolation.Mode.ACCOUNT;
                }
                String sandboxProblem = probe(bwrap, RunIsolation.Mode.SANDBOX);
                if (sandboxProblem == null) {
                    yield RunIsolation.Mode.SANDBOX;
                }
                String why = "no job isolation is possible (" + sandboxProblem + "); install bubblewrap or set "
                        + "job-isolation: none";
                if (required) {
                    throw GateException.permanent(why);
                }
                LOG.warn("Jobs run without isolation, with every right of this OS user: {}", why);
                yield RunIsolation.Mode.NONE;
            }
            default -> throw GateException.permanent("gate option job-isolation must be auto, account, sandbox or "
                    + "none, got '" + wanted + "'");
        };
        Map<String, Account> accounts = new LinkedHashMap<>();
        Account fallback = null;
        if (mode == RunIsolation.Mode.ACCOUNT) {
            fallback = account(config.option("job-account").orElse("nobody").strip());
            for (String entry : config.option("job-accounts").orElse("").split(",")) {
                if (entry.isBlank()) {
                    continue;
                }
                int eq = entry.indexOf('=');
                if (eq < 1 || eq == entry.length() - 1) {
                    throw GateException.permanent("gate option job-accounts must be user=account,..., got '"
                            + entry + "'");
                }
                accounts.put(entry.substring(0, eq).strip(), account(entry.substring(eq + 1).strip()));
            }
        }
        Optional<Path> cgroups = CgroupHierarchy.find();
        if (cgroups.isEmpty()) {
            LOG.warn("No usable cgroup v2 hierarchy: a job's processes are stopped through its process group{}, "
                    + "so those that leave it (setsid) can outlive the job", mode == RunIsolation.Mode.NONE
                    ? "" : " and its PID namespace");
        }
        LOG.info("Job isolation: {}{}; containment: {}", mode.name().toLowerCase(Locale.ROOT),
                mode == RunIsolation.Mode.ACCOUNT ? " (default account " + fallback.name() + ")" : "",
                cgroups.map(p -> "cgroup " + p).orElse("process group"));
        return new LocalIsolation(mode, bwrap, Map.copyOf(accounts), fallback, List.copyOf(hidden), cgroups);
    }

    RunIsolation.Mode mode() {
        return mode;
    }

    /** How the jobs of {@code owner} run. */
    RunIsolation forOwner(String owner) {
        return switch (mode) {
            case NONE -> RunIsolation.none();
            case SANDBOX -> RunIsolation.sandbox(bwrap, hidden);
            case ACCOUNT -> {
                Account a = accounts.getOrDefault(owner, defaultAccount);
                yield RunIsolation.account(bwrap, a.uid(), a.gid(), hidden);
            }
        };
    }

    /** The cgroup of a run, when runs are contained in cgroups. */
    Optional<Path> cgroup(JobId job, int attempt) {
        return cgroups.map(base -> base.resolve(job + "." + attempt));
    }

    private static void requireOk(String problem, String mode) {
        if (problem != null) {
            throw GateException.permanent("job-isolation " + mode + " is not possible: " + problem
                    + "; install bubblewrap or set job-isolation: none");
        }
    }

    static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** Null when a trivial sandbox of {@code mode} runs here, else why not. */
    private static String probe(String bwrap, RunIsolation.Mode mode) {
        List<String> argv = new ArrayList<>(List.of(bwrap, "--die-with-parent", "--unshare-pid"));
        if (mode == RunIsolation.Mode.SANDBOX) {
            argv.addAll(List.of("--unshare-user", "--cap-drop", "ALL"));
        }
        // The system paths a job's sandbox binds, not the whole root: binding "/" recursively copies every mount
        // below it, and one that goes away meanwhile (a container's network namespace under /run/netns) failed the
        // probe, and so the engine's start, with EINVAL.
        argv.addAll(List.of("--ro-bind", "/usr", "/usr"));
        for (String path : DetachedRun.SYSTEM_PATHS) {
            if (!path.equals("/usr")) {
                argv.addAll(List.of("--ro-bind-try", path, path));
            }
        }
        argv.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--"));
        if (mode == RunIsolation.Mode.ACCOUNT) {
            argv.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"));
        }
        argv.addAll(List.of("env", "--default-signal=TERM", "true"));
        try {
            Process p = new ProcessBuilder(argv).redirectInput(DEV_NULL).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readNBytes(4096), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "bwrap did not finish a trivial sandbox in 20 s";
            }
            return p.exitValue() == 0 ? null : "bwrap failed: " + (out.isEmpty() ? "status " + p.exitValue() : out);
        } catch (IOException e) {
            return bwrap + " not found";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static Account account(String name) {
        if (!name.matches("[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")) {
            throw GateException.permanent("job account '" + name + "' is not a plain account name");
        }
        int uid = id(name, "-u");
        if (uid == 0) {
            // Root in a sandbox without a user namespace keeps every capability and could undo the sandbox.
            throw GateException.permanent("job account '" + name + "' is root; map users to unprivileged accounts");
        }
        int gid = id(name, "-g");
        if (gid == 0) {
            // The job directory is written through the account's group: group root would reach it besides the account.
            throw GateException.permanent("job account '" + name + "' has group root; map users to accounts of an "
                    + "unprivileged group");
        }
        return new Account(name, uid, gid);
    }

    private static int id(String account, String flag) {
        try {
            Process p = new ProcessBuilder("id", flag, account).redirectInput(DEV_NULL)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return Integer.parseInt(out);
            }
        } catch (IOException | NumberFormatException e) {
            // reported below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw GateException.permanent("job account '" + account + "' does not exist on this machine");
    }
}
