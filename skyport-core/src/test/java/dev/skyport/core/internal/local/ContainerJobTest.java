package dev.skyport.core.internal.local;

import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Limits;
import dev.skyport.api.SkyPort;
import dev.skyport.gate.ContainerRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Jobs with a {@code container-image} on the local gate, run by the real podman in an image imported from busybox.
 * The engine runs as root with job accounts, so these also show that a container job runs as its mapped account.
 */
class ContainerJobTest {
    private static final Duration WAIT = Duration.ofSeconds(90);

    @RegisterExtension
    static final BusyboxImage.PerClass IMAGE = new BusyboxImage.PerClass();

    @TempDir
    Path data;

    private SkyPort start(String runtime) {
        return SkyPort.embedded().dataDir(data).localCpus(4).jobIsolation(JobIsolation.ACCOUNT)
                .limits(Limits.defaults().withKillGracePeriod(Duration.ofSeconds(2)))
                .gateOption("container-runtime", runtime)
                .gateOption("container-runtime-args", BusyboxImage.RUNTIME_ARGS).start();
    }

    private static String script(String body) {
        return "#!/bin/sh\n#SWM container-image " + IMAGE.tag() + "\n" + body;
    }

    @Test
    void aJobRunsInItsImageWithItsDirectoryEnvironmentAndExitCode() throws Exception {
        try (SkyPort sky = start("podman")) {
            Job job = sky.jobs().submit(JobSpec.script(script("#SWM env GREETING=hello from the host\n"
                    + "cat /etc/os-release\n"
                    + "echo \"pid1=$(cat /proc/1/cmdline | tr '\\0' ' ')\"\n"
                    + "echo \"uid=$(id -u) pwd=$(pwd) home=$HOME greeting=$GREETING job=$SKYPORT_JOB_ID\"\n"
                    + "ls \"$SKYPORT_JOB_DIR\"\n"
                    + "env | sed 's/^/env: /'\n"
                    + "echo written inside > inside.txt\n"
                    + "echo to stderr >&2\n"
                    + "exit 3\n")));
            Job done = sky.jobs().await(job.id(), WAIT);
            String out = sky.jobs().stdout(job.id());
            Path dir = data.resolve("jobs").resolve(job.id().toString());
            assertThat(done.state()).as(out + sky.jobs().stderr(job.id())).isEqualTo(JobState.FAILED);
            assertThat(done.exitCode()).hasValue(3);
            assertThat(done.warnings()).isEmpty();
            assertThat(out).contains(BusyboxImage.OS_NAME)
                    .contains("uid=65534 pwd=" + dir + " home=" + dir + " greeting=hello from the host job=" + job.id())
                    .contains("script");
            // --init: the container's PID 1 is the runtime's init, which passes signals on to the job.
            assertThat(out).containsPattern("pid1=\\S*(catatonit|init)");
            assertThat(sky.jobs().stderr(job.id())).isEqualTo("to stderr\n");
            // The container gets the job's variables and the gate's, none of the engine's.
            Set<String> ownOrRuntimes = Set.of("PATH", "HOME", "TERM", "HOSTNAME", "USER", "LOGNAME", "PWD", "SHLVL",
                    "container");
            assertThat(System.getenv().keySet()).isNotEmpty();
            for (String engineVariable : System.getenv().keySet()) {
                if (!ownOrRuntimes.contains(engineVariable)) {
                    assertThat(out).doesNotContain("env: " + engineVariable + "=");
                }
            }
            assertThat(dir.resolve("inside.txt")).hasContent("written inside");
            assertThat(BusyboxImage.containersNamed(ContainerRun.name(job.id(), 1))).isEmpty();
        }
    }

    @Test
    void theJobsVariablesReachTheContainerButNotTheRuntimesClient() throws Exception {
        try (SkyPort sky = start("podman")) {
            // Each would change the client (run as the engine's user, outside any sandbox) if it got them.
            Job job = sky.jobs().submit(JobSpec.script(script("#SWM env LD_PRELOAD=/nonexistent.so\n"
                    + "#SWM env PATH=/tmp/evil\n"
                    + "#SWM env CONTAINER_HOST=unix:///nonexistent.sock\n"
                    + "#SWM env DOCKER_HOST=unix:///nonexistent.sock\n"
                    + "echo \"preload=$LD_PRELOAD path=$PATH host=$CONTAINER_HOST\"\n")));
            Job done = sky.jobs().await(job.id(), WAIT);
            String out = sky.jobs().stdout(job.id());
            String err = sky.jobs().stderr(job.id());
            assertThat(done.state()).as(out + err).isEqualTo(JobState.SUCCEEDED);
            assertThat(out).contains("preload=/nonexistent.so path=/tmp/evil host=unix:///nonexistent.sock");
            assertThat(err).doesNotContain("nonexistent");
        }
    }

    @Test
    void theJobsMemoryIsTheContainersLimit() throws Exception {
        try (SkyPort sky = start("podman")) {
            Job job = sky.jobs().submit(JobSpec.script(script("#SWM mem 64M\n"
                    + "for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max; do\n"
                    + "  [ -r $f ] && echo \"limit=$(cat $f)\"\n"
                    + "done\n"
                    + "exit 0\n")));
            Job done = sky.jobs().await(job.id(), WAIT);
            String out = sky.jobs().stdout(job.id());
            assertThat(done.state()).as(out + sky.jobs().stderr(job.id())).isEqualTo(JobState.SUCCEEDED);
            assertThat(out).contains("limit=" + 64 * 1024 * 1024 + "\n");
        }
    }

