package dev.skyport.core.internal.ssh;

import dev.skyport.api.NodeState;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.NodeGateContractTest;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The gate contract, proven for the {@code ssh} gate with {@code job-isolation: sandbox} over a MINA SSH server on
 * loopback, whose commands run on this machine: each run in a bubblewrap sandbox on the "node", in its own PID
 * namespace, which also ends the processes that left the run's group (the node offers no cgroup to the login).
 */
class SshGateContractTest extends NodeGateContractTest {
    @TempDir
    static Path hostsDir;
    private static SshNodes hosts;

    @BeforeAll
    static void startHost() throws IOException {
        hosts = new SshNodes(hostsDir).node("n1");
    }

    @AfterAll
    static void stopHost() throws IOException {
        hosts.close();
    }

    @Override
    protected Gate createGate(Path workDir) {
        Map<String, String> options = new HashMap<>(hosts.options());
        options.put("job-isolation", "sandbox");
        SshGate g = new SshGate(new GateConfig(workDir, options, Clock.systemUTC()));
        try {
            // Creation does not wait for the first health probe; the contract's cases want a node to run on.
            SshNodes.await(() -> g.nodes().get(0).state() == NodeState.UP, "the ssh node is UP");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return g;
    }

    @Override
    protected String jobRoot() {
        return hosts.remoteRoot.toString();
    }

    @Override
    protected String readOnNode(String path) throws Exception {
        return Files.readString(Path.of(path));
    }

    /** Runs have their own PID namespace: look from outside, on this machine, which is MINA's "node". */
    @Override
    protected boolean runsOnNode(String commandLine) {
        return ProcessHandle.allProcesses().anyMatch(p -> p.isAlive() && p.info().commandLine()
                .map(c -> c.contains(commandLine)).orElse(false));
    }

    /** A node without bubblewrap fails a sandboxed run with the reason, and never runs it unsandboxed. */
    @Test
    void aNodeWithoutBubblewrapFailsTheRunNamingTheNode() throws Exception {
        Map<String, String> options = new HashMap<>(hosts.options());
        options.put("job-isolation", "sandbox");
        options.put("bwrap", "/nonexistent/bwrap");
        try (SshGate g = new SshGate(new GateConfig(hostsDir.resolve("no-bwrap"), options, Clock.systemUTC()))) {
            SshNodes.await(() -> g.nodes().get(0).state() == NodeState.UP, "the ssh node is UP");
            NodeAccess node = g.access(g.nodes().get(0).name());
            RunRequest req = script("#!/bin/sh\necho ran > ran.txt\n");
            assertThatThrownBy(() -> node.launch(req)).isInstanceOfSatisfying(GateException.class, e -> {
                assertThat(e.isTransient()).isFalse();
                assertThat(e).hasMessageContaining("node n1").hasMessageContaining("/nonexistent/bwrap");
            });
            assertThat(Path.of(req.directory())).as("nothing ran unsandboxed").doesNotExist();
        }
    }
}
