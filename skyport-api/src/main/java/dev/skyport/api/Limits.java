package dev.skyport.api;

import java.time.Duration;

/**
 * Engine limits. Defaults: scripts up to 1 MiB, 1,000,000 jobs not yet ended, 10 s between SIGTERM and SIGKILL on
 * cancel or time limit.
 */
public record Limits(int maxScriptBytes, int maxActiveJobs, Duration killGracePeriod) {
    public Limits {
        if (maxScriptBytes < 1) {
            throw new IllegalArgumentException("maxScriptBytes must be positive");
        }
        if (maxActiveJobs < 1) {
            throw new IllegalArgumentException("maxActiveJobs must be positive");
        }
        if (killGracePeriod.isNegative()) {
            throw new IllegalArgumentException("killGracePeriod must not be negative");
        }
    }

    public static Limits defaults() {
        return new Limits(1 << 20, 1_000_000, Duration.ofSeconds(10));
    }

    public Limits withMaxScriptBytes(int n) {
        return new Limits(n, maxActiveJobs, killGracePeriod);
    }

    public Limits withMaxActiveJobs(int n) {
        return new Limits(maxScriptBytes, n, killGracePeriod);
    }

    public Limits withKillGracePeriod(Duration d) {
        return new Limits(maxScriptBytes, maxActiveJobs, d);
    }
}
