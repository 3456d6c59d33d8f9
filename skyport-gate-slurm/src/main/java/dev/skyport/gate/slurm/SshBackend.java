package dev.skyport.gate.slurm;

import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.core.internal.ssh.SshTarget;
import dev.skyport.gate.GateException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Slurm through its commands on a login node over SSH, for sites without slurmrestd: {@code sbatch}, {@code squeue},
 * {@code scontrol}, {@code scancel}, and {@code sacct} for jobs {@code squeue} has forgotten when the site
 * keeps accounting.
 *
 * <p>Every command line is built from words each quoted for the shell ({@link SshConnections#commandLine}); the batch
 * script goes to {@code sbatch} on stdin, with the job's environment as {@code export} lines in it (never on a command
 * line, where other users of the login node would see it). Output is read in machine-readable forms: {@code squeue -O}
 * fields each ended by the ASCII unit separator, which the gate refuses in the names and comments it submits;
 * {@code scontrol show partition -o} and {@code show node -o} key=value fields; times as epoch seconds
 * ({@code SLURM_TIME_FORMAT=%s}), so that the login node's time zone does not matter. {@code squeue --json} is not
 * used: it loads Slurm's openapi plugins, which a site without slurmrestd need not have installed.
 *
 * <p>What Slurm 22.05's commands do, measured: {@code squeue -O exit_code} prints the raw wait status as slurmrestd
 * does (768 for exit 3); with slurmctld not answering every command fails after {@code MessageTimeout} (10 s) with
 * "Socket timed out on send/recv operation", and an {@code sbatch} that failed so is queued all the same once slurmctld
 * reads its request: a transient submit failure may have queued the job, which the queue looks for by tag before it
 * submits again.
 */
final class SshBackend implements SlurmBackend {
    private static final Logger LOG = LoggerFactory.getLogger(SshBackend.class);
    /** Ends every field of squeue's lines: a character no job name or comment the gate submits holds. */
    static final char SEP = '\u001f';
    private static final String S = String.valueOf(SEP);
    private static final String SQUEUE_FIELDS = String.join(S + ",", "JobID:", "Name:", "Comment:", "State:", "Reason:",
            "StartTime:", "NodeList:", "exit_code:", "RestartCnt:") + S;
    private static final int SQUEUE_COUNT = 9;
    /** Messages of Slurm's commands (and of munge under them) that say slurmctld could not be reached now. */
    private static final List<String> UNREACHABLE = List.of("socket timed out", "unable to contact slurm controller",
            "slurm temporarily unable", "resource temporarily unavailable", "connection refused",
            "zero bytes were transmitted", "communication connection failure", "connection timed out",
            "backup controller in standby mode", "unable to establish", "munge encode failed");
    /** What scancel says of a job that has ended or that Slurm does not know: nothing left to cancel. */
    private static final List<String> NOTHING_TO_CANCEL = List.of("invalid job id", "already completed",
            "already completing or completed");
    private static final Pattern JOB_ID = Pattern.compile("\\d+(_\\d+)?");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern TIME = Pattern.compile("(?:(\\d+)-)?(?:(\\d+):)?(\\d+):(\\d+)");

    private final SshTarget login;
    private final SshConnections connections;
    private final Duration timeout;
    /** Whether the site keeps accounting (sacct answers); null until first needed, then asked once. */
    private volatile Boolean accounting;

    SshBackend(SshTarget login, SshConnections connections, Duration timeout) {
        this.login = login;
        this.connections = connections;
        this.timeout = timeout;
    }

    @Override
    public String describe() {
        return "Slurm's commands on " + login.address() + " over SSH";
    }

    @Override
    public void ping() {
        String out = run("ping slurmctld", List.of("scontrol", "ping"), new byte[0]);
        if (!out.contains("UP")) {
            throw GateException.transientFailure(describe() + ": slurmctld does not answer scontrol ping: "
                    + out.strip(), null, Optional.empty());
        }
        LOG.info("Slurm answers through {}", describe());
    }

    /** Whether the site keeps job accounting, asked once: sacct says "accounting storage is disabled" when not. */
    boolean accounting() {
        Boolean known = accounting;
        if (known != null) {
            return known;
        }
        SshConnections.Result r = exec(List.of("sacct", "--noheader", "-X", "-j", "1", "-o", "JobID"), new byte[0]);
        String said = (r.stdout() + r.stderr()).toLowerCase(Locale.ROOT);
        boolean has;
        if (r.status() == 0) {
            has = true;
        } else if (said.contains("accounting storage is disabled") || r.status() == 127) {
            has = false;
        } else if (isUnreachable(said)) {
            throw transientFailure("ask sacct", r);
        } else {
            // slurmdbd down or refusing: the gate follows jobs with squeue alone, as without accounting.
            has = false;
        }
        accounting = has;
        LOG.info("{}: {}", describe(), has ? "the site keeps job accounting; sacct tells of jobs squeue has forgotten"
                : "the site keeps no job accounting (sacct: " + r.stderr().strip() + ")");
        return has;
    }

    @Override
    public List<SlurmPartition> partitions() {
        String out = run("list partitions", List.of("scontrol", "show", "partition", "--oneliner"), new byte[0]);
        List<SlurmPartition> partitions = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            Map<String, String> f = keyValues(line);
            String name = f.getOrDefault("PartitionName", "");
            if (name.isEmpty()) {
                continue;
            }
            OptionalInt maxNodes = OptionalInt.empty();
            String rawNodes = f.getOrDefault("MaxNodes", "UNLIMITED");
            if (rawNodes.matches("\\d{1,9}") && Integer.parseInt(rawNodes) > 0) {
                maxNodes = OptionalInt.of(Integer.parseInt(rawNodes));
            }
            List<String> accounts = new ArrayList<>();
            for (String a : f.getOrDefault("AllowAccounts", "ALL").split(",")) {
                if (!a.isBlank() && !a.strip().equalsIgnoreCase("ALL")) {
                    accounts.add(a.strip());
                }
            }
            String nodes = f.getOrDefault("Nodes", "");
            partitions.add(new SlurmPartition(name, f.getOrDefault("Default", "NO").equalsIgnoreCase("YES"),
                    f.getOrDefault("State", "").equalsIgnoreCase("UP"), maxNodes,
                    duration(f.getOrDefault("MaxTime", "UNLIMITED")), accounts,
                    nodes.equals("(null)") ? List.of() : Hostlist.expand(nodes)));
        }
        return partitions;
    }

    /**
     * The nodes from {@code scontrol show node -o}, whose {@code Partitions=} keeps the configuration's order (as
     * slurmrestd's does; sinfo's per-partition lines come in no stable order) and whose free-text {@code Reason=},
     * measured on 22.05, is the line's last field, ended by {@code [user@time]}.
     */
    @Override
    public List<SlurmNode> nodes() {
        String out = run("list nodes", List.of("scontrol", "show", "node", "--oneliner"), new byte[0]);
        List<SlurmNode> nodes = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.startsWith("NodeName=")) {
                continue;
            }
            int at = line.indexOf(" Reason=");
            String reason = at < 0 ? "" : line.substring(at + " Reason=".length())
                    .replaceFirst("\\s*\\[[^\\]]*@[^\\]]*\\]\\s*$", "").strip();
            Map<String, String> f = keyValues(at < 0 ? line : line.substring(0, at));
            String state = f.getOrDefault("State", "UNKNOWN").toLowerCase(Locale.ROOT);
            List<String> flags = new ArrayList<>();
            String[] parts = state.split("\\+");
            String base = parts[0];
            // A state ending in '*' is one whose node does not respond, as Slurm's compact marks write it.
            if (base.endsWith("*")) {
                flags.add("NOT_RESPONDING");
            }
            base = base.replaceAll("[^a-z_]+$", "");
            for (int i = 1; i < parts.length; i++) {
                String flag = parts[i].toUpperCase(Locale.ROOT).replaceAll("[^A-Z_]", "");
                if (!flag.isEmpty() && !flags.contains(flag)) {
                    flags.add(flag);
                }
            }
            List<String> partitions = new ArrayList<>();
            for (String p : f.getOrDefault("Partitions", "").split(",")) {
                if (!p.isBlank() && !p.equals("(null)")) {
                    partitions.add(p.strip());
                }
            }
            nodes.add(new SlurmNode(f.get("NodeName"), partitions, parseInt(f.getOrDefault("CPUTot", "0")),
                    parseLong(f.getOrDefault("RealMemory", "0")), nullable(f.getOrDefault("Gres", "")),
                    base.isEmpty() ? "unknown" : base, flags, reason.equalsIgnoreCase("none") ? "" : reason));
        }
        return nodes;
    }

    @Override
    public String submit(SlurmSubmission s) {
        refuseControlCharacters("job name", s.name());
        refuseControlCharacters("comment", s.comment());
        for (String key : s.env().keySet()) {
            if (!ENV_NAME.matcher(key).matches()) {
                throw GateException.permanent("the environment variable name '" + key.replaceAll("\\p{Cntrl}", "?")
                        + "' is not one a shell can export: letters, digits and _, not starting with a digit");
            }
        }
        List<String> words = new ArrayList<>(List.of("sbatch", "--parsable", "--export=NONE", "--no-requeue",
                "--job-name=" + s.name(), "--comment=" + s.comment(), "--chdir=" + s.workdir(),
                "--output=" + s.stdout(), "--error=" + s.stderr(), "--nodes=" + s.nodes(), "--ntasks=" + s.nodes(),
                "--cpus-per-task=" + s.cpusPerTask(), "--time=" + s.timeLimitMinutes()));
        if (s.memoryPerNodeMiB() > 0) {
            words.add("--mem=" + s.memoryPerNodeMiB());
        }
        if (s.gpusPerNode() > 0) {
            words.add("--gres=gpu:" + s.gpusPerNode());
        }
        s.partition().ifPresent(p -> words.add("--partition=" + p));
        s.account().ifPresent(a -> words.add("--account=" + a));
        SshConnections.Result r = exec(words, script(s).getBytes(StandardCharsets.UTF_8));
        if (r.status() != 0) {
            String said = slurmSays(r);
            if (r.status() == 127 || isUnreachable(said.toLowerCase(Locale.ROOT))) {
                throw failure("submit " + s.comment(), r);
            }
            // Slurm refused the job (invalid account or partition, a request no node can satisfy...): nothing queued.
            throw GateException.permanent("Slurm refused the job: " + said);
        }
        String first = r.stdout().strip().lines().reduce((a, b) -> b).orElse("");
        // --parsable prints "id" or "id;cluster".
        String id = first.contains(";") ? first.substring(0, first.indexOf(';')) : first;
        if (!JOB_ID.matcher(id).matches()) {
            throw GateException.permanent(describe() + " did not accept the job: sbatch printed no job id ("
                    + r.stdout().strip() + " " + r.stderr().strip() + ")");
        }
        if (!r.stderr().isBlank()) {
            LOG.warn("sbatch submitted job {} ({}) with warnings: {}", id, s.comment(), r.stderr().strip());
        }
        LOG.debug("Slurm job {} submitted for {}", id, s.comment());
        return id;
    }

    /**
     * The batch script with the job's environment as {@code export} lines after its leading comment block: sbatch
     * reads {@code #SBATCH} directives only up to the first command, and {@code --export=NONE} gives the job no
     * variables of the login session's but Slurm's own.
     */
    static String script(SlurmSubmission s) {
        if (s.env().isEmpty()) {
            return s.script();
        }
        StringBuilder exports = new StringBuilder();
        for (String key : new TreeSet<>(s.env().keySet())) {
            exports.append(key).append('=').append(SshConnections.quote(s.env().get(key))).append("; export ")
                    .append(key).append('\n');
        }
        List<String> lines = List.of(s.script().split("\n", -1));
        int at = 0;
        while (at < lines.size() && (lines.get(at).startsWith("#") || lines.get(at).isBlank())) {
            at++;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < at; i++) {
            b.append(lines.get(i)).append('\n');
        }
        b.append(exports);
        b.append(String.join("\n", lines.subList(at, lines.size())));
        return b.toString();
    }

    @Override
    public List<SlurmJob> jobs(Collection<String> ids) {
        if (ids.isEmpty()) {
            return List.of();
        }
        Set<String> wanted = new HashSet<>(ids);
        List<SlurmJob> found = new ArrayList<>(queue().stream().filter(j -> wanted.contains(j.id())).toList());
        found.forEach(j -> wanted.remove(j.id()));
        if (!wanted.isEmpty() && accounting()) {
            found.addAll(accounted(wanted));
        }
        return found;
    }

    @Override
    public List<SlurmJob> jobsTagged(String tag) {
        return queue().stream().filter(j -> j.isTagged(tag)).toList();
    }

    @Override
    public Optional<List<SlurmJob>> jobsTaggedWith(String prefix) {
        return Optional.of(queue().stream().filter(j -> j.comment().startsWith(prefix)).toList());
    }

    @Override
    public void cancel(String id) {
        if (!JOB_ID.matcher(id).matches()) {
            throw GateException.permanent("'" + id + "' is not a Slurm job id");
        }
        SshConnections.Result r = exec(List.of("scancel", id), new byte[0]);
        String said = slurmSays(r).toLowerCase(Locale.ROOT);
        if (NOTHING_TO_CANCEL.stream().anyMatch(said::contains)) {
            LOG.debug("Slurm job {} to cancel has ended or is not known (any more)", id);
            return;
        }
        if (r.status() != 0 || isUnreachable(said)) {
            throw failure("cancel job " + id, r);
        }
    }

    @Override
    public void close() {
        // The SSH connections belong to the gate, which closes them after the backend.
    }

    /** Every job of the login user that slurmctld knows now, in any state. */
    private List<SlurmJob> queue() {
        String out = run("list jobs", List.of("squeue", "--me", "--noheader", "--states=all", "-O", SQUEUE_FIELDS),
                new byte[0]);
        List<SlurmJob> jobs = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(S, -1);
            if (f.length != SQUEUE_COUNT + 1) {
                // Only a job name or comment holding a newline or the separator does this; the gate submits none.
                LOG.debug("squeue line of {} fields skipped: {}", f.length, line.replaceAll("\\p{Cntrl}", "?"));
                continue;
            }
            String state = f[3].strip().toUpperCase(Locale.ROOT);
            OptionalInt exit = OptionalInt.empty();
            if (SlurmStates.hasEnded(state) && f[7].strip().matches("\\d{1,9}")) {
                exit = OptionalInt.of(Integer.parseInt(f[7].strip()));
            }
            // A job Slurm requeued although it was submitted with --no-requeue (the queue cancels such a copy).
            jobs.add(new SlurmJob(f[0].strip(), f[1], nullable(f[2]), state, reason(f[4]), epoch(f[5]),
                    nodes(f[6]), exit, parseInt(f[8])));
        }
        return jobs;
    }

    /** The jobs among {@code ids} that sacct knows (the site keeps accounting; squeue has forgotten them). */
    private List<SlurmJob> accounted(Set<String> ids) {
        List<String> words = new ArrayList<>(List.of("sacct", "--noheader", "-X", "--parsable2", "--delimiter=" + S,
                "--jobs=" + String.join(",", new TreeSet<>(ids)),
                "--format=JobIDRaw,State,Reason,Start,NodeList,ExitCode,Comment,JobName"));
        String out = run("ask sacct", words, new byte[0]);
        List<SlurmJob> jobs = new ArrayList<>();
        for (String line : out.split("\n")) {
            String[] f = line.split(S, 8);
            if (f.length < 8 || !ids.contains(f[0].strip())) {
                continue;
            }
            // sacct writes "CANCELLED by 1000" and ExitCode as "code:signal".
            String state = f[1].strip().split(" ")[0].toUpperCase(Locale.ROOT);
            OptionalInt exit = OptionalInt.empty();
            Matcher m = Pattern.compile("(\\d+):(\\d+)").matcher(f[5].strip());
            if (SlurmStates.hasEnded(state) && m.matches()) {
                exit = OptionalInt.of((Integer.parseInt(m.group(1)) & 0xff) << 8
                        | (Integer.parseInt(m.group(2)) & 0x7f));
            }
            jobs.add(new SlurmJob(f[0].strip(), f[7], nullable(f[6]), state, reason(f[2]), epoch(f[3]),
                    nodes(f[4]), exit));
        }
        return jobs;
    }

    /** Runs {@code words} and returns its stdout, or throws as {@link #failure} says when it exits non-zero. */
    private String run(String what, List<String> words, byte[] stdin) {
        SshConnections.Result r = exec(words, stdin);
        if (r.status() != 0) {
            throw failure(what, r);
        }
        return r.stdout();
    }

    private SshConnections.Result exec(List<String> words, byte[] stdin) {
        List<String> line = new ArrayList<>(List.of("env", "SLURM_TIME_FORMAT=%s"));
        line.addAll(words);
        long started = System.nanoTime();
        SshConnections.Result r = connections.exec(login, SshConnections.commandLine(line), stdin, timeout);
        LOG.debug("{} on {} -> exit {} in {} ms", words.get(0), login.address(), r.status(),
                (System.nanoTime() - started) / 1_000_000);
        return r;
    }

    /**
     * The error of a command that exited non-zero: transient when slurmctld (or munge) could not be reached, permanent
     * when the command is missing on the login node or Slurm refused.
     */
    private GateException failure(String what, SshConnections.Result r) {
        String said = slurmSays(r);
        if (r.status() == 127) {
            return GateException.permanent(describe() + ": " + what + " failed: a Slurm command is not found on the"
                    + " login node (" + said + "); the gate needs sbatch, squeue, scontrol and scancel on the"
                    + " PATH of a non-interactive login");
        }
        if (isUnreachable(said.toLowerCase(Locale.ROOT))) {
            return transientFailure(what, r);
        }
        return GateException.permanent(describe() + ": " + what + " failed (exit " + r.status() + "): " + said);
    }

    private GateException transientFailure(String what, SshConnections.Result r) {
        return GateException.transientFailure(describe() + ": " + what + " failed: " + slurmSays(r), null,
                Optional.empty());
    }

    private static boolean isUnreachable(String lowerCaseMessage) {
        return UNREACHABLE.stream().anyMatch(lowerCaseMessage::contains);
    }

    /** What the command said on stderr (or stdout when stderr is empty), its lines joined, without "sbatch: error: ". */
    private static String slurmSays(SshConnections.Result r) {
        String text = r.stderr().isBlank() ? r.stdout() : r.stderr();
        List<String> lines = new ArrayList<>();
        for (String line : text.strip().split("\n")) {
            String l = line.strip().replaceFirst("^[a-z]+: (error|fatal): ", "");
            if (!l.isEmpty()) {
                lines.add(l);
            }
        }
        return lines.isEmpty() ? "exit " + r.status() : String.join("; ", lines);
    }

    private static void refuseControlCharacters(String what, String value) {
        if (value.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw GateException.permanent("the " + what + " holds a control character, which Slurm's commands would"
                    + " print as is and so break their listings: " + value.replaceAll("\\p{Cntrl}", "?"));
        }
    }

    /** {@code Key=Value} words of a {@code scontrol -o} line (values without spaces, as partitions' are). */
    static Map<String, String> keyValues(String line) {
        Map<String, String> f = new LinkedHashMap<>();
        for (String word : line.strip().split("\\s+")) {
            int eq = word.indexOf('=');
            if (eq > 0) {
                f.putIfAbsent(word.substring(0, eq), word.substring(eq + 1));
            }
        }
        return f;
    }

    /** A Slurm time limit ({@code [days-][hours:]minutes:seconds}) in minutes; empty for UNLIMITED or unreadable. */
    static Optional<Duration> duration(String raw) {
        Matcher m = TIME.matcher(raw.strip());
        if (!m.matches()) {
            return Optional.empty();
        }
        long days = m.group(1) == null ? 0 : Long.parseLong(m.group(1));
        long hours = m.group(2) == null ? 0 : Long.parseLong(m.group(2));
        Duration d = Duration.ofDays(days).plusHours(hours).plusMinutes(Long.parseLong(m.group(3)))
                .plusSeconds(Long.parseLong(m.group(4)));
        return d.isZero() ? Optional.empty() : Optional.of(d);
    }

    private static Optional<Instant> epoch(String raw) {
        String s = raw.strip();
        if (s.matches("\\d{1,12}") && Long.parseLong(s) > 0) {
            return Optional.of(Instant.ofEpochSecond(Long.parseLong(s)));
        }
        return Optional.empty();
    }

    private static String reason(String raw) {
        String s = raw.strip();
        return s.equals("None") || s.equals("(null)") ? "" : s;
    }

    private static List<String> nodes(String raw) {
        String s = nullable(raw);
        return s.isEmpty() ? List.of() : Hostlist.expand(s);
    }

    private static String nullable(String raw) {
        String s = strip(raw);
        return s.equals("(null)") || s.equals("N/A") ? "" : s;
    }

    /** The value without the separator and the spaces around it. */
    private static String strip(String raw) {
        return raw.replace(S, "").strip();
    }

    private static int parseInt(String raw) {
        String s = raw.strip();
        return s.matches("\\d{1,9}") ? Integer.parseInt(s) : 0;
    }

    private static long parseLong(String raw) {
        String s = raw.strip().replaceAll("[^0-9].*$", "");
        return s.matches("\\d{1,18}") ? Long.parseLong(s) : 0;
    }

    @Override
    public String toString() {
        return describe();
    }
}
