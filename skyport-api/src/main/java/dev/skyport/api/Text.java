package dev.skyport.api;

/** Small text helpers for error messages: user input is quoted, shortened and stripped of control characters. */
final class Text {
    private static final int MAX = 60;

    private Text() {
    }

    static String abbreviate(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), MAX + 3));
        for (int i = 0; i < s.length() && b.length() < MAX; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) ? '?' : c);
        }
        if (s.length() > MAX) {
            b.append("...");
        }
        return b.toString();
    }
}
