package dev.skyport.gate.slurm;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HostlistTest {
    @Test
    void expandsRangesListsAndPadding() {
        assertThat(Hostlist.expand("n[1-2]")).containsExactly("n1", "n2");
        assertThat(Hostlist.expand("n1,n2")).containsExactly("n1", "n2");
        assertThat(Hostlist.expand("gpu[01-03,10],login")).containsExactly("gpu01", "gpu02", "gpu03", "gpu10",
                "login");
        assertThat(Hostlist.expand("rack[1-2]-n[1-2]")).containsExactly("rack1-n1", "rack1-n2", "rack2-n1",
                "rack2-n2");
        assertThat(Hostlist.expand("")).isEmpty();
        assertThat(Hostlist.expand("(null)")).isEmpty();
    }
}
