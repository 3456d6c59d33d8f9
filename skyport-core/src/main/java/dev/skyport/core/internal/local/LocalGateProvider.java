package dev.skyport.core.internal.local;

import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateProvider;

/** Provides {@link LocalGate} under the name {@code local}. */
public final class LocalGateProvider implements GateProvider {
    @Override
    public String name() {
        return LocalGate.NAME;
    }

    @Override
    public Gate create(GateConfig config) {
        return new LocalGate(config);
    }
}
