package dev.skyport.samples.quickstart;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of a count towards a total. On a terminal: one line redrawn in place ({@code \r}, erase to the end of the
 * line), at most ten times a second. Elsewhere (a pipe, a log): a plain line at each tenth of the way, so a log gets
 * at most eleven lines however long the operation.
 */
final class ProgressLine {
    private final PrintStream out;
    private final boolean terminal;
    private final String label;
    private final int total;
    private final long start = System.nanoTime();
    private long lastDraw = Long.MIN_VALUE;
    private int lastTenth = -1;

    ProgressLine(PrintStream out, boolean terminal, String label, int total) {
        this.out = out;
        this.terminal = terminal;
        this.label = label;
        this.total = total;
    }

    void update(int done) {
        long now = System.nanoTime();
        if (terminal) {
            if (done < total && now - lastDraw < 100_000_000L) {
                return;
            }
            lastDraw = now;
            out.print("\r" + text(done, now) + "\033[K");
        } else {
            int tenth = total == 0 ? 10 : 10 * done / total;
            if (tenth <= lastTenth) {
                return;
            }
            lastTenth = tenth;
            out.println(text(done, now));
        }
        out.flush();
    }

    /** Shows the final count (once) and ends the terminal line. */
    void finish(int done) {
        long now = System.nanoTime();
        if (terminal) {
            out.print("\r" + text(done, now) + "\033[K\n");
        } else if (lastTenth < 10 || done < total) {
            out.println(text(done, now));
        }
        out.flush();
    }

    private String text(int done, long now) {
        double seconds = (now - start) / 1e9;
        return String.format(Locale.ROOT, "%s %d/%d jobs (%d%%), %.1f/s", label, done, total,
                total == 0 ? 100 : 100L * done / total, seconds > 0 ? done / seconds : 0.0);
    }
}
