package dev.skyport.core.internal.local;

import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * The gate contract for the local gate in the unprivileged {@code sandbox} mode (bubblewrap with a user namespace),
 * which also works as root, so CI proves both modes.
 */
class LocalGateSandboxContractTest extends LocalGateContractTest {
    @Override
    protected Gate createGate(Path workDir) {
        return new LocalGate(new GateConfig(workDir, Map.of("cpus", "2", "job-isolation", "sandbox"),
                Clock.systemUTC()));
    }

    @Override
    protected boolean jobsRunAsAccounts() {
        return false;
    }
}