    @Test
    void aCancelStopsTheContainerWithSigtermAndAJobIgnoringItWithSigkill() throws Exception {
        try (SkyPort sky = start("podman")) {
            Job polite = sky.jobs().submit(JobSpec.script(script("echo started\nexec sleep 300\n")));
            Job stubborn = sky.jobs().submit(JobSpec.script(script(
                    "trap 'echo ignoring TERM' TERM\necho started\nwhile :; do sleep 1; done\n")));
            for (Job j : new Job[] {polite, stubborn}) {
                awaitTrue(() -> sky.jobs().stdout(j.id()).contains("started")
                        && !BusyboxImage.containersNamed(ContainerRun.name(j.id(), 1)).isEmpty(), "container runs");
                sky.jobs().cancel(j.id());
            }
            Job politeDone = sky.jobs().await(polite.id(), WAIT);
            assertThat(politeDone.state()).isEqualTo(JobState.CANCELED);
            assertThat(politeDone.signal()).as("the job got SIGTERM, through --init").hasValue(15);
            Job stubbornDone = sky.jobs().await(stubborn.id(), WAIT);
            assertThat(stubbornDone.state()).isEqualTo(JobState.CANCELED);
            // Whether the wrapper records the client's 137 before its own SIGKILL arrives is a race, as for any run.
            assertThat(sky.jobs().stdout(stubborn.id())).contains("ignoring TERM");
            for (Job j : new Job[] {polite, stubborn}) {
                awaitTrue(() -> BusyboxImage.containersNamed(ContainerRun.name(j.id(), 1)).isEmpty(),
                        "container of " + j.id() + " gone");
            }
        }
    }

    @Test
    void aContainerOutlivesTheEngineAndTheNextEngineFindsAndStopsIt() throws Exception {
        Job job;
        String name;
        try (SkyPort sky = start("podman")) {
            job = sky.jobs().submit(JobSpec.script(script(
                    "trap 'echo ignoring TERM' TERM\necho started\nwhile :; do sleep 1; done\n")));
            name = ContainerRun.name(job.id(), 1);
            awaitTrue(() -> sky.jobs().stdout(job.id()).contains("started")
                    && !BusyboxImage.containersNamed(name).isEmpty(), "container runs");
        }
        assertThat(BusyboxImage.containersNamed(name)).as("the run is detached").containsExactly(name);
        // The next engine has not looked for the runtime yet: the run's mark tells it the run is a container.
        try (SkyPort sky = start("podman")) {
            assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.RUNNING);
            sky.jobs().cancel(job.id());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.CANCELED);
            assertThat(done.attempts()).hasSize(1);
            assertThat(sky.jobs().stdout(job.id())).contains("ignoring TERM");
            awaitTrue(() -> BusyboxImage.containersNamed(name).isEmpty(), "container gone");
        }
    }

    @Test
    void anInPortIsPublishedOnTheNode() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        try (SkyPort sky = start("podman")) {
            // busybox nc: -l listens once and sends its standard input to the first client.
            Job job = sky.jobs().submit(JobSpec.script(script("#SWM ports " + port + "/tcp/in\n"
                    + "echo pong-from-container | nc -l -p " + port + "\n")));
            String[] got = new String[1];
            awaitTrue(() -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                    s.setSoTimeout(5000);
                    try (InputStream in = s.getInputStream()) {
                        got[0] = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    }
                    return got[0].contains("pong");
                } catch (IOException notYet) {
                    return false;
                }
            }, "the job's port answers on the host");
            assertThat(got[0]).isEqualTo("pong-from-container\n");
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).as(sky.jobs().stderr(job.id())).isEqualTo(JobState.SUCCEEDED);
        }
    }

    @Test
    void withoutARuntimeTheJobFailsNamingTheNode() throws Exception {
        try (SkyPort sky = start("/nonexistent/podman,/nonexistent/docker")) {
            Job job = sky.jobs().submit(JobSpec.script(script("echo never\n")));
            assertThat(job.warnings()).isEmpty();
            JobId id = job.id();
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.SYSTEM_ERROR);
            assertThat(done.stateDetails()).contains("no container runtime (/nonexistent/podman or "
                    + "/nonexistent/docker) on node local: /nonexistent/podman not found; /nonexistent/docker not found");
            assertThat(Files.exists(data.resolve("jobs").resolve(id.toString()).resolve("stdout.log"))).isFalse();
        }
    }

    @Test
    void withoutTheOptionTheImageIsIgnoredWithAWarning() throws Exception {
        try (SkyPort sky = SkyPort.embedded().dataDir(data).jobIsolation(JobIsolation.NONE).start()) {
            Job job = sky.jobs().submit(JobSpec.script(script("cat /etc/os-release\n")));
            assertThat(job.warnings()).singleElement().asString().contains("container-image");
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().stdout(job.id())).doesNotContain(BusyboxImage.OS_NAME);
        }
    }

    private static void awaitTrue(Callable<Boolean> condition, String what) throws Exception {
        long end = System.nanoTime() + WAIT.toNanos();
        while (!condition.call()) {
            assertThat(System.nanoTime()).as(what).isLessThan(end);
            Thread.sleep(50);
        }
    }
}
