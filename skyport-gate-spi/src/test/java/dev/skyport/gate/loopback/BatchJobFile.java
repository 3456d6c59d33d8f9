package dev.skyport.gate.loopback;

import dev.skyport.api.JobId;
import dev.skyport.gate.BatchRequest;
import dev.skyport.gate.BatchStatus;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.UUID;

/**
 * One job of the loopback batch queue as kept on disk ({@code <queue>/jobs/<id>.properties}, replaced whole by an
 * atomic rename): what was asked, where it runs, and how far it got. Mutable; only touched under the queue's lock.
 */
final class BatchJobFile {
    final long id;
    final JobId job;
    final int attempt;
    final String name;
    final String directory;
    final String workdir;
    final Map<String, String> environment;
    final String owner;
    final String partition;
    final String account;
    final int nodes;
    final int cpusPerNode;
    /** Per node, in bytes: the request's, or the partition's share per cpu when it asked for none. */
    final long memoryPerNode;
    final int gpusPerNode;
    final Duration timeLimit;
    final long submittedMillis;

    BatchStatus.State state = BatchStatus.State.PENDING;
    String reason = "None";
    List<String> allocated = List.of();
    long startMillis;
    long endMillis;
    /** The wrapper's pid, which is also the job's process group id; 0 until launched. */
    long processGroup;
    /** The state an end by our signal is reported as: CANCELLED or TIMEOUT; empty when it ends on its own. */
    Optional<BatchStatus.State> endedBy = Optional.empty();
    /** When the processes still there get SIGKILL after a SIGTERM; 0 when no signal was sent. */
    long killAtMillis;
    /** Whether its processes still hold its nodes (an ended job's wrapper that has not gone yet). */
    boolean holdsNodes;
    OptionalInt exitCode = OptionalInt.empty();
    OptionalInt signal = OptionalInt.empty();
    /** Past the minimum job age: the queue no longer reports it (GONE), as Slurm forgets old jobs. */
    boolean forgotten;

    BatchJobFile(long id, BatchRequest r, String partition, long memoryPerNode, Duration timeLimit,
                 long submittedMillis) {
        this.id = id;
        this.job = r.job();
        this.attempt = r.attempt();
        this.name = r.name();
        this.directory = r.directory();
        this.workdir = r.workdir();
        this.environment = r.environment();
        this.owner = r.owner();
        this.partition = partition;
        this.account = r.account().orElse("");
        this.nodes = r.nodes();
        this.cpusPerNode = r.cpusPerNode();
        this.memoryPerNode = memoryPerNode;
        this.gpusPerNode = r.gpusPerNode();
        this.timeLimit = timeLimit;
        this.submittedMillis = submittedMillis;
    }

