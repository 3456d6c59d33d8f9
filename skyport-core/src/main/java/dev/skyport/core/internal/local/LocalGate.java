package dev.skyport.core.internal.local;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.Partition;
import dev.skyport.api.RemoteSite;
import dev.skyport.gate.ContainerRuntime;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionSpec;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The embedded default gate: this machine is one node, {@code local}, with its cpus and memory (or what the options
 * {@code cpus}, {@code memoryBytes} and {@code gpus} say). It creates no partitions. Jobs are isolated and contained
 * as {@link LocalIsolation} decides from the options {@code job-isolation} and friends.
 *
 * <p>Jobs with a {@code container-image} run in it ({@link dev.skyport.gate.ContainerRun}) when the option
 * {@code container-runtime} is set ({@code auto}, {@code podman}, {@code docker} or a path; absent or {@code none}: the
 * image is ignored with a warning, as before containers existed, so that a spawner's image line does not send every
 * local job to a registry). The runtime is looked for when the first such job starts, not at the gate's start: a
 * {@code podman info} costs a few hundred milliseconds that most engines never need. Jobs of container steps
 * ({@link dev.skyport.gate.StepsRun}) need the option too; without it their launch fails with a permanent error.
 *
 * <p>Runs are started by one long-lived launcher process ({@link LocalLauncher}) rather than by a process start of
 * this JVM's per run. Option {@code launcher}: {@code auto} (the first bash 4.1 or later in {@code /bin},
 * {@code /usr/bin} or {@code /usr/local/bin}, else none), {@code none} (a process per run, as before the launcher) or
 * the path of a bash 4.1 or later (it reads requests with {@code read -N}); its default is the system
 * property {@code skyport.local.launcher}, else {@code auto}. {@code launcher-check-ms} (default
 * 1000): how often runs are checked for an end their wrapper could not report (it was killed).
 */
public final class LocalGate implements Gate {
    public static final String NAME = "local";
    public static final String NODE = "local";

    private final Node node;
    private final RemoteSite site;
    private final Flavor flavor;
    private final LocalNodeAccess access;
    private final Optional<ContainerRuntime> containers;

    public LocalGate(GateConfig config) {
        int cpus = config.positiveLong("cpus").map(Math::toIntExact)
                .orElse(Runtime.getRuntime().availableProcessors());
        long memory = config.positiveLong("memoryBytes").orElseGet(LocalGate::physicalMemory);
        int gpus = config.option("gpus").map(g -> {
            try {
                return Integer.parseInt(g.trim());
            } catch (NumberFormatException e) {
                throw GateException.permanent("gate option gpus must be a non-negative integer, got '" + g + "'");
            }
        }).orElse(0);
        if (gpus < 0) {
            throw GateException.permanent("gate option gpus must be a non-negative integer, got " + gpus);
        }
        this.node = new Node(NODE, NAME, cpus, memory, gpus, NodeState.UP, Map.of());
        this.site = new RemoteSite(NAME, NAME, "this machine");
        this.flavor = new Flavor(NAME, NAME, cpus, memory, 0, gpus, 0, "USD");
        this.containers = ContainerRuntime.fromOptions(config, "none");
        long checkMillis = config.positiveLong("launcher-check-ms").orElse(1000L);
        Path dataDir = dataDir(config.workDir());
        this.access = new LocalNodeAccess(NODE, LocalIsolation.resolve(config, dataDir),
                containers, LocalLauncher.bash(config.option("launcher")
                        .orElse(System.getProperty("skyport.local.launcher", "auto"))),
                Duration.ofMillis(checkMillis), config.workDir().toAbsolutePath().resolve("launch"),
                dataDir.resolve("jobs"));
    }

    /**
     * The engine's data directory, which jobs must not see: the engine gives each gate {@code <data>/gates/<name>}.
     * A gate created elsewhere (tests) hides its own directory.
     */
    private static Path dataDir(Path workDir) {
        Path abs = workDir.toAbsolutePath().normalize();
        Path gates = abs.getParent();
        if (gates != null && gates.getFileName() != null && gates.getFileName().toString().equals("gates")
                && gates.getParent() != null) {
            return gates.getParent();
        }
        return abs;
    }

    private static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Node> nodes() {
        return List.of(node);
    }

    /**
     * This machine's shape at price 0, under the gate's name: the upstream Jupyter spawner's form offers the flavors
     * listed and fails ({@code KeyError: 'selected_flavor_name'}) when there are none. A job naming it runs on the
     * local node like any other.
     */
    @Override
    public List<Flavor> flavors() {
        return List.of(flavor);
    }

    @Override
    public List<Image> images() {
        return List.of();
    }

    /** This machine as the one site its flavor is at, so that a form offering sites has one to offer. */
    @Override
    public List<RemoteSite> remotes() {
        return List.of(site);
    }

    @Override
    public List<Partition> partitions() {
        return List.of(new Partition(NAME, NAME, "up", List.of(NODE), Map.of()));
    }

    @Override
    public PartitionHandle createPartition(PartitionSpec spec) {
        throw GateException.permanent("the local gate has one fixed node and creates no partitions");
    }

    @Override
    public void deletePartition(String name) {
        // Nothing to delete: the local partition is this machine.
    }

    @Override
    public NodeAccess access(String nodeName) {
        if (!NODE.equals(nodeName)) {
            throw GateException.permanent("the local gate has no node '" + nodeName + "'");
        }
        return access;
    }

    /** True when the option {@code container-runtime} asks for one; see the class comment. */
    @Override
    public boolean runsContainerImages() {
        return containers.isPresent();
    }

    @Override
    public void close() {
        access.close();
    }
}
