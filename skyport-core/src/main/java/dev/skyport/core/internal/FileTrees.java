package dev.skyport.core.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;

/** Deleting what a job may have shaped: its directory, its run directories. */
public final class FileTrees {
    private FileTrees() {
    }

    /**
     * Deletes {@code path} and everything under it, deepest first. Links are deleted, never followed: a job may leave a
     * link to anywhere in its directory. Nothing to do when it does not exist.
     */
    public static void delete(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var paths = Files.walk(path)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
