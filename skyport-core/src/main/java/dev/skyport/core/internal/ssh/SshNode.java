package dev.skyport.core.internal.ssh;

import dev.skyport.api.JobId;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.gate.ContainerRuntime;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PortForward;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunIsolation;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One configured host of the {@code ssh} gate: its {@link SshNodeAccess}, and what the gate adds to it. Health: the
 * gate's probe reports here, and the node is UP after a probe that worked, DOWN (with the reason) after one that did
 * not. Node loss: a run followed here ends {@linkplain RunOutcome#lost lost} once the node has been unreachable without
 * a break for {@code node-lost-after}, never on one failed poll. Directories: a job's directory on the node is
 * {@code <remote-root>/<job id>}; the engine's stage-out brings a run's {@code stdout.log} and {@code stderr.log} back
 * into the job's directory on the engine's machine.
 */
final class SshNode implements NodeAccess, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SshGate.class);
    private static final String NOT_PROBED = "not reached yet";

    private final SshGateConfig.NodeSpec spec;
    private final SshNodeAccess access;
    private final SshConnections connections;
    private final String remoteRoot;
    private final Duration lostAfter;
    private final Clock clock;
    /** The runs followed, each with the future handed to the engine. */
    private final Map<RunHandle, CompletableFuture<RunOutcome>> followed = new ConcurrentHashMap<>();

    private volatile NodeState state = NodeState.DOWN;
    private volatile String reason = NOT_PROBED;
    /** Since when every probe failed; empty while the node answers. Counted from creation until a first answer. */
    private volatile Optional<Instant> unreachableSince;
    /** The login's home directory, from the first probe that worked. */
    private volatile String home;

    SshNode(SshGateConfig.NodeSpec spec, SshConnections connections, String remoteRoot, Duration lostAfter,
            Clock clock, Optional<ContainerRuntime> containers, RunIsolation isolation,
            boolean sandboxRequired) {
        this.spec = spec;
        this.connections = connections;
        this.access = new SshNodeAccess(spec.name(), spec.target(), connections, containers, isolation,
                sandboxRequired);
        this.remoteRoot = remoteRoot;
        // The jobs' directories are below the root: no transfer follows a link a job may have planted there.
        access.trustBelow(this::root);
        this.lostAfter = lostAfter;
        this.clock = clock;
        this.unreachableSince = Optional.of(clock.instant());
    }

    Node view() {
        Map<String, String> labels = spec.labels();
        String why = reason;
        if (state != NodeState.UP) {
            labels = new HashMap<>(labels);
            labels.put(SshGateConfig.STATE_REASON_LABEL, why);
        }
        return new Node(spec.name(), spec.partition(), spec.cpus(), spec.memoryBytes(), spec.gpus(), state, labels);
    }

    SshGateConfig.NodeSpec spec() {
        return spec;
    }

    /**
     * One health probe: a command with the connect timeout on every step. It also learns the login's home directory,
     * which a relative {@code remote-root} is under. Called by one thread at a time.
     */
    void probeHealth() {
        String failure = probeOnce();
        if (failure != null && failure.startsWith(SshConnections.COMMAND_FAILED)) {
            // The shared connection broke under the command (MINA and OpenSSH both drop one now and then); the exec
            // dropped it, and a new one says whether the node is really gone.
            failure = probeOnce();
        }
        if (failure == null) {
            healthy();
        } else {
            unhealthy(failure);
        }
    }

    /** One try of the health command: null when it worked, else what failed. */
    private String probeOnce() {
        String failure;
        try {
            SshConnections.Result r = connections.exec(spec.target(), "printf '%s\\n' \"$HOME\"");
            String h = r.stdout().strip();
            if (r.status() == 0 && h.startsWith("/")) {
                home = h;
                return null;
            }
            failure = "the health probe exited with " + r.status()
                    + (h.startsWith("/") ? "" : " and no home directory");
        } catch (GateException e) {
            failure = e.getMessage();
        } catch (RuntimeException e) {
            failure = "the health probe failed: " + e;
        }
        return failure;
    }

    private void healthy() {
        unreachableSince = Optional.empty();
        if (state != NodeState.UP) {
            LOG.info("ssh node {} ({}) is UP", spec.name(), spec.target().address());
            state = NodeState.UP;
            reason = "";
        }
    }

    private void unhealthy(String why) {
        Instant now = clock.instant();
        if (unreachableSince.isEmpty()) {
            unreachableSince = Optional.of(now);
        }
        if (state != NodeState.DOWN || !why.equals(reason)) {
            // Once per change: a node down for a day is one line, and a new reason (a changed key) is another.
            LOG.warn("ssh node {} ({}) is DOWN: {}", spec.name(), spec.target().address(), why);
        }
        reason = why;
        state = NodeState.DOWN;
        Instant since = unreachableSince.get();
        if (!followed.isEmpty() && !Duration.between(since, now).minus(lostAfter).isNegative()) {
            String lost = "node " + spec.name() + " unreachable since " + since + " (" + why + ")";
            for (RunHandle h : followed.keySet()) {
                // Completing the access's own future also stops its polling of the run.
                access.watch(h).complete(RunOutcome.lost(lost));
            }
        }
    }

    @Override
    public String node() {
        return spec.name();
    }

    @Override
    public String directoryOf(JobId job, Path engineDirectory) {
        return root() + "/" + job;
    }

    private String root() {
        if (remoteRoot.startsWith("/")) {
            return remoteRoot;
        }
        String h = home;
        if (h == null) {
            // Not probed yet (a re-attach right after a start): ask now, with the connect timeout.
            SshConnections.Result r = connections.exec(spec.target(), "printf '%s\\n' \"$HOME\"");
            h = r.stdout().strip();
            if (r.status() != 0 || !h.startsWith("/")) {
                throw GateException.transientFailure("cannot find the home directory of " + spec.target().address(),
                        null, Optional.empty());
            }
            home = h;
        }
        return (h.endsWith("/") ? h : h + "/") + remoteRoot;
    }

    @Override
    public RunHandle launch(RunRequest request) {
        return access.launch(request);
    }

    @Override
    public CompletableFuture<RunOutcome> watch(RunHandle handle) {
        return followed.computeIfAbsent(handle, h -> {
            CompletableFuture<RunOutcome> f = new CompletableFuture<>();
            access.watch(h).whenComplete((outcome, error) -> {
                RunOutcome o = outcome != null ? outcome : RunOutcome.lost("watching the run failed: " + error);
                followed.remove(h, f);
                f.complete(o);
            });
            return f;
        });
    }

    @Override
    public RunProbe probe(RunRequest request) {
        return access.probe(request);
    }

    @Override
    public void signal(RunHandle handle, RunSignal signal) {
        access.signal(handle, signal);
    }

    @Override
    public void upload(Path local, String remotePath) {
        access.upload(local, remotePath);
    }

    @Override
    public void download(String remotePath, Path local) {
        access.download(remotePath, local);
    }

    @Override
    public void uploadTree(Path local, String remotePath) {
        access.uploadTree(local, remotePath);
    }

    @Override
    public void downloadTree(String remotePath, Path local) {
        access.downloadTree(remotePath, local);
    }

    @Override
    public void deleteTree(String remotePath) {
        access.deleteTree(remotePath);
    }

    @Override
    public PortForward forwardToNode(int remotePort) {
        return access.forwardToNode(remotePort);
    }

    @Override
    public PortForward forwardFromNode(int remotePort, int localPort) {
        return access.forwardFromNode(remotePort, localPort);
    }

    @Override
    public void close() {
        access.close();
    }
}
