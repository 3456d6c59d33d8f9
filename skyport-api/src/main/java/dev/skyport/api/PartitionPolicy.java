package dev.skyport.api;

import java.time.Duration;
import java.util.Objects;

/**
 * How the engine runs the partitions it creates for jobs through a cloud gate. Defaults: creation may take 20 minutes
 * and the nodes then 10 minutes to answer over SSH; a transient failure (throttling, a 5xx, a timeout, no capacity) is
 * retried up to 5 times within 30 minutes, with jittered back-off or the gate's {@code Retry-After}; the reconciler
 * looks at the gate's partitions at start and every 5 minutes, and deletes one that belongs to no live job once it is
 * 15 minutes old (the grace lets a creation that is still being recorded finish); a partition is deleted as soon as its
 * job ended ({@code idleTimeout} zero) or, with an idle timeout, kept that long for a next job of the same owner,
 * flavor, image and size; at most 256 partitions are being created or deleted at once.
 *
 * @param createTimeout     how long one creation may take before it is abandoned (and what it made deleted)
 * @param readyTimeout      how long the nodes of a created partition may take to answer over SSH
 * @param createAttempts    creations tried per job placement on transient failures
 * @param retryBudget       the time within which those attempts are made
 * @param reconcileInterval how often the reconciler lists the gate's partitions
 * @param orphanGrace       how old a partition of no live job must be before the reconciler deletes it
 * @param idleTimeout       how long a partition whose job ended waits for another job before it is deleted
 * @param maxInFlight       partitions created or deleted at the same time
 */
public record PartitionPolicy(Duration createTimeout, Duration readyTimeout, int createAttempts, Duration retryBudget,
                              Duration reconcileInterval, Duration orphanGrace, Duration idleTimeout,
                              int maxInFlight) {
    /**
     * Rejects null components.
     *
     * @param createTimeout how long one creation may take before it is abandoned (and what it made deleted)
     * @param readyTimeout how long the nodes of a created partition may take to answer over SSH
     * @param createAttempts creations tried per job placement on transient failures
     * @param retryBudget the time within which those attempts are made
     * @param reconcileInterval how often the reconciler lists the gate's partitions
     * @param orphanGrace how old a partition of no live job must be before the reconciler deletes it
     * @param idleTimeout how long a partition whose job ended waits for another job before it is deleted
     * @param maxInFlight partitions created or deleted at the same time
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public PartitionPolicy {
        positive("createTimeout", createTimeout);
        positive("readyTimeout", readyTimeout);
        if (createAttempts < 1) {
            throw new IllegalArgumentException("createAttempts must be positive");
        }
        positive("retryBudget", retryBudget);
        positive("reconcileInterval", reconcileInterval);
        positive("orphanGrace", orphanGrace);
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        if (idleTimeout.isNegative()) {
            throw new IllegalArgumentException("idleTimeout must not be negative");
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be positive");
        }
    }

    /** {@return the defaults listed in the type's comment} */
    public static PartitionPolicy defaults() {
        return new PartitionPolicy(Duration.ofMinutes(20), Duration.ofMinutes(10), 5, Duration.ofMinutes(30),
                Duration.ofMinutes(5), Duration.ofMinutes(15), Duration.ZERO, 256);
    }

    /**
     * {@return this policy with another bound on one creation}
     *
     * @param d positive
     */
    public PartitionPolicy withCreateTimeout(Duration d) {
        return new PartitionPolicy(d, readyTimeout, createAttempts, retryBudget, reconcileInterval, orphanGrace,
                idleTimeout, maxInFlight);
    }

    /**
     * {@return this policy with another bound on the wait for the nodes' SSH}
     *
     * @param d positive
     */
    public PartitionPolicy withReadyTimeout(Duration d) {
        return new PartitionPolicy(createTimeout, d, createAttempts, retryBudget, reconcileInterval, orphanGrace,
                idleTimeout, maxInFlight);
    }

    /**
     * {@return this policy with another number of creations per placement}
     *
     * @param n at least 1
     */
    public PartitionPolicy withCreateAttempts(int n) {
        return new PartitionPolicy(createTimeout, readyTimeout, n, retryBudget, reconcileInterval, orphanGrace,
                idleTimeout, maxInFlight);
    }

    /**
     * {@return this policy with another time within which creations are retried}
     *
     * @param d positive
     */
    public PartitionPolicy withRetryBudget(Duration d) {
        return new PartitionPolicy(createTimeout, readyTimeout, createAttempts, d, reconcileInterval, orphanGrace,
                idleTimeout, maxInFlight);
    }

    /**
     * {@return this policy with another interval between reconciliations}
     *
     * @param d positive
     */
    public PartitionPolicy withReconcileInterval(Duration d) {
        return new PartitionPolicy(createTimeout, readyTimeout, createAttempts, retryBudget, d, orphanGrace,
                idleTimeout, maxInFlight);
    }

    /**
     * {@return this policy with another age before an orphan partition is deleted}
     *
     * @param d not negative
     */
    public PartitionPolicy withOrphanGrace(Duration d) {
        return new PartitionPolicy(createTimeout, readyTimeout, createAttempts, retryBudget, reconcileInterval, d,
                idleTimeout, maxInFlight);
    }

    /**
     * {@return this policy with another wait for a new job before an idle partition is deleted}
     *
     * @param d not negative
     */
    public PartitionPolicy withIdleTimeout(Duration d) {
        return new PartitionPolicy(createTimeout, readyTimeout, createAttempts, retryBudget, reconcileInterval,
                orphanGrace, d, maxInFlight);
    }

    /**
     * {@return this policy with another bound on partitions created or deleted at once}
     *
     * @param n at least 1
     */
    public PartitionPolicy withMaxInFlight(int n) {
        return new PartitionPolicy(createTimeout, readyTimeout, createAttempts, retryBudget, reconcileInterval,
                orphanGrace, idleTimeout, n);
    }

    private static void positive(String field, Duration d) {
        Objects.requireNonNull(d, field);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(field + " must be positive");
        }
    }
}
