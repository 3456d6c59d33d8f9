package dev.skyport.core.internal.ssh;

import dev.skyport.api.NodeState;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateContractTest;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The gate contract, proven for the {@code ssh} gate over a MINA SSH server on loopback. Three cases of the contract
 * need containment the ssh gate does not give (no sandbox, no cgroup on its nodes: a job runs as the node's login
 * user, and a stop reaches the run's process group): they are replaced by tests that state that gap, so that closing
 * it shows up here as a failure to be turned back into the contract's case.
 */
class SshGateContractTest extends GateContractTest {
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
        SshGate g = new SshGate(new GateConfig(workDir, hosts.options(), Clock.systemUTC()));
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

    private static String uniqueSleep() {
        return "sleep " + (300_000 + ThreadLocalRandom.current().nextInt(600_000));
    }

    /** Gap: a process that left the run's group with setsid outlives a stop. */
    @Override
    @Test
    protected void aStopReachesProcessesThatLeftTheGroup() throws Exception {
        String sleep = uniqueSleep();
        RunRequest req = script("#!/bin/sh\nsetsid " + sleep + " &\necho up > started\nwait\n");
        NodeAccess node = firstNode();
        RunHandle handle = node.launch(req);
        SshNodes.await(() -> Files.exists(Path.of(req.directory(), "started")), "the run started");
        SshNodes.await(() -> !LeftOver.pids(sleep).isEmpty(), "the detached sleep started");
        node.signal(handle, RunSignal.KILL);
        node.watch(handle).get(30, TimeUnit.SECONDS);
        assertThat(LeftOver.pids(sleep)).as("the ssh gate has no cgroup to reach it").isNotEmpty();
        LeftOver.kill(sleep);
    }

    /** Gap: leftovers in their own session outlive a normal end too. */
    @Override
    @Test
    protected void leftoversEndWithTheRun() throws Exception {
        String sleep = uniqueSleep();
        RunRequest req = script("#!/bin/sh\nsetsid " + sleep + " &\nexit 0\n");
        NodeAccess node = firstNode();
        assertThat(node.watch(node.launch(req)).get(30, TimeUnit.SECONDS).exitCode()).hasValue(0);
        SshNodes.await(() -> !LeftOver.pids(sleep).isEmpty(), "the detached sleep runs");
        LeftOver.kill(sleep);
    }

    /** Gap: runs of one node share its login user, so a run can read a sibling's directory. */
    @Override
    @Test
    protected void aRunCannotReachASiblingRunsDirectoryOrProcesses() throws Exception {
        NodeAccess node = firstNode();
        RunRequest sibling = script("#!/bin/sh\necho sibling-secret > secret.txt\n");
        node.watch(node.launch(sibling)).get(30, TimeUnit.SECONDS);
        RunRequest prying = script("#!/bin/sh\ncat " + sibling.directory() + "/secret.txt\n");
        assertThat(node.watch(node.launch(prying)).get(30, TimeUnit.SECONDS).exitCode()).hasValue(0);
        assertThat(readOnNode(prying.directory() + "/stdout.log")).isEqualTo("sibling-secret\n");
    }

    /** This machine's processes, since MINA's "node" is this machine. */
    private static final class LeftOver {
        static java.util.List<ProcessHandle> pids(String commandLine) {
            return ProcessHandle.allProcesses().filter(p -> p.info().commandLine()
                    .map(c -> c.endsWith(commandLine)).orElse(false)).toList();
        }

        static void kill(String commandLine) {
            pids(commandLine).forEach(ProcessHandle::destroyForcibly);
        }
    }
}
