package dev.skyport.gate;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class GateOptionsTest {

    @Test
    void readsPositiveDurationsWithOrWithoutUnit() {
        assertThat(GateOptions.positiveDuration("30")).contains(Duration.ofSeconds(30));
        assertThat(GateOptions.positiveDuration(" 30s ")).contains(Duration.ofSeconds(30));
        assertThat(GateOptions.positiveDuration("500ms")).contains(Duration.ofMillis(500));
        assertThat(GateOptions.positiveDuration("5 m")).contains(Duration.ofMinutes(5));
        assertThat(GateOptions.positiveDuration("1h")).contains(Duration.ofHours(1));
    }

    @Test
    void refusesZeroNegativeAndUnknownUnits() {
        assertThat(GateOptions.positiveDuration("0")).isEqualTo(Optional.empty());
        assertThat(GateOptions.positiveDuration("-1")).isEmpty();
        assertThat(GateOptions.positiveDuration("2d")).isEmpty();
        assertThat(GateOptions.positiveDuration("1234567890")).isEmpty();
        assertThat(GateOptions.positiveDuration("")).isEmpty();
    }

    @Test
    void normalisesKeysAndMeasuresEditDistance() {
        assertThat(GateOptions.normalKey("Rest_URL")).isEqualTo("rest-url");
        assertThat(GateOptions.normalKey("rest.url")).isEqualTo("rest-url");
        assertThat(GateOptions.editDistance("rest-url", "rest-url")).isZero();
        assertThat(GateOptions.editDistance("rest-url", "rest-ur")).isEqualTo(1);
        assertThat(GateOptions.editDistance("kitten", "sitting")).isEqualTo(3);
        assertThat(GateOptions.editDistance("", "abc")).isEqualTo(3);
    }
}
