package dev.skyport.core.internal;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.JobId;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.RemoteSite;
import dev.skyport.gate.BatchJob;
import dev.skyport.gate.BatchPartition;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.BatchRequest;
import dev.skyport.gate.BatchStatus;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.GateProvider;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * A batch site of real processes for the engine's tests (gate {@code process-batch}): jobs are run by {@code sh} in a
 * process group of their own, in a "shared file system" directory under the option {@code state}, where everything
 * the site knows is kept in files, so that several gate instances, a restarted engine and a child JVM see one site.
 * Partitions as a small Slurm's: {@code debug} (default, up to 2 nodes of 2 cpus and 2000 MiB, 60 min) and
 * {@code small} (1 node, 10 min, account {@code physics} only). Controls, files in the state directory:
 * {@code hold} (jobs pend with the reason and expected start it holds, two lines), {@code fail-next} (the next N
 * backend calls fail transiently, as an unreachable slurmrestd), {@code halt-after-submit} (the JVM halts right after
 * the site accepted a job: a crash between the reply and the engine's commit); {@code calls.log} records every call.
 * Account {@code nosuch} is refused at submit as Slurm's job_submit.lua refuses it.
 */
final class ProcessBatchGate implements Gate {
    static final String INVALID_ACCOUNT = "Invalid account or account/partition combination specified";

    private final Path state;
    private final Path jobs;
    private final Path shared;

    ProcessBatchGate(Path state) {
        this.state = state;
        this.jobs = state.resolve("jobs");
        this.shared = state.resolve("shared");
        try {
            Files.createDirectories(jobs);
            Files.createDirectories(shared);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static final class Provider implements GateProvider {
        @Override
        public String name() {
            return "process-batch";
        }

        @Override
        public Gate create(GateConfig config) {
            String dir = config.options().get("state");
            if (dir == null) {
                throw GateException.permanent("process-batch: option 'state' is required");
            }
            for (String key : config.options().keySet()) {
                if (!key.equals("state")) {
                    throw GateException.permanent("process-batch: unknown option '" + key + "'");
                }
            }
            return new ProcessBatchGate(Path.of(dir));
        }
    }

    // ---------------------------------------------------------------- controls for tests

    static void hold(Path state, String reason, Instant expected) throws IOException {
        Files.writeString(state.resolve("hold"), reason + "\n" + expected + "\n");
    }

    static void release(Path state) throws IOException {
        Files.deleteIfExists(state.resolve("hold"));
    }

    static void failNext(Path state, int calls) throws IOException {
        Files.writeString(state.resolve("fail-next"), Integer.toString(calls));
    }

    static List<String> calls(Path state) throws IOException {
        Path log = state.resolve("calls.log");
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    /** The backend jobs of the site, by id, each with its tag. */
    static Map<String, String> backendJobs(Path state) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        Path dir = state.resolve("jobs");
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                out.put(p.getFileName().toString(), Files.readString(p.resolve("tag")).trim());
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- gate

    @Override
    public String name() {
        return "process-batch";
    }

    @Override
    public List<Node> nodes() {
        return List.of(new Node("n1", "debug", 2, 2000L << 20, 0, NodeState.UP, Map.of()),
                new Node("n2", "debug", 2, 2000L << 20, 0, NodeState.UP, Map.of()));
    }

    @Override
    public List<Flavor> flavors() {
        return List.of();
    }

    @Override
    public List<Image> images() {
        return List.of();
    }

    @Override
    public List<RemoteSite> remotes() {
        return List.of();
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        throw GateException.permanent("a batch site creates no partitions");
    }

    @Override
    public void deletePartition(String name) {
        throw GateException.permanent("a batch site creates no partitions");
    }

    @Override
    public NodeAccess access(String nodeName) {
        throw GateException.permanent("the engine runs nothing on a batch site's nodes");
    }

    private final Queue queue = new Queue();

    @Override
    public Optional<BatchQueue> batchQueue() {
        return Optional.of(queue);
    }

    @Override
    public void close() {
    }

    /** The site's queue. */
    private final class Queue implements BatchQueue {

    private synchronized void call(String what) {
        try {
            Files.writeString(state.resolve("calls.log"), what + "\n", StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            Path fail = state.resolve("fail-next");
            if (Files.exists(fail)) {
                int left = Integer.parseInt(Files.readString(fail).trim());
                if (left > 0) {
                    Files.writeString(fail, Integer.toString(left - 1));
                    throw GateException.transientFailure("slurmrestd at 127.0.0.1 is unreachable (connection refused)",
                            null, Optional.of(Duration.ofMillis(100)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public List<BatchPartition> partitions() {
        call("partitions");
        return List.of(
                new BatchPartition("debug", true, true, 2, 2, 2000L << 20, 0, Optional.of(Duration.ofMinutes(60)),
                        List.of(), List.of("n1", "n2")),
                new BatchPartition("small", false, true, 1, 2, 1000L << 20, 0, Optional.of(Duration.ofMinutes(10)),
                        List.of("physics"), List.of("n1")));
    }

    @Override
    public void check(BatchRequest request) {
        call("check " + request.tag());
        BatchPartition p = partitions().stream().filter(x -> x.name().equals(request.partition().orElse("debug")))
                .findFirst().orElseThrow(() -> GateException.permanent("no partition " + request.partition()));
        if (request.nodes() > p.maxNodes() || request.cpusPerNode() > p.maxCpusPerNode()) {
            throw GateException.permanent("the job does not fit " + p.describe());
        }
    }

    @Override
    public synchronized BatchJob submit(BatchRequest request) {
        call("submit " + request.tag());
        Optional<BatchJob> existing = lookUp(request.job(), request.attempt());
        if (existing.isPresent()) {
            return existing.get();
        }
        if (request.account().orElse("").equals("nosuch")) {
            throw GateException.permanent(INVALID_ACCOUNT);
        }
        try {
            int next;
            try (Stream<Path> s = Files.list(jobs)) {
                next = (int) s.count() + 1;
            }
            String id = Integer.toString(next);
            Path dir = jobs.resolve(String.format("%05d", next));
            Path tmp = jobs.resolve(".tmp-" + id);
            Files.createDirectories(tmp);
            Files.writeString(tmp.resolve("id"), id);
            Files.writeString(tmp.resolve("tag"), request.tag());
            Files.writeString(tmp.resolve("directory"), request.directory());
            Files.writeString(tmp.resolve("workdir"), request.workdir());
            Files.writeString(tmp.resolve("run"), request.runDirectory());
            StringBuilder env = new StringBuilder();
            request.environment().forEach((k, v) -> env.append(k).append('=').append(v.replace("\n", " "))
                    .append('\n'));
            Files.writeString(tmp.resolve("env"), env.toString());
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            if (Files.exists(state.resolve("halt-after-submit"))) {
                Runtime.getRuntime().halt(137); // the site has the job; the engine never hears its reply
            }
            return new BatchJob(id, request.job(), request.attempt());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Optional<Path> dirOf(String id) {
        Path p = jobs.resolve(String.format("%05d", Integer.parseInt(id)));
        return Files.isDirectory(p) ? Optional.of(p) : Optional.empty();
    }

    @Override
    public Optional<BatchJob> find(JobId job, int attempt) {
        call("find " + BatchRequest.tag(job, attempt));
        return lookUp(job, attempt);
    }

    private Optional<BatchJob> lookUp(JobId job, int attempt) {
        try (Stream<Path> s = Files.list(jobs)) {
            for (Path p : s.filter(x -> !x.getFileName().toString().startsWith(".")).sorted().toList()) {
                if (Files.readString(p.resolve("tag")).trim().equals(BatchRequest.tag(job, attempt))) {
                    return Optional.of(new BatchJob(Files.readString(p.resolve("id")).trim(), job, attempt));
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized Map<BatchJob, BatchStatus> status(Collection<BatchJob> asked) {
        call("status " + asked.size());
        Map<BatchJob, BatchStatus> out = new LinkedHashMap<>();
        try {
            for (BatchJob j : asked) {
                out.put(j, statusOf(j));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private BatchStatus statusOf(BatchJob j) throws IOException {
        Optional<Path> dir = dirOf(j.id());
        if (dir.isEmpty()) {
            return new BatchStatus(BatchStatus.State.GONE, "", Optional.empty(), List.of(), OptionalInt.empty(),
                    OptionalInt.empty());
        }
        Path d = dir.get();
        Path exit = Path.of(Files.readString(d.resolve("run"))).resolve(DetachedRun.EXIT_CODE);
        if (Files.exists(d.resolve("canceled"))) {
            return new BatchStatus(BatchStatus.State.CANCELLED, "", Optional.empty(), List.of("n1"),
                    OptionalInt.empty(), OptionalInt.of(15));
        }
        if (Files.exists(exit)) {
            int code = Integer.parseInt(Files.readString(exit).trim());
            return new BatchStatus(code == 0 ? BatchStatus.State.COMPLETED : BatchStatus.State.FAILED,
                    code == 0 ? "" : "NonZeroExitCode", Optional.empty(), List.of("n1"), OptionalInt.of(code),
                    OptionalInt.empty());
        }
        if (!Files.exists(d.resolve("pid"))) {
            Path hold = state.resolve("hold");
            if (Files.exists(hold)) {
                List<String> lines = Files.readAllLines(hold);
                return new BatchStatus(BatchStatus.State.PENDING, lines.get(0), Optional.of(Instant.parse(lines.get(1))),
                        List.of(), OptionalInt.empty(), OptionalInt.empty());
            }
            launch(d, exit);
        }
        return new BatchStatus(BatchStatus.State.RUNNING, "", Optional.empty(), List.of("n1"), OptionalInt.empty(),
                OptionalInt.empty());
    }

    /** Starts the job's script in a process group of its own, which outlives this JVM. */
    private static void launch(Path d, Path exit) throws IOException {
        String directory = Files.readString(d.resolve("directory"));
        String workdir = Files.readString(d.resolve("workdir"));
        Files.createDirectories(exit.getParent());
        ProcessBuilder pb = new ProcessBuilder("setsid", "sh", "-c",
                "cd \"$1\" || exit 1; sh \"$2/script\" > \"$2/stdout.log\" 2> \"$2/stderr.log\"; echo $? > \"$3.tmp\";"
                        + " mv \"$3.tmp\" \"$3\"", "sh", workdir, directory, exit.toString());
        Map<String, String> env = pb.environment();
        for (String line : Files.readAllLines(d.resolve("env"))) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                env.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        Files.writeString(d.resolve("pid"), Long.toString(p.pid()));
    }

    @Override
    public synchronized void cancel(BatchJob job) {
        call("cancel " + job.id());
        try {
            Optional<Path> dir = dirOf(job.id());
            if (dir.isEmpty() || Files.exists(Path.of(Files.readString(dir.get().resolve("run")))
                    .resolve(DetachedRun.EXIT_CODE))) {
                return;
            }
            Files.writeString(dir.get().resolve("canceled"), "");
            Path pid = dir.get().resolve("pid");
            if (Files.exists(pid)) {
                new ProcessBuilder("kill", "-KILL", "--", "-" + Files.readString(pid).trim())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public NodeAccess files() {
        return new SharedFiles();
    }

    /** The site's shared file system: a directory of this machine that is not the engine's. */
    private final class SharedFiles implements NodeAccess {
        @Override
        public String node() {
            return "process-batch-login";
        }

        @Override
        public String directoryOf(JobId job, Path engineDirectory) {
            return shared.resolve(job.toString()).toString();
        }

        @Override
        public void upload(Path local, String remotePath) {
            copy(local, Path.of(remotePath));
        }

        @Override
        public void download(String remotePath, Path local) {
            if (!Files.exists(Path.of(remotePath))) {
                throw GateException.permanent(remotePath + " does not exist");
            }
            copy(Path.of(remotePath), local);
        }

        @Override
        public void uploadTree(Path local, String remotePath) {
            copyTree(local, Path.of(remotePath));
        }

        @Override
        public void downloadTree(String remotePath, Path local) {
            copyTree(Path.of(remotePath), local);
        }

        private void copy(Path from, Path to) {
            try {
                Files.createDirectories(to.getParent());
                Path tmp = to.resolveSibling(".tmp-" + to.getFileName());
                Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw GateException.permanent("cannot copy " + from + ": " + e);
            }
        }

        private void copyTree(Path from, Path to) {
            try (Stream<Path> s = Files.walk(from)) {
                for (Path p : s.toList()) {
                    Path target = to.resolve(from.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(target);
                    } else {
                        copy(p, target);
                    }
                }
            } catch (IOException e) {
                throw GateException.permanent("cannot copy " + from + ": " + e);
            }
        }

        @Override
        public RunHandle launch(RunRequest request) {
            throw GateException.permanent("the site's file access runs nothing");
        }

        @Override
        public CompletableFuture<RunOutcome> watch(RunHandle handle) {
            throw GateException.permanent("the site's file access runs nothing");
        }

        @Override
        public RunProbe probe(RunRequest request) {
            throw GateException.permanent("the site's file access runs nothing");
        }

        @Override
        public void signal(RunHandle handle, RunSignal signal) {
            throw GateException.permanent("the site's file access runs nothing");
        }
    }

    }
}
