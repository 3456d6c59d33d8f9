package dev.skyport.samples.daemon.cli;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/** Turning values into table cells: terminal width of text, safe text, ages and sizes. */
final class Cells {
    private Cells() {
    }

    /**
     * The number of terminal columns {@code text} takes: combining marks and format characters take none, East Asian
     * wide and fullwidth characters and emoji take two (as wcwidth says for the common ranges).
     */
    static int width(String text) {
        int width = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            width += width(cp);
        }
        return width;
    }

    static int width(int cp) {
        int type = Character.getType(cp);
        if (type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK || type == Character.FORMAT
                || cp == 0x200B) {
            return 0;
        }
        return isWide(cp) ? 2 : 1;
    }

    private static boolean isWide(int cp) {
        return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) || (cp >= 0x3041 && cp <= 0x33FF)
                || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF)
                || (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F)
                || (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6)
                || (cp >= 0x1F300 && cp <= 0x1F64F) || (cp >= 0x1F680 && cp <= 0x1F6FF)
                || (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x1FA70 && cp <= 0x1FAFF)
                || (cp >= 0x20000 && cp <= 0x3FFFD);
    }

    /**
     * {@code text} made safe for a terminal: a job's name, details or labels come from other people (an admin lists
     * every user's jobs), and an escape sequence in one must not move the cursor or retitle the window. Control
     * characters become {@code ?}; line breaks become spaces so a row stays one line.
     */
    static String safe(String text) {
        StringBuilder b = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                if (b == null) {
                    b = new StringBuilder(text.length()).append(text, 0, i);
                }
                b.append(c == '\n' || c == '\r' || c == '\t' ? ' ' : '?');
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? text : b.toString();
    }

    /** At most {@code columns} wide, ending in an ellipsis when cut; never splits a surrogate pair. */
    static String truncate(String text, int columns) {
        if (width(text) <= columns) {
            return text;
        }
        StringBuilder b = new StringBuilder();
        int used = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int w = width(cp);
            if (used + w > columns - 1) {
                break;
            }
            b.appendCodePoint(cp);
            used += w;
            i += Character.charCount(cp);
        }
        return b.append('…').toString();
    }

    /** {@code text} followed by spaces up to {@code columns}. */
    static String pad(String text, int columns) {
        int missing = columns - width(text);
        return missing <= 0 ? text : text + " ".repeat(missing);
    }

    /** An age as docker and kubectl print it: 45s, 12m, 3h, 2d; never negative (clocks differ between hosts). */
    static String age(Instant since, Instant now) {
        long seconds = Math.max(0, Duration.between(since, now).getSeconds());
        if (seconds < 120) {
            return seconds + "s";
        }
        if (seconds < 120 * 60) {
            return seconds / 60 + "m";
        }
        if (seconds < 48 * 3600) {
            return seconds / 3600 + "h";
        }
        return seconds / 86400 + "d";
    }

    /** A size in binary units: 512B, 4.0Ki, 16Gi. */
    static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + "B";
        }
        String[] units = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return (value == Math.rint(value) ? String.format(Locale.ROOT, "%.0f", value)
                : String.format(Locale.ROOT, "%.1f", value)) + units[unit];
    }
}
