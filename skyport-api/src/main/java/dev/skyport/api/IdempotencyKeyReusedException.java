package dev.skyport.api;

import java.util.Objects;

/**
 * A submission carried an {@linkplain JobSpec#idempotencyKey() idempotency key} that the same owner already used for a
 * job with a different spec. Nothing was stored; {@link #existing()} is the job the key names. A retry of the same
 * submission gets that job back instead of this exception.
 */
public class IdempotencyKeyReusedException extends InvalidJobSpecException {
    /** The job first submitted with the key. */
    private final JobId existing;

    /**
     * A submission whose idempotency key the owner already used for a different spec.
     *
     * @param existing the job first submitted with the key
     */
    public IdempotencyKeyReusedException(JobId existing) {
        this(existing, -1);
    }

    private IdempotencyKeyReusedException(JobId existing, int batchIndex) {
        super("idempotencyKey", "was already used for job " + existing + " with a different spec", 0, batchIndex);
        this.existing = Objects.requireNonNull(existing, "existing");
    }

    @Override
    public IdempotencyKeyReusedException inBatchAt(int index) {
        checkIndex(index);
        IdempotencyKeyReusedException copy = new IdempotencyKeyReusedException(existing, index);
        copy.setStackTrace(getStackTrace());
        return copy;
    }

    /** {@return the job the key was first used for} */
    public JobId existing() {
        return existing;
    }
}
