package dev.skyport.gate;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a gate is created with: a directory of its own for state and caches, its options (from the engine builder or
 * {@code skyport.yaml}) and the engine's clock.
 *
 * @param workDir a directory of the gate's own for state and caches
 * @param options its settings
 * @param clock the engine's clock
 */
public record GateConfig(Path workDir, Map<String, String> options, Clock clock) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param workDir a directory of the gate's own for state and caches
     * @param options its settings
     * @param clock the engine's clock
     */
    public GateConfig {
        Objects.requireNonNull(workDir, "workDir");
        options = Map.copyOf(options);
        Objects.requireNonNull(clock, "clock");
    }

    /** As a record's, with the values of secret options redacted ({@link dev.skyport.api.Secrets}). */
    @Override
    public String toString() {
        return "GateConfig[workDir=" + workDir + ", options=" + dev.skyport.api.Secrets.redacted(options) + ", clock="
                + clock + "]";
    }

    /**
     * {@return the option {@code key}, read under its normal spelling; empty when it is not set}
     *
     * @param key the option's name
     */
    public Optional<String> option(String key) {
        return Optional.ofNullable(options.get(key));
    }

    /**
     * {@return a positive integer option}
     *
     * @param key the option's name
     * @throws GateException (permanent) naming the option when it is not a positive integer
     */
    public Optional<Long> positiveLong(String key) {
        Optional<String> raw = option(key);
        if (raw.isEmpty()) {
            return Optional.empty();
        }
        try {
            long v = Long.parseLong(raw.get().trim());
            if (v > 0) {
                return Optional.of(v);
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw GateException.permanent("gate option " + key + " must be a positive integer, got '" + raw.get() + "'");
    }
}
