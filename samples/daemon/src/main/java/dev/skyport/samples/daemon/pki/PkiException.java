package dev.skyport.samples.daemon.pki;

import dev.skyport.api.SkyPortException;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The cluster PKI cannot do what was asked: a CA is missing or already exists, a name is not acceptable, or a file
 * cannot be read or written. The message is one line meant for the person at the terminal, e.g.
 * {@code no cluster CA in /x/secure/cluster (run `skyport certs init` first)}; it never contains key material.
 */
public class PkiException extends SkyPortException {
    private static final long serialVersionUID = 1L;

    public PkiException(String message) {
        super(message);
    }

    public PkiException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "cannot {action} {path}: {reason}", with the usual I/O failures said in words rather than class names. */
    static PkiException io(String action, Path path, IOException cause) {
        return new PkiException("cannot " + action + " " + path + ": " + reason(cause), cause);
    }

    private static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "it already exists";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
