package dev.skyport.gate.slurm;

import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.core.internal.ssh.SshTarget;
import dev.skyport.gate.GateException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The SSH backend: Slurm's commands on a login node (MINA SSHD on loopback, host key pinned) against a real Slurm. */
class SshBackendContractTest extends SlurmBackendContractTest {
    private static SlurmLoginNode login;
    private SshConnections connections;

    @BeforeAll
    static void startLoginNode() throws Exception {
        login = SlurmLoginNode.start(cluster, tmp);
    }

    @AfterAll
    static void stopLoginNode() throws Exception {
        if (login != null) {
            login.close();
        }
    }

    @Override
    protected SlurmBackend createBackend() {
        connections = new SshConnections(Duration.ofSeconds(10));
        return new SshBackend(login.target(), connections, Duration.ofSeconds(30));
    }

    @AfterEach
    void closeConnections() {
        connections.close();
    }

    @Test
    void jobsPartitionsAndNodesReadTheSameOverSshAsOverRest() throws Exception {
        try (RestBackend rest = new RestBackend(okhttp3.HttpUrl.get(cluster.restUrl()),
                dev.skyport.gate.slurm.testing.SlurmCluster.REST_USER,
                JwtTokens.signed(cluster.jwtKeyFile(), dev.skyport.gate.slurm.testing.SlurmCluster.REST_USER,
                        Duration.ofMinutes(30), java.time.Clock.systemUTC()), Duration.ofSeconds(30))) {
            assertThat(backend.partitions()).containsExactlyInAnyOrderElementsOf(rest.partitions());
            assertThat(backend.nodes()).containsExactlyInAnyOrderElementsOf(rest.nodes());
            Path dir = jobDirectory("same");
            String failed = submit(submission(dir, "#!/bin/sh\nexit 3\n", "same-failed").build());
            String running = submit(submission(dir, "#!/bin/sh\nsleep 300\n", "same-cancelled").build());
            awaitJob(failed, j -> SlurmStates.hasEnded(j.state()), "the failing job's end");
            awaitJob(running, j -> j.state().equals("RUNNING"), "the other job running");
            assertThat(backend.jobs(List.of(running))).isEqualTo(rest.jobs(List.of(running)));
            backend.cancel(running);
            awaitJob(running, j -> SlurmStates.hasEnded(j.state()), "the cancelled job's end");
            for (String id : List.of(failed, running)) {
                assertThat(backend.jobs(List.of(id))).as("job " + id).isEqualTo(rest.jobs(List.of(id)))
                        .hasSize(1);
            }
        }
    }

    @Test
    void theSiteKeepsNoAccountingWhichSacctSaysOnce() {
        SshBackend ssh = (SshBackend) backend;
        assertThat(ssh.accounting()).isFalse();
        assertThat(ssh.accounting()).isFalse();
    }

    @Test
    void controlCharactersInANameOrCommentAndBadVariableNamesAreRefusedBeforeSbatch() throws Exception {
        Path dir = jobDirectory("control");
        List<String> before = cluster.jobIds();
        for (SlurmSubmission s : List.of(
                submission(dir, "#!/bin/sh\ntrue\n", "nl").name("two\nlines").build(),
                submission(dir, "#!/bin/sh\ntrue\n", "sep").comment("skyport:x\u001f:1").build(),
                submission(dir, "#!/bin/sh\ntrue\n", "env").env(Map.of("A;touch x", "1")).build())) {
            assertThatThrownBy(() -> backend.submit(s)).isInstanceOfSatisfying(GateException.class,
                    e -> assertThat(e.isTransient()).isFalse());
        }
        assertThat(cluster.jobIds()).containsExactlyInAnyOrderElementsOf(before);
    }

    @Test
    void theEnvironmentGoesInTheScriptAfterItsDirectives() {
        SlurmSubmission s = new SlurmSubmission("#!/bin/sh\n#SBATCH --mem=1\n\necho $A\n", "n", "c", "/w", "/o", "/e",
                Map.of("A", "it's"), 1, 1, 0, 0, 1, Optional.empty(), Optional.empty());
        assertThat(SshBackend.script(s)).isEqualTo("#!/bin/sh\n#SBATCH --mem=1\n\nA='it'\\''s'; export A\necho $A\n");
    }

    @Test
    void slurmTimeLimitsAreRead() {
        assertThat(SshBackend.duration("01:00:00")).contains(Duration.ofHours(1));
        assertThat(SshBackend.duration("2-03:04:05")).contains(Duration.ofSeconds(2 * 86400 + 3 * 3600 + 4 * 60 + 5));
        assertThat(SshBackend.duration("10:00")).contains(Duration.ofMinutes(10));
        assertThat(SshBackend.duration("UNLIMITED")).isEmpty();
    }

    @Test
    void aLoginNodeThatDoesNotAnswerIsATransientFailure() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        SshTarget t = login.target();
        try (SshConnections c = new SshConnections(Duration.ofSeconds(5))) {
            SshBackend b = new SshBackend(new SshTarget(t.host(), closed, t.user(), t.keyFile(), t.key(),
                    t.knownHosts(), t.pinnedFingerprints()), c, Duration.ofSeconds(10));
            assertThatThrownBy(b::ping).isInstanceOfSatisfying(GateException.class,
                    e -> assertThat(e.isTransient()).isTrue());
        }
    }

    @Test
    void aLoginNodeWithAnotherHostKeyIsRefusedForGood() {
        SshTarget t = login.target();
        String other = SshConnections.fingerprint(SlurmLoginNode.rsa().getPublic());
        try (SshConnections c = new SshConnections(Duration.ofSeconds(5))) {
            SshBackend b = new SshBackend(new SshTarget(t.host(), t.port(), t.user(), t.keyFile(), t.key(),
                    t.knownHosts(), Set.of(other)), c, Duration.ofSeconds(10));
            assertThatThrownBy(b::ping).isInstanceOfSatisfying(GateException.class,
                    e -> assertThat(e.isTransient()).isFalse());
        }
    }
}
