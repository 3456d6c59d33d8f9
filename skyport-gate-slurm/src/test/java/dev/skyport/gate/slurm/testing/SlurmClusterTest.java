package dev.skyport.gate.slurm.testing;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The fixture itself: a real cluster starts, runs a job from sbatch, and refuses accounts it does not know. */
class SlurmClusterTest {
    private static SlurmCluster cluster;

    @BeforeAll
    static void start() {
        cluster = SlurmCluster.start();
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aJobSubmittedWithSbatchCompletes() throws Exception {
        Path out = cluster.workRoot().resolve("smoke.out");
        String id = cluster.run("sbatch", "--parsable", "-o", out.toString(), "-p", "debug", "--wrap",
                "echo hello from $SLURMD_NODENAME").trim();

        String state = awaitEnded(id);

        assertThat(state).isEqualTo("COMPLETED");
        assertThat(Files.readString(out)).startsWith("hello from n");
    }

    @Test
    void anAccountTheSiteDoesNotKnowIsRefusedAndNothingIsQueued() {
        int before = cluster.jobIds().size();

        assertThatThrownBy(() -> cluster.run("sbatch", "-A", "astro", "--wrap", "true"))
                .hasMessageContaining("Invalid account");
        assertThat(cluster.jobIds()).hasSize(before);
    }

    @Test
    void bothNodesAreListedWithTheirSizes() {
        String nodes = cluster.run("sinfo", "-h", "-N", "-p", "debug", "-o", "%N %c %m");

        assertThat(nodes.lines().map(String::trim)).containsExactlyInAnyOrder("n1 2 2000", "n2 2 2000");
    }

    private static String awaitEnded(String id) {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (Instant.now().isBefore(deadline)) {
            String line = cluster.scontrol("show", "job", id);
            String state = line.replaceAll("(?s).*JobState=(\\S+).*", "$1");
            if (!state.equals("PENDING") && !state.equals("RUNNING") && !state.equals("COMPLETING")
                    && !state.equals("CONFIGURING")) {
                return state;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError("job " + id + " did not end within 60 s:\n" + cluster.logs());
    }
}
