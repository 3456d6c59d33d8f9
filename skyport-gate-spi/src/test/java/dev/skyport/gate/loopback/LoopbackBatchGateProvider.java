package dev.skyport.gate.loopback;

import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateProvider;

/** The {@code loopback-batch} test gate, found through {@link java.util.ServiceLoader} from the gate SPI's test-jar. */
public final class LoopbackBatchGateProvider implements GateProvider {
    @Override
    public String name() {
        return LoopbackBatchGate.NAME;
    }

    @Override
    public Gate create(GateConfig config) {
        return new LoopbackBatchGate(config);
    }
}
