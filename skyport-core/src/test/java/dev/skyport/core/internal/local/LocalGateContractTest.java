package dev.skyport.core.internal.local;

import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateContractTest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/** The gate contract, proven for the local gate. */
class LocalGateContractTest extends GateContractTest {
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
}
