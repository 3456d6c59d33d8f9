package dev.skyport.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobIdTest {
    @Test
    void orderIsTheOrderOfTheTexts() {
        Random random = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            // Extreme bits included: the sign bit is where a signed comparison would go wrong.
            UUID a = new UUID(random.nextLong(), random.nextLong());
            UUID b = i % 2 == 0 ? new UUID(a.getMostSignificantBits(), random.nextLong()) : new UUID(random.nextLong(),
                    random.nextLong());
            int byText = Integer.signum(a.toString().compareTo(b.toString()));
            assertThat(Integer.signum(new JobId(a).compareTo(new JobId(b)))).as("%s vs %s", a, b).isEqualTo(byText);
        }
    }

    @Test
    void parsesTheTextItPrints() {
        JobId id = new JobId(UUID.randomUUID());
        assertThat(JobId.parse(id.toString())).isEqualTo(id);
        assertThat(id.toString()).hasSize(36);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "0f9c2a8e-5b1d-4c47-9a57-3d2b1e6f7a1", "0f9c2a8e-5b1d-4c47-9a57-3d2b1e6f7a10x",
            "zf9c2a8e-5b1d-4c47-9a57-3d2b1e6f7a10", "0f9c2a8e+5b1d-4c47-9a57-3d2b1e6f7a10"})
    void refusesWhatIsNoUuid(String text) {
        assertThatThrownBy(() -> JobId.parse(text)).isInstanceOfSatisfying(InvalidJobSpecException.class,
                e -> assertThat(e.field()).isEqualTo("id"));
    }
}
