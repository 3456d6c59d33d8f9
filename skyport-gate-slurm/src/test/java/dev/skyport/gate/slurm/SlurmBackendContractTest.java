package dev.skyport.gate.slurm;

import dev.skyport.gate.BatchStatus;
import dev.skyport.gate.GateException;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What every {@link SlurmBackend} does against a real Slurm on loopback, so that the slurm gate behaves the same over
 * slurmrestd and over SSH: the same partitions, nodes, states, reasons, exit statuses and refusals.
 */
abstract class SlurmBackendContractTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    protected static SlurmCluster cluster;
    @TempDir
    static Path tmp;

    protected SlurmBackend backend;
    private final List<String> submitted = new ArrayList<>();

    @BeforeAll
    static void startCluster() {
        cluster = SlurmCluster.start();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** The backend under test, reaching {@link #cluster}. */
    protected abstract SlurmBackend createBackend() throws Exception;

    @BeforeEach
    void openBackend() throws Exception {
        backend = createBackend();
    }

    @AfterEach
    void cancelAndClose() {
        for (String id : submitted) {
            try {
                cluster.run("scancel", id);
            } catch (RuntimeException e) {
                // already gone
            }
        }
        backend.close();
    }

    @Test
    void itAnswersAndListsPartitionsAndNodesWithTheirLimits() {
        backend.ping();
        List<SlurmPartition> partitions = backend.partitions();
        assertThat(partitions).extracting(SlurmPartition::name).containsExactlyInAnyOrder("debug", "small");
        SlurmPartition debug = partitions.stream().filter(p -> p.name().equals("debug")).findFirst().orElseThrow();
        assertThat(debug.isDefault()).isTrue();
        assertThat(debug.up()).isTrue();
        assertThat(debug.maxNodes()).isEmpty();
        assertThat(debug.maxTime()).contains(Duration.ofMinutes(60));
        assertThat(debug.allowedAccounts()).isEmpty();
        assertThat(debug.nodes()).containsExactly("n1", "n2");
        SlurmPartition small = partitions.stream().filter(p -> p.name().equals("small")).findFirst().orElseThrow();
        assertThat(small.isDefault()).isFalse();
        assertThat(small.maxNodes()).hasValue(1);
        assertThat(small.maxTime()).contains(Duration.ofMinutes(10));
        assertThat(small.nodes()).containsExactly("n1");

        List<SlurmNode> nodes = backend.nodes();
        assertThat(nodes).extracting(SlurmNode::name).containsExactlyInAnyOrder("n1", "n2");
        SlurmNode n1 = nodes.stream().filter(n -> n.name().equals("n1")).findFirst().orElseThrow();
        assertThat(n1.partitions()).containsExactlyInAnyOrder("debug", "small");
        assertThat(n1.cpus()).isEqualTo(2);
        assertThat(n1.memoryMiB()).isEqualTo(2000);
        assertThat(n1.gres()).isEmpty();
        assertThat(n1.state()).isIn("idle", "mixed", "allocated");
        assertThat(n1.reason()).isEmpty();
    }

    @Test
    void aDrainedNodeShowsItsFlagAndReason() {
        // A reason with words that look like fields of scontrol's line.
        cluster.setNodeState("n2", "DRAIN", "disk check: sda  x=1 Partitions=zz");
        try {
            SlurmNode n2 = backend.nodes().stream().filter(n -> n.name().equals("n2")).findFirst().orElseThrow();
            assertThat(n2.flags()).contains("DRAIN");
            assertThat(n2.reason()).isEqualTo("disk check: sda  x=1 Partitions=zz");
            assertThat(n2.partitions()).containsExactly("debug");
            assertThat(SlurmGate.state(n2)).isIn(dev.skyport.api.NodeState.DOWN, dev.skyport.api.NodeState.DRAINING);
        } finally {
            cluster.setNodeState("n2", "RESUME", "");
        }
    }

    @Test
    void aJobCompletesWithItsOutputAndEnvironment() throws Exception {
        Path dir = jobDirectory("done");
        String value = "it's \"quoted\", $(not run) and `this`";
        String id = submit(submission(dir, "#!/bin/sh\necho \"hello $GREETING\"\npwd\n", "done")
                .env(Map.of("GREETING", value, "PATH", "/usr/bin:/bin")).build());
        SlurmJob job = awaitJob(id, j -> SlurmStates.hasEnded(j.state()), "the job's end");
        assertThat(job.state()).isEqualTo("COMPLETED");
        assertThat(job.exitStatus()).hasValue(0);
        assertThat(job.reason()).isEmpty();
        assertThat(job.nodes()).isNotEmpty().allMatch(n -> n.equals("n1") || n.equals("n2"));
        assertThat(job.startTime()).isPresent();
        BatchStatus status = SlurmQueue.toStatus(job);
        assertThat(status.state()).isEqualTo(BatchStatus.State.COMPLETED);
        assertThat(status.exitCode()).hasValue(0);
        assertThat(Files.readString(dir.resolve("out.txt"))).isEqualTo("hello " + value + "\n" + dir + "\n");
    }

    @Test
    void aNonZeroExitFailsTheJobWithThatStatus() throws Exception {
        Path dir = jobDirectory("exit3");
        String id = submit(submission(dir, "#!/bin/sh\nexit 3\n", "exit3").build());
        SlurmJob job = awaitJob(id, j -> SlurmStates.hasEnded(j.state()), "the job's end");
        assertThat(job.state()).isEqualTo("FAILED");
        assertThat(job.reason()).isEqualTo("NonZeroExitCode");
        assertThat(job.exitStatus()).hasValue(3 << 8);
        BatchStatus status = SlurmQueue.toStatus(job);
        assertThat(status.state()).isEqualTo(BatchStatus.State.FAILED);
        assertThat(status.exitCode()).hasValue(3);
        assertThat(status.signal()).isEmpty();
    }

    @Test
    void pendingAndRunningJobsAreCancelled() throws Exception {
        Path dir = jobDirectory("cancel");
        String running = submit(submission(dir, "#!/bin/sh\nsleep 300\n", "cancel-running").nodes(2).cpus(2)
                .build());
        awaitJob(running, j -> j.state().equals("RUNNING"), "the first job running");
        String pending = submit(submission(dir, "#!/bin/sh\nsleep 300\n", "cancel-pending").nodes(2).cpus(2)
                .build());
        SlurmJob waiting = awaitJob(pending, j -> j.state().equals("PENDING") && !j.reason().isEmpty()
                && j.startTime().isPresent(), "the second job pending with a reason and an expected start");
        assertThat(waiting.reason()).isIn("Resources", "Priority");
        assertThat(waiting.exitStatus()).isEmpty();
        assertThat(SlurmQueue.toStatus(waiting).state()).isEqualTo(BatchStatus.State.PENDING);
        assertThat(SlurmQueue.toStatus(waiting).expectedStart()).isEqualTo(waiting.startTime());

        backend.cancel(pending);
        assertThat(awaitJob(pending, j -> SlurmStates.hasEnded(j.state()), "the pending job's end").state())
                .isEqualTo("CANCELLED");
        backend.cancel(running);
        assertThat(awaitJob(running, j -> SlurmStates.hasEnded(j.state()), "the running job's end").state())
                .isEqualTo("CANCELLED");
        // Again, and a job Slurm never had: not errors.
        backend.cancel(running);
        backend.cancel("987654");
    }

    @Test
    void anUnknownPartitionIsRefusedForGoodAndNothingIsQueued() throws Exception {
        Path dir = jobDirectory("nopart");
        List<String> before = cluster.jobIds();
        SlurmSubmission s = submission(dir, "#!/bin/sh\ntrue\n", "nopart").partition("nopart").build();
        assertThatThrownBy(() -> backend.submit(s)).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.getMessage()).containsIgnoringCase("partition");
        });
        assertThat(cluster.jobIds()).containsExactlyInAnyOrderElementsOf(before);
        assertThat(backend.jobsTagged(s.comment())).isEmpty();
    }

    @Test
    void anInvalidAccountIsRefusedForGoodAndNothingIsQueued() throws Exception {
        Path dir = jobDirectory("account");
        List<String> before = cluster.jobIds();
        SlurmSubmission s = submission(dir, "#!/bin/sh\ntrue\n", "account").account("nope").build();
        assertThatThrownBy(() -> backend.submit(s)).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.getMessage()).contains("Invalid account");
        });
        assertThat(cluster.jobIds()).containsExactlyInAnyOrderElementsOf(before);
        assertThat(backend.jobsTagged(s.comment())).isEmpty();
        // A known account passes.
        String id = submit(submission(dir, "#!/bin/sh\ntrue\n", "account-ok").account(SlurmCluster.ACCOUNTS.get(0))
                .build());
        assertThat(awaitJob(id, j -> SlurmStates.hasEnded(j.state()), "the job's end").state())
                .isEqualTo("COMPLETED");
    }

    @Test
    void aNameAndPathsWithQuotesSpacesAndCommandsAreTakenVerbatim() throws Exception {
        // Where a job of any user (REST submits as nobody) could create it, had anything run the text.
        Path marker = cluster.workRoot().resolve("injected-" + UUID.randomUUID());
        Path dir = jobDirectory("it's a \"dir\" $(touch " + marker + ") ; `touch " + marker + "`");
        String name = "it's a \"job\" $(touch " + marker + ") ; `touch " + marker + "` & | > x";
        String id = submit(submission(dir, "#!/bin/sh\necho ran\n", "verbatim").name(name).build());
        SlurmJob job = awaitJob(id, j -> SlurmStates.hasEnded(j.state()), "the job's end");
        assertThat(job.name()).isEqualTo(name);
        assertThat(job.state()).isEqualTo("COMPLETED");
        assertThat(Files.readString(dir.resolve("out.txt"))).isEqualTo("ran\n");
        assertThat(marker).doesNotExist();
        assertThat(backend.jobsTagged(job.comment())).extracting(SlurmJob::id).containsExactly(id);
    }

    @Test
    void jobsAreFoundByTagAndManyAtOnceByIdAndAnUnknownIdIsAbsent() throws Exception {
        Path dir = jobDirectory("tags");
        String prefix = "skyport:" + UUID.randomUUID() + ":";
        String a = submit(submission(dir, "#!/bin/sh\ntrue\n", "a").comment(prefix + "1").build());
        String b = submit(submission(dir, "#!/bin/sh\ntrue\n", "b").comment(prefix + "2").build());
        assertThat(backend.jobsTagged(prefix + "1")).extracting(SlurmJob::id).containsExactly(a);
        assertThat(backend.jobsTagged(prefix + "2")).extracting(SlurmJob::id).containsExactly(b);
        assertThat(backend.jobsTagged(prefix + "3")).isEmpty();
        Optional<List<SlurmJob>> all = backend.jobsTaggedWith(prefix);
        all.ifPresent(jobs -> assertThat(jobs).extracting(SlurmJob::id).containsExactlyInAnyOrder(a, b));
        assertThat(backend.jobs(List.of(a, b, "987654"))).extracting(SlurmJob::id).containsExactlyInAnyOrder(a, b);
        assertThat(backend.jobs(List.of("987654"))).isEmpty();
        assertThat(backend.jobs(List.of())).isEmpty();
    }

    @Test
    void aControllerThatDoesNotAnswerIsATransientFailure() throws Exception {
        Path dir = jobDirectory("stopped");
        String pid = Files.readString(cluster.directory().resolve("slurmctld.pid")).strip();
        signal("STOP", pid);
        try {
            assertThatThrownBy(() -> backend.jobs(List.of("1", "2"))).isInstanceOfSatisfying(GateException.class,
                    e -> assertThat(e.isTransient()).as(e.getMessage()).isTrue());
            SlurmSubmission s = submission(dir, "#!/bin/sh\ntrue\n", "stopped").build();
            assertThatThrownBy(() -> backend.submit(s)).isInstanceOfSatisfying(GateException.class,
                    e -> assertThat(e.isTransient()).as(e.getMessage()).isTrue());
        } finally {
            signal("CONT", pid);
        }
        // The submit that timed out may be queued once slurmctld reads it: the queue looks for its tag before
        // submitting again. Cleaned up with the rest.
        Instant deadline = Instant.now().plus(WAIT);
        while (true) {
            try {
                backend.ping();
                break;
            } catch (GateException e) {
                if (Instant.now().isAfter(deadline)) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
        submitted.addAll(cluster.jobIds());
    }

    private static void signal(String signal, String pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + signal, pid).redirectErrorStream(true).start();
        assertThat(p.waitFor()).as("kill -" + signal + " " + pid).isZero();
    }

    protected String submit(SlurmSubmission s) {
        String id = backend.submit(s);
        submitted.add(id);
        return id;
    }

    /** A directory on the cluster's file system that jobs of any user (slurmrestd submits as nobody) may write. */
    protected static Path jobDirectory(String name) throws IOException {
        Path dir = cluster.workRoot().resolve(UUID.randomUUID().toString().substring(0, 8)).resolve(name);
        Files.createDirectories(dir);
        for (Path p = dir; !p.equals(cluster.workRoot()); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));
        }
        return dir;
    }

    protected SlurmJob awaitJob(String id, Predicate<SlurmJob> until, String what) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        SlurmJob last = null;
        while (Instant.now().isBefore(deadline)) {
            List<SlurmJob> jobs = backend.jobs(List.of(id));
            if (!jobs.isEmpty()) {
                last = jobs.get(0);
                if (until.test(last)) {
                    return last;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no " + what + " of Slurm job " + id + " within " + WAIT + "; last seen " + last
                + "\n" + cluster.logs());
    }

    protected static Submission submission(Path dir, String script, String what) {
        return new Submission(dir, script, "skyport:" + UUID.randomUUID() + ":1", "test-" + what);
    }

    /** A builder of submissions: one node, one cpu, a minute, the default partition and account. */
    protected static final class Submission {
        private final Path dir;
        private final String script;
        private String comment;
        private String name;
        private Map<String, String> env = Map.of("PATH", "/usr/bin:/bin");
        private int nodes = 1;
        private int cpus = 1;
        private Optional<String> partition = Optional.empty();
        private Optional<String> account = Optional.empty();

        Submission(Path dir, String script, String comment, String name) {
            this.dir = dir;
            this.script = script;
            this.comment = comment;
            this.name = name;
        }

        Submission env(Map<String, String> env) {
            this.env = env;
            return this;
        }

        Submission name(String name) {
            this.name = name;
            return this;
        }

        Submission comment(String comment) {
            this.comment = comment;
            return this;
        }

        Submission nodes(int nodes) {
            this.nodes = nodes;
            return this;
        }

        Submission cpus(int cpus) {
            this.cpus = cpus;
            return this;
        }

        Submission partition(String partition) {
            this.partition = Optional.of(partition);
            return this;
        }

        Submission account(String account) {
            this.account = Optional.of(account);
            return this;
        }

        SlurmSubmission build() {
            return new SlurmSubmission(script, name, comment, dir.toString(), dir.resolve("out.txt").toString(),
                    dir.resolve("err.txt").toString(), env, nodes, cpus, 0, 0, 2, partition, account);
        }
    }

    static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8);
    }
}
