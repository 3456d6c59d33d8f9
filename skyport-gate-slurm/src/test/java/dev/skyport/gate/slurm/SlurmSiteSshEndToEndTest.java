package dev.skyport.gate.slurm;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.core.internal.ChildJvm;
import dev.skyport.gate.slurm.testing.SlurmCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The most important end-to-end cases again with the slurm gate's SSH backend (Slurm's commands on a login node,
 * {@link SlurmLoginNode}, instead of slurmrestd): a job naming the site runs and comes back, and an engine
 * {@code kill -9}ed while Slurm runs its job re-attaches with exactly one Slurm job.
 */
class SlurmSiteSshEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final String WAITING = "#!/bin/sh\necho start\nwhile [ ! -e \"$SKYPORT_JOB_DIR/release\" ]; do\n"
            + "[ -d \"$SKYPORT_JOB_DIR\" ] || exit 1; sleep 0.05; done\necho end\n";
    private static SlurmCluster cluster;
    private static SlurmLoginNode login;
    @TempDir
    static Path keys;

    @TempDir
    Path dir;
    private final List<SkyPort> engines = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        cluster = SlurmCluster.start();
        login = SlurmLoginNode.start(cluster, keys);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (login != null) {
                login.close();
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
    }

    @AfterEach
    void closeEngines() {
        engines.forEach(SkyPort::close);
        cluster.run("scancel", "-u", System.getProperty("user.name"));
    }

    private static Map<String, String> options() {
        Map<String, String> o = login.gateOptions(cluster);
        o.put("poll-interval", "200ms");
        return o;
    }

    private SkyPort engine(Path data) {
        SkyPort sky = SlurmSiteEndToEndTest.engine(data, options());
        engines.add(sky);
        return sky;
    }

    @Test
    void aSwmJobNamingTheSiteRunsThroughTheLoginNodeAndItsLogsAndOutputsComeBack() throws Exception {
        SkyPort sky = engine(dir.resolve("data"));
        Path input = Files.writeString(dir.resolve("in.txt"), "forty-two\n");
        Job job = sky.jobs().submit(JobSpec.parseScript("#!/bin/sh\n#SWM cpus 1\n#SWM input-files " + input
                + "\n#SWM output-files result.txt\necho \"hello from $SKYPORT_JOB_ID\"\n"
                + "tr a-z A-Z < in.txt > result.txt\n").remoteSite("hpc").build());
        Job done = sky.jobs().await(job.id(), WAIT);
        assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.lastAttempt().orElseThrow().partition()).contains("hpc/debug");
        assertThat(sky.jobs().stdout(job.id())).isEqualTo("hello from " + job.id() + "\n");
        assertThat(dir.resolve("data").resolve("jobs").resolve(job.id().toString()).resolve("result.txt"))
                .hasContent("FORTY-TWO");
        assertThat(SlurmSiteEndToEndTest.slurmJobs(cluster, job.id())).singleElement().asString()
                .endsWith(" COMPLETED");
    }

    @Test
    void anEngineKilledWhileSlurmRunsItsJobReattachesThroughTheLoginNodeWithOneSlurmJob() throws Exception {
        Path data = dir.resolve("data");
        List<String> args = new ArrayList<>(List.of(data.toString(), WAITING));
        options().forEach((k, v) -> args.add(k + "=" + v));
        JobId id;
        try (ChildJvm child = ChildJvm.start(SlurmChildEngine.class, args)) {
            id = JobId.parse(child.line("ACK ", WAIT));
            Path stdout = cluster.workRoot().resolve(id.toString()).resolve("stdout.log");
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!SlurmSiteEndToEndTest.read(stdout).equals("start\n")) {
                assertThat(System.nanoTime()).as("Slurm runs the job").isLessThan(deadline);
                Thread.sleep(50);
            }
            child.kill9();
        }
        SkyPort sky = engine(data);
        assertThat(sky.jobs().get(id).state()).isIn(JobState.PROVISIONING, JobState.RUNNING);
        Files.writeString(cluster.workRoot().resolve(id.toString()).resolve("release"), "");
        Job done = sky.jobs().await(id, WAIT);
        assertThat(done.state()).as(done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.attempts()).hasSize(1);
        assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
        assertThat(SlurmSiteEndToEndTest.slurmJobs(cluster, id)).singleElement().asString().endsWith(" COMPLETED");
    }
}
