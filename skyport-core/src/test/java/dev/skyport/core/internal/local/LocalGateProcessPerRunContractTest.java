package dev.skyport.core.internal.local;

import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * The gate contract for the local gate without its launcher ({@code launcher: none}): every run a process of the
 * engine's JVM, the path taken where there is no bash or a request the launcher cannot carry.
 */
class LocalGateProcessPerRunContractTest extends LocalGateContractTest {
    @Override
    protected Gate createGate(Path workDir) {
        return new LocalGate(new GateConfig(workDir, Map.of("cpus", "2", "launcher", "none"), Clock.systemUTC()));
    }
}
