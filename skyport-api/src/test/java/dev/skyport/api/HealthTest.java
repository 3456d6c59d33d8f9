package dev.skyport.api;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class HealthTest {
    private static Health.Problem problem(String component, boolean stops) {
        return new Health.Problem(component, "boom", Instant.EPOCH, 1, stops, Optional.empty());
    }

    @Test
    void theStatusIsTheWorstProblem() {
        assertThat(Health.of(List.of())).isEqualTo(Health.up());
        assertThat(Health.of(List.of(problem("gate-nodes", false))).status()).isEqualTo(Health.Status.DEGRADED);
        assertThat(Health.of(List.of(problem("gate-nodes", false), problem("scheduler", true))).status())
                .isEqualTo(Health.Status.DOWN);
        assertThat(Health.up().isAvailable()).isTrue();
        assertThat(Health.of(List.of(problem("usage-replay", false))).isAvailable()).isTrue();
        assertThat(Health.of(List.of(problem("scheduler", true))).isAvailable()).isFalse();
    }

    @Test
    void upMeansNoProblemsAndAProblemHasFailed() {
        assertThatIllegalArgumentException().isThrownBy(() -> new Health(Health.Status.UP,
                List.of(problem("scheduler", false))));
        assertThatIllegalArgumentException().isThrownBy(() -> new Health(Health.Status.DOWN, List.of()));
        assertThatIllegalArgumentException().isThrownBy(() -> new Health.Problem("x", "m", Instant.EPOCH, 0, false,
                Optional.empty()));
    }

    @Test
    void theUnavailableExceptionNamesWhatStopsScheduling() {
        EngineUnavailableException e = new EngineUnavailableException(Health.of(List.of(problem("gate-nodes", false),
                problem("scheduler", true))));
        assertThat(e).isInstanceOf(SkyPortException.class).hasMessageContaining("scheduler")
                .hasMessageNotContaining("gate-nodes");
        assertThat(e.health().status()).isEqualTo(Health.Status.DOWN);
    }
}
