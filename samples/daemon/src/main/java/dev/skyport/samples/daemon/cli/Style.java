package dev.skyport.samples.daemon.cli;

import dev.skyport.api.JobState;

/** Colours for a terminal, or none. The text is the same either way; only escape codes are added. */
enum Style {
    PLAIN, ANSI;

    private static final String RESET = "\033[0m";

    String state(JobState state, String text) {
        return switch (state) {
            case SUCCEEDED -> paint("32", text);
            case FAILED -> paint("31", text);
            case CANCELED, CANCELING -> paint("35", text);
            case QUEUED -> paint("33", text);
            default -> paint("36", text);
        };
    }

    String bold(String text) {
        return paint("1", text);
    }

    private String paint(String code, String text) {
        return this == ANSI && !text.isEmpty() ? "\033[" + code + "m" + text + RESET : text;
    }
}
