package dev.skyport.gate.slurm;

/** Slurm's generic resources as it writes them for a node ({@code gpu:a100:4(S:0-1),gpu:2,mps:100}). */
final class Gres {
    private Gres() {
    }

    /** The node's gpus: the sum of the counts of its {@code gpu} entries (typed or not). */
    static int gpus(String gres) {
        int total = 0;
        int depth = 0;
        StringBuilder entry = new StringBuilder();
        for (char c : (gres + ",").toCharArray()) {
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
            } else if (c == ',' && depth == 0) {
                total += count(entry.toString().strip());
                entry.setLength(0);
            } else if (depth == 0) {
                entry.append(c);
            }
        }
        return total;
    }

    private static int count(String entry) {
        String[] parts = entry.split(":");
        if (parts.length < 2 || !parts[0].equals("gpu")) {
            return 0;
        }
        String last = parts[parts.length - 1];
        try {
            return Integer.parseInt(last);
        } catch (NumberFormatException e) {
            // "gpu:a100" without a count is one of that type.
            return 1;
        }
    }
}
