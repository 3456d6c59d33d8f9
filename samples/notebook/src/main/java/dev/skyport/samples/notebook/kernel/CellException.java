package dev.skyport.samples.notebook.kernel;

import java.util.List;

/**
 * A cell that did not run to its end: it did not compile, or its code threw. {@link #lines()} is what the notebook
 * shows as the error's traceback: compiler messages with the code they point at, or the exception and the frames of
 * the cell's own code, never the kernel's frames.
 */
final class CellException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final List<String> lines;

    CellException(String message, List<String> lines) {
        super(message, null, false, false);
        this.lines = List.copyOf(lines);
    }

    List<String> lines() {
        return lines;
    }
}
