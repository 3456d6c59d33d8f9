package dev.skyport.gate.slurm;

import dev.skyport.api.JobId;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.gate.BatchJob;
import dev.skyport.gate.BatchPartition;
import dev.skyport.gate.BatchQueue;
import dev.skyport.gate.BatchRequest;
import dev.skyport.gate.BatchStatus;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The slurm gate against a real Slurm (slurmctld, two slurmd, slurmrestd) on loopback. */
class SlurmGateTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static SlurmCluster cluster;

    @TempDir
    Path workDir;
    private Gate gate;
    private BatchQueue queue;
    private final List<BatchJob> submitted = new ArrayList<>();

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

    @BeforeEach
    void openGate() {
        gate = create(options());
        queue = gate.batchQueue().orElseThrow();
    }

    @AfterEach
    void closeGate() {
        for (BatchJob j : submitted) {
            try {
                queue.cancel(j);
            } catch (GateException e) {
                // slurmrestd stopped on purpose by the test: the cluster's close() cancels it
            }
        }
        cluster.startRest();
        gate.close();
    }

    private Map<String, String> options() {
        Map<String, String> o = cluster.restGateOptions();
        return o;
    }

    private Gate create(Map<String, String> options) {
        return new SlurmGateProvider().create(new GateConfig(workDir, options, Clock.systemUTC()));
    }


    @Test
    void optionsAreRefusedNamingTheKey() throws Exception {
        Map<String, String> typo = options();
        typo.put("rest-ulr", "http://x");
        assertRefused(typo, "rest-ulr", "did you mean rest-url?");

        Map<String, String> missing = options();
        missing.remove("rest-url");
        assertRefused(missing, "rest-url", "is missing");

        Map<String, String> badUrl = options();
        badUrl.put("rest-url", "slurm:6820");
        assertRefused(badUrl, "rest-url", "http or https URL");

        Map<String, String> badDuration = options();
        badDuration.put("request-timeout", "often");
        assertRefused(badDuration, "request-timeout", "positive duration");

        // The engine's options for a batch site: it reads them and never hands them to the gate.
        Map<String, String> enginesOwn = options();
        enginesOwn.put("price-per-cpu-hour", "0.05");
        assertRefused(enginesOwn, "price-per-cpu-hour", "is not an option of the slurm gate");

        Map<String, String> ownerWithTokenFile = options();
        ownerWithTokenFile.remove("jwt-key-file");
        Path ownerToken = workDir.resolve("owner-token");
        Files.writeString(ownerToken, "SLURM_JWT=" + cluster.token(SlurmCluster.REST_USER) + "\n");
        ownerWithTokenFile.put("jwt-token-file", ownerToken.toString());
        ownerWithTokenFile.put("run-as-owner", "true");
        assertRefused(ownerWithTokenFile, "run-as-owner", "needs jwt-key-file");

        Map<String, String> both = options();
        Path tokenFile = workDir.resolve("token");
        Files.writeString(tokenFile, "SLURM_JWT=" + cluster.token(SlurmCluster.REST_USER) + "\n");
        both.put("jwt-token-file", tokenFile.toString());
        assertRefused(both, "jwt-key-file", "give one of them");

        Map<String, String> noToken = options();
        noToken.remove("jwt-key-file");
        assertRefused(noToken, "jwt-token-file", "is missing");

        Map<String, String> relative = options();
        relative.put("work-root", "jobs");
        assertRefused(relative, "work-root", "absolute path");

        Map<String, String> absent = options();
        absent.put("work-root", cluster.workRoot().resolve("no-such-dir").toString());
        assertRefused(absent, "work-root", "not a directory");

        Map<String, String> files = options();
        files.put("files", "nfs");
        assertRefused(files, "files", "local, ssh");

        Map<String, String> sshWithoutHost = options();
        sshWithoutHost.put("files", "ssh");
        assertRefused(sshWithoutHost, "ssh-host", "is missing");

        Map<String, String> root = options();
        root.put("user", "root");
        assertRefused(root, "user", "must not be root");
    }

    @Test
    void aServerThatDoesNotServeTheSupportedApiVersionIsRefusedAtStart() {
        Map<String, String> o = options();
        // The real slurmrestd under another path: it answers 404, as one without v0.0.38 does.
        o.put("rest-url", cluster.restUrl() + "/elsewhere");
        assertThatThrownBy(() -> create(o)).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.getMessage()).contains("does not serve the API v0.0.38", "supports only v0.0.38");
        });
    }

    @Test
    void aServerThatCannotBeReachedAtStartOpensTheGateAndItsCallsFailTransiently() throws Exception {
        Map<String, String> o = options();
        int closed;
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        o.put("rest-url", "http://127.0.0.1:" + closed);
        // A cluster in maintenance must not keep the engine (and its local jobs) from starting.
        try (Gate g = create(o)) {
            assertThatThrownBy(g::nodes).isInstanceOfSatisfying(GateException.class,
                    e -> assertThat(e.isTransient()).isTrue());
            assertThatThrownBy(() -> g.batchQueue().orElseThrow().partitions())
                    .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isTrue());
        }
    }

    private void assertRefused(Map<String, String> options, String key, String why) {
        assertThatThrownBy(() -> create(options)).as("options %s", options)
                .isInstanceOfSatisfying(GateException.class, e -> {
                    assertThat(e.isTransient()).isFalse();
                    assertThat(e.getMessage()).contains("slurm gate option " + key, why);
                });
    }


    @Test
    void theClustersNodesAndPartitionsAreListedWithTheirLimits() {
        List<Node> nodes = gate.nodes();
        assertThat(nodes).extracting(Node::name).containsExactlyInAnyOrder("n1", "n2");
        for (Node n : nodes) {
            assertThat(n.cpus()).isEqualTo(2);
            assertThat(n.memoryBytes()).isEqualTo(2000L << 20);
            assertThat(n.gpus()).isZero();
            assertThat(n.partition()).isEqualTo("debug");
        }
        assertThat(nodes.stream().filter(n -> n.name().equals("n1")).findFirst().orElseThrow().labels())
                .containsEntry(SlurmGate.PARTITIONS_LABEL, "debug,small");

        List<BatchPartition> partitions = queue.partitions();
        assertThat(partitions).containsExactlyInAnyOrder(
                new BatchPartition("debug", true, true, 2, 2, 2000L << 20, 0, Optional.of(Duration.ofMinutes(60)),
                        List.of(), List.of("n1", "n2")),
                new BatchPartition("small", false, true, 1, 2, 2000L << 20, 0, Optional.of(Duration.ofMinutes(10)),
                        List.of(), List.of("n1")));

        assertThat(gate.flavors()).extracting(f -> f.name() + " " + f.cpus() + " " + f.pricePerHour())
                .containsExactlyInAnyOrder("debug 2 0.0", "small 2 0.0");
        assertThat(gate.remotes()).singleElement().satisfies(r -> {
            assertThat(r.name()).isEqualTo("slurm");
            assertThat(r.gate()).isEqualTo("slurm");
        });
    }

    @Test
    void aDrainedOrDownNodeIsListedDownWithItsReason() {
        cluster.setNodeState("n2", "DRAIN", "disk swap");
        try {
            Node n2 = awaitNode("n2", n -> n.state() == NodeState.DOWN);
            assertThat(n2.labels()).containsEntry(SlurmGate.STATE_REASON_LABEL, "disk swap");
            assertThat(n2.labels().get(SlurmGate.SLURM_STATE_LABEL)).contains("DRAIN");
        } finally {
            cluster.setNodeState("n2", "RESUME", "");
        }
        awaitNode("n2", n -> n.state() == NodeState.UP);
    }


    @Test
    void aJobCompletesWithItsOutputEnvironmentAndWorkdir() throws Exception {
        BatchRequest r = staged("#!/bin/sh\necho \"hello $GREETING from $(pwd)\"\necho oops >&2\n",
                Map.of("GREETING", "world"));
        BatchJob job = submit(r);

        BatchStatus end = awaitEnd(job);

        assertThat(end.state()).as(diagnose(r)).isEqualTo(BatchStatus.State.COMPLETED);
        assertThat(end.exitCode()).hasValue(0);
        assertThat(end.nodes()).isNotEmpty();
        assertThat(read(r.directory() + "/stdout.log")).isEqualTo("hello world from " + r.workdir() + "\n");
        assertThat(read(r.directory() + "/stderr.log")).isEqualTo("oops\n");
        assertThat(read(r.runDirectory() + "/exitcode")).isEqualTo("0\n");
    }

    @Test
    void aJobThatExitsThreeFailsWithExitCodeThree() throws Exception {
        BatchRequest r = staged("#!/bin/sh\nexit 3\n", Map.of());
        BatchJob job = submit(r);

        BatchStatus end = awaitEnd(job);

        assertThat(end.state()).as(diagnose(r)).isEqualTo(BatchStatus.State.FAILED);
        assertThat(end.exitCode()).hasValue(3);
        assertThat(end.signal()).isEmpty();
        assertThat(end.reason()).isEqualTo("NonZeroExitCode");
    }

    @Test
    void aMissingWorkdirEndsTheJobWithTheStatusEveryGateUses() throws Exception {
        BatchRequest base = staged("#!/bin/sh\necho never\n", Map.of());
        BatchRequest r = new BatchRequest(base.job(), 1, base.name(), base.directory(), base.script(),
                base.directory() + "/no-such-dir", base.env(), base.owner(), 1, 1, 0, 0, Optional.of(Duration.ofMinutes(5)),
                Optional.empty(), Optional.empty());

        BatchStatus end = awaitEnd(submit(r));

        assertThat(end.exitCode()).as(diagnose(r)).hasValue(DetachedRun.NO_WORKDIR_STATUS);
        assertThat(read(r.directory() + "/stderr.log")).contains("no work directory");
    }

    @Test
    void aPendingJobShowsSlurmsReasonAndExpectedStartAndCancelsPendingAndRunning() throws Exception {
        BatchRequest blocker = sized(staged("#!/bin/sh\necho $$ > job.pid\nsleep 300\n", Map.of()), 2, 2, 0,
                Duration.ofMinutes(5), Optional.empty());
        BatchJob running = submit(blocker);
        awaitStatus(running, s -> s.state() == BatchStatus.State.RUNNING, "RUNNING");

        BatchRequest waiting = staged("#!/bin/sh\necho never\n", Map.of());
        BatchJob pending = submit(waiting);
        BatchStatus queued = awaitStatus(pending, s -> s.state() == BatchStatus.State.PENDING
                && s.expectedStart().isPresent() && !s.reason().isEmpty(), "PENDING with a reason and a start");
        assertThat(queued.reason()).isIn("Resources", "Priority");
        // Slurm's own estimate, against Slurm's own clock: when the running blocker (time limit 5 min) ends at last.
        Instant blockerStart = java.time.LocalDateTime.parse(cluster.scontrol("show", "job", running.id())
                .replaceAll("(?s).*\\bStartTime=(\\S+).*", "$1")).atZone(java.time.ZoneId.systemDefault()).toInstant();
        assertThat(queued.expectedStart().orElseThrow())
                .isBetween(blockerStart, blockerStart.plus(Duration.ofMinutes(6)));

        queue.cancel(pending);
        assertThat(awaitEnd(pending).state()).isEqualTo(BatchStatus.State.CANCELLED);
        long pid = Long.parseLong(awaitContent(blocker.directory() + "/job.pid").trim());
        queue.cancel(running);
        assertThat(awaitEnd(running).state()).isEqualTo(BatchStatus.State.CANCELLED);
        Instant deadline = Instant.now().plus(WAIT);
        while (Files.exists(Path.of("/proc/" + pid))) {
            assertThat(Instant.now()).as("the cancelled job's process %s ended", pid).isBefore(deadline);
            Thread.sleep(50);
        }
        queue.cancel(running);
    }

    @Test
    void aJobLargerThanAPartitionIsRefusedNamingItsLimitsAndNothingIsSubmitted() throws Exception {
        List<String> before = cluster.jobIds();
        BatchRequest base = staged("#!/bin/sh\necho never\n", Map.of());
        Map<BatchRequest, String> cases = Map.of(
                sized(base, 2, 1, 0, Duration.ofMinutes(5), Optional.of("small")), "more nodes",
                sized(base, 1, 4, 0, Duration.ofMinutes(5), Optional.of("debug")), "more cpus per node",
                sized(base, 1, 1, 4000L << 20, Duration.ofMinutes(5), Optional.of("debug")), "more memory per node",
                sized(base, 1, 1, 0, Duration.ofSeconds(601), Optional.of("small")), "longer time limit");
        for (Map.Entry<BatchRequest, String> c : cases.entrySet()) {
            String limits = c.getKey().partition().get().equals("small")
                    ? "small: up to 1 node of 2 cpus, 2000 MiB, 0 gpus, 10 min"
                    : "debug: up to 2 nodes of 2 cpus, 2000 MiB, 0 gpus, 60 min";
            for (Runnable call : List.<Runnable>of(() -> queue.check(c.getKey()), () -> queue.submit(c.getKey()))) {
                assertThatThrownBy(call::run).isInstanceOfSatisfying(GateException.class, e -> {
                    assertThat(e.isTransient()).isFalse();
                    assertThat(e.getMessage()).contains(c.getValue(), limits);
                });
            }
        }
        BatchRequest unknown = sized(base, 1, 1, 0, Duration.ofMinutes(5), Optional.of("gpu"));
        assertThatThrownBy(() -> queue.submit(unknown)).isInstanceOfSatisfying(GateException.class,
                e -> assertThat(e.getMessage()).contains("no partition 'gpu'", "debug, small"));
        assertThat(cluster.jobIds()).as("nothing reached Slurm").isEqualTo(before);
    }

    @Test
    void anAccountSlurmDoesNotKnowIsAPermanentErrorWithSlurmsReasonAndNothingIsQueued() throws Exception {
        List<String> before = cluster.jobIds();
        BatchRequest base = staged("#!/bin/sh\necho never\n", Map.of());
        BatchRequest astro = withAccount(base, "astro");

        queue.check(astro);
        assertThatThrownBy(() -> queue.submit(astro)).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.getMessage()).contains("Invalid account or account/partition combination specified");
        });
        assertThat(cluster.jobIds()).isEqualTo(before);

        BatchStatus end = awaitEnd(submit(withAccount(staged("#!/bin/sh\ntrue\n", Map.of()), "physics")));
        assertThat(end.state()).isEqualTo(BatchStatus.State.COMPLETED);
    }

    @Test
    void aPartitionThatListsAccountsRefusesOthersBeforeSlurmSees() throws Exception {
        cluster.scontrol("update", "PartitionName=small", "AllowAccounts=physics");
        try {
            List<String> before = cluster.jobIds();
            BatchRequest r = sized(staged("#!/bin/sh\ntrue\n", Map.of()), 1, 1, 0, Duration.ofMinutes(5),
                    Optional.of("small"));
            assertThat(queue.partitions()).filteredOn(p -> p.name().equals("small")).singleElement()
                    .satisfies(p -> assertThat(p.allowedAccounts()).containsExactly("physics"));
            assertThatThrownBy(() -> queue.check(withAccount(r, "chem"))).isInstanceOfSatisfying(
                    GateException.class, e -> assertThat(e.getMessage()).contains("accounts physics only",
                            "not of 'chem'"));
            assertThatThrownBy(() -> queue.check(r)).hasMessageContaining("names no account");
            assertThat(cluster.jobIds()).isEqualTo(before);
        } finally {
            cluster.scontrol("update", "PartitionName=small", "AllowAccounts=ALL");
        }
    }

    @Test
    void slurmrestdStoppedIsATransientErrorAndTheGateWorksAgainWhenItIsBack() throws Exception {
        BatchRequest r = staged("#!/bin/sh\necho back\n", Map.of());
        cluster.stopRest();
        try {
            for (Runnable call : List.<Runnable>of(queue::partitions, gate::nodes, () -> queue.submit(r),
                    () -> queue.status(List.of(new BatchJob("1", r.job(), 1))),
                    () -> queue.cancel(new BatchJob("1", r.job(), 1)))) {
                assertThatThrownBy(call::run).isInstanceOfSatisfying(GateException.class,
                        e -> assertThat(e.isTransient()).isTrue());
            }
        } finally {
            cluster.startRest();
        }
        BatchStatus end = awaitEnd(submit(r));
        assertThat(end.state()).isEqualTo(BatchStatus.State.COMPLETED);
        assertThat(read(r.directory() + "/stdout.log")).isEqualTo("back\n");
    }

    @Test
    void submittingTheSameAttemptTwiceMakesOneSlurmJobAlsoFromANewGate() throws Exception {
        BatchRequest r = staged("#!/bin/sh\nsleep 300\n", Map.of());
        int before = cluster.jobIds().size();

        BatchJob first = submit(r);
        BatchJob again = queue.submit(r);
        BatchJob fromAnotherLife;
        try (Gate other = create(options())) {
            fromAnotherLife = other.batchQueue().orElseThrow().submit(r);
        }

        assertThat(again).isEqualTo(first);
        assertThat(fromAnotherLife).isEqualTo(first);
        assertThat(cluster.jobIds()).hasSize(before + 1);
        String comment = cluster.scontrol("show", "job", first.id());
        assertThat(comment).contains("Comment=" + r.tag(), "JobName=skyport-");
    }

    @Test
    void aJobWhoseIdWasLostIsFoundByItsTag() throws Exception {
        BatchRequest r = staged("#!/bin/sh\nsleep 300\n", Map.of());
        BatchJob job = submit(r);

        try (Gate afterCrash = create(options())) {
            BatchQueue q = afterCrash.batchQueue().orElseThrow();
            assertThat(q.find(r.job(), 1)).hasValue(job);
            assertThat(q.find(r.job(), 2)).isEmpty();
            assertThat(q.find(new JobId(UUID.randomUUID()), 1)).isEmpty();
        }
    }

    @Test
    void aNodeSetDownDuringAJobEndsItNodeFail() throws Exception {
        BatchRequest r = sized(staged("#!/bin/sh\necho run >> runs.txt\nsleep 300\n", Map.of()), 1, 1, 0,
                Duration.ofMinutes(5), Optional.of("small"));
        BatchJob job = submit(r);
        BatchStatus running = awaitStatus(job, s -> s.state() == BatchStatus.State.RUNNING, "RUNNING");
        assertThat(running.nodes()).containsExactly("n1");
        awaitContent(r.directory() + "/runs.txt");

        cluster.setNodeState("n1", "DOWN", "skyport test");
        try {
            BatchStatus end = awaitEnd(job);
            assertThat(end.state()).as(diagnose(r)).isEqualTo(BatchStatus.State.NODE_FAIL);
        } finally {
            cluster.setNodeState("n1", "RESUME", "");
        }
        awaitNode("n1", n -> n.state() == NodeState.UP);
        // Slurm 22.05 requeues it (slurmrestd drops requeue=false): the gate cancels the copy, which never runs.
        Instant deadline = Instant.now().plus(WAIT);
        while (!cluster.scontrol("show", "job", job.id()).matches("(?s).*JobState=(CANCELLED|COMPLETED|FAILED).*")) {
            assertThat(Instant.now()).as("the requeued copy ends").isBefore(deadline);
            assertThat(queue.status(List.of(job)).get(job).state()).isEqualTo(BatchStatus.State.NODE_FAIL);
            Thread.sleep(200);
        }
        assertThat(queue.status(List.of(job)).get(job).state()).isEqualTo(BatchStatus.State.NODE_FAIL);
        assertThat(read(r.directory() + "/runs.txt")).as("the job ran once").isEqualTo("run\n");
    }

    @Test
    void aJobSlurmNoLongerKnowsIsGoneWithTheStatusItsWrapperRecorded() throws Exception {
        BatchRequest r = staged("#!/bin/sh\ntrue\n", Map.of());
        upload("7\n", r.runDirectory() + "/exitcode");
        BatchJob forgotten = new BatchJob("987654", r.job(), 1);
        BatchJob neverRan = new BatchJob("987655", new JobId(UUID.randomUUID()), 1);

        Map<BatchJob, BatchStatus> status = queue.status(List.of(forgotten, neverRan));

        assertThat(status.get(forgotten).state()).isEqualTo(BatchStatus.State.GONE);
        assertThat(status.get(forgotten).exitCode()).hasValue(7);
        assertThat(status.get(neverRan).state()).isEqualTo(BatchStatus.State.GONE);
        assertThat(status.get(neverRan).exitCode()).isEmpty();
    }

    @Test
    void aTokenFileIsReadAgainWhenItChangesAndNoTokenIsEverLoggedOrInAMessage() throws Exception {
        Path tokenFile = workDir.resolve("slurm.jwt");
        String bad = "eyJhbGciOiJIUzI1NiJ9.eyJzdW4iOiJub2JvZHkifQ.bm90LWEtc2lnbmF0dXJl";
        Files.writeString(tokenFile, "SLURM_JWT=" + bad + "\n");
        Map<String, String> o = options();
        o.remove("jwt-key-file");
        o.put("jwt-token-file", tokenFile.toString());
        PrintStream stderr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        String good = cluster.token(SlurmCluster.REST_USER);
        List<String> messages = new ArrayList<>();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            // A rejected token is transient at start too: the gate opens, and its calls fail until the file is good.
            try (Gate g = create(o)) {
                assertThatThrownBy(g::nodes).isInstanceOfSatisfying(GateException.class, e -> {
                    assertThat(e.isTransient()).isTrue();
                    messages.add(e.getMessage());
                });
            }
            Files.writeString(tokenFile, "SLURM_JWT=" + good + "\n");
            // A different size, so that the change is seen even within the file system's timestamp resolution.
            try (Gate g = create(o)) {
                assertThat(g.batchQueue().orElseThrow().partitions()).isNotEmpty();
                Files.writeString(tokenFile, bad + "\n\n");
                assertThatThrownBy(g::nodes).isInstanceOfSatisfying(GateException.class, e -> {
                    messages.add(e.getMessage());
                    assertThat(e.isTransient()).isTrue();
                    assertThat(e.getMessage()).contains("the token in " + tokenFile);
                });
            }
        } finally {
            System.setErr(stderr);
        }
        String logs = captured.toString(StandardCharsets.UTF_8);
        assertThat(messages).hasSize(2);
        assertThat(logs).contains("GET /slurm/v0.0.38/nodes -> HTTP 500").doesNotContain(good).doesNotContain(bad);
        assertThat(String.join("\n", messages)).doesNotContain(good).doesNotContain(bad);
    }


    @Test
    void linksAJobPutInItsDirectoryAreNeverFollowed() throws Exception {
        BatchRequest r = staged("#!/bin/sh\ntrue\n", Map.of());
        Path jobDir = Path.of(r.directory());
        // What a job (which may write its own directory) could do: its stdout a link to one of the engine's files.
        Path secret = workDir.resolve("engine-tls.key");
        Files.writeString(secret, "the engine's secret\n");
        Files.createSymbolicLink(jobDir.resolve("stdout.log"), secret);
        assertThatThrownBy(() -> read(r.directory() + "/stdout.log")).isInstanceOfSatisfying(GateException.class,
                e -> {
                    assertThat(e.isTransient()).isFalse();
                    assertThat(e.getMessage()).contains("symbolic link").doesNotContain("the engine's secret");
                });
        assertThat(workDir.toFile().list()).noneMatch(name -> name.startsWith("down-"));

        // A directory swapped for a link out of work-root: nothing is written there, for a file or a tree.
        Path outside = Files.createDirectories(workDir.resolve("outside"));
        Files.createSymbolicLink(jobDir.resolve("inputs"), outside);
        assertThatThrownBy(() -> upload("x\n", r.directory() + "/inputs/data.txt"))
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse());
        Path tree = Files.createDirectories(workDir.resolve("tree"));
        Files.writeString(tree.resolve("a.txt"), "a\n");
        assertThatThrownBy(() -> queue.files().uploadTree(tree, r.directory() + "/inputs"))
                .isInstanceOf(GateException.class);
        assertThat(outside).isEmptyDirectory();
        // A path leading out of every job directory is refused before anything is touched.
        assertThatThrownBy(() -> upload("x\n", r.directory() + "/../../escaped.txt"))
                .isInstanceOf(GateException.class);
        assertThat(cluster.workRoot().getParent().resolve("escaped.txt")).doesNotExist();
    }

    @Test
    void jobDirectoriesAndFilesBelongToWorkRootsGroupWithNothingForOthers() throws Exception {
        BatchRequest r = staged("#!/bin/sh\necho made > made.txt\n", Map.of());
        BatchStatus end = awaitEnd(submit(r));
        assertThat(end.state()).as(diagnose(r)).isEqualTo(BatchStatus.State.COMPLETED);

        Path dir = Path.of(r.directory());
        assertThat(mode(dir)).as("job directory").isEqualTo(02770);
        assertThat(mode(dir.resolve("input.txt"))).as("staged input").isEqualTo(0660);
        assertThat(mode(dir.resolve(DetachedRun.SCRIPT))).as("script").isEqualTo(0660);
        for (Path p : List.of(dir, dir.resolve("input.txt"), dir.resolve(DetachedRun.SCRIPT), dir.resolve("made.txt"),
                Path.of(r.runDirectory(), DetachedRun.EXIT_CODE))) {
            assertThat(Files.readAttributes(p, java.nio.file.attribute.PosixFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS).group().getName()).as("group of %s", p)
                    .isEqualTo(SlurmCluster.REST_GROUP);
        }
    }

    @Test
    void withRunAsOwnerEachJobRunsAsItsOwnersUnixUserAndIsCanceledAsThem() throws Exception {
        Map<String, String> o = options();
        o.put("run-as-owner", "true");
        gate.close();
        gate = create(o);
        queue = gate.batchQueue().orElseThrow();
        // _apt: a user of this machine whose primary group is nogroup, work-root's group (see the isolation docs).
        String owner = "_apt";
        BatchRequest r = withOwner(staged("#!/bin/sh\nid -un\n", Map.of()), owner);
        BatchStatus end = awaitEnd(submit(r));
        assertThat(end.state()).as(diagnose(r)).isEqualTo(BatchStatus.State.COMPLETED);
        assertThat(read(r.directory() + "/stdout.log")).isEqualTo(owner + "\n");

        BatchRequest sleeper = withOwner(staged("#!/bin/sh\nsleep 300\n", Map.of()), owner);
        BatchJob running = submit(sleeper);
        awaitStatus(running, s -> s.state() == BatchStatus.State.RUNNING, "RUNNING");
        queue.cancel(running);
        assertThat(awaitEnd(running).state()).isEqualTo(BatchStatus.State.CANCELLED);

        BatchRequest notAUser = withOwner(staged("#!/bin/sh\ntrue\n", Map.of()), "Alice Smith\",\"sun\":\"root");
        assertThatThrownBy(() -> queue.submit(notAUser)).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.getMessage()).contains("run-as-owner", "not a user name");
        });
        assertThat(queue.find(notAUser.job(), 1)).isEmpty();
    }

    @Test
    void aJobPendingForAReasonThatNeverClearsIsCanceledAndFailsAndAFailedCancelLosesNoStatus() throws Exception {
        Instrumented i = instrumented();
        try {
            BatchRequest blocker = sized(staged("#!/bin/sh\nsleep 300\n", Map.of()), 1, 2, 0,
                    Duration.ofMinutes(5), Optional.of("small"));
            BatchJob running = submit(blocker);
            awaitStatus(running, s -> s.state() == BatchStatus.State.RUNNING, "RUNNING");
            BatchRequest r = sized(staged("#!/bin/sh\necho never\n", Map.of()), 1, 1, 0, Duration.ofMinutes(5),
                    Optional.of("small"));
            BatchJob job = submit(r);
            // An administrator lowers the partition's MaxTime below the job's 5 min: Slurm keeps it pending for ever
            // (an administrator's update of the job itself would not: Slurm exempts limits an administrator set).
            cluster.scontrol("update", "PartitionName=small", "MaxTime=2");
            try {
                i.failCancels.set(1);
                Instant deadline = Instant.now().plus(WAIT);
                Map<BatchJob, BatchStatus> status = i.queue.status(List.of(job, running));
                while (status.get(job).state() != BatchStatus.State.FAILED) {
                    assertThat(Instant.now()).as("the job is seen pending for ever; last %s", status.get(job))
                            .isBefore(deadline);
                    Thread.sleep(100);
                    status = i.queue.status(List.of(job, running));
                }
                assertThat(status.get(job).reason()).contains("PartitionTimeLimit", "canceled");
                assertThat(status.get(running).state()).as("the other job's status, despite the failed cancel")
                        .isEqualTo(BatchStatus.State.RUNNING);
                assertThat(i.failCancels.get()).as("the injected cancel failure happened").isZero();
                assertThat(cluster.scontrol("show", "job", job.id())).as("still pending after the failed cancel")
                        .contains("JobState=PENDING");

                assertThat(i.queue.status(List.of(job, running)).get(job).state()).isEqualTo(BatchStatus.State.FAILED);
                assertThat(cluster.scontrol("show", "job", job.id())).as("canceled at the next status")
                        .contains("JobState=CANCELLED");
            } finally {
                cluster.scontrol("update", "PartitionName=small", "MaxTime=10");
            }
        } finally {
            i.close();
        }
    }

    @Test
    void aPartitionsMaxCpusAndMemoryPerNodeAreItsLimitsAndCheckedBeforeSlurmSees() throws Exception {
        // A partition of its own, deleted after: scontrol cannot set MaxMemPerNode back to UNLIMITED.
        cluster.scontrol("create", "PartitionName=capped", "Nodes=n2", "MaxCPUsPerNode=1", "MaxMemPerNode=1000",
                "MaxTime=10", "State=UP");
        try {
            BatchPartition capped = queue.partitions().stream().filter(p -> p.name().equals("capped")).findFirst()
                    .orElseThrow();
            assertThat(capped.maxCpusPerNode()).isEqualTo(1);
            assertThat(capped.maxMemoryPerNode()).isEqualTo(1000L << 20);
            BatchRequest r = staged("#!/bin/sh\ntrue\n", Map.of());
            assertThatThrownBy(() -> queue.check(sized(r, 1, 2, 0, Duration.ofMinutes(5), Optional.of("capped"))))
                    .isInstanceOfSatisfying(GateException.class, e -> {
                        assertThat(e.isTransient()).isFalse();
                        assertThat(e.getMessage()).contains("MaxCPUsPerNode 1");
                    });
            assertThatThrownBy(() -> queue.check(sized(r, 1, 1, 1500L << 20, Duration.ofMinutes(5),
                    Optional.of("capped")))).isInstanceOfSatisfying(GateException.class,
                    e -> assertThat(e.getMessage()).contains("MaxMemPerNode 1000 MiB"));
            queue.check(sized(r, 1, 1, 500L << 20, Duration.ofMinutes(5), Optional.of("capped")));
        } finally {
            cluster.scontrol("delete", "PartitionName=capped");
        }
    }

    @Test
    void checkUsesTheCachedListingAndMakesNoCallToSlurm() throws Exception {
        Instrumented i = instrumented();
        try {
            BatchRequest r = staged("#!/bin/sh\ntrue\n", Map.of());
            i.queue.partitions();
            int before = i.calls();
            for (int n = 0; n < 5; n++) {
                i.queue.check(r);
            }
            assertThat(i.calls()).as("calls to Slurm for 5 checks").isEqualTo(before);
            assertThatThrownBy(() -> i.queue.check(sized(r, 3, 1, 0, Duration.ofMinutes(5), Optional.empty())))
                    .isInstanceOf(GateException.class);
            assertThat(i.calls()).isEqualTo(before);
        } finally {
            i.close();
        }
    }

    @Test
    void aScriptKilledByASignalReportsTheSignal() throws Exception {
        BatchRequest r = staged("#!/bin/sh\nkill -9 $$\n", Map.of());
        BatchStatus end = awaitEnd(submit(r));
        assertThat(end.state()).as(diagnose(r)).isEqualTo(BatchStatus.State.FAILED);
        assertThat(end.exitCode()).hasValue(137);
        assertThat(end.signal()).hasValue(9);
    }

    /**
     * A queue over the real slurmrestd whose backend counts its calls and can fail a cancel on purpose, on a clock
     * that stands still (its listing stays fresh).
     */
    private Instrumented instrumented() {
        RestBackend rest = new RestBackend(okhttp3.HttpUrl.get(cluster.restUrl()), SlurmCluster.REST_USER,
                JwtTokens.signed(cluster.jwtKeyFile(), SlurmCluster.REST_USER, Duration.ofMinutes(30),
                        Clock.systemUTC()), Duration.ofSeconds(30));
        Map<String, java.util.concurrent.atomic.AtomicInteger> calls = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.concurrent.atomic.AtomicInteger failCancels = new java.util.concurrent.atomic.AtomicInteger();
        SlurmBackend counted = (SlurmBackend) java.lang.reflect.Proxy.newProxyInstance(
                SlurmBackend.class.getClassLoader(), new Class<?>[]{SlurmBackend.class}, (proxy, method, args) -> {
                    calls.computeIfAbsent(method.getName(), k -> new java.util.concurrent.atomic.AtomicInteger())
                            .incrementAndGet();
                    if (method.getName().equals("cancel") && failCancels.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                        throw GateException.transientFailure("cancel failed on purpose", null, Optional.empty());
                    }
                    try {
                        return method.invoke(rest, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        SlurmQueue q = new SlurmQueue(counted, new LocalSharedFiles("test-files", cluster.workRoot().toString()),
                Optional.empty(), "slurm", workDir.resolve("scratch"),
                Clock.fixed(Instant.now(), java.time.ZoneOffset.UTC));
        return new Instrumented(q, calls, failCancels, rest);
    }

    private record Instrumented(SlurmQueue queue, Map<String, java.util.concurrent.atomic.AtomicInteger> counts,
                                java.util.concurrent.atomic.AtomicInteger failCancels, RestBackend rest) {
        int calls() {
            return counts.values().stream().mapToInt(java.util.concurrent.atomic.AtomicInteger::get).sum();
        }

        void close() {
            rest.close();
        }
    }

    private static int mode(Path p) throws Exception {
        return (Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    private static BatchRequest withOwner(BatchRequest r, String owner) {
        return new BatchRequest(r.job(), r.attempt(), r.name(), r.directory(), r.script(), r.workdir(), r.env(),
                owner, r.nodes(), r.cpusPerNode(), r.memoryPerNode(), r.gpusPerNode(), r.timeLimit(),
                r.partition(), r.account());
    }

    private BatchJob submit(BatchRequest r) {
        BatchJob job = queue.submit(r);
        submitted.add(job);
        return job;
    }

    /** A new job's request with its directory created as staging in does: by uploading a file into it. */
    private BatchRequest staged(String script, Map<String, String> env) throws Exception {
        JobId job = new JobId(UUID.randomUUID());
        String dir = queue.files().directoryOf(job, workDir.resolve("engine").resolve(job.toString()));
        upload("input\n", dir + "/input.txt");
        return new BatchRequest(job, 1, "test", dir, script, dir, env, "alice", 1, 1, 0, 0, Optional.of(Duration.ofMinutes(5)),
                Optional.empty(), Optional.empty());
    }

    private static BatchRequest sized(BatchRequest r, int nodes, int cpus, long memory, Duration time,
                                      Optional<String> partition) {
        return new BatchRequest(r.job(), r.attempt(), r.name(), r.directory(), r.script(), r.workdir(), r.env(),
                r.owner(), nodes, cpus, memory, 0, Optional.of(time), partition, r.account());
    }

    private static BatchRequest withAccount(BatchRequest r, String account) {
        return new BatchRequest(r.job(), r.attempt(), r.name(), r.directory(), r.script(), r.workdir(), r.env(),
                r.owner(), r.nodes(), r.cpusPerNode(), r.memoryPerNode(), r.gpusPerNode(), r.timeLimit(),
                r.partition(), Optional.of(account));
    }

    private void upload(String content, String remote) throws Exception {
        Path local = Files.createTempFile(workDir, "up-", ".txt");
        Files.writeString(local, content);
        queue.files().upload(local, remote);
    }

    private String read(String remote) throws Exception {
        Path local = workDir.resolve("down-" + UUID.randomUUID());
        queue.files().download(remote, local);
        return Files.readString(local);
    }

    private String awaitContent(String remote) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        while (true) {
            try {
                String s = read(remote);
                if (s.endsWith("\n")) {
                    return s;
                }
            } catch (GateException notYet) {
                // not written yet
            }
            assertThat(Instant.now()).as("%s written", remote).isBefore(deadline);
            Thread.sleep(100);
        }
    }

    private BatchStatus awaitStatus(BatchJob job, Predicate<BatchStatus> until, String what) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        BatchStatus last = null;
        while (Instant.now().isBefore(deadline)) {
            last = queue.status(List.of(job)).get(job);
            if (until.test(last)) {
                return last;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(job + " did not reach " + what + " within " + WAIT + "; last " + last);
    }

    private BatchStatus awaitEnd(BatchJob job) throws Exception {
        return awaitStatus(job, s -> s.state().isTerminal(), "an end");
    }

    private Node awaitNode(String name, Predicate<Node> until) {
        Instant deadline = Instant.now().plus(WAIT);
        while (true) {
            Node n = gate.nodes().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
            if (until.test(n)) {
                return n;
            }
            assertThat(Instant.now()).as("node %s: %s", name, n).isBefore(deadline);
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** What a failing assertion on a job shows: its directory's files and the tail of the daemons' logs. */
    private String diagnose(BatchRequest r) {
        StringBuilder s = new StringBuilder("job directory " + r.directory() + ":\n");
        try (Stream<Path> files = Files.walk(Path.of(r.directory()))) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                s.append("-- ").append(p).append('\n').append(Files.readString(p)).append('\n');
            }
        } catch (Exception e) {
            s.append(e).append('\n');
        }
        return s.append(cluster.logs()).toString();
    }
}
