package dev.skyport.samples.daemon.pki;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Writes the PKI's files. Every file is written to a temporary file in its own directory and then renamed over the
 * target, so a crash leaves the old file or the new one, never half a key. Secrets get mode 0600 when the temporary
 * file is created, so no other user can open one even for a moment; directories that hold secrets are 0700. On file
 * systems without POSIX permissions the modes are skipped.
 */
final class SpoolFiles {
    private static final Set<PosixFilePermission> SECRET = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> PUBLIC = PosixFilePermissions.fromString("rw-r--r--");
    private static final Set<PosixFilePermission> PRIVATE_DIRECTORY = PosixFilePermissions.fromString("rwx------");

    private SpoolFiles() {
    }

    /** Creates {@code dir} (and its parents) with mode 0700, or narrows an existing one to 0700. */
    static void createPrivateDirectory(Path dir) {
        try {
            Files.createDirectories(dir.toAbsolutePath().getParent());
            if (!posix(dir)) {
                Files.createDirectories(dir);
                return;
            }
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PRIVATE_DIRECTORY));
            } catch (FileAlreadyExistsException e) {
                if (!Files.isDirectory(dir)) {
                    throw e;
                }
            }
            // The umask can only have removed bits, but an existing directory may be wider than it should be.
            Files.setPosixFilePermissions(dir, PRIVATE_DIRECTORY);
        } catch (IOException e) {
            throw PkiException.io("create directory", dir, e);
        }
    }

    /** Writes a private key (or a copy of one): mode 0600 from the moment the file exists. */
    static void writeSecret(Path file, byte[] content) {
        write(file, content, SECRET);
    }

    /** Writes a certificate or another file anyone may read: mode 0644. */
    static void writePublic(Path file, byte[] content) {
        write(file, content, PUBLIC);
    }

    private static void write(Path file, byte[] content, Set<PosixFilePermission> mode) {
        Path dir = file.toAbsolutePath().getParent();
        Path temporary = null;
        try {
            Files.createDirectories(dir);
            boolean posix = posix(dir);
            FileAttribute<?>[] attributes = posix
                    ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(mode)}
                    : new FileAttribute<?>[0];
            temporary = Files.createTempFile(dir, "." + file.getFileName(), ".tmp", attributes);
            if (posix) {
                // Created with at most `mode`; a restrictive umask may have removed read bits certificates need.
                Files.setPosixFilePermissions(temporary, mode);
            }
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            temporary = null;
        } catch (IOException e) {
            throw PkiException.io("write", file, e);
        } finally {
            if (temporary != null) {
                try {
                    Files.deleteIfExists(temporary);
                } catch (IOException ignored) {
                    // The write already failed and says why; a stray temporary file is the lesser problem.
                }
            }
        }
    }

    private static boolean posix(Path path) {
        return path.getFileSystem().supportedFileAttributeViews().contains("posix");
    }
}
