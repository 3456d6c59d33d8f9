package dev.skyport.core.internal;

import dev.skyport.api.EndReason;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.RetryPolicy;
import dev.skyport.gate.GateException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.random.RandomGenerator;

import static org.assertj.core.api.Assertions.assertThat;

/** Retry times come from the policy, the gate's word and the injected jitter source, nothing else. */
class RetryDecisionsTest {
    private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

    /** Always draws {@code value} (bounded by what is asked). */
    private static RandomGenerator fixed(long value) {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                return value;
            }

            @Override
            public long nextLong(long bound) {
                return Math.min(value, bound - 1);
            }
        };
    }

    private static Job job(RetryPolicy policy) {
        JobSpec spec = JobSpec.builder().command(List.of("true")).retryPolicy(policy).build();
        return new Job(new JobId(UUID.randomUUID()), "me", "me", spec, JobState.RUNNING, "Running", Optional.empty(),
                NOW, NOW, List.of());
    }

    private static final RetryPolicy POLICY = new RetryPolicy(3, Duration.ofSeconds(10), Duration.ofMinutes(1),
            Duration.ofHours(1), false);

    @Test
    void theJitterComesFromTheInjectedSource() {
        // The back-off before attempt 2 is 10 s, jittered to [5 s, 10 s]: the source decides where.
        assertThat(new RetryDecisions(fixed(0)).retryAt(job(POLICY), EndReason.NODE_LOST, NOW, Optional.empty()))
                .hasValue(NOW.plusSeconds(5));
        assertThat(new RetryDecisions(fixed(Long.MAX_VALUE)).retryAt(job(POLICY), EndReason.NODE_LOST, NOW,
                Optional.empty())).hasValue(NOW.plusSeconds(10));
    }

    @Test
    void aTransientGateRefusalWaitsTheGatesDelayAndAPermanentOneIsNotRetried() {
        RetryDecisions retries = new RetryDecisions(fixed(0));
        GateException throttled = GateException.transientFailure("throttled", null,
                Optional.of(Duration.ofSeconds(42)));
        assertThat(retries.retryAt(job(POLICY), EndReason.SYSTEM_ERROR, NOW, Optional.of(throttled)))
                .hasValue(NOW.plusSeconds(42));
        assertThat(retries.retryAt(job(POLICY), EndReason.SYSTEM_ERROR, NOW,
                Optional.of(GateException.permanent("no such image")))).isEmpty();
    }

    @Test
    void aUserFailureIsNotRetriedUnlessThePolicySaysSo() {
        assertThat(new RetryDecisions(fixed(0)).retryAt(job(POLICY), EndReason.NON_ZERO_EXIT, NOW, Optional.empty()))
                .isEmpty();
    }
}
