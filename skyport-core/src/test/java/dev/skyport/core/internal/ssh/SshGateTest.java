package dev.skyport.core.internal.ssh;

import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.api.Subscription;
import dev.skyport.gate.GateException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import static dev.skyport.core.internal.ssh.SshNodes.WAIT;
import static dev.skyport.core.internal.ssh.SshNodes.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@code ssh} gate through the real embedded engine, with MINA SSH servers on loopback as the hosts: jobs run and
 * report their exit code and output, spread over nodes, health probing takes nodes DOWN and UP, a node lost during a
 * job ends the attempt NODE_LOST and the job is retried, and a restarted engine re-attaches to remote runs.
 */
class SshGateTest {
    /** Waits (bounded, so that a job left behind by a failed test ends by itself) for {@code release} in its dir. */
    private static final String WAITS_FOR_RELEASE = "#!/bin/sh\necho start\ni=0\n"
            + "while [ ! -e \"$SKYPORT_JOB_DIR/release\" ] && [ $i -lt 3000 ]; do sleep 0.05; i=$((i+1)); done\n"
            + "echo end\n";

    @TempDir
    Path tmp;
    private SshNodes hosts;

    @BeforeEach
    void hosts() throws IOException {
        hosts = new SshNodes(Files.createDirectories(tmp.resolve("hosts")));
    }

    @AfterEach
    void stopHosts() throws IOException {
        hosts.close();
    }

    private Path data() {
        return tmp.resolve("data");
    }

    private SkyPort start(Map<String, String> options) {
        return SshNodes.engine(data(), options).start();
    }

    private Path remoteDir(JobId id) {
        return hosts.remoteRoot.resolve(id.toString());
    }

