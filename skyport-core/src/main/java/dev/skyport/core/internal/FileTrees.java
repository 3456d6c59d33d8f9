package dev.skyport.core.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.util.Comparator;

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
     * the caller's to trust (the jobs directory, a job directory). Nothing to do when it does not exist.
     */
    public static void delete(Path path) throws IOException {
        Path abs = path.toAbsolutePath();
        if (!Files.exists(abs, NOFOLLOW)) {
            return;
        }
        Path parent = abs.getParent();
        if (parent == null) {
            throw new IOException("refusing to delete " + abs);
        }
        try (DirectoryStream<Path> d = Files.newDirectoryStream(parent)) {
            if (d instanceof SecureDirectoryStream<Path> above) {
                delete(above, abs.getFileName());
                return;
            }
        }
        // No openat here (not Linux): by path, as well as the platform allows.
        try (var paths = Files.walk(abs)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static void delete(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        try {
            boolean directory = dir.getFileAttributeView(name, BasicFileAttributeView.class, NOFOLLOW)
                    .readAttributes().isDirectory();
            if (!directory) {
                dir.deleteFile(name);
                return;
            }
            try (SecureDirectoryStream<Path> inside = dir.newDirectoryStream(name, NOFOLLOW)) {
                for (Path entry : inside) {
                    delete(inside, entry.getFileName());
                }
            }
            dir.deleteDirectory(name);
        } catch (NoSuchFileException gone) {
            // deleted meanwhile
        }
    }
}
