package dev.skyport.core.internal;

import dev.skyport.api.SkyPortException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The engine's data directory, held for the engine's lifetime through a lock file, so that two engines (in this JVM
 * or another) never share one store and one set of job directories.
 */
final class DataDirectory implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DataDirectory.class);

    final Path root;
    final Path jobs;
    private final FileChannel channel;
    private final FileLock lock;

    private DataDirectory(Path root, FileChannel channel, FileLock lock) {
        this.root = root;
        this.jobs = root.resolve("jobs");
        this.channel = channel;
        this.lock = lock;
    }

    /** Creates the directory if needed and locks it; {@link SkyPortException} saying why when that cannot be done. */
    static DataDirectory lock(Path dir) {
        Path root = dir.toAbsolutePath();
        FileChannel channel;
        FileLock lock;
        try {
            // Job scripts and logs may hold secrets: a data directory Sky Port creates is its owner's only.
            if (!Files.exists(root)) {
                Files.createDirectories(root,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            privateJobsDirectory(root.resolve("jobs"));
            channel = FileChannel.open(root.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            lock = tryLock(channel, root);
        } catch (IOException e) {
            throw new SkyPortException("cannot use data directory " + root + ": " + IoErrors.reason(e), e);
        }
        if (lock == null) {
            closeQuietly(channel);
            throw new SkyPortException("data directory " + root + " is in use by another Sky Port engine");
        }
        return new DataDirectory(root, channel, lock);
    }

    /**
     * Creates the jobs directory for the engine's user only, or takes group's and others' rights from one that had
     * them. Nobody else may reach a job directory by its path: where jobs run as mapped accounts, the account must
     * not get at its job directory from outside the sandbox, where the engine (root) writes run files and logs.
     */
    private static void privateJobsDirectory(Path jobs) throws IOException {
        Set<PosixFilePermission> owner = PosixFilePermissions.fromString("rwx------");
        try {
            Files.createDirectory(jobs, PosixFilePermissions.asFileAttribute(owner));
        } catch (FileAlreadyExistsException there) {
            Set<PosixFilePermission> now = Files.getPosixFilePermissions(jobs);
            if (!owner.containsAll(now)) {
                Files.setPosixFilePermissions(jobs, owner);
                LOG.info("Took group's and others' rights from {}: job directories are the engine's to reach", jobs);
            }
        }
    }

    private static FileLock tryLock(FileChannel channel, Path dataDir) throws IOException {
        try {
            return channel.tryLock();
        } catch (OverlappingFileLockException sameJvm) {
            closeQuietly(channel);
            throw new SkyPortException("data directory " + dataDir
                    + " is in use by another Sky Port engine in this JVM");
        }
    }

    /** Releases the lock: another engine may use the directory from now on. */
    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException e) {
            LOG.warn("cannot release the data directory lock: {}", e.getMessage());
        }
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }
}
