package dev.skyport.core.internal;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.JobId;
import dev.skyport.api.Node;
import dev.skyport.api.RemoteSite;
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

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A cluster that exists only in time: the gate {@code simulated} lists the nodes it was given, and a run "runs" for the
 * duration its job's environment names in {@link #DURATION_MS} (less a millisecond, so that it ends within a time limit
 * of that duration) on the engine's clock, starting no process. A run ends
 * (exit 0) when {@link #endUntil} is called with a time at or past its start plus that duration, or with 143 when it is
 * signalled. For replays of a workload through the real engine with a clock moved by hand ({@link SimulatedReplay}),
 * where thousands of jobs run for hours of simulated time in seconds.
 *
 * <p>The engine creates its gate by name, so a cluster is {@link #register registered} under an id that the gate
 * option {@code cluster} names. A gate of a fresh engine only: {@link NodeAccess#probe} finds no run of an earlier life.
 */
public final class SimulatedCluster {
    /** The job environment variable that says how long its run lasts, in milliseconds. */
    public static final String DURATION_MS = "SIM_DURATION_MS";
    /**
     * The job environment variable that orders runs ending at the same instant (the job's place in the workload), so
     * that a replay ends them in the same order whatever order the engine's workers launched them in.
     */
    public static final String ORDER = "SIM_ORDER";
    private static final Map<String, SimulatedCluster> CLUSTERS = new ConcurrentHashMap<>();

    private record Run(RunHandle handle, Instant end, long order, CompletableFuture<RunOutcome> outcome) {
    }

    private final List<Node> nodes;
    private final Object lock = new Object();
    private final PriorityQueue<Run> byEnd = new PriorityQueue<>((a, b) -> {
        int c = a.end.compareTo(b.end);
        return c != 0 ? c : Long.compare(a.order, b.order);
    });
    private final Map<JobId, Run> running = new HashMap<>();
    private final Map<JobId, Instant> starts = new ConcurrentHashMap<>();
    private long launches;
    private volatile Clock clock;

    /** A cluster of {@code nodes}, all UP. */
    public SimulatedCluster(List<Node> nodes) {
        this.nodes = List.copyOf(nodes);
    }

    /** Makes this cluster the one a {@code simulated} gate with option {@code cluster=id} serves. */
    public void register(String id) {
        CLUSTERS.put(id, this);
    }

    /** Forgets the cluster registered under {@code id}. */
    public static void unregister(String id) {
        CLUSTERS.remove(id);
    }

    /** {@return how many runs were started and not yet ended} */
    public int running() {
        synchronized (lock) {
            return running.size();
        }
    }

    /** {@return how many runs were started in all} */
    public long launches() {
        synchronized (lock) {
            return launches;
        }
    }

    /** {@return the earliest end of a run still running} */
    public Optional<Instant> nextEnd() {
        synchronized (lock) {
            Run first = byEnd.peek();
            return first == null ? Optional.empty() : Optional.of(first.end);
        }
    }

    /** {@return when each job's (last) run started, on the engine's clock} */
    public Map<JobId, Instant> starts() {
        return Map.copyOf(starts);
    }

    /**
     * Ends, with exit code 0, the first run (by end, then by the job's {@link #ORDER}) that ends at or before
     * {@code time}.
     *
     * @return whether one ended
     */
    public boolean endNext(Instant time) {
        Run next;
        synchronized (lock) {
            next = byEnd.peek();
            if (next == null || next.end.isAfter(time)) {
                return false;
            }
            byEnd.poll();
            running.remove(next.handle.job(), next);
        }
        // Outside the lock: the engine's handling of the end may call back into the gate.
        next.outcome.complete(RunOutcome.exited(0));
        return true;
    }

    /** Ends, in the order of {@link #endNext}, every run that ends at or before {@code time}. */
    public void endUntil(Instant time) {
        while (endNext(time)) {
            // next
        }
    }

    private RunHandle launch(RunRequest request) {
        String ms = request.env().get(DURATION_MS);
        if (ms == null) {
            throw GateException.permanent("a simulated run needs " + DURATION_MS + " in its environment");
        }
        Instant start = clock.instant();
        synchronized (lock) {
            RunHandle handle = new RunHandle(request.job(), request.attempt(), request.directory(), ++launches);
            // A millisecond early: the job's time limit is its duration, and a run must end before the engine's
            // time-limit timer fires at the same instant, as a job that keeps within its limit does.
            long order = Long.parseLong(request.env().getOrDefault(ORDER, Long.toString(launches)));
            Run run = new Run(handle, start.plus(Duration.ofMillis(Long.parseLong(ms) - 1)), order,
                    new CompletableFuture<>());
            byEnd.add(run);
            running.put(request.job(), run);
            starts.put(request.job(), start);
            return handle;
        }
    }

    private CompletableFuture<RunOutcome> watch(RunHandle handle) {
        synchronized (lock) {
            Run run = running.get(handle.job());
            if (run == null || run.handle.processGroup() != handle.processGroup()) {
                return CompletableFuture.completedFuture(RunOutcome.exited(0)); // it ended already
            }
            return run.outcome;
        }
    }

    private void signal(RunHandle handle, RunSignal signal) {
        Run run;
        synchronized (lock) {
            run = running.get(handle.job());
            if (run == null || run.handle.processGroup() != handle.processGroup()) {
                return;
            }
            running.remove(handle.job());
            byEnd.remove(run);
        }
        run.outcome.complete(RunOutcome.exited(signal == RunSignal.KILL ? 137 : 143));
    }

    /** Serves {@code simulated} gates: option {@code cluster} names a {@link #register registered} cluster. */
    public static final class Provider implements GateProvider {
        @Override
        public String name() {
            return "simulated";
        }

        @Override
        public Gate create(GateConfig config) {
            String id = config.option("cluster").orElseThrow(
                    () -> GateException.permanent("the simulated gate needs the option cluster"));
            SimulatedCluster cluster = CLUSTERS.get(id);
            if (cluster == null) {
                throw GateException.permanent("no simulated cluster is registered as " + id);
            }
            cluster.clock = config.clock();
            return cluster.new SimGate();
        }
    }

    private final class SimGate implements Gate {
        private final Map<String, NodeAccess> access = new HashMap<>();

        SimGate() {
            for (Node n : nodes) {
                access.put(n.name(), new SimNode(n.name()));
            }
        }

        @Override
        public String name() {
            return "simulated";
        }

        @Override
        public List<Node> nodes() {
            return nodes;
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
            throw GateException.permanent("a simulated cluster has fixed nodes");
        }

        @Override
        public void deletePartition(String name) {
            // none exist
        }

        @Override
        public NodeAccess access(String nodeName) {
            NodeAccess a = access.get(nodeName);
            if (a == null) {
                throw GateException.permanent("no node " + nodeName);
            }
            return a;
        }

        @Override
        public void close() {
            // nothing runs for real
        }
    }

    private final class SimNode implements NodeAccess {
        private final String name;

        SimNode(String name) {
            this.name = name;
        }

        @Override
        public String node() {
            return name;
        }

        @Override
        public RunHandle launch(RunRequest request) {
            return SimulatedCluster.this.launch(request);
        }

        @Override
        public CompletableFuture<RunOutcome> watch(RunHandle handle) {
            return SimulatedCluster.this.watch(handle);
        }

        @Override
        public RunProbe probe(RunRequest request) {
            return RunProbe.neverStarted();
        }

        @Override
        public void signal(RunHandle handle, RunSignal signal) {
            SimulatedCluster.this.signal(handle, signal);
        }

        @Override
        public void upload(Path local, String remotePath) {
            throw GateException.permanent("a simulated node keeps no files");
        }

        @Override
        public void download(String remotePath, Path local) {
            throw GateException.permanent("a simulated node keeps no files");
        }
    }
}