    private BatchJobFile(Properties p) {
        this.id = Long.parseLong(p.getProperty("id"));
        this.job = new JobId(UUID.fromString(p.getProperty("job")));
        this.attempt = Integer.parseInt(p.getProperty("attempt"));
        this.name = p.getProperty("name");
        this.directory = p.getProperty("directory");
        this.workdir = p.getProperty("workdir");
        Map<String, String> env = new LinkedHashMap<>();
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith("env.")) {
                env.put(key.substring(4), p.getProperty(key));
            }
        }
        this.environment = Map.copyOf(env);
        this.owner = p.getProperty("owner");
        this.partition = p.getProperty("partition");
        this.account = p.getProperty("account");
        this.nodes = Integer.parseInt(p.getProperty("nodes"));
        this.cpusPerNode = Integer.parseInt(p.getProperty("cpusPerNode"));
        this.memoryPerNode = Long.parseLong(p.getProperty("memoryPerNode"));
        this.gpusPerNode = Integer.parseInt(p.getProperty("gpusPerNode"));
        this.timeLimit = Duration.ofMillis(Long.parseLong(p.getProperty("timeLimitMillis")));
        this.submittedMillis = Long.parseLong(p.getProperty("submittedMillis"));
        this.state = BatchStatus.State.valueOf(p.getProperty("state"));
        this.reason = p.getProperty("reason");
        String alloc = p.getProperty("allocated");
        this.allocated = alloc.isEmpty() ? List.of() : List.of(alloc.split(","));
        this.startMillis = Long.parseLong(p.getProperty("startMillis"));
        this.endMillis = Long.parseLong(p.getProperty("endMillis"));
        this.processGroup = Long.parseLong(p.getProperty("processGroup"));
        String by = p.getProperty("endedBy");
        this.endedBy = by.isEmpty() ? Optional.empty() : Optional.of(BatchStatus.State.valueOf(by));
        this.killAtMillis = Long.parseLong(p.getProperty("killAtMillis"));
        this.holdsNodes = Boolean.parseBoolean(p.getProperty("holdsNodes"));
        this.exitCode = optionalInt(p.getProperty("exitCode"));
        this.signal = optionalInt(p.getProperty("signal"));
        this.forgotten = Boolean.parseBoolean(p.getProperty("forgotten"));
    }

    String tag() {
        return BatchRequest.tag(job, attempt);
    }

    String runDirectory() {
        return directory + "/" + dev.skyport.gate.DetachedRun.runDirectoryName(attempt);
    }

    static Path file(Path jobsDir, long id) {
        return jobsDir.resolve(id + ".properties");
    }

    static Optional<BatchJobFile> load(Path jobsDir, long id) throws IOException {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file(jobsDir, id), StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        return Optional.of(new BatchJobFile(p));
    }

    /** Every job file in {@code jobsDir}, by id. */
    static List<BatchJobFile> loadAll(Path jobsDir) throws IOException {
        List<Long> ids = new ArrayList<>();
        try (var files = Files.list(jobsDir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String n = f.getFileName().toString();
                if (n.endsWith(".properties") && n.chars().limit(n.length() - 11).allMatch(Character::isDigit)) {
                    ids.add(Long.parseLong(n.substring(0, n.length() - 11)));
                }
            }
        }
        ids.sort(null);
        List<BatchJobFile> out = new ArrayList<>();
        for (long id : ids) {
            load(jobsDir, id).ifPresent(out::add);
        }
        return out;
    }

    void store(Path jobsDir) throws IOException {
        Properties p = new Properties();
        p.setProperty("id", Long.toString(id));
        p.setProperty("job", job.toString());
        p.setProperty("attempt", Integer.toString(attempt));
        p.setProperty("name", name);
        p.setProperty("directory", directory);
        p.setProperty("workdir", workdir);
        environment.forEach((k, v) -> p.setProperty("env." + k, v));
        p.setProperty("owner", owner);
        p.setProperty("partition", partition);
        p.setProperty("account", account);
        p.setProperty("nodes", Integer.toString(nodes));
        p.setProperty("cpusPerNode", Integer.toString(cpusPerNode));
        p.setProperty("memoryPerNode", Long.toString(memoryPerNode));
        p.setProperty("gpusPerNode", Integer.toString(gpusPerNode));
        p.setProperty("timeLimitMillis", Long.toString(timeLimit.toMillis()));
        p.setProperty("submittedMillis", Long.toString(submittedMillis));
        p.setProperty("state", state.name());
        p.setProperty("reason", reason);
        p.setProperty("allocated", String.join(",", allocated));
        p.setProperty("startMillis", Long.toString(startMillis));
        p.setProperty("endMillis", Long.toString(endMillis));
        p.setProperty("processGroup", Long.toString(processGroup));
        p.setProperty("endedBy", endedBy.map(Enum::name).orElse(""));
        p.setProperty("killAtMillis", Long.toString(killAtMillis));
        p.setProperty("holdsNodes", Boolean.toString(holdsNodes));
        p.setProperty("exitCode", exitCode.isPresent() ? Integer.toString(exitCode.getAsInt()) : "");
        p.setProperty("signal", signal.isPresent() ? Integer.toString(signal.getAsInt()) : "");
        p.setProperty("forgotten", Boolean.toString(forgotten));
        Path target = file(jobsDir, id);
        Path tmp = jobsDir.resolve("." + id + ".tmp-" + UUID.randomUUID());
        try (Writer out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(out, null);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static OptionalInt optionalInt(String s) {
        return s == null || s.isEmpty() ? OptionalInt.empty() : OptionalInt.of(Integer.parseInt(s));
    }

    @Override
    public String toString() {
        return "batch job " + id + " (" + tag() + ", " + state + (reason.isEmpty() ? "" : " " + reason) + ")";
    }
}
