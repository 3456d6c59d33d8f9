package dev.skyport.api;

import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The engine cannot schedule ({@link Health.Status#DOWN}), so a job submitted now would wait forever: nothing was
 * stored. Transient: the engine retries what fails with back-off; {@link #health()} says what fails and when it is
 * tried next. The daemon answers it with 503 and {@code Retry-After}.
 */
public class EngineUnavailableException extends SkyPortException {
    private final transient Health health;

    /**
     * A refusal while the engine is {@link Health.Status#DOWN}.
     *
     * @param health the engine's health when it refused
     */
    public EngineUnavailableException(Health health) {
        super(describe(health));
        this.health = health;
    }

    private static String describe(Health health) {
        Objects.requireNonNull(health, "health");
        return "the engine cannot schedule jobs now, so nothing was submitted: " + health.problems().stream()
                .filter(Health.Problem::stops)
                .map(p -> p.component() + " failing since " + p.since() + " (" + p.message() + ")")
                .collect(Collectors.joining("; "));
    }

    /** {@return the engine's health when the submission was refused} */
    public Health health() {
        return health;
    }
}
