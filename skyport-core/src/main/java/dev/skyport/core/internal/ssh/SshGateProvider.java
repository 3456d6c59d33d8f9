package dev.skyport.core.internal.ssh;

import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateProvider;

/** Provides {@link SshGate} under the name {@code ssh}. */
public final class SshGateProvider implements GateProvider {
    @Override
    public String name() {
        return SshGate.NAME;
    }

    @Override
    public Gate create(GateConfig config) {
        return new SshGate(config);
    }
}
