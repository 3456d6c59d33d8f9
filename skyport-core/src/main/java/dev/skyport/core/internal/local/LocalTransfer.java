package dev.skyport.core.internal.local;

import dev.skyport.core.internal.NoFollow;
import dev.skyport.gate.GateException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * File and tree copies of the local node, where "remote" paths are paths of this machine. A copy never leaves
 * anything half-written at its destination: the bytes go to a temporary name beside it, the size is checked, and the
 * temporary file is renamed over the destination in one step. Sources are opened without following symbolic links
 * (a job may have made a file of its directory a link to one it may not read), and a link in a tree is refused. A copy
 * onto itself (the local node's directory is the engine's) only checks that the file is there.
 */
final class LocalTransfer {
    /** Chunks between which an interrupt (a cancel) is seen even where the copy itself would not notice it. */
    private static final long CHUNK = 8L << 20;

    private LocalTransfer() {
    }

    /**
     * Copies the regular file {@code from} to {@code to}; when {@code below} is given (a directory whose parent only the
     * engine writes, e.g. a job directory, which a job may have filled with links), {@code to} lies below it and no
     * link below it is followed ({@link NoFollow#place}): a link on the way refuses the copy.
     */
    static void copyFile(Path from, Path to, Optional<Path> below) {
        try {
            BasicFileAttributes attrs = attributes(from);
            if (!attrs.isRegularFile()) {
                throw GateException.permanent(from + " is not a regular file"
                        + (attrs.isSymbolicLink() ? " (a symbolic link)" : attrs.isDirectory() ? " (a directory)" : ""));
            }
            if (sameFile(from, to)) {
                return;
            }
            if (below.isPresent()) {
                place(from, below.get(), to, attrs.size());
            } else {
                createPrivateDirectories(to.toAbsolutePath().getParent());
                write(from, to, attrs.size());
            }
        } catch (NoFollow.Refused e) {
            throw GateException.permanent("cannot copy to " + to + ": " + e.getMessage());
        } catch (NoSuchFileException e) {
            throw GateException.permanent("no such file: " + from);
        } catch (AccessDeniedException e) {
            throw GateException.permanent("permission denied: " + e.getFile());
        } catch (ClosedByInterruptException e) {
            Thread.currentThread().interrupt();
            throw GateException.transientFailure("copying " + from + " was interrupted", e, Optional.empty());
        } catch (IOException e) {
            throw GateException.transientFailure("cannot copy " + from + " to " + to + ": " + e.getMessage(), e,
                    Optional.empty());
        }
    }

    /**
     * Copies the tree {@code from} into {@code to} (created if missing), each file as {@link #copyFile} does, also below
     * {@code below} when given. The whole tree is checked before anything is copied: a symbolic link or a special file
     * anywhere refuses it.
     */
    static void copyTree(Path from, Path to, Optional<Path> below) {
        List<Path> files = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        try {
            if (!attributes(from).isDirectory()) {
                throw GateException.permanent(from + " is not a directory");
            }
            try (Stream<Path> walk = Files.walk(from)) {
                for (Path p : (Iterable<Path>) walk::iterator) {
                    BasicFileAttributes a = attributes(p);
                    if (a.isDirectory()) {
                        dirs.add(p);
                    } else if (a.isRegularFile()) {
                        files.add(p);
                    } else {
                        throw GateException.permanent(p + " is " + (a.isSymbolicLink() ? "a symbolic link" : "not a regular file")
                                + "; trees are copied without links");
                    }
                }
            }
            if (sameFile(from, to)) {
                return;
            }
            for (Path d : dirs) {
                Path dir = to.resolve(from.relativize(d).toString());
                if (below.isPresent()) {
                    createPrivateDirectories(below.get());
                    NoFollow.openMaking(below.get(), NoFollow.names(below.get(), dir)).close();
                } else {
                    createPrivateDirectories(dir);
                }
            }
        } catch (NoFollow.Refused e) {
            throw GateException.permanent("cannot copy to " + to + ": " + e.getMessage());
        } catch (NoSuchFileException e) {
            throw GateException.permanent("no such directory: " + e.getFile());
        } catch (AccessDeniedException e) {
            throw GateException.permanent("permission denied: " + e.getFile());
        } catch (IOException | java.io.UncheckedIOException e) {
            throw GateException.transientFailure("cannot copy " + from + " to " + to + ": " + e.getMessage(), e,
                    Optional.empty());
        }
        for (Path f : files) {
            copyFile(f, to.resolve(from.relativize(f).toString()), below);
        }
    }

    private static BasicFileAttributes attributes(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    private static boolean sameFile(Path from, Path to) throws IOException {
        return from.toAbsolutePath().normalize().equals(to.toAbsolutePath().normalize())
                || (Files.exists(to, LinkOption.NOFOLLOW_LINKS) && Files.isSameFile(from, to));
    }

    private static void place(Path from, Path below, Path to, long size) throws IOException {
        try (InputStream in = Channels.newInputStream(FileChannel.open(from, StandardOpenOption.READ,
                LinkOption.NOFOLLOW_LINKS))) {
            createPrivateDirectories(below);
            long copied = NoFollow.place(below, NoFollow.names(below, to), in);
            if (copied != size) {
                throw new IOException(from + " changed while it was copied: " + size + " bytes expected, " + copied
                        + " written");
            }
        }
    }

    private static void write(Path from, Path to, long size) throws IOException {
        Path temp = to.resolveSibling("." + to.getFileName() + "." + UUID.randomUUID() + ".part");
        boolean done = false;
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
             FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long copied = 0;
            while (true) {
                if (Thread.interrupted()) {
                    Thread.currentThread().interrupt();
                    throw new ClosedByInterruptException();
                }
                long n = in.transferTo(copied, CHUNK, out);
                if (n <= 0) {
                    break;
                }
                copied += n;
            }
            out.force(false);
            if (copied != size || out.size() != size) {
                throw new IOException(from + " changed while it was copied: " + size + " bytes expected, "
                        + out.size() + " written");
            }
            Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /**
     * Creates {@code dir} and its missing parents for the owner only: a job directory made here first (inputs staged
     * before the launch) must be as private as the one the launch makes.
     */
    private static void createPrivateDirectories(Path dir) throws IOException {
        if (dir == null || Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        createPrivateDirectories(dir.getParent());
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException raced) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw raced;
            }
        }
    }
}
