package dev.skyport.samples.notebook.kernel;

import jdk.jshell.DeclarationSnippet;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One JShell whose snippets run in this JVM and see this JVM's class path, so objects made in a cell are of the same
 * classes the kernel renders. Not thread-safe: the kernel evaluates one cell at a time.
 */
final class JShellSession implements AutoCloseable {
    private final ValueKeepingExecutionControl.Values values = new ValueKeepingExecutionControl.Values();
    private final JShell shell;
    private final Object interruptLock = new Object();
    private Thread evaluating;

    JShellSession(String classPath) {
        this.shell = JShell.builder().executionEngine(values.provider(), Map.of()).build();
        if (!classPath.isBlank()) {
            shell.addToClasspath(classPath);
        }
    }

    /** Adds jars or class directories (separated as the platform separates class path entries) for the next cells. */
    void addToClassPath(String classPath) {
        shell.addToClasspath(classPath);
    }

    /**
     * Runs every snippet of {@code code} in order and returns the value of the last one when it is an expression
     * without a closing semicolon ({@code job}, {@code sky.jobs().list(...)}), empty for a declaration, a statement
     * or {@code sweep.watch(timeout);}. Stops at the first snippet that does not compile or throws.
     *
     * @throws CellException naming what failed, with the compiler's messages or the exception's frames
     */
    Optional<Object> eval(String code) {
        SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
        Optional<Object> last = Optional.empty();
        String remaining = code;
        synchronized (interruptLock) {
            evaluating = Thread.currentThread();
        }
        try {
            while (!remaining.isBlank()) {
                SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(remaining);
                if (info.completeness() == SourceCodeAnalysis.Completeness.EMPTY) {
                    break; // only comments and blanks are left
                }
                if (!info.completeness().isComplete() && info.completeness() != SourceCodeAnalysis.Completeness.UNKNOWN) {
                    throw new CellException("incomplete code", List.of("incomplete code at the end of the cell:",
                            info.remaining().strip()));
                }
                String source = info.completeness() == SourceCodeAnalysis.Completeness.UNKNOWN ? remaining
                        : info.source();
                remaining = info.completeness() == SourceCodeAnalysis.Completeness.UNKNOWN ? "" : info.remaining();
                last = evalSnippet(source);
                // As in Java, an expression the cell ends with ';' is a statement: its value is not shown.
                if (source.strip().endsWith(";")) {
                    last = Optional.empty();
                }
            }
            return last;
        } finally {
            synchronized (interruptLock) {
                evaluating = null;
                // The cell runs on jjava-jupyter's shell loop thread, which stops for good when it finds itself
                // interrupted: an interrupt the cell did not consume must not outlive the cell.
                Thread.interrupted();
            }
            values.clear();
        }
    }

    private Optional<Object> evalSnippet(String source) {
        Optional<Object> value = Optional.empty();
        for (SnippetEvent event : shell.eval(source)) {
            if (event.causeSnippet() != null) {
                continue; // an update of a dependent snippet, not the one just run
            }
            if (event.exception() != null) {
                throw failure(event.exception());
            }
            if (event.status() == Snippet.Status.REJECTED) {
                throw compileError(event.snippet());
            }
            Optional<Object> v = values.take(event.value());
            if (isExpression(event.snippet())) {
                value = v;
            }
        }
        return value;
    }

    private static boolean isExpression(Snippet snippet) {
        return snippet.kind() == Snippet.Kind.EXPRESSION
                || snippet.subKind() == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND;
    }

    private CellException compileError(Snippet snippet) {
        List<String> lines = new ArrayList<>();
        String source = snippet.source();
        StringBuilder summary = new StringBuilder();
        shell.diagnostics(snippet).forEach(diag -> {
            String message = diag.getMessage(Locale.ROOT);
            if (summary.length() == 0) {
                summary.append(message);
            }
            lines.add((diag.isError() ? "error: " : "warning: ") + message);
            lines.addAll(pointAt(source, diag));
        });
        if (snippet instanceof DeclarationSnippet declaration) {
            shell.unresolvedDependencies(declaration).forEach(name -> lines.add("cannot find symbol: " + name));
        }
        if (lines.isEmpty()) {
            lines.add("the code was not accepted: " + source.strip());
        }
        return new CellException(summary.length() == 0 ? "compilation failed" : summary.toString(), lines);
    }

    /** The source line a diagnostic points at, and a caret under the spot. */
    private static List<String> pointAt(String source, Diag diag) {
        long pos = diag.getPosition();
        if (pos < 0 || pos > source.length()) {
            return List.of();
        }
        int start = source.lastIndexOf('\n', (int) Math.max(0, pos - 1)) + 1;
        int end = source.indexOf('\n', (int) pos);
        String line = source.substring(start, end < 0 ? source.length() : end);
        return List.of("    " + line, "    " + " ".repeat((int) pos - start) + "^");
    }

    private static CellException failure(JShellException e) {
        List<String> lines = new ArrayList<>();
        String headline;
        if (e instanceof EvalException ee) {
            headline = ee.getExceptionClassName() + (ee.getMessage() == null ? "" : ": " + ee.getMessage());
        } else if (e instanceof UnresolvedReferenceException ure) {
            headline = "unresolved reference: " + ure.getSnippet().source().strip();
        } else {
            headline = e.toString();
        }
        lines.add(headline);
        for (StackTraceElement frame : e.getStackTrace()) {
            lines.add("    at " + frame);
        }
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            lines.add("Caused by: " + (cause instanceof EvalException ce
                    ? ce.getExceptionClassName() + (ce.getMessage() == null ? "" : ": " + ce.getMessage())
                    : cause.toString()));
        }
        return new CellException(headline, lines);
    }

    /** Whether {@code code} is a whole cell, or what it is missing; see {@code BaseKernel#isComplete}. */
    SourceCodeAnalysis.Completeness completeness(String code) {
        return shell.sourceCodeAnalysis().analyzeCompletion(code).completeness();
    }

    /** Completions at {@code cursor}: the replacements and where the replaced text starts. */
    Completions complete(String code, int cursor) {
        int[] anchor = new int[1];
        List<String> names = shell.sourceCodeAnalysis().completionSuggestions(code, cursor, anchor).stream()
                .map(SourceCodeAnalysis.Suggestion::continuation).distinct().toList();
        return new Completions(names, anchor[0]);
    }

    record Completions(List<String> replacements, int start) {
    }

    /**
     * Interrupts the cell being evaluated if it is waiting (on jobs, a queue, a sleep): it ends with an
     * InterruptedException. A cell that is running is left alone: the thread also writes the kernel's ZeroMQ
     * messages, and an interrupt during such a write closes the socket's NIO pipe for good (interruptible channels).
     */
    void interrupt() {
        synchronized (interruptLock) {
            Thread t = evaluating;
            if (t != null && (t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING)) {
                t.interrupt();
            }
        }
    }

    @Override
    public void close() {
        shell.close();
    }
}
