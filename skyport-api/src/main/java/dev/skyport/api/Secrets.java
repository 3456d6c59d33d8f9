package dev.skyport.api;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Which gate options hold secrets, so that a configuration printed (a {@code toString()}, a log line) shows their keys
 * but never their values. The rule: an option is secret when its key contains one of {@link #SECRET_WORDS} (case
 * insensitive; {@code client-secret}, {@code client-certificate-password}, {@code api-token}, {@code private-key},
 * {@code credential}), or when its value holds a PEM private key, whatever its key. Options naming files (a key file,
 * a certificate file) are shown: a path is no secret.
 */
public final class Secrets {
    /** What a secret's value is printed as. */
    public static final String REDACTED = "<redacted>";
    /** Words that make an option's key name a secret. */
    public static final Set<String> SECRET_WORDS = Set.of("secret", "password", "passphrase", "passwd", "token",
            "private", "credential");

    private Secrets() {
    }

    /**
     * {@return whether option {@code key} with {@code value} is a secret by the rule above}
     *
     * @param key an option's or variable's name
     * @param value its value
     */
    public static boolean isSecret(String key, String value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        String k = key.toLowerCase(Locale.ROOT);
        for (String word : SECRET_WORDS) {
            if (k.contains(word)) {
                return true;
            }
        }
        return value.contains("PRIVATE KEY");
    }

    /**
     * {@return {@code options} in their order, each secret's value replaced by {@link #REDACTED}}
     *
     * @param options names and values
     */
    public static Map<String, String> redacted(Map<String, String> options) {
        Map<String, String> out = new LinkedHashMap<>();
        options.forEach((k, v) -> out.put(k, isSecret(k, v) ? REDACTED : v));
        return out;
    }
}
