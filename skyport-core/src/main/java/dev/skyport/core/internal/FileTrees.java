package dev.skyport.core.internal;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;

/** Deleting what a job may have shaped: its directory, its run directories. */
public final class FileTrees {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private FileTrees() {
    }

    /**
     * Deletes {@code path} and everything under it, deepest first. Links are deleted, never followed: a job may leave a
     * link to anywhere in its directory, and may swap a directory below {@code path} for one while this runs (a process
     * of a job's account can hold its directory open), so each directory is read and emptied from the open directory
     * above it ({@link SecureDirectoryStream}), never by a path through what the job shaped. {@code path}'s parent is
     * the caller's to trust (the jobs directory, a job directory); else see {@link #deleteBelow}. Nothing to do when it
     * does not exist.
     */
    public static void delete(Path path) throws IOException {
        Path abs = path.toAbsolutePath().normalize();
        if (abs.getParent() == null) {
            throw new IOException("refusing to delete " + abs);
        }
        deleteBelow(abs.getParent(), abs);
    }

    /**
     * As {@link #delete}, for {@code path} below {@code base}, a directory the caller trusts: the directories between
     * the two are opened without following links, and a link among them refuses the deletion
     * ({@link NoFollow.Refused}).
     */
    public static void deleteBelow(Path base, Path path) throws IOException {
        List<String> names = NoFollow.names(base, path);
        if (names.isEmpty()) {
            throw new IllegalArgumentException("refusing to delete " + base + " itself");
        }
        DirectoryStream<Path> opened;
        try {
            opened = Files.newDirectoryStream(base);
        } catch (NoSuchFileException gone) {
            return;
        }
        if (!(opened instanceof SecureDirectoryStream<Path> trusted)) {
            opened.close();
            deleteByPath(path);
            return;
        }
        SecureDirectoryStream<Path> above;
        try {
            above = NoFollow.descend(trusted, names.subList(0, names.size() - 1));
        } catch (NoSuchFileException gone) {
            return; // nothing there
        }
        try (above) {
            deleteEntry(above, Path.of(names.get(names.size() - 1)));
        }
    }

    /**
     * Deletes {@code name} in {@code dir}: a directory is emptied depth first with one open directory per level and
     * no recursion (a job can make a tree deeper than a thread's stack).
     */
    private static void deleteEntry(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        try {
            if (!isDirectory(dir, name)) {
                dir.deleteFile(name);
                return;
            }
            Deque<Level> levels = new ArrayDeque<>();
            try {
                levels.push(new Level(dir, name, dir.newDirectoryStream(name, NOFOLLOW)));
                while (!levels.isEmpty()) {
                    Level top = levels.peek();
                    Path next = top.next();
                    if (next == null) {
                        levels.pop().stream.close();
                        delete(top.parent, top.name, true);
                    } else if (isDirectory(top.stream, next)) {
                        SecureDirectoryStream<Path> inside;
                        try {
                            inside = top.stream.newDirectoryStream(next, NOFOLLOW);
                        } catch (NoSuchFileException gone) {
                            continue; // removed meanwhile: on with the rest
                        } catch (IOException notADirectoryAnyMore) {
                            delete(top.stream, next, false); // swapped for a link or a file meanwhile
                            continue;
                        }
                        levels.push(new Level(top.stream, next, inside));
                    } else {
                        delete(top.stream, next, false);
                    }
                }
            } finally {
                for (Level l : levels) {
                    l.stream.close();
                }
            }
        } catch (NoSuchFileException gone) {
            // deleted meanwhile
        }
    }

    private static boolean isDirectory(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        try {
            return dir.getFileAttributeView(name, BasicFileAttributeView.class, NOFOLLOW).readAttributes()
                    .isDirectory();
        } catch (NoSuchFileException gone) {
            return false;
        }
    }

    private static void delete(SecureDirectoryStream<Path> dir, Path name, boolean directory) throws IOException {
        try {
            if (directory) {
                dir.deleteDirectory(name);
            } else {
                dir.deleteFile(name);
            }
        } catch (NoSuchFileException gone) {
            // deleted meanwhile
        }
    }

    /** One directory being emptied: where it is, and its entries still to delete. */
    private static final class Level {
        final SecureDirectoryStream<Path> parent;
        final Path name;
        final SecureDirectoryStream<Path> stream;
        private final Iterator<Path> entries;

        Level(SecureDirectoryStream<Path> parent, Path name, SecureDirectoryStream<Path> stream) {
            this.parent = parent;
            this.name = name;
            this.stream = stream;
            this.entries = stream.iterator();
        }

        /** The next entry's name, or null when every entry was seen. */
        Path next() throws IOException {
            try {
                return entries.hasNext() ? entries.next().getFileName() : null;
            } catch (DirectoryIteratorException e) {
                throw e.getCause();
            }
        }
    }

    /** Where no directory can be opened without following links (not Linux): by path, as well as the platform allows. */
    private static void deleteByPath(Path path) throws IOException {
        if (!Files.exists(path, NOFOLLOW)) {
            return;
        }
        try (var paths = Files.walk(path)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
