package dev.skyport.core.internal.local;

import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.NodeGateContractTest;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunRequest;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The gate contract, proven for the local gate. */
class LocalGateContractTest extends NodeGateContractTest {
    @Override
    protected Gate createGate(Path workDir) {
        return new LocalGate(new GateConfig(workDir, Map.of("cpus", "2"), Clock.systemUTC()));
    }

    @Override
    protected String jobRoot() {
        return workDir.resolve("jobs").toString();
    }

    @Override
    protected String readOnNode(String path) throws Exception {
        return Files.readString(Path.of(path));
    }

    /** Runs have their own PID namespace: look at this machine's processes from outside. */
    @Override
    protected boolean runsOnNode(String commandLine) {
        return !LocalProcesses.running(commandLine).isEmpty();
    }

    @Test
    void theJobDirectoryAndScriptAreTheOwnersOnly() throws Exception {
        RunRequest req = script("#!/bin/sh\necho secret-token\n");
        NodeAccess node = firstNode();
        node.watch(node.launch(req)).get(30, TimeUnit.SECONDS);
        assertThat(PosixFilePermissions.toString(
                Files.getPosixFilePermissions(Path.of(req.directory())))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(
                Files.getPosixFilePermissions(Path.of(req.directory(), "script")))).isEqualTo("rw-------");
    }
}
