package dev.skyport.gate.loopback;

import dev.skyport.api.JobId;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * The loopback batch site's shared file system, as a login node would offer it: plain local copies, each to a
 * temporary name beside the target and then renamed, so that a reader never sees half a file. Job directories live
 * under {@code root}; a name in {@link dev.skyport.gate.Gate#nodes()} reaches the same files. It runs nothing: the
 * site's queue runs the jobs.
 */
final class SharedFiles implements NodeAccess {
    private final String node;
    private final Path root;

    SharedFiles(String node, Path root) {
        this.node = node;
        this.root = root;
    }

    @Override
    public String node() {
        return node;
    }

    @Override
    public String directoryOf(JobId job, Path engineDirectory) {
        return root.resolve(job.toString()).toString();
    }

    @Override
    public void upload(Path local, String remotePath) {
        if (!Files.isRegularFile(local)) {
            throw GateException.permanent("loopback-batch: no file " + local + " to upload");
        }
        copy(local, Path.of(remotePath), "upload to " + remotePath);
    }

    @Override
    public void download(String remotePath, Path local) {
        Path remote = Path.of(remotePath);
        if (!Files.isRegularFile(remote)) {
            throw GateException.permanent("loopback-batch: no file " + remotePath + " on the site");
        }
        copy(remote, local, "download of " + remotePath);
    }

    @Override
    public void uploadTree(Path local, String remotePath) {
        if (!Files.isDirectory(local, LinkOption.NOFOLLOW_LINKS)) {
            throw GateException.permanent("loopback-batch: " + local + " is not a directory");
        }
        copyTree(local, Path.of(remotePath), "upload of " + local);
    }

    @Override
    public void downloadTree(String remotePath, Path local) {
        Path remote = Path.of(remotePath);
        if (!Files.isDirectory(remote, LinkOption.NOFOLLOW_LINKS)) {
            throw GateException.permanent("loopback-batch: no directory " + remotePath + " on the site");
        }
        copyTree(remote, local, "download of " + remotePath);
    }

    /** Checks the whole tree before copying anything, so that a refused tree leaves nothing behind. */
    private static void copyTree(Path from, Path to, String what) {
        List<Path> entries = new ArrayList<>();
        try (var walk = Files.walk(from)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isSymbolicLink(p)) {
                    throw GateException.permanent("loopback-batch: " + what + " refused: " + p
                            + " is a symbolic link");
                }
                entries.add(p);
            }
        } catch (IOException e) {
            throw GateException.permanent("loopback-batch: " + what + " failed: " + e, e);
        }
        try {
            for (Path p : entries) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    copy(p, target, what);
                }
            }
        } catch (IOException e) {
            throw GateException.transientFailure("loopback-batch: " + what + " failed: " + e, e,
                    java.util.Optional.empty());
        }
    }

    private static void copy(Path from, Path to, String what) {
        Path parent = to.toAbsolutePath().getParent();
        Path tmp = parent.resolve("." + to.getFileName() + ".part-" + UUID.randomUUID());
        try {
            Files.createDirectories(parent);
            Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (NoSuchFileException e) {
            throw GateException.permanent("loopback-batch: " + what + " failed: no file " + e.getFile(), e);
        } catch (IOException e) {
            throw GateException.transientFailure("loopback-batch: " + what + " failed: " + e, e,
                    java.util.Optional.empty());
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // a leftover part file is harmless: its name never collides with a real one
            }
        }
    }

    @Override
    public RunHandle launch(RunRequest request) {
        throw runsNothing();
    }

    @Override
    public CompletableFuture<RunOutcome> watch(RunHandle handle) {
        throw runsNothing();
    }

    @Override
    public RunProbe probe(RunRequest request) {
        throw runsNothing();
    }

    @Override
    public void signal(RunHandle handle, RunSignal signal) {
        throw runsNothing();
    }

    private GateException runsNothing() {
        return GateException.permanent("loopback-batch: node " + node + " runs nothing itself: its jobs go through "
                + "the site's batch queue");
    }
}
