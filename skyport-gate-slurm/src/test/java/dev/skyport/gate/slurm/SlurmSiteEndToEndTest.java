package dev.skyport.gate.slurm;

import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.core.internal.ChildJvm;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The whole path: the embedded engine hands jobs to batch site {@code hpc}, the slurm gate over slurmrestd, and a real
 * Slurm (slurmctld, two slurmd, slurmrestd from Debian's packages, one {@link SlurmCluster} for the class) runs them.
 * Every job's Slurm jobs are found by the tag the gate writes into Slurm's comment ({@code skyport:<id>:<attempt>}), so
 * "exactly one Slurm job" is counted at Slurm, not in the engine.
 */
class SlurmSiteEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(90);
    /** The release file's poll in job scripts; a job left behind ends when its directory goes. */
    private static final String WAITING = "#!/bin/sh\necho start\nwhile [ ! -e \"$SKYPORT_JOB_DIR/release\" ]; do\n"
            + "[ -d \"$SKYPORT_JOB_DIR\" ] || exit 1; sleep 0.05; done\necho end\n";
    static SlurmCluster cluster;

    @TempDir
    Path dir;
    private final List<SkyPort> engines = new ArrayList<>();
    private final List<String> blockers = new ArrayList<>();

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

    @AfterEach
    void closeEngines() {
        engines.forEach(SkyPort::close);
        cluster.startRest();
        // A failed test leaves its job running at Slurm, where it would hold a node from the next test.
        cluster.run("scancel", "-u", SlurmCluster.REST_USER);
        if (!blockers.isEmpty()) {
            List<String> scancel = new ArrayList<>(List.of("scancel"));
            scancel.addAll(blockers);
            cluster.run(scancel);
        }
        for (String node : List.of("n1", "n2")) {
            cluster.setNodeState(node, "RESUME", "");
        }
    }

    /** The site's options as a user writes them: the gate's, and the engine's {@code poll-interval}. */
    static Map<String, String> options(SlurmCluster cluster) {
        Map<String, String> o = cluster.restGateOptions();
        o.put("poll-interval", "200ms");
        o.put("request-timeout", "5s");
        return o;
    }

    /** An engine with one local cpu, so that a job asking two fits no node here but every node of the cluster. */
    static SkyPort engine(Path data, Map<String, String> options) {
        return SkyPort.embedded().dataDir(data).localCpus(1).batchSite("hpc", "slurm", options).start();
    }

    private SkyPort engine() {
        SkyPort sky = engine(dir.resolve("data"), options(cluster));
        engines.add(sky);
        return sky;
    }

    /** The Slurm jobs carrying this job's tag, as {@code id state} lines, from squeue (not through the gate). */
    static List<String> slurmJobs(SlurmCluster cluster, JobId id) {
        return cluster.run("squeue", "-h", "-a", "-t", "all", "-o", "%i|%T|%k").lines()
                .map(l -> l.trim().split("\\|", 3))
                .filter(f -> f.length == 3 && f[2].startsWith("skyport:" + id + ":"))
                .map(f -> f[0] + " " + f[1]).toList();
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        waitFor(condition, () -> what);
    }

    private static void waitFor(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what.get() + "\n" + cluster.logs());
            }
            Thread.sleep(50);
        }
    }

    private static Job awaitState(SkyPort sky, JobId id, JobState state) throws InterruptedException {
        waitFor(() -> sky.jobs().get(id).state() == state, "job " + id + " to be " + state);
        return sky.jobs().get(id);
    }

    private static Path siteDir(JobId id) {
        return cluster.workRoot().resolve(id.toString());
    }

    private static void release(JobId id) throws IOException {
        Files.writeString(siteDir(id).resolve("release"), "");
    }

    @Test
    void aSwmJobNamingTheSiteRunsOnSlurmAndItsLogsAndOutputsComeBack() throws Exception {
        SkyPort sky = engine();
        Path input = Files.writeString(dir.resolve("in.txt"), "forty-two\n");
        JobSpec spec = JobSpec.parseScript("#!/bin/sh\n#SWM name e2e\n#SWM cpus 1\n#SWM mem 100M\n#SWM time 5\n"
                + "#SWM input-files " + input + "\n#SWM output-files result.txt\n#SWM env GREETING=hello\n"
                + "echo \"$GREETING from $SKYPORT_JOB_ID on $SLURM_JOB_NODELIST\"\necho oops >&2\n"
                + "tr a-z A-Z < in.txt > result.txt\n").remoteSite("hpc").build();
        Job job = sky.jobs().submit(spec);
        Job done = sky.jobs().await(job.id(), WAIT);

        assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
        Attempt attempt = done.lastAttempt().orElseThrow();
        assertThat(attempt.partition()).contains("hpc/debug");
        assertThat(attempt.nodes()).hasSize(1).allMatch(n -> n.equals("hpc/n1") || n.equals("hpc/n2"));
        assertThat(attempt.exitCode()).hasValue(0);
        assertThat(sky.jobs().stdout(job.id())).matches("hello from " + job.id() + " on n[12]\n");
        assertThat(sky.jobs().stderr(job.id())).isEqualTo("oops\n");
        assertThat(dir.resolve("data").resolve("jobs").resolve(job.id().toString()).resolve("result.txt"))
                .hasContent("FORTY-TWO");
        assertThat(slurmJobs(cluster, job.id())).singleElement().asString().endsWith(" COMPLETED");
    }

    @Test
    void aJobNoLocalNodeHoldsIsRoutedToTheClusterByFitWhileOneThatFitsStaysHere() throws Exception {
        SkyPort sky = engine();
        Job big = sky.jobs().submit(JobSpec.builder().cpus(2).script("#!/bin/sh\necho big\n").build());
        Job small = sky.jobs().submit(JobSpec.builder().cpus(1).script("#!/bin/sh\necho small\n").build());

        Job bigDone = sky.jobs().await(big.id(), WAIT);
        Job smallDone = sky.jobs().await(small.id(), WAIT);
        assertThat(bigDone.state()).as(bigDone.stateDetails()).isEqualTo(JobState.SUCCEEDED);
        assertThat(bigDone.lastAttempt().orElseThrow().partition()).hasValueSatisfying(p -> assertThat(p)
                .startsWith("hpc/"));
        assertThat(slurmJobs(cluster, big.id())).hasSize(1);
        assertThat(smallDone.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(smallDone.lastAttempt().orElseThrow().partition().orElse("")).doesNotStartWith("hpc/");
        assertThat(slurmJobs(cluster, small.id())).isEmpty();
    }

    @Test
    void aJobPendingAtSlurmShowsSlurmsReasonAndExpectedStartAndIsCanceledThere() throws Exception {
        SkyPort sky = engine();
        // Both nodes taken by a job of root's with a five-minute limit: Slurm plans ours after it.
        blockers.add(cluster.run("sbatch", "--parsable", "-N", "2", "--exclusive", "-t", "5", "-o", "/dev/null",
                "-D", cluster.workRoot().toString(), "--wrap", "sleep 600").trim());
        waitFor(() -> cluster.run("squeue", "-h", "-j", blockers.get(0), "-o", "%T").trim().equals("RUNNING"),
                () -> "the blocker to run: " + cluster.run("squeue", "-h", "-a", "-t", "all", "-o", "%i %T %r %N")
                        + cluster.run("sinfo", "-N"));
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.none())
                .script("#!/bin/sh\necho never\n").build());
        waitFor(() -> sky.jobs().get(job.id()).stateDetails().contains("expected start"),
                "Slurm's reason and expected start");
        Job pending = sky.jobs().get(job.id());
        assertThat(pending.state()).isEqualTo(JobState.PROVISIONING);
        assertThat(pending.stateDetails()).matches("pending at hpc: (Resources|Priority); expected start .+");

        sky.jobs().cancel(job.id());
        Job canceled = awaitState(sky, job.id(), JobState.CANCELED);
        assertThat(canceled.endReason()).contains(EndReason.CANCELED);
        assertThat(slurmJobs(cluster, job.id())).singleElement().asString().endsWith(" CANCELLED");
        assertThat(sky.jobs().stdout(job.id())).isEmpty();
    }

    @Test
    void aJobCanceledWhileSlurmRunsItEndsThereAndIsCanceled() throws Exception {
        SkyPort sky = engine();
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.none())
                .script(WAITING).build());
        awaitState(sky, job.id(), JobState.RUNNING);
        waitFor(() -> read(siteDir(job.id()).resolve("stdout.log")).equals("start\n"), "the job to print start");

        sky.jobs().cancel(job.id());
        Job canceled = awaitState(sky, job.id(), JobState.CANCELED);
        assertThat(canceled.endReason()).contains(EndReason.CANCELED);
        waitFor(() -> slurmJobs(cluster, job.id()).stream().allMatch(l -> l.endsWith(" CANCELLED")),
                "Slurm's job to end CANCELLED");
        assertThat(slurmJobs(cluster, job.id())).hasSize(1);
    }

    @Test
    void aNonZeroExitFailsTheJobWithItsExitCodeAndIsNotRetried() throws Exception {
        SkyPort sky = engine();
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.defaults())
                .script("#!/bin/sh\necho about to fail\nexit 3\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.endReason()).contains(EndReason.NON_ZERO_EXIT);
        assertThat(done.attempts()).hasSize(1);
        assertThat(done.lastAttempt().orElseThrow().exitCode()).hasValue(3);
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("about to fail\n");
        assertThat(slurmJobs(cluster, job.id())).singleElement().asString().endsWith(" FAILED");
    }

    @Test
    void aJobOverItsTimeLimitIsKilledBySlurmAndEndsTimeLimit() throws Exception {
        SkyPort sky = engine();
        // Slurm's limits are whole minutes and its timer ticks every 30 s or so: this test takes 60-100 s, the one test
        // of the module that waits for Slurm's clock. 20 s asked is a minute at Slurm (rounded up, never down).
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").timeLimit(Duration.ofSeconds(20))
                .retryPolicy(RetryPolicy.defaults()).script("#!/bin/sh\necho begun\nsleep 600\n").build());
        Job done = sky.jobs().await(job.id(), Duration.ofMinutes(3));
        assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.FAILED);
        assertThat(done.endReason()).contains(EndReason.TIME_LIMIT);
        assertThat(done.attempts()).hasSize(1);
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("begun\n");
        String slurmJob = slurmJobs(cluster, job.id()).get(0);
        assertThat(slurmJob).endsWith(" TIMEOUT");
        assertThat(cluster.scontrol("show", "job", slurmJob.split(" ")[0])).contains("TimeLimit=00:01:00");
    }

    @Test
    void aNodeSetDownUnderARunningJobEndsItsAttemptNodeLostAndTheRetryRunsOnTheOtherNode() throws Exception {
        SkyPort sky = engine();
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc")
                .retryPolicy(RetryPolicy.defaults().withMaxAttempts(2).withBackoff(Duration.ofMillis(100),
                        Duration.ofMillis(100)))
                .script("#!/bin/sh\nif [ \"$SKYPORT_ATTEMPT\" = 1 ]; then sleep 600; fi\necho \"second on "
                        + "$SLURM_JOB_NODELIST\"\n").build());
        Job running = awaitState(sky, job.id(), JobState.RUNNING);
        String node = running.lastAttempt().orElseThrow().nodes().get(0).substring("hpc/".length());
        cluster.setNodeState(node, "DOWN", "e2e");

        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.attempts()).hasSize(2);
        assertThat(done.attempts().get(0).endReason()).contains(EndReason.NODE_LOST);
        // ReturnToService=2 brings the node back as soon as its slurmd answers, so the retry may run on either.
        assertThat(done.attempts().get(1).nodes()).singleElement().asString().matches("hpc/n[12]");
        assertThat(sky.jobs().stdout(job.id())).matches("second on n[12]\n");
        // One Slurm job per attempt: the first (its copy Slurm requeued canceled by the gate) and the retry.
        assertThat(slurmJobs(cluster, job.id())).hasSize(2);
    }

    @Test
    void slurmrestdStoppedForAWhileDelaysTheJobWhichThenSucceeds() throws Exception {
        SkyPort sky = engine();
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.none())
                .script(WAITING).build());
        awaitState(sky, job.id(), JobState.RUNNING);
        cluster.stopRest();
        release(job.id());
        waitFor(() -> sky.health().problems().stream().anyMatch(p -> p.component().equals("batch-site-hpc")),
                "the site's failed polls to show in health");
        waitFor(() -> slurmJobs(cluster, job.id()).stream().allMatch(l -> l.endsWith(" COMPLETED")),
                "Slurm to finish the job while slurmrestd is down");
        assertThat(sky.jobs().get(job.id()).state()).as("nobody told the engine yet").isEqualTo(JobState.RUNNING);

        // A job submitted meanwhile waits for the site instead of failing.
        Job later = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").retryPolicy(RetryPolicy.none())
                .script("#!/bin/sh\necho later\n").build());
        waitFor(() -> !sky.jobs().get(later.id()).stateDetails().isEmpty()
                && sky.jobs().get(later.id()).state() == JobState.STAGING_IN, "the second job to wait for the site");
        assertThat(slurmJobs(cluster, later.id())).isEmpty();

        cluster.startRest();
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("start\nend\n");
        Job laterDone = sky.jobs().await(later.id(), WAIT);
        assertThat(laterDone.state()).as(laterDone.stateDetails()).isEqualTo(JobState.SUCCEEDED);
        assertThat(slurmJobs(cluster, later.id())).hasSize(1);
    }

    @Test
    void anAccountSlurmDoesNotKnowFailsTheJobAtOnceWithSlurmsReasonAndQueuesNothing() throws Exception {
        SkyPort sky = engine();
        int before = cluster.jobIds().size();
        Job job = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").account("biology")
                .retryPolicy(RetryPolicy.defaults()).script("#!/bin/sh\ntrue\n").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).isEqualTo(JobState.FAILED);
        assertThat(done.attempts()).hasSize(1);
        assertThat(done.stateDetails()).contains("Invalid account or account/partition combination specified");
        assertThat(cluster.jobIds()).hasSize(before);

        Job known = sky.jobs().submit(JobSpec.builder().remoteSite("hpc").account("physics")
                .script("#!/bin/sh\necho physics\n").build());
        assertThat(sky.jobs().await(known.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
    }

    @Test
    void jobsNoPartitionHoldsOrNamingAnUnknownPartitionAreRefusedAtSubmitAndNothingReachesSlurm() {
        SkyPort sky = engine();
        int before = cluster.jobIds().size();
        int stored = sky.jobs().list(dev.skyport.api.JobQuery.all()).items().size();

        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc").cpus(3)
                .script("#!/bin/sh\ntrue\n").build()))
                .isInstanceOf(InvalidJobSpecException.class)
                .hasMessageContaining("debug: up to 2 nodes of 2 cpus, 2000 MiB, 0 gpus, 60 min")
                .hasMessageContaining("small: up to 1 node of 2 cpus");
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc/small").nodes(2)
                .script("#!/bin/sh\ntrue\n").build()))
                .isInstanceOf(InvalidJobSpecException.class).hasMessageContaining("small: up to 1 node of");
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc/small")
                .timeLimit(Duration.ofMinutes(11)).script("#!/bin/sh\ntrue\n").build()))
                .isInstanceOf(InvalidJobSpecException.class).hasMessageContaining("10 min");
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("hpc/gpu")
                .script("#!/bin/sh\ntrue\n").build()))
                .isInstanceOf(InvalidJobSpecException.class)
                .hasMessageContaining("gpu").hasMessageContaining("debug").hasMessageContaining("small");
        assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().remoteSite("cluster2")
                .script("#!/bin/sh\ntrue\n").build()))
                .isInstanceOf(InvalidJobSpecException.class).hasMessageContaining("hpc");

        assertThat(sky.jobs().list(dev.skyport.api.JobQuery.all()).items()).hasSize(stored);
        assertThat(cluster.jobIds()).hasSize(before);
    }

    @Test
    void anEngineKilledWhileSlurmRunsItsJobReattachesByIdAndTheJobSucceedsWithOneSlurmJob() throws Exception {
        Path data = dir.resolve("data");
        List<String> args = new ArrayList<>(List.of(data.toString(), WAITING));
        options(cluster).forEach((k, v) -> args.add(k + "=" + v));
        JobId id;
        try (ChildJvm child = ChildJvm.start(SlurmChildEngine.class, args)) {
            id = JobId.parse(child.line("ACK ", WAIT));
            waitFor(() -> read(siteDir(id).resolve("stdout.log")).equals("start\n"), "Slurm to run the job");
            child.kill9();
        }
        assertThat(slurmJobs(cluster, id)).singleElement().asString().endsWith(" RUNNING");

        SkyPort sky = engine(data, options(cluster));
        engines.add(sky);
        // The child may have died before its poll saw Slurm start the job.
        assertThat(sky.jobs().get(id).state()).isIn(JobState.PROVISIONING, JobState.RUNNING);
        release(id);
        Job done = sky.jobs().await(id, WAIT);
        assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.attempts()).hasSize(1);
        assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
        assertThat(slurmJobs(cluster, id)).singleElement().asString().endsWith(" COMPLETED");
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
