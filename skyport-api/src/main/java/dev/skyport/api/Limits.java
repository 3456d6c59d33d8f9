package dev.skyport.api;

import java.time.Duration;
import java.util.Objects;

/**
 * Engine limits. Defaults: scripts up to 1 MiB; 1,000,000 jobs not yet ended in all; per user 10,000 jobs not yet
 * ended and 1 GiB of stored job specs; 10 s between SIGTERM and SIGKILL on cancel or time limit; ended jobs (their
 * store rows, events and job directories with the logs) are purged 36 hours after they ended, as JobRunr deletes
 * succeeded jobs (Slurm forgets ended jobs after {@code MinJobAge}, 300 s, and keeps them only in its accounting).
 *
 * <p>The per-user limits bound what one user can make the engine hold: a submission over either is refused with
 * {@link QuotaExceededException} and stores nothing. A stored job's size is what its spec holds in the store: the
 * script, the command, the environment and the other text fields.
 *
 * @param maxScriptBytes          the largest script, in UTF-8 bytes
 * @param maxActiveJobs           jobs not yet ended, all users together
 * @param killGracePeriod         between SIGTERM and SIGKILL
 * @param maxActiveJobsPerUser    jobs not yet ended of one user
 * @param maxStoredBytesPerUser   the total size of one user's stored jobs, ended ones included until purged
 * @param jobRetention            how long an ended job is kept before it and its directory are purged
 */
public record Limits(int maxScriptBytes, int maxActiveJobs, Duration killGracePeriod, int maxActiveJobsPerUser,
                     long maxStoredBytesPerUser, Duration jobRetention) {
    /**
     * Rejects null components.
     *
     * @param maxScriptBytes the largest script, in UTF-8 bytes
     * @param maxActiveJobs jobs not yet ended, all users together
     * @param killGracePeriod between SIGTERM and SIGKILL
     * @param maxActiveJobsPerUser jobs not yet ended of one user
     * @param maxStoredBytesPerUser the total size of one user's stored jobs, ended ones included until purged
     * @param jobRetention how long an ended job is kept before it and its directory are purged
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public Limits {
        if (maxScriptBytes < 1) {
            throw new IllegalArgumentException("maxScriptBytes must be positive");
        }
        if (maxActiveJobs < 1) {
            throw new IllegalArgumentException("maxActiveJobs must be positive");
        }
        Objects.requireNonNull(killGracePeriod, "killGracePeriod");
        if (killGracePeriod.isNegative()) {
            throw new IllegalArgumentException("killGracePeriod must not be negative");
        }
        if (maxActiveJobsPerUser < 1) {
            throw new IllegalArgumentException("maxActiveJobsPerUser must be positive");
        }
        if (maxStoredBytesPerUser < 1) {
            throw new IllegalArgumentException("maxStoredBytesPerUser must be positive");
        }
        Objects.requireNonNull(jobRetention, "jobRetention");
        if (jobRetention.isNegative() || jobRetention.isZero()) {
            throw new IllegalArgumentException("jobRetention must be positive");
        }
    }

    /** {@return the defaults listed in the type's comment} */
    public static Limits defaults() {
        return new Limits(1 << 20, 1_000_000, Duration.ofSeconds(10), 10_000, 1L << 30, Duration.ofHours(36));
    }

    /**
     * {@return these limits with another largest script}
     *
     * @param n in UTF-8 bytes, at least 1
     */
    public Limits withMaxScriptBytes(int n) {
        return new Limits(n, maxActiveJobs, killGracePeriod, maxActiveJobsPerUser, maxStoredBytesPerUser,
                jobRetention);
    }

    /**
     * {@return these limits with another bound on unfinished jobs, all users together}
     *
     * @param n at least 1
     */
    public Limits withMaxActiveJobs(int n) {
        return new Limits(maxScriptBytes, n, killGracePeriod, maxActiveJobsPerUser, maxStoredBytesPerUser,
                jobRetention);
    }

    /**
     * {@return these limits with another wait between SIGTERM and SIGKILL}
     *
     * @param d not negative
     */
    public Limits withKillGracePeriod(Duration d) {
        return new Limits(maxScriptBytes, maxActiveJobs, d, maxActiveJobsPerUser, maxStoredBytesPerUser, jobRetention);
    }

    /**
     * {@return these limits with another bound on one user's unfinished jobs}
     *
     * @param n at least 1
     */
    public Limits withMaxActiveJobsPerUser(int n) {
        return new Limits(maxScriptBytes, maxActiveJobs, killGracePeriod, n, maxStoredBytesPerUser, jobRetention);
    }

    /**
     * {@return these limits with another bound on one user's stored bytes}
     *
     * @param n at least 1
     */
    public Limits withMaxStoredBytesPerUser(long n) {
        return new Limits(maxScriptBytes, maxActiveJobs, killGracePeriod, maxActiveJobsPerUser, n, jobRetention);
    }

    /**
     * {@return these limits with another time ended jobs are kept}
     *
     * @param d positive
     */
    public Limits withJobRetention(Duration d) {
        return new Limits(maxScriptBytes, maxActiveJobs, killGracePeriod, maxActiveJobsPerUser, maxStoredBytesPerUser,
                d);
    }
}
