package dev.skyport.gate.slurm;

import dev.skyport.gate.GateException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * {@code files=local}: the engine's machine mounts the cluster's shared file system at the same path. Files are copied
 * to a temporary name beside their target and renamed over it, so nothing half-written is ever seen.
 *
 * <p>Isolation (see docs/slurm-gate.md): everything made under {@code work-root} belongs to work-root's group, with no
 * bits for others: directories {@code 2770} (setgid, so that what the job creates there joins the group too), files
 * {@code 0660}. The engine and the Slurm user(s) jobs run as share that group; other users of the cluster cannot read
 * or alter a job's script, inputs, logs or exit status.
 *
 * <p>A job can write its own directory, so nothing there is trusted: every path is resolved without following links
 * and must lie, after resolving its parent's real path, inside a job directory of the real work root. A job that swaps
 * its stdout for a link to one of the engine's files, or a directory for a link elsewhere, gets a permanent refusal,
 * never a copy of the engine's file nor a write outside work-root.
 */
final class LocalSharedFiles extends SharedFiles {
    /** rwx for owner and group, setgid, nothing for others. */
    static final int DIRECTORY_MODE = 02770;
    /** rw for owner and group, nothing for others. */
    static final int FILE_MODE = 0660;

    private final Path root;
    private final Path realRoot;
    private final GroupPrincipal group;

    LocalSharedFiles(String node, String workRoot) {
        super(node, workRoot);
        this.root = Path.of(workRoot);
        if (!Files.isDirectory(root)) {
            throw SlurmGateConfig.refused("work-root", "names " + workRoot + ", which is not a directory on this"
                    + " machine (files=local: the engine's machine mounts the cluster's file system at the same path)");
        }
        try {
            this.realRoot = root.toRealPath();
            this.group = Files.getFileAttributeView(realRoot, PosixFileAttributeView.class).readAttributes().group();
        } catch (IOException | UnsupportedOperationException e) {
            throw SlurmGateConfig.refused("work-root", "names " + workRoot + ", whose owner and group cannot be read: "
                    + e.getClass().getSimpleName());
        }
    }

    @Override
    public void upload(Path local, String remotePath) {
        if (!Files.isRegularFile(local, LinkOption.NOFOLLOW_LINKS)) {
            throw GateException.permanent("cannot upload " + local + ": not a regular file");
        }
        Path target = inJobDirectory(remotePath, true);
        copy(local, target, "upload to " + node(), true);
    }

    @Override
    public void download(String remotePath, Path local) {
        Path remote = inJobDirectory(remotePath, false);
        if (!Files.isRegularFile(remote, LinkOption.NOFOLLOW_LINKS)) {
            throw GateException.permanent("cannot download " + remotePath + " from " + node() + ": "
                    + (Files.isSymbolicLink(remote) ? "a symbolic link, which is never followed" : "no such file"));
        }
        copy(remote, local.toAbsolutePath(), "download from " + node(), false);
    }

    @Override
    public void uploadTree(Path local, String remotePath) {
        tree(local, jobTree(remotePath, true), true);
    }

    @Override
    public void downloadTree(String remotePath, Path local) {
        tree(jobTree(remotePath, false), local.toAbsolutePath(), false);
    }

    /** The directory {@code remotePath} (a job directory or one inside it) as its real path, made first with make. */
    private Path jobTree(String remotePath, boolean make) {
        Path relative = underRoot(remotePath, 1);
        Path dir = realRoot.resolve(relative);
        if (make) {
            makeDirectories(dir);
        }
        return checked(remotePath, dir, realRoot.resolve(relative.getName(0).toString()));
    }

    /** {@code remotePath} relative to the work root, refused unless it has at least {@code depth} names there. */
    private Path underRoot(String remotePath, int depth) {
        Path p = Path.of(remotePath).toAbsolutePath().normalize();
        Path relative = p.startsWith(realRoot) ? realRoot.relativize(p)
                : p.startsWith(root.toAbsolutePath()) ? root.toAbsolutePath().relativize(p) : null;
        if (relative == null || relative.toString().isEmpty() || relative.getNameCount() < depth) {
            throw GateException.permanent(remotePath + " is not inside a job directory under work-root " + root
                    + " of " + node());
        }
        return relative;
    }

