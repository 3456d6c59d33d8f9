package dev.skyport.gate.loopback;

import dev.skyport.gate.BatchGateContractTest;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateProvider;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.OptionalLong;
import java.util.ServiceLoader;

/** The loopback batch gate, found as the engine finds it (ServiceLoader, by name), passes the batch gate contract. */
class LoopbackBatchGateContractTest extends BatchGateContractTest {
    @Override
    protected Gate createGate(Path workDir) {
        GateProvider provider = ServiceLoader.load(GateProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals(LoopbackBatchGate.NAME)).findFirst().orElseThrow();
        return provider.create(new GateConfig(workDir, Map.of(), Clock.systemUTC()));
    }

    @Override
    protected OptionalLong statusRequests() {
        return OptionalLong.of(LoopbackBatchGate.calls(((LoopbackBatchGate) gate).queueDirectory()).stream()
                .filter(c -> c.startsWith("status ")).count());
    }
}
