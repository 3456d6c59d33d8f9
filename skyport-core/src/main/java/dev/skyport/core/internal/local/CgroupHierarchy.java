package dev.skyport.core.internal.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The cgroup v2 hierarchy runs are contained in: {@code <v2 mount>/skyport/<job>.<attempt>}. The v2 mount is found in
 * {@code /proc/self/mountinfo}: {@code /sys/fs/cgroup} on pure v2 hosts, {@code /sys/fs/cgroup/unified} on hybrid
 * ones. A hybrid host's v2 hierarchy may have no controllers at all (this CI: v1 memory, cpu..., v2 with only
 * hugetlb, kernel 6.18); it still tracks membership and has {@code cgroup.kill}, which is all containment needs.
 * Where the memory and cpu controllers are there, they are enabled for the runs so that the wrapper can write
 * {@code memory.max} and {@code cpu.max}.
 */
final class CgroupHierarchy {
    private static final Logger LOG = LoggerFactory.getLogger(CgroupHierarchy.class);

    private CgroupHierarchy() {
    }

    /** {@code <v2 mount>/skyport}, created, when this process can create and populate cgroups there. */
    static Optional<Path> find() {
        Optional<Path> mount = v2Mount();
        if (mount.isEmpty()) {
            return Optional.empty();
        }
        Path base = mount.get().resolve("skyport");
        Path probe = base.resolve("probe-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            Files.createDirectories(base);
            Files.createDirectory(probe);
            boolean usable = Files.isWritable(probe.resolve("cgroup.procs"));
            Files.delete(probe);
            if (!usable) {
                return Optional.empty();
            }
        } catch (IOException | SecurityException e) {
            LOG.debug("cgroup v2 at {} is not usable: {}", mount.get(), e.toString());
            return Optional.empty();
        }
        enableControllers(mount.get(), base);
        sweep(base);
        return Optional.of(base);
    }

    /**
     * Removes the empty cgroups of runs whose wrapper was killed while no engine watched (an engine that stopped
     * right after a SIGKILL). rmdir fails on a cgroup that has processes, so live runs keep theirs; a minute's age
     * spares one a wrapper has just created and not yet entered.
     */
    private static void sweep(Path base) {
        long cutoff = System.currentTimeMillis() - 60_000;
        try (DirectoryStream<Path> children = Files.newDirectoryStream(base)) {
            for (Path child : children) {
                try {
                    if (Files.isDirectory(child)
                            && Files.getLastModifiedTime(child).toMillis() < cutoff) {
                        Files.delete(child);
                    }
                } catch (IOException inUse) {
                    // a run in progress, or another engine's
                }
            }
        } catch (IOException e) {
            LOG.debug("cannot sweep {}: {}", base, e.toString());
        }
    }

    private static void enableControllers(Path mount, Path base) {
        String available;
        try {
            available = Files.readString(mount.resolve("cgroup.controllers"));
        } catch (IOException e) {
            return;
        }
        for (String controller : List.of("memory", "cpu")) {
            if (!List.of(available.strip().split("\\s+")).contains(controller)) {
                continue;
            }
            try {
                Files.writeString(mount.resolve("cgroup.subtree_control"), "+" + controller);
                Files.writeString(base.resolve("cgroup.subtree_control"), "+" + controller);
            } catch (IOException e) {
                LOG.warn("cannot enable the {} controller for jobs under {}: {}; jobs run without that limit",
                        controller, base, e.getMessage());
            }
        }
    }

    static Optional<Path> v2Mount() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                int dash = line.indexOf(" - ");
                if (dash < 0) {
                    continue;
                }
                String[] before = line.substring(0, dash).split(" ");
                String[] after = line.substring(dash + 3).split(" ");
                if (before.length > 4 && after.length > 0 && after[0].equals("cgroup2")) {
                    return Optional.of(Path.of(unescape(before[4])));
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** mountinfo writes space, tab, newline and backslash as octal escapes. */
    private static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** The pids in {@code cgroup}; empty when it is gone. */
    static List<String> members(Path cgroup) {
        try {
            List<String> pids = new ArrayList<>();
            for (String line : Files.readAllLines(cgroup.resolve("cgroup.procs"))) {
                if (!line.isBlank()) {
                    pids.add(line.strip());
                }
            }
            return pids;
        } catch (IOException gone) {
            return List.of();
        }
    }

    /** Sends SIGKILL to every process in {@code cgroup}, when it still exists. */
    static void kill(Path cgroup) {
        try {
            Files.writeString(cgroup.resolve("cgroup.kill"), "1");
        } catch (IOException e) {
            // gone already, or a kernel before 5.14: members are killed by the group signal and the wrapper
        }
    }

    /**
     * Creates {@code cgroup} with the limits of a run ({@code memory.max} when {@code memoryBytes} is positive, and
     * {@code cpu.max} for {@code cpus}) where the node's controllers offer those files, as the {@code DetachedRun}
     * wrapper does for the runs it creates cgroups for.
     */
    static void create(Path cgroup, long memoryBytes, int cpus) throws IOException {
        try {
            Files.createDirectory(cgroup);
        } catch (FileAlreadyExistsException there) {
            // made for a request that was lost, or by a wrapper
        }
        // Every run's cgroup has the same files, as the controllers enabled for the hierarchy say: looked at once.
        boolean[] limits = LIMIT_FILES.computeIfAbsent(cgroup.getParent(), base -> new boolean[] {
                Files.exists(cgroup.resolve("memory.max")), Files.exists(cgroup.resolve("cpu.max"))});
        if (memoryBytes > 0 && limits[0]) {
            Files.writeString(cgroup.resolve("memory.max"), Long.toString(memoryBytes));
        }
        if (limits[1]) {
            Files.writeString(cgroup.resolve("cpu.max"), (cpus * 100_000L) + " 100000");
        }
    }

    /** Per hierarchy: whether its runs' cgroups have {@code memory.max} and {@code cpu.max}. */
    private static final Map<Path, boolean[]> LIMIT_FILES = new ConcurrentHashMap<>();

    /** Removes {@code cgroup}, killing what is left in it, when that can be done at once; false when it is busy. */
    static boolean tryRemove(Path cgroup) {
        try {
            Files.deleteIfExists(cgroup);
            return true;
        } catch (IOException busy) {
            kill(cgroup);
            return false;
        }
    }

    /** Kills what is left in {@code cgroup} and removes it, waiting a little for the kernel to empty it. */
    static void remove(Path cgroup) {
        if (!Files.isDirectory(cgroup)) {
            return;
        }
        kill(cgroup);
        for (int i = 0; i < 50; i++) {
            try {
                Files.deleteIfExists(cgroup);
                return;
            } catch (IOException busy) {
                // EBUSY until the killed members have exited
            }
            try {
                TimeUnit.MILLISECONDS.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.warn("cgroup {} could not be removed: processes in it did not exit", cgroup);
    }
}