    private static Node node(SkyPort sky, String name) {
        return sky.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    private static void awaitUp(SkyPort sky, String... names) throws InterruptedException {
        for (String n : names) {
            await(() -> node(sky, n).state() == NodeState.UP, "node " + n + " is UP");
        }
    }

    private static JobSpec waiting(RetryPolicy retry) {
        return JobSpec.builder().retryPolicy(retry).script(WAITS_FOR_RELEASE).build();
    }

    private void release(JobId id) throws IOException {
        Files.createFile(remoteDir(id).resolve("release"));
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    void aJobRunsOnAnSshNodeWithItsExitCodeAndOutput() throws Exception {
        hosts.node("n1");
        try (SkyPort sky = start(hosts.options())) {
            awaitUp(sky, "n1");
            Node n1 = node(sky, "n1");
            assertThat(n1.cpus()).isEqualTo(1);
            assertThat(n1.memoryBytes()).isEqualTo(1L << 30);
            assertThat(n1.partition()).isEqualTo("ssh");
            assertThat(n1.labels()).containsEntry("host", "127.0.0.1").doesNotContainKey("state-reason");
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\necho \"hello from $(hostname) $SKYPORT_JOB_ID\"\n"
                    + "echo oops >&2\nexit 3\n"));
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.NON_ZERO_EXIT);
            assertThat(done.exitCode()).hasValue(3);
            assertThat(done.nodeNames()).containsExactly("n1");
            assertThat(sky.jobs().stdout(job.id())).endsWith(job.id() + "\n").startsWith("hello from ");
            assertThat(sky.jobs().stderr(job.id())).isEqualTo("oops\n");
            assertThat(remoteDir(job.id()).resolve("stdout.log")).as("the run's directory is remote-root/<job id>")
                    .exists();
            assertThat(sky.flavors()).singleElement().satisfies(f -> {
                assertThat(f.cpus()).isEqualTo(1);
                assertThat(f.pricePerHour()).isZero();
            });
        }
    }

    @Test
    void aRelativeRemoteRootIsUnderTheLoginsHome() throws Exception {
        hosts.node("n1");
        String root = "skyport-test-" + java.util.UUID.randomUUID();
        Path home = Path.of(java.util.Optional.ofNullable(System.getenv("HOME"))
                .orElse(System.getProperty("user.home")));
        Map<String, String> options = new HashMap<>(hosts.options());
        options.put("remote-root", "~/" + root + "/jobs");
        try (SkyPort sky = start(options)) {
            awaitUp(sky, "n1");
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\npwd\n"));
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            Path dir = home.resolve(root).resolve("jobs").resolve(job.id().toString());
            assertThat(sky.jobs().stdout(job.id())).isEqualTo(dir + "\n");
        } finally {
            new ProcessBuilder("rm", "-rf", "--", home.resolve(root).toString()).start().waitFor();
        }
    }

    @Test
    void jobsSpreadOverTwoNodes() throws Exception {
        hosts.node("a").node("b");
        try (SkyPort sky = start(hosts.options())) {
            awaitUp(sky, "a", "b");
            Job first = sky.jobs().submit(waiting(RetryPolicy.none()));
            Job second = sky.jobs().submit(waiting(RetryPolicy.none()));
            await(() -> sky.jobs().get(first.id()).state() == JobState.RUNNING
                    && sky.jobs().get(second.id()).state() == JobState.RUNNING, "both jobs run at once");
            await(() -> read(remoteDir(first.id()).resolve("stdout.log")).equals("start\n")
                    && read(remoteDir(second.id()).resolve("stdout.log")).equals("start\n"), "both jobs started");
            assertThat(List.of(sky.jobs().get(first.id()).nodeNames().get(0),
                    sky.jobs().get(second.id()).nodeNames().get(0))).containsExactlyInAnyOrder("a", "b");
            release(first.id());
            release(second.id());
            assertThat(sky.jobs().await(first.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().await(second.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().stdout(second.id())).isEqualTo("start\nend\n");
        }
    }

    @Test
    void aStoppedHostGoesDownWithItsReasonAndComesBackUp() throws Exception {
        hosts.node("n1");
        List<NodeTransitioned> events = new CopyOnWriteArrayList<>();
        try (SkyPort sky = start(hosts.options());
             Subscription ignored = sky.events().subscribe(nodeEvents(events))) {
            // The engine notices a change on its next listing of the nodes: a flap between two is not an event.
            await(() -> events.stream().anyMatch(e -> e.to() == NodeState.UP), "an UP event");
            hosts.stop("n1");
            await(() -> events.stream().anyMatch(e -> e.to() == NodeState.DOWN), "a DOWN event");
            NodeTransitioned down = events.stream().filter(e -> e.to() == NodeState.DOWN).findFirst().orElseThrow();
            assertThat(down.node()).isEqualTo("n1");
            assertThat(down.from()).hasValue(NodeState.UP);
            assertThat(down.details()).contains("cannot connect to").contains("127.0.0.1:" + hosts.port("n1"));
            assertThat(node(sky, "n1").labels().get("state-reason")).contains("cannot connect");
            hosts.start("n1");
            await(() -> upAfterDown(events), "an UP event after the DOWN one");
            assertThat(node(sky, "n1").labels()).doesNotContainKey("state-reason");
        }
    }

    private static boolean upAfterDown(List<NodeTransitioned> events) {
        boolean down = false;
        for (NodeTransitioned e : events) {
            down |= e.to() == NodeState.DOWN && e.from().isPresent();
            if (down && e.to() == NodeState.UP) {
                return true;
            }
        }
        return false;
    }

    private static Consumer<dev.skyport.api.SkyPortEvent> nodeEvents(List<NodeTransitioned> into) {
        return e -> {
            if (e instanceof NodeTransitioned t) {
                into.add(t);
            }
        };
    }

    @Test
    void aNodeKilledDuringAJobEndsTheAttemptNodeLostAndTheJobIsRetriedElsewhere() throws Exception {
        hosts.node("a").node("b");
        hosts.stop("b"); // the job can only start on a
        RetryPolicy retry = RetryPolicy.defaults().withMaxAttempts(3)
                .withBackoff(Duration.ofMillis(100), Duration.ofMillis(200));
        try (SkyPort sky = start(hosts.options())) {
            awaitUp(sky, "a");
            Job job = sky.jobs().submit(waiting(retry));
            await(() -> read(remoteDir(job.id()).resolve("stdout.log")).equals("start\n"), "the job started on a");
            assertThat(sky.jobs().get(job.id()).nodeNames()).containsExactly("a");
            hosts.stop("a");
            hosts.start("b");
            await(() -> sky.jobs().get(job.id()).attempts().size() == 2
                    && sky.jobs().get(job.id()).state() == JobState.RUNNING, "a second attempt runs");
            Job retried = sky.jobs().get(job.id());
            Attempt lost = retried.attempts().get(0);
            assertThat(lost.endReason()).hasValue(EndReason.NODE_LOST);
            assertThat(lost.nodes()).containsExactly("a");
            assertThat(retried.nodeNames()).containsExactly("b");
            release(job.id());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(2);
        }
    }

    @Test
    void aBlipShorterThanNodeLostAfterDoesNotEndTheRun() throws Exception {
        hosts.node("n1");
        Map<String, String> options = new HashMap<>(hosts.options());
        options.put("node-lost-after", "60s");
        List<NodeTransitioned> events = new CopyOnWriteArrayList<>();
        try (SkyPort sky = start(options); Subscription ignored = sky.events().subscribe(nodeEvents(events))) {
            await(() -> events.stream().anyMatch(e -> e.to() == NodeState.UP), "an UP event");
            Job job = sky.jobs().submit(waiting(RetryPolicy.none()));
            await(() -> read(remoteDir(job.id()).resolve("stdout.log")).equals("start\n"), "the job started");
            hosts.stop("n1");
            await(() -> events.stream().anyMatch(e -> e.to() == NodeState.DOWN), "the node went DOWN");
            hosts.start("n1");
            await(() -> upAfterDown(events), "the node came back");
            assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.RUNNING);
            release(job.id());
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
        }
    }

    @Test
    void anEngineReopenedWhileARemoteJobRunsFollowsItToItsEnd() throws Exception {
        hosts.node("n1");
        JobId id;
        try (SkyPort sky = start(hosts.options())) {
            awaitUp(sky, "n1");
            id = sky.jobs().submit(waiting(RetryPolicy.none())).id();
            await(() -> read(remoteDir(id).resolve("stdout.log")).equals("start\n"), "the job started");
        }
        try (SkyPort sky = start(hosts.options())) {
            assertThat(sky.jobs().get(id).state()).isEqualTo(JobState.RUNNING);
            release(id);
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
            assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
        }
    }

    @Test
    void anEngineReopenedWhileTheNodeIsUnreachableFollowsTheJobOnceTheNodeIsBack() throws Exception {
        hosts.node("n1");
        JobId id;
        try (SkyPort sky = start(hosts.options())) {
            awaitUp(sky, "n1");
            id = sky.jobs().submit(waiting(RetryPolicy.none())).id();
            await(() -> read(remoteDir(id).resolve("stdout.log")).equals("start\n"), "the job started");
        }
        hosts.stop("n1"); // the run goes on: only the ssh server is gone
        try (SkyPort sky = start(hosts.options())) {
            await(() -> node(sky, "n1").state() == NodeState.DOWN, "the engine found n1 unreachable");
            assertThat(sky.jobs().get(id).state()).isEqualTo(JobState.RUNNING);
            hosts.start("n1");
            awaitUp(sky, "n1");
            release(id);
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
            assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
        }
    }

    @Test
    void aRemoteJobThatEndedWhileTheEngineWasClosedGetsItsExitCode() throws Exception {
        hosts.node("n1");
        JobId id;
        try (SkyPort sky = start(hosts.options())) {
            awaitUp(sky, "n1");
            id = sky.jobs().submit(waiting(RetryPolicy.none())).id();
            await(() -> read(remoteDir(id).resolve("stdout.log")).equals("start\n"), "the job started");
        }
        release(id);
        await(() -> read(remoteDir(id).resolve("run.1/exitcode")).equals("0\n"), "the job ended");
        try (SkyPort sky = start(hosts.options())) {
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.exitCode()).hasValue(0);
            assertThat(sky.jobs().stdout(id)).isEqualTo("start\nend\n");
        }
    }

    @Test
    void aRemoteRunThatVanishedWhileTheEngineWasClosedEndsNodeLost() throws Exception {
        hosts.node("n1");
        JobId id;
        try (SkyPort sky = start(hosts.options())) {
            awaitUp(sky, "n1");
            id = sky.jobs().submit(waiting(RetryPolicy.none())).id();
            await(() -> read(remoteDir(id).resolve("stdout.log")).equals("start\n"), "the job started");
        }
        long group = Long.parseLong(Files.readString(remoteDir(id).resolve("run.1/pid")).trim());
        assertThat(new ProcessBuilder("kill", "-9", "--", "-" + group).start().waitFor()).isZero();
        await(() -> ProcessHandle.of(group).map(p -> !p.isAlive()).orElse(true), "the run vanished");
        try (SkyPort sky = start(hosts.options())) {
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.NODE_LOST);
        }
    }

    @Test
    void aRunWhoseDirectoryIsDeletedWhileItRunsEndsNodeLost() throws Exception {
        hosts.node("n1");
        try (SkyPort sky = start(hosts.options())) {
            awaitUp(sky, "n1");
            JobId id = sky.jobs().submit(waiting(RetryPolicy.none())).id();
            await(() -> read(remoteDir(id).resolve("stdout.log")).equals("start\n"), "the job started");
            long group = Long.parseLong(Files.readString(remoteDir(id).resolve("run.1/pid")).trim());
            assertThat(new ProcessBuilder("rm", "-rf", "--", remoteDir(id).resolve("run.1").toString()).start()
                    .waitFor()).isZero();
            assertThat(new ProcessBuilder("kill", "-9", "--", "-" + group).start().waitFor()).isZero();
            Job done = sky.jobs().await(id, WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.endReason()).hasValue(EndReason.NODE_LOST);
        }
    }

    @Test
    void anUnreachableHostIsDownAndGetsNoJob() throws Exception {
        hosts.node("ok");
        Map<String, String> options = new HashMap<>(hosts.options());
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        options.put("nodes", "ok,gone");
        options.put("node.gone.host", "127.0.0.1");
        options.put("node.gone.port", Integer.toString(closedPort));
        options.put("node.gone.cpus", "4");
        options.put("node.gone.memory", "1G");
        try (SkyPort sky = start(options)) {
            awaitUp(sky, "ok");
            await(() -> node(sky, "gone").labels().getOrDefault("state-reason", "").contains("cannot connect"),
                    "the unreachable node says why it is DOWN");
            assertThat(node(sky, "gone").state()).isEqualTo(NodeState.DOWN);
            // Two cpus fit only the DOWN node: the job waits rather than being placed there.
            Job job = sky.jobs().submit(JobSpec.builder().cpus(2).script("echo never\n").build());
            await(() -> !sky.jobs().get(job.id()).stateDetails().equals(job.stateDetails()),
                    "a scheduling pass has said why the job waits");
            assertThat(sky.jobs().get(job.id()).state()).isEqualTo(JobState.QUEUED);
            assertThat(sky.jobs().get(job.id()).attempts()).isEmpty();
            sky.jobs().cancel(job.id());
        }
    }

    @Test
    void aWrongClientKeyOrUserOrUnknownHostKeyLeavesTheNodeDownWithTheReason() throws Exception {
        hosts.node("n1");
        // The wrong client key: another key pair.
        Path otherKey = tmp.resolve("other_key");
        Files.writeString(otherKey, MinaSshServer.pem(MinaSshServer.rsa()));
        Map<String, String> wrongKey = new HashMap<>(hosts.options());
        wrongKey.put("key", otherKey.toString());
        assertDownBecause(wrongKey, "key authentication refused for");

        hosts.host("n1").server.onlyUser("alice");
        assertDownBecause(hosts.options(), "key authentication refused for " + System.getProperty("user.name") + "@");
        Map<String, String> alice = new HashMap<>(hosts.options());
        alice.put("node.n1.user", "alice");
        try (SkyPort sky = start(alice)) {
            awaitUp(sky, "n1");
        }

        Path empty = Files.writeString(tmp.resolve("empty_known_hosts"), "");
        Map<String, String> unknownHost = new HashMap<>(alice);
        unknownHost.put("known-hosts", empty.toString());
        String fingerprint = SshConnections.fingerprint(hosts.host("n1").hostKey.getPublic());
        assertDownBecause(unknownHost, "unknown host key for 127.0.0.1:" + hosts.port("n1") + ": " + fingerprint);
        assertThat(Files.readString(empty)).as("an unknown key is never added").isEmpty();

        Map<String, String> pinnedWrong = new HashMap<>(alice);
        pinnedWrong.put("node.n1.host-key", SshConnections.fingerprint(MinaSshServer.rsa().getPublic()));
        assertDownBecause(pinnedWrong, fingerprint);
        Map<String, String> pinnedRight = new HashMap<>(pinnedWrong);
        pinnedRight.put("node.n1.host-key", fingerprint);
        pinnedRight.put("known-hosts", empty.toString());
        try (SkyPort sky = start(pinnedRight)) {
            awaitUp(sky, "n1");
        }
    }

    private void assertDownBecause(Map<String, String> options, String reason) throws Exception {
        try (SkyPort sky = start(options)) {
            await(() -> node(sky, "n1").labels().getOrDefault("state-reason", "").contains(reason),
                    "node n1 is DOWN because: " + reason + " (now " + node(sky, "n1") + ")");
            assertThat(node(sky, "n1").state()).isEqualTo(NodeState.DOWN);
            Job job = sky.jobs().submit(JobSpec.script("echo never\n"));
            assertThat(sky.jobs().get(job.id()).attempts()).isEmpty();
            sky.jobs().cancel(job.id());
        }
    }

    @Test
    void badOptionsAreRefusedNamingTheOptionAndStartNothing() throws Exception {
        hosts.node("a").node("b");
        Map<String, String> good = hosts.options();
        assertRefused(with(good, "node.a.hots", "127.0.0.1"), "unknown ssh gate option 'node.a.hots'");
        assertRefused(with(good, "helth-interval", "5s"), "unknown ssh gate option 'helth-interval'");
        assertRefused(with(good, "nodes", "a,b,a"), "lists 'a' twice");
        assertRefused(with(good, "node.b.port", Integer.toString(hosts.port("a"))), "'a' and 'b' are the same login");
        assertRefused(without(good, "node.b.host"), "'node.b.host' is missing");
        assertRefused(with(good, "node.c.host", "h"), "for node 'c', which 'nodes' does not list");
        assertRefused(with(good, "key", tmp.resolve("no-such-key").toString()), "no such file");
        assertRefused(with(good, "known-hosts", tmp.resolve("nope").toString()), "'known-hosts': no such file");
        assertRefused(with(good, "node.a.memory", "16Q"), "'node.a.memory' must be a positive size");
        assertRefused(with(good, "node.a.cpus", "many"), "'node.a.cpus' must be a non-negative integer");
        assertRefused(with(good, "node.a.cpus", "0"), "'node.a.cpus' must be a positive integer");
        assertRefused(with(good, "node.a.port", "70000"), "must be a port in 1..65535");
        assertRefused(with(good, "health-interval", "-1"), "'health-interval' must be a positive duration");
        assertRefused(with(good, "remote-root", "/a/../etc"), "'remote-root'");
        assertRefused(with(good, "node.a.host-key", "MD5:aa"), "'node.a.host-key' must be SHA256:");
        assertRefused(with(good, "node.a.labels", "host=x"), "the label 'host' is set by the gate");
        assertRefused(without(good, "nodes"), "needs the option 'nodes'");
        // 16G-style sizes are accepted.
        try (SkyPort sky = start(with(good, "node.a.memory", "16G"))) {
            assertThat(node(sky, "a").memoryBytes()).isEqualTo(16L << 30);
        }
    }

    private static Map<String, String> with(Map<String, String> base, String key, String value) {
        Map<String, String> o = new HashMap<>(base);
        o.put(key, value);
        return o;
    }

    private static Map<String, String> without(Map<String, String> base, String key) {
        Map<String, String> o = new HashMap<>(base);
        o.remove(key);
        return o;
    }

    private void assertRefused(Map<String, String> options, String message) {
        assertThatThrownBy(() -> start(options).close())
                .isInstanceOfSatisfying(GateException.class, e -> assertThat(e.isTransient()).isFalse())
                .hasMessageContaining(message);
        if (Files.exists(data().resolve("jobs"))) {
            assertThat(data().resolve("jobs")).as("nothing started").isEmptyDirectory();
        }
        assertThat(hosts.remoteRoot).isEmptyDirectory();
    }

    /** An engine that requires isolation, as the daemon does. */
    private dev.skyport.api.EmbeddedBuilder required(Map<String, String> options) {
        return SshNodes.engine(data(), options).jobIsolation(dev.skyport.api.JobIsolation.AUTO).requireJobIsolation();
    }

    @Test
    void requiredIsolationRunsJobsInASandboxOnTheNode() throws Exception {
        hosts.node("a");
        try (SkyPort sky = required(hosts.options()).start()) {
            awaitUp(sky, "a");
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\necho mine > mine.txt\ncat mine.txt\n"
                    + "ls " + data() + " || echo no-engine-data\nls /proc | grep -c '^[0-9]'\n"));
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            // The job's own process, its shell and ls and grep: nothing else of the node.
            assertThat(sky.jobs().stdout(job.id())).startsWith("mine\nno-engine-data\n");
            assertThat(Integer.parseInt(sky.jobs().stdout(job.id()).lines().reduce((x, y) -> y).orElseThrow()))
                    .isLessThan(8);
        }
    }

    @Test
    void aNodeWithoutBubblewrapFailsTheJobWithTheReason() throws Exception {
        hosts.node("a");
        try (SkyPort sky = required(with(hosts.options(), "bwrap",
                "skyport-no-such-bwrap")).start()) {
            awaitUp(sky, "a");
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\necho ran\n"));
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.FAILED);
            assertThat(done.stateDetails()).contains("node a").contains("skyport-no-such-bwrap")
                    .contains("job-isolation sandbox is not possible");
            assertThat(remoteDir(job.id())).as("nothing ran unsandboxed").doesNotExist();
        }
    }

    @Test
    void autoIsolationWithoutBubblewrapRunsJobsBareWhenNotRequired() throws Exception {
        hosts.node("a");
        try (SkyPort sky = SshNodes.engine(data(), with(hosts.options(), "bwrap", "skyport-no-such-bwrap"))
                .jobIsolation(dev.skyport.api.JobIsolation.AUTO).start()) {
            awaitUp(sky, "a");
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\nls -d " + data() + "\n"));
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().stdout(job.id())).as("no sandbox hides the engine's data").isEqualTo(data() + "\n");
        }
    }

    @Test
    void accountIsolationIsRefused() throws Exception {
        hosts.node("a");
        assertThatThrownBy(() -> SshNodes.engine(data(), hosts.options())
                .jobIsolation(dev.skyport.api.JobIsolation.ACCOUNT).start())
                .isInstanceOf(GateException.class).hasMessageContaining("job-isolation account is not possible")
                .hasMessageContaining("job-isolation: sandbox");
    }
}
