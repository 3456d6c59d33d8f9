package dev.skyport.core.internal;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;

/**
 * Why a file operation failed, in words a user can act on. The JDK's {@link AccessDeniedException} and its siblings
 * carry only the path as their message ("cannot use data directory /srv/sky: /srv/sky/jobs" said nothing of a
 * permission), so the reason is spelled out from the exception's type.
 */
final class IoErrors {
    private IoErrors() {
    }

    static String reason(IOException e) {
        if (e instanceof FileSystemException f) {
            String file = f.getFile() == null ? "" : f.getFile();
            String more = f.getReason() == null ? "" : " (" + f.getReason() + ")";
            if (e instanceof AccessDeniedException) {
                return "permission denied on " + file + more + " for OS user " + System.getProperty("user.name");
            }
            if (e instanceof FileAlreadyExistsException) {
                return file + " exists and is not a directory" + more;
            }
            if (e instanceof NoSuchFileException) {
                return file + " does not exist" + more;
            }
            if (e instanceof NotDirectoryException) {
                return file + " is not a directory" + more;
            }
            if (f.getReason() != null) { // "Read-only file system", "No space left on device", "Not a directory"
                return f.getReason().toLowerCase(Locale.ROOT) + ": " + file;
            }
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
