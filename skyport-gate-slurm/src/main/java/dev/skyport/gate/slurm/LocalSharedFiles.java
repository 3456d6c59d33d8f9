package dev.skyport.gate.slurm;

import dev.skyport.gate.GateException;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * {@code files=local}: the engine's machine mounts the cluster's shared file system at the same path. Files are copied
 * to a temporary name beside their target and renamed over it, so nothing half-written is ever seen. Directories made
 * under {@code work-root} take its permission bits: where the engine and the Slurm user differ, an administrator makes
 * {@code work-root} writable by the group (or by all) both share, and the job, running as the Slurm user, can then
 * write its logs and exit status into the directories the engine made. Files take the same bits without execute.
 */
final class LocalSharedFiles extends SharedFiles {
    private final Path root;

    LocalSharedFiles(String node, String workRoot) {
        super(node, workRoot);
        this.root = Path.of(workRoot);
        if (!Files.isDirectory(root)) {
            throw SlurmGateConfig.refused("work-root", "names " + workRoot + ", which is not a directory on this"
                    + " machine (files=local: the engine's machine mounts the cluster's file system at the same path)");
        }
    }

    @Override
    public void upload(Path local, String remotePath) {
        if (!Files.isRegularFile(local, LinkOption.NOFOLLOW_LINKS)) {
            throw GateException.permanent("cannot upload " + local + ": not a regular file");
        }
        copy(local, Path.of(remotePath), "upload to " + node());
    }

    @Override
    public void download(String remotePath, Path local) {
        Path remote = Path.of(remotePath);
        if (!Files.isRegularFile(remote)) {
            throw GateException.permanent("cannot download " + remotePath + " from " + node() + ": no such file");
        }
        copy(remote, local, "download from " + node());
    }

    @Override
    public void uploadTree(Path local, String remotePath) {
        tree(local, Path.of(remotePath), true);
    }

    @Override
    public void downloadTree(String remotePath, Path local) {
        tree(Path.of(remotePath), local, false);
    }

    private void tree(Path from, Path to, boolean upload) {
        if (!Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
            throw GateException.permanent("cannot copy " + from + ": not a directory");
        }
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isSymbolicLink(p)) {
                    throw GateException.permanent("cannot copy " + p + ": symbolic links are refused");
                }
                if (Files.isDirectory(p)) {
                    makeDirectories(target);
                } else {
                    copy(p, target, (upload ? "upload to " : "download from ") + node());
                }
            }
        } catch (IOException e) {
            throw GateException.transientFailure("cannot copy " + from + " to " + to + ": " + e, e, Optional.empty());
        }
    }

    private void copy(Path from, Path to, String what) {
        Path parent = to.toAbsolutePath().getParent();
        makeDirectories(parent);
        Path temp = parent.resolve("." + to.getFileName() + ".skyport-" + UUID.randomUUID());
        try {
            Files.copy(from, temp);
            if (Files.size(temp) != Files.size(from)) {
                throw new IOException("copied " + Files.size(temp) + " of " + Files.size(from) + " bytes");
            }
            if (temp.toAbsolutePath().normalize().startsWith(root)) {
                // Readable (and writable) by whom the work root is: the job runs as the Slurm user, who may not be
                // the engine's, and reads its script and inputs.
                Files.setPosixFilePermissions(temp, fileMode());
            }
            Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (NoSuchFileException e) {
            throw GateException.permanent(what + ": no such file " + e.getFile());
        } catch (IOException e) {
            throw GateException.transientFailure(what + " failed: " + from + " -> " + to + ": " + e, e,
                    Optional.empty());
        } finally {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // A leftover temp name is harmless: it is never the target.
            }
        }
    }

    /** The work root's permission bits without the execute bits. */
    private Set<PosixFilePermission> fileMode() throws IOException {
        Set<PosixFilePermission> mode = java.util.EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission p : Files.getPosixFilePermissions(root)) {
            if (!p.name().endsWith("_EXECUTE")) {
                mode.add(p);
            }
        }
        mode.add(PosixFilePermission.OWNER_READ);
        mode.add(PosixFilePermission.OWNER_WRITE);
        return mode;
    }

    /** Makes {@code dir} and its missing parents; those under the work root get the work root's permission bits. */
    private void makeDirectories(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        if (Files.isDirectory(abs)) {
            return;
        }
        if (!abs.startsWith(root)) {
            try {
                Files.createDirectories(abs);
                return;
            } catch (IOException e) {
                throw GateException.permanent("cannot create " + abs + ": " + e);
            }
        }
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(root);
            Path current = root;
            for (Path part : List.copyOf(iterable(root.relativize(abs)))) {
                current = current.resolve(part.toString());
                if (!Files.isDirectory(current)) {
                    try {
                        Files.createDirectory(current);
                        // Set after creating: the umask would take the group's and others' bits away.
                        Files.setPosixFilePermissions(current, mode);
                    } catch (FileAlreadyExistsException raced) {
                        // Made meanwhile by another upload of the same job.
                    }
                }
            }
        } catch (IOException | UnsupportedOperationException e) {
            throw GateException.permanent("cannot create " + abs + " under work-root " + root + ": " + e);
        }
    }

    private static List<Path> iterable(Path relative) {
        List<Path> parts = new java.util.ArrayList<>();
        relative.forEach(parts::add);
        return parts;
    }
}
