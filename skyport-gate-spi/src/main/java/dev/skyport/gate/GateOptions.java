package dev.skyport.gate;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parsing helpers that gates share for their string options, so that every gate reads a duration and suggests a
 * misspelt key the same way; each gate still words its own refusal.
 */
public final class GateOptions {

    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})\\s*(ms|s|m|h)?");

    private GateOptions() {
    }

    /**
     * {@return a positive duration: whole seconds, or a number with {@code ms}, {@code s}, {@code m} or {@code h};
     * empty when the text is not one (the caller names the option in its refusal)}
     *
     * @param raw the option's text
     */
    public static Optional<Duration> positiveDuration(String raw) {
        Matcher m = DURATION.matcher(raw.strip());
        if (!m.matches()) {
            return Optional.empty();
        }
        long n = Long.parseLong(m.group(1));
        if (n <= 0) {
            return Optional.empty();
        }
        String unit = m.group(2) == null ? "s" : m.group(2);
        return Optional.of(switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofSeconds(n);
        });
    }

    /**
     * {@return a key as users misspell it in other syntaxes ({@code Rest_URL}, {@code rest.url}) in the gates' own
     * form}
     *
     * @param key an option's name as written
     */
    public static String normalKey(String key) {
        return key.toLowerCase(java.util.Locale.ROOT).replace('_', '-').replace('.', '-');
    }

    /**
     * {@return the Levenshtein distance between two keys, for "did you mean" hints}
     *
     * @param a one text
     * @param b the other
     */
    public static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
