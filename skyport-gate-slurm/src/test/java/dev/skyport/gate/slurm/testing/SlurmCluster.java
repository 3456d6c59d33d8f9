package dev.skyport.gate.slurm.testing;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A real Slurm cluster on loopback for tests, from Debian's packages: munged, slurmctld, two slurmd ({@code n1} and
 * {@code n2}, 2 cpus and 2000 MiB each) and slurmrestd (v0.0.38, JWT) on free ports, all from one temp dir with a
 * generated {@code slurm.conf}, munge key, JWT key and {@code job_submit.lua} that accepts only the accounts
 * {@link #ACCOUNTS} (any other is refused with {@code ESLURM_INVALID_ACCOUNT}, as a site without slurmdbd does it).
 * Partitions: {@code debug} (n1, n2; default; MaxTime 60) and {@code small} (n1; MaxNodes 1; MaxTime 10).
 *
 * <p>Several clusters run at once on one machine (other test classes, other engineers): each has its own temp dir,
 * ports, munge socket and ClusterName, and {@link #close()} kills only its own processes: the daemons by the process
 * group each was started in ({@code setsid}), then any process left whose environment carries this cluster's marker
 * (the slurmstepd that the slurmd fork). Never {@code pkill}. A JVM shutdown hook closes a cluster a test forgot.
 *
 * <p>Must run as root (slurmd does); jobs submitted with {@link #run} as root run as root, jobs submitted over REST
 * run as {@link #REST_USER}, so their directories must be under {@link #workRoot()}.
 */
public final class SlurmCluster implements AutoCloseable {
    /** The accounts the cluster's job_submit.lua accepts. */
    public static final List<String> ACCOUNTS = List.of("physics", "chem");
    /** The user slurmrestd runs as and tokens are made for by default: slurmrestd refuses root. */
    public static final String REST_USER = "nobody";
    /** The primary group of {@link #REST_USER}: work-root's group, shared by the engine and the jobs. */
    public static final String REST_GROUP = "nogroup";
    /** The REST API version the cluster's slurmrestd serves. */
    public static final String API_VERSION = "v0.0.38";

    private static final Logger LOG = LoggerFactory.getLogger(SlurmCluster.class);
    private static final String MARKER = "SKYPORT_TEST_SLURM_CLUSTER";
    private static final Duration START_DEADLINE = Duration.ofSeconds(60);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final String clusterName;
    private final int ctldPort;
    private final int restPort;
    private final Map<String, Integer> slurmdPorts = new LinkedHashMap<>();
    private final Path conf;
    private final Path jwtKey;
    private final Path mungeSocket;
    private final Path workRoot;
    private final List<Process> daemons = new ArrayList<>();
    private final Thread shutdownHook;
    private Process rest;
    private boolean closed;

    private SlurmCluster(Path dir) {
        this.dir = dir;
        this.clusterName = "sp" + HexFormat.of().formatHex(randomBytes(4));
        this.ctldPort = freePort();
        this.restPort = freePort();
        slurmdPorts.put("n1", freePort());
        slurmdPorts.put("n2", freePort());
        this.conf = dir.resolve("slurm.conf");
        this.jwtKey = dir.resolve("jwt.key");
        this.mungeSocket = dir.resolve("munge").resolve("munge.socket");
        this.workRoot = dir.resolve("work");
        this.shutdownHook = new Thread(this::close, "slurm-cluster-" + clusterName + "-shutdown");
    }

    /**
     * Starts a cluster and returns once both nodes are idle and slurmrestd answers a ping, or throws (having stopped
     * whatever it started) when that does not happen within a minute.
     */
    public static SlurmCluster start() {
        Path dir;
        try {
            dir = Files.createTempDirectory("skyport-slurm-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SlurmCluster cluster = new SlurmCluster(dir);
        Runtime.getRuntime().addShutdownHook(cluster.shutdownHook);
        try {
            cluster.boot();
            return cluster;
        } catch (RuntimeException | Error e) {
            try {
                LOG.error("Slurm cluster {} did not start; its logs:\n{}", cluster.clusterName, cluster.logs());
                cluster.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private void boot() {
        try {
            writeFiles();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        daemons.add(spawn("munged", List.of("munged", "--foreground", "--key-file", dir.resolve("munge.key").toString(),
                "--socket", mungeSocket.toString(), "--pid-file", dir.resolve("munged.pid").toString(),
                "--log-file", dir.resolve("munged.log").toString(), "--seed-file",
                dir.resolve("munge.seed").toString())));
        await("munged's socket", () -> Files.exists(mungeSocket));
        daemons.add(spawn("slurmctld", List.of("slurmctld", "-D", "-i")));
        await("slurmctld answering", () -> quietly("scontrol", "ping").contains("UP"));
        for (String node : slurmdPorts.keySet()) {
            daemons.add(spawn("slurmd-" + node, List.of("slurmd", "-D", "-N", node)));
        }
        await("nodes n1 and n2 idle", () -> {
            String states = quietly("sinfo", "-h", "-N", "-o", "%N %t");
            return states.lines().map(String::trim).distinct().filter(l -> l.endsWith(" idle")).count() == 2;
        });
        startRest();
    }

    private void writeFiles() throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path munge = Files.createDirectories(dir.resolve("munge"));
        // slurmrestd runs as nobody and must reach munged's socket through this directory.
        Files.setPosixFilePermissions(munge, PosixFilePermissions.fromString("rwxr-xr-x"));
        writeSecret(dir.resolve("munge.key"), randomBytes(1024));
        writeSecret(jwtKey, randomBytes(32));
        Files.createDirectories(dir.resolve("state"));
        for (String node : slurmdPorts.keySet()) {
            Files.createDirectories(dir.resolve("spool").resolve(node));
        }
        Files.createDirectories(workRoot);
        // Jobs submitted over REST run as nobody and write their logs here: its group (nogroup) is work-root's, with
        // no bits for others, as docs/slurm-gate.md tells administrators (setgid: what jobs make joins the group).
        Files.getFileAttributeView(workRoot, java.nio.file.attribute.PosixFileAttributeView.class).setGroup(
                workRoot.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(REST_GROUP));
        Files.setAttribute(workRoot, "unix:mode", 02770);
        Files.writeString(conf, slurmConf());
        Files.writeString(dir.resolve("job_submit.lua"), jobSubmitLua());
    }

    private String slurmConf() {
        String host = hostname();
        StringBuilder c = new StringBuilder();
        c.append("ClusterName=").append(clusterName).append('\n');
        c.append("SlurmctldHost=").append(host).append("(127.0.0.1)\n");
        c.append("SlurmctldPort=").append(ctldPort).append('\n');
        c.append("SlurmdPort=").append(slurmdPorts.get("n1")).append('\n');
        c.append("SlurmUser=root\nSlurmdUser=root\n");
        c.append("AuthType=auth/munge\nAuthInfo=socket=").append(mungeSocket).append('\n');
        c.append("AuthAltTypes=auth/jwt\nAuthAltParameters=jwt_key=").append(jwtKey).append('\n');
        c.append("CredType=cred/munge\n");
        c.append("StateSaveLocation=").append(dir.resolve("state")).append('\n');
        c.append("SlurmdSpoolDir=").append(dir.resolve("spool")).append("/%n\n");
        c.append("SlurmctldPidFile=").append(dir.resolve("slurmctld.pid")).append('\n');
        c.append("SlurmdPidFile=").append(dir.resolve("slurmd-%n.pid")).append('\n');
        c.append("SlurmctldLogFile=").append(dir.resolve("slurmctld.log")).append('\n');
        c.append("SlurmdLogFile=").append(dir.resolve("slurmd-%n.log")).append('\n');
        c.append("SlurmctldDebug=info\nSlurmdDebug=info\n");
        c.append("ProctrackType=proctrack/pgid\nTaskPlugin=task/none\n");
        c.append("SelectType=select/cons_tres\nSelectTypeParameters=CR_Core_Memory\n");
        c.append("SchedulerType=sched/backfill\nSchedulerParameters=sched_interval=1,bf_interval=1\n");
        c.append("JobCompType=jobcomp/none\nJobAcctGatherType=jobacct_gather/none\n");
        c.append("AccountingStorageType=accounting_storage/none\nMpiDefault=none\n");
        c.append("ReturnToService=2\nSlurmdTimeout=30\nInactiveLimit=0\nMinJobAge=300\nKillWait=2\nWaittime=0\n");
        c.append("JobSubmitPlugins=lua\n");
        for (Map.Entry<String, Integer> node : slurmdPorts.entrySet()) {
            c.append("NodeName=").append(node.getKey()).append(" NodeHostname=localhost NodeAddr=127.0.0.1 Port=")
                    .append(node.getValue()).append(" CPUs=2 RealMemory=2000 State=UNKNOWN\n");
        }
        c.append("PartitionName=debug Nodes=n1,n2 Default=YES MaxTime=60 State=UP\n");
        c.append("PartitionName=small Nodes=n1 MaxTime=10 MaxNodes=1 State=UP\n");
        return c.toString();
    }

    private static String jobSubmitLua() {
        StringBuilder lua = new StringBuilder("local known = {");
        for (String account : ACCOUNTS) {
            lua.append(" [\"").append(account).append("\"] = true,");
        }
        lua.append(" }\n");
        lua.append("""
                function slurm_job_submit(job_desc, part_list, submit_uid)
                  local account = job_desc.account
                  if account ~= nil and account ~= "" and not known[account] then
                    slurm.log_user("account '%s' is not known at this site", account)
                    return slurm.ESLURM_INVALID_ACCOUNT
                  end
                  return slurm.SUCCESS
                end

                function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
                  return slurm.SUCCESS
                end

                return slurm.SUCCESS
                """);
        return lua.toString();
    }

    /** The slurmrestd base URL, e.g. {@code http://127.0.0.1:40123}. */
    public String restUrl() {
        return "http://127.0.0.1:" + restPort;
    }

    /** A JWT for {@code user} valid ten minutes, made by {@code scontrol token} (independently of the gate's signer). */
    public String token(String user) {
        String out = scontrol("token", "username=" + user, "lifespan=600").trim();
        int at = out.indexOf("SLURM_JWT=");
        if (at < 0) {
            throw new IllegalStateException("scontrol token printed no SLURM_JWT");
        }
        return out.substring(at + "SLURM_JWT=".length()).trim();
    }

    /** The 32-byte HS256 key slurmctld checks tokens with ({@code jwt_key}), for a gate that signs its own tokens. */
    public Path jwtKeyFile() {
        return jwtKey;
    }

    /** The environment Slurm's client commands need to reach this cluster ({@code SLURM_CONF}). */
    public Map<String, String> env() {
        return Map.of("SLURM_CONF", conf.toString());
    }

    /** This cluster's {@code ClusterName}. */
    public String clusterName() {
        return clusterName;
    }

    /** The directory for job directories: on the cluster's (here: this machine's) file system, writable by all. */
    public Path workRoot() {
        return workRoot;
    }

    /**
     * The slurm gate's options that reach this cluster over slurmrestd as {@link #REST_USER}, signing its own tokens
     * with {@link #jwtKeyFile()}: {@code rest-url}, {@code user}, {@code jwt-key-file}, {@code work-root}, in a new
     * map the caller may change.
     */
    public Map<String, String> restGateOptions() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("rest-url", restUrl());
        o.put("user", REST_USER);
        o.put("jwt-key-file", jwtKey.toString());
        o.put("work-root", workRoot.toString());
        return o;
    }

    /** Runs {@code scontrol args...} and returns its output; throws with its stderr when it fails. */
    public String scontrol(String... args) {
        List<String> command = new ArrayList<>(List.of("scontrol"));
        command.addAll(List.of(args));
        return run(command);
    }

    /** Runs one of Slurm's client commands ({@code sbatch}, {@code squeue}...) as root against this cluster. */
    public String run(String... command) {
        return run(List.of(command));
    }

    /** Runs one of Slurm's client commands as root against this cluster; throws with its stderr when it fails. */
    public String run(List<String> command) {
        CommandResult result = exec(command, Duration.ofSeconds(30));
        if (result.exitCode != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + result.exitCode + ": "
                    + result.stderr.strip());
        }
        return result.stdout;
    }

    /**
     * Sets {@code node}'s state with {@code scontrol update}: {@code DOWN} (running jobs end NODE_FAIL), {@code DRAIN},
     * or {@code RESUME} (back to service; {@code reason} is ignored).
     */
    public void setNodeState(String node, String state, String reason) {
        List<String> args = new ArrayList<>(List.of("update", "NodeName=" + node, "State=" + state));
        if (!state.equalsIgnoreCase("RESUME")) {
            args.add("Reason=" + reason);
        }
        try {
            scontrol(args.toArray(String[]::new));
        } catch (IllegalStateException e) {
            // ReturnToService=2 brings a DOWN node whose slurmd answers back by itself; RESUME then finds it idle.
            boolean alreadyBack = state.equalsIgnoreCase("RESUME") && e.getMessage().contains("Invalid node state")
                    && !scontrol("show", "node", node).matches("(?s).*State=\\S*(DOWN|DRAIN).*");
            if (!alreadyBack) {
                throw e;
            }
        }
    }

    /** The ids of every job slurmctld knows now, in any state. */
    public List<String> jobIds() {
        return run("squeue", "-h", "-a", "-t", "all", "-o", "%i").lines().map(String::trim)
                .filter(l -> !l.isEmpty()).toList();
    }

    /** Stops slurmrestd (its port refuses connections until {@link #startRest()}). */
    public synchronized void stopRest() {
        if (rest != null) {
            kill(rest);
            daemons.remove(rest);
            rest = null;
        }
    }

    /** Starts slurmrestd on its port again and returns once it answers a ping. */
    public synchronized void startRest() {
        if (rest != null) {
            return;
        }
        // Without SLURM_JWT=daemon slurmrestd rejects every token ("Rejecting thread config token").
        rest = spawn("slurmrestd", List.of("slurmrestd", "-u", REST_USER, "-g", "nogroup", "-a", "rest_auth/jwt",
                "-s", "openapi/" + API_VERSION, "127.0.0.1:" + restPort), Map.of("SLURM_JWT", "daemon"));
        daemons.add(rest);
        String token = token(REST_USER);
        // HTTP/1.1 only: the JDK client's h2c upgrade headers are not for slurmrestd.
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
        await("slurmrestd answering a ping", () -> {
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                                URI.create(restUrl() + "/slurm/" + API_VERSION + "/ping"))
                        .header("X-SLURM-USER-NAME", REST_USER).header("X-SLURM-USER-TOKEN", token)
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                return response.statusCode() == 200;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        });
    }

    /** The tail of every daemon's log, for a failing test's message. */
    public String logs() {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path log : files.filter(p -> p.getFileName().toString().endsWith(".log")
                    || p.getFileName().toString().endsWith(".out")).sorted().toList()) {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                all.append("== ").append(log.getFileName()).append('\n');
                lines.subList(Math.max(0, lines.size() - 40), lines.size())
                        .forEach(l -> all.append(l).append('\n'));
            }
        } catch (IOException | UncheckedIOException e) {
            all.append("(logs unreadable: ").append(e.getMessage()).append(")\n");
        }
        return all.toString();
    }

    /**
     * Cancels every job, kills every process of this cluster and deletes its directory. Idempotent; never throws for a
     * process that is already gone.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // Called from the hook itself.
        }
        cancelEverything();
        List<Process> reversed = new ArrayList<>(daemons);
        java.util.Collections.reverse(reversed);
        reversed.forEach(SlurmCluster::kill);
        daemons.clear();
        rest = null;
        killMarked();
        deleteTree(dir);
    }

    private void cancelEverything() {
        try {
            List<String> ids = jobIds();
            if (ids.isEmpty()) {
                return;
            }
            List<String> scancel = new ArrayList<>(List.of("scancel"));
            scancel.addAll(ids);
            exec(scancel, Duration.ofSeconds(10));
            // Jobs end (their slurmstepd kill the job's process groups) before the daemons go.
            Instant deadline = Instant.now().plusSeconds(15);
            while (Instant.now().isBefore(deadline) && exec(List.of("squeue", "-h", "-t", "RUNNING,COMPLETING,PENDING",
                    "-o", "%i"), Duration.ofSeconds(5)).stdout.lines().anyMatch(l -> !l.isBlank())) {
                pause(Duration.ofMillis(200));
            }
        } catch (RuntimeException e) {
            LOG.warn("Could not cancel the jobs of Slurm cluster {}: {}", clusterName, e.getMessage());
        }
    }

    private Process spawn(String name, List<String> command) {
        return spawn(name, command, Map.of());
    }

    private Process spawn(String name, List<String> command, Map<String, String> extraEnv) {
        List<String> full = new ArrayList<>();
        // Its own process group, so that close() kills the daemon and whatever it forked, and nothing else.
        full.add("setsid");
        full.addAll(command);
        ProcessBuilder builder = new ProcessBuilder(full).directory(dir.toFile())
                .redirectOutput(dir.resolve(name + ".out").toFile())
                .redirectErrorStream(true);
        builder.environment().putAll(env());
        builder.environment().put(MARKER, dir.toString());
        builder.environment().putAll(extraEnv);
        try {
            Process process = builder.start();
            LOG.info("Slurm cluster {}: started {} (pid {})", clusterName, name, process.pid());
            return process;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command.get(0), e);
        }
    }

    private static void kill(Process process) {
        long pid = process.pid();
        // setsid ran in the child itself (it is no group leader), so the daemon's pid is its process group's id.
        signalGroup(pid, "TERM");
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                signalGroup(pid, "KILL");
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        signalGroup(pid, "KILL");
    }

    private static void signalGroup(long pgid, String signal) {
        try {
            new ProcessBuilder("kill", "-" + signal, "--", "-" + pgid).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            LOG.warn("kill -{} -{} failed: {}", signal, pgid, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Kills processes that left the daemons' groups (slurmstepd start their own) but carry this cluster's marker. */
    private void killMarked() {
        String marker = MARKER + "=" + dir;
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(p -> {
                try {
                    byte[] environ = Files.readAllBytes(p.resolve("environ"));
                    for (String entry : new String(environ, StandardCharsets.UTF_8).split("\0")) {
                        if (entry.equals(marker)) {
                            long pid = Long.parseLong(p.getFileName().toString());
                            LOG.info("Slurm cluster {}: killing leftover process {}", clusterName, pid);
                            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                            break;
                        }
                    }
                } catch (IOException | RuntimeException gone) {
                    // The process ended meanwhile or is not ours to read.
                }
            });
        } catch (IOException e) {
            LOG.warn("Cannot list /proc: {}", e.getMessage());
        }
    }

    private record CommandResult(int exitCode, String stdout, String stderr) {
    }

    private CommandResult exec(List<String> command, Duration timeout) {
        // In the cluster's directory: sbatch writes slurm-<id>.out where it runs.
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        builder.environment().putAll(env());
        try {
            Path out = Files.createTempFile(dir, "cmd-", ".out");
            Path err = Files.createTempFile(dir, "cmd-", ".err");
            try {
                Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                    throw new IllegalStateException(String.join(" ", command) + " did not end within " + timeout);
                }
                return new CommandResult(process.exitValue(), Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String quietly(String... command) {
        try {
            CommandResult result = exec(List.of(command), Duration.ofSeconds(10));
            return result.exitCode == 0 ? result.stdout : "";
        } catch (RuntimeException e) {
            return "";
        }
    }

    private void await(String what, BooleanSupplier condition) {
        Instant deadline = Instant.now().plus(START_DEADLINE);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("Slurm cluster " + clusterName + ": no " + what + " within "
                        + START_DEADLINE.toSeconds() + " s");
            }
            for (Process daemon : daemons) {
                if (!daemon.isAlive()) {
                    throw new IllegalStateException("Slurm cluster " + clusterName + ": a daemon (pid "
                            + daemon.pid() + ") exited " + daemon.exitValue() + " while waiting for " + what);
                }
            }
            pause(Duration.ofMillis(100));
        }
    }

    private static void pause(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String hostname() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    private static void writeSecret(Path file, byte[] content) throws IOException {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(file, content);
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // A socket or file a dying daemon still writes: the temp dir is reaped with the machine.
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("Cannot delete {}: {}", root, e.getMessage());
        }
    }

    /** The temp dir of this cluster (logs, slurm.conf), for diagnostics. */
    public Path directory() {
        return dir;
    }

    /** The slurmd pid of {@code node}, from its pid file, if it runs. */
    public Optional<Long> slurmdPid(String node) {
        try {
            return Optional.of(Long.parseLong(Files.readString(dir.resolve("slurmd-" + node + ".pid")).trim()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
