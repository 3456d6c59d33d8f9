package dev.skyport.gate.slurm;

import java.util.ArrayList;
import java.util.List;

/**
 * Slurm's hostlist expressions ({@code n[1-3,7],gpu01}) expanded to node names, as both backends receive them.
 */
final class Hostlist {
    private Hostlist() {
    }

    /** The node names of {@code expression}; empty for an empty expression or Slurm's {@code (null)}. */
    static List<String> expand(String expression) {
        List<String> names = new ArrayList<>();
        if (expression == null || expression.isBlank() || expression.equals("(null)")) {
            return names;
        }
        for (String part : splitTopLevel(expression.trim())) {
            int open = part.indexOf('[');
            if (open < 0) {
                names.add(part);
                continue;
            }
            int close = part.indexOf(']', open);
            if (close < 0) {
                throw new IllegalArgumentException("unbalanced '[' in hostlist '" + expression + "'");
            }
            String prefix = part.substring(0, open);
            String suffix = part.substring(close + 1);
            for (String range : part.substring(open + 1, close).split(",")) {
                int dash = range.indexOf('-');
                if (dash < 0) {
                    names.addAll(expand(prefix + range + suffix));
                    continue;
                }
                String from = range.substring(0, dash);
                String to = range.substring(dash + 1);
                long lo = Long.parseLong(from);
                long hi = Long.parseLong(to);
                // Slurm keeps the zero padding of the range's first number: gpu[01-10] is gpu01..gpu10.
                int width = from.length();
                for (long i = lo; i <= hi; i++) {
                    names.addAll(expand(prefix + String.format("%0" + width + "d", i) + suffix));
                }
            }
        }
        return names;
    }

    private static List<String> splitTopLevel(String expression) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < expression.length(); i++) {
            char c = expression.charAt(i);
            if (c == '[') {
                depth++;
            } else if (c == ']') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(expression.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(expression.substring(start));
        parts.removeIf(String::isBlank);
        return parts;
    }
}
