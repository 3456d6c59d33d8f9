package dev.skyport.gate.azure;

import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

class AzureFlavorsTest {
    @Test
    void theUpstreamTestVectorHolds() {
        assertThat(AzureFlavors.upstreamId("flavor1")).isEqualTo("9348abe1-2a12-4ba7-9942-920a58fa887f");
    }

    @Test
    void idsAreVersion4WithTheRfc4122VariantAndDifferPerName() {
        UUID a = UUID.fromString(AzureFlavors.upstreamId("Standard_D2s_v5"));
        UUID b = UUID.fromString(AzureFlavors.upstreamId("Standard_D4s_v5"));
        assertThat(a.version()).isEqualTo(4);
        assertThat(a.variant()).isEqualTo(2);
        assertThat(a).isNotEqualTo(b);
        assertThat(AzureFlavors.upstreamId("Standard_D2s_v5")).isEqualTo(a.toString());
    }
}