    /** The real path of {@code dir}, which must lie in {@code jobDirectory}. */
    private Path checked(String remotePath, Path dir, Path jobDirectory) {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (NoSuchFileException e) {
            throw GateException.permanent("no such directory " + dir + " on " + node());
        } catch (IOException e) {
            throw GateException.transientFailure("cannot resolve " + dir + " on " + node() + ": " + e, e,
                    Optional.empty());
        }
        if (!real.startsWith(jobDirectory)) {
            throw GateException.permanent(remotePath + " leads out of its job directory " + jobDirectory
                    + " through a symbolic link, which is never followed");
        }
        return real;
    }

    /**
     * {@code remotePath} with its parent resolved to its real path, which must lie in a job directory of the real work
     * root; with {@code make}, the missing parents are made first.
     */
    private Path inJobDirectory(String remotePath, boolean make) {
        Path relative = underRoot(remotePath, 2);
        Path parent = realRoot.resolve(relative).getParent();
        if (make) {
            makeDirectories(parent);
        }
        return checked(remotePath, parent, realRoot.resolve(relative.getName(0).toString()))
                .resolve(relative.getFileName().toString());
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
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    makeDirectories(target);
                } else {
                    copy(p, target, (upload ? "upload to " : "download from ") + node(), upload);
                }
            }
        } catch (IOException e) {
            throw GateException.transientFailure("cannot copy " + from + " to " + to + ": " + e, e, Optional.empty());
        }
    }

    private void copy(Path from, Path to, String what, boolean toSite) {
        Path parent = to.getParent();
        if (!toSite) {
            makeDirectories(parent);
        }
        Path temp = parent.resolve("." + to.getFileName() + ".skyport-" + UUID.randomUUID());
        // O_NOFOLLOW: a link put in the file's place after the checks is refused, not followed.
        try (InputStream in = Files.newInputStream(from, LinkOption.NOFOLLOW_LINKS, StandardOpenOption.READ)) {
            long copied = Files.copy(in, temp);
            if (copied != Files.size(temp)) {
                throw new IOException("wrote " + Files.size(temp) + " of " + copied + " bytes");
            }
            if (toSite) {
                setMode(temp, FILE_MODE);
            }
            Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (NoSuchFileException e) {
            throw GateException.permanent(what + ": no such file " + e.getFile());
        } catch (IOException e) {
            if (Files.isSymbolicLink(from)) {
                throw GateException.permanent(what + ": " + from + " is a symbolic link, which is never followed");
            }
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

    /** Work-root's group and {@code mode}; set after creating, since the umask would take the group's bits away. */
    private void setMode(Path p, int mode) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        if (!view.readAttributes().group().equals(group)) {
            view.setGroup(group);
        }
        Files.setAttribute(p, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Makes {@code dir} and its missing parents; those under the work root get its group and {@link #DIRECTORY_MODE}.
     * An existing component that is a link, not a directory, is refused.
     */
    private void makeDirectories(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        if (!abs.startsWith(realRoot)) {
            try {
                Files.createDirectories(abs);
                return;
            } catch (IOException e) {
                throw GateException.permanent("cannot create " + abs + ": " + e);
            }
        }
        try {
            Path current = realRoot;
            List<Path> parts = new ArrayList<>();
            realRoot.relativize(abs).forEach(parts::add);
            for (Path part : parts) {
                if (part.toString().isEmpty()) {
                    continue;
                }
                current = current.resolve(part.toString());
                if (Files.isSymbolicLink(current)) {
                    throw GateException.permanent(current + " is a symbolic link, which is never followed");
                }
                if (!Files.isDirectory(current, LinkOption.NOFOLLOW_LINKS)) {
                    try {
                        Files.createDirectory(current);
                        setMode(current, DIRECTORY_MODE);
                    } catch (FileAlreadyExistsException raced) {
                        // Made meanwhile by another upload of the same job; a link in its place is refused above.
                        if (!Files.isDirectory(current, LinkOption.NOFOLLOW_LINKS)) {
                            throw GateException.permanent(current + " is not a directory");
                        }
                    }
                }
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            throw GateException.permanent("cannot create " + abs + " under work-root " + root + ": " + e);
        }
    }
}
