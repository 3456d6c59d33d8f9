package dev.skyport.samples.daemon.cli;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * Progress of a long operation over a known number of items (jobs submitted, jobs ended), on stderr so that stdout
 * stays what scripts read. On a terminal ({@link Mode#LINE}) one line is redrawn in place ({@code \r}, then erase to
 * the end of the line) at most ten times a second, and ended with a newline; elsewhere ({@link Mode#PLAIN}: a pipe, a
 * file, a CI log) a plain line is printed at each tenth of the way and at the end, so a log gets at most eleven lines
 * however many items there are. Rates are per second of the context's clock. Thread-safe.
 */
final class Progress {
    /** How progress is shown; {@code auto} (the option's default) picks {@link #LINE} on a terminal. */
    enum Mode {
        LINE, PLAIN, NONE;

        static Mode of(String option, boolean terminal) {
            return switch (option) {
                case "auto" -> terminal ? LINE : PLAIN;
                case "line" -> LINE;
                case "plain" -> PLAIN;
                case "none" -> NONE;
                default -> throw new IllegalArgumentException("--progress must be auto, line, plain or none, got '"
                        + Cells.safe(option) + "'");
            };
        }
    }

    /** Redraws of the terminal line are at least this far apart: a burst of items is one redraw. */
    private static final Duration REDRAW = Duration.ofMillis(100);

    private final PrintWriter err;
    private final Mode mode;
    private final Clock clock;
    private final String label;
    private final int total;
    private final Instant start;
    private Instant lastDraw = Instant.MIN;
    private int lastTenth = -1;
    private boolean drawn;

    Progress(PrintWriter err, Mode mode, Clock clock, String label, int total) {
        this.err = err;
        this.mode = mode;
        this.clock = clock;
        this.label = label;
        this.total = total;
        this.start = clock.instant();
    }

    /** {@code done} of the items are done; {@code detail} (may be empty) follows the count. */
    synchronized void update(int done, String detail) {
        if (mode == Mode.NONE) {
            return;
        }
        Instant now = clock.instant();
        if (mode == Mode.LINE) {
            if (done < total && Duration.between(lastDraw, now).compareTo(REDRAW) < 0) {
                return;
            }
            lastDraw = now;
            err.print("\r" + text(done, detail, now) + "\033[K");
            drawn = true;
        } else {
            int tenth = total == 0 ? 10 : (int) (10L * done / total);
            if (tenth <= lastTenth) {
                return;
            }
            lastTenth = tenth;
            err.println(text(done, detail, now));
        }
        err.flush();
    }

    /** The last state, always shown; ends the terminal line. */
    synchronized void finish(int done, String detail) {
        if (mode == Mode.NONE) {
            return;
        }
        Instant now = clock.instant();
        if (mode == Mode.LINE) {
            err.print("\r" + text(done, detail, now) + "\033[K\n");
        } else if (lastTenth < 10 || done < total) {
            err.println(text(done, detail, now));
        }
        lastTenth = 10;
        drawn = false;
        err.flush();
    }

    /** Ends a terminal line left open (an error cut the operation short), so what follows starts on its own line. */
    synchronized void abandon() {
        if (mode == Mode.LINE && drawn) {
            err.print("\n");
            err.flush();
            drawn = false;
        }
    }

    String text(int done, String detail, Instant now) {
        StringBuilder b = new StringBuilder(label).append(' ').append(done).append('/').append(total);
        if (total > 0) {
            b.append(" (").append(100L * done / total).append("%)");
        }
        if (!detail.isEmpty()) {
            b.append(' ').append(detail);
        }
        long millis = Duration.between(start, now).toMillis();
        if (millis > 0 && done > 0) {
            b.append(String.format(Locale.ROOT, ", %.1f/s", done * 1000.0 / millis));
        }
        return b.toString();
    }
}
