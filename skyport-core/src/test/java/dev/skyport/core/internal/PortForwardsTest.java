package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPort;
import dev.skyport.api.PortSpec;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PortForward;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.function.IntConsumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link PortForwards} against a node that records the forwards asked of it (the forwards themselves, over real
 * sockets, belong to the transport's tests).
 */
class PortForwardsTest {
    private static final Path ENGINE_DIR = Path.of("/engine/jobs/j");
    private final JobId job = new JobId(UUID.randomUUID());
    private final List<String> shown = new CopyOnWriteArrayList<>();
    private final Map<JobId, List<PortSpec>> ports = new HashMap<>();

    /** A node that records forwards; {@code remote} says whether its job directories are elsewhere than the engine's. */
    private static final class RecordingNode implements NodeAccess {
        final boolean remote;
        final List<Forward> forwards = new CopyOnWriteArrayList<>();
        final Map<Integer, String> failing = new HashMap<>();
        IntConsumer whileForwarding = port -> { };
        private int nextLocal = 40000;

        RecordingNode(boolean remote) {
            this.remote = remote;
        }

        final class Forward implements PortForward {
            final String kind;
            final int local;
            final int remotePort;
            volatile boolean closed;

            Forward(String kind, int local, int remotePort) {
                this.kind = kind;
                this.local = local;
                this.remotePort = remotePort;
            }

            @Override
            public int localPort() {
                return local;
            }

            @Override
            public int remotePort() {
                return remotePort;
            }

            @Override
            public void close() {
                closed = true;
            }

            @Override
            public String toString() {
                return kind + " " + local + "->" + remotePort + (closed ? " closed" : "");
            }
        }

        @Override
        public String node() {
            return "n1";
        }

        @Override
        public String directoryOf(JobId job, Path engineDirectory) {
            return remote ? "/home/skyport/jobs/" + job : engineDirectory.toString();
        }

        @Override
        public synchronized PortForward forwardToNode(int remotePort) {
            return record("to", -1, remotePort);
        }

        @Override
        public synchronized PortForward forwardFromNode(int remotePort, int localPort) {
            return record("from", localPort, remotePort);
        }

        private PortForward record(String kind, int local, int remotePort) {
            whileForwarding.accept(remotePort);
            if (failing.containsKey(remotePort)) {
                throw GateException.transientFailure(failing.get(remotePort), null, java.util.Optional.empty());
            }
            Forward f = new Forward(kind, local < 0 ? nextLocal++ : local, remotePort);
            forwards.add(f);
            return f;
        }

        @Override
        public RunHandle launch(RunRequest request) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<RunOutcome> watch(RunHandle handle) {
            throw new UnsupportedOperationException();
        }

        @Override
        public RunProbe probe(RunRequest request) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void signal(RunHandle handle, RunSignal signal) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void upload(Path local, String remotePath) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void download(String remotePath, Path local) {
            throw new UnsupportedOperationException();
        }
    }

    private PortForwards forwards(Executor executor) {
        return forwards(executor, "8081");
    }

    private PortForwards forwards(Executor executor, String outPorts) {
        return new PortForwards(executor, id -> ports.getOrDefault(id, List.of()),
                (id, attempt, text) -> shown.add(id + "#" + attempt + ": " + text),
                PortForwards.outPorts(java.util.Optional.of(outPorts)));
    }

    private void ports(String... items) {
        List<PortSpec> list = new ArrayList<>();
        for (String item : items) {
            list.add(PortSpec.parse(item));
        }
        ports.put(job, list);
    }

    @Test
    void aRemoteRunGetsAForwardPerTcpPortShownOnTheJobAndClosedWhenItsAttemptEnds() {
        ports("8888/tcp/in", "8081/tcp/out", "5353/udp/in");
        RecordingNode node = new RecordingNode(true);
        PortForwards pf = forwards(Runnable::run);
        pf.open(job, 1, node, ENGINE_DIR);
        assertThat(node.forwards).extracting(Object::toString).containsExactly("to 40000->8888", "from 8081->8081");
        assertThat(pf.openFor(job)).hasSize(2);
        assertThat(shown).containsExactly(job + "#1: port 8888/tcp/in at 127.0.0.1:40000; port 8081/tcp/out reaches "
                + "127.0.0.1:8081 of the engine's host; port 5353/udp/in not forwarded: forwards carry tcp only");
        pf.close(job, 2);
        assertThat(node.forwards).as("another attempt's end").noneMatch(f -> f.closed);
        pf.close(job, 1);
        assertThat(node.forwards).allMatch(f -> f.closed);
        assertThat(pf.openFor(job)).isEmpty();
    }

    @Test
    void anOutPortReachesOnlyAPortTheEngineAllows() {
        ports("22/tcp/out", "8081/tcp/out", "9005/tcp/out");
        RecordingNode node = new RecordingNode(true);
        forwards(Runnable::run, "").open(job, 1, node, ENGINE_DIR);
        assertThat(node.forwards).as("none allowed by default").isEmpty();
        assertThat(shown).containsExactly(job + "#1: port 22/tcp/out not forwarded: the engine's gate option "
                + "forward-out-ports does not allow port 22; port 8081/tcp/out not forwarded: the engine's gate option "
                + "forward-out-ports does not allow port 8081; port 9005/tcp/out not forwarded: the engine's gate "
                + "option forward-out-ports does not allow port 9005");
        shown.clear();
        RecordingNode other = new RecordingNode(true);
        forwards(Runnable::run, " 8081 , 9000-9010").open(job, 2, other, ENGINE_DIR);
        assertThat(other.forwards).extracting(Object::toString).containsExactly("from 8081->8081", "from 9005->9005");
        assertThat(shown.get(0)).contains("port 22/tcp/out not forwarded");
        for (String bad : List.of("22,", "0", "70000", "10-5", "ssh")) {
            assertThatThrownBy(() -> PortForwards.outPorts(java.util.Optional.of(bad)))
                    .isInstanceOf(dev.skyport.gate.GateException.class).hasMessageContaining("forward-out-ports");
        }
    }

    @Test
    void aRunOnTheEnginesMachineOrWithoutPortsNeedsNone() {
        ports("8888/tcp/in", "8081/tcp/out");
        RecordingNode local = new RecordingNode(false);
        PortForwards pf = forwards(Runnable::run);
        pf.open(job, 1, local, ENGINE_DIR);
        JobId other = new JobId(UUID.randomUUID());
        RecordingNode remote = new RecordingNode(true);
        pf.open(other, 1, remote, ENGINE_DIR);
        assertThat(local.forwards).isEmpty();
        assertThat(remote.forwards).isEmpty();
        assertThat(shown).isEmpty();
    }

    @Test
    void aFailedForwardIsShownAndTheOthersStillOpen() {
        ports("8888/tcp/in", "9999/tcp/in");
        RecordingNode node = new RecordingNode(true);
        node.failing.put(8888, "node n1 unreachable");
        PortForwards pf = forwards(Runnable::run);
        pf.open(job, 1, node, ENGINE_DIR);
        assertThat(node.forwards).extracting(Object::toString).containsExactly("to 40000->9999");
        assertThat(shown).containsExactly(job + "#1: port 8888/tcp/in not forwarded: node n1 unreachable; "
                + "port 9999/tcp/in at 127.0.0.1:40000");
    }

    @Test
    void anAttemptThatEndsWhileItsForwardsOpenLeavesNoneOpen() {
        ports("8888/tcp/in", "9999/tcp/in");
        RecordingNode node = new RecordingNode(true);
        PortForwards pf = forwards(Runnable::run);
        // The run ends while the first forward is being opened: that one is closed as it arrives, the next not made.
        node.whileForwarding = port -> pf.close(job, 1);
        pf.open(job, 1, node, ENGINE_DIR);
        assertThat(node.forwards).extracting(Object::toString).containsExactly("to 40000->8888 closed");
        assertThat(shown).isEmpty();
    }

    @Test
    void anAttemptThatEndsBeforeTheBackgroundWorkStartsOpensNothing() {
        ports("8888/tcp/in");
        RecordingNode node = new RecordingNode(true);
        List<Runnable> queued = Collections.synchronizedList(new ArrayList<>());
        PortForwards pf = forwards(queued::add);
        pf.open(job, 1, node, ENGINE_DIR);
        pf.close(job, 1);
        queued.forEach(Runnable::run);
        assertThat(node.forwards).isEmpty();
    }

    @Test
    void aJobWithPortsRunsOnTheLocalGateWithoutForwards(@TempDir Path data) throws Exception {
        try (SkyPort sky = SkyPort.embedded().dataDir(data).jobIsolation(JobIsolation.NONE).start()) {
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\n#SWM ports 8888/tcp/in,8081/tcp/out\necho ran\n"));
            assertThat(job.spec().ports()).hasSize(2);
            Job done = sky.jobs().await(job.id(), Duration.ofSeconds(60));
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("ran\n");
            assertThat(sky.events().history(job.id())).extracting(JobTransitioned::details)
                    .noneMatch(d -> d.contains("port"));
        }
    }

    @Test
    void aNewAttemptOrTheEnginesCloseClosesWhatWasOpen() {
        ports("8888/tcp/in");
        RecordingNode node = new RecordingNode(true);
        PortForwards pf = forwards(Runnable::run);
        pf.open(job, 1, node, ENGINE_DIR);
        pf.open(job, 2, node, ENGINE_DIR);
        assertThat(node.forwards).extracting(Object::toString).containsExactly("to 40000->8888 closed",
                "to 40001->8888");
        pf.closeAll();
        assertThat(node.forwards).allMatch(f -> f.closed);
    }
}
