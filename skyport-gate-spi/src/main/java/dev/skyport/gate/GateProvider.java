package dev.skyport.gate;

/**
 * Found with {@link java.util.ServiceLoader}: one provider per kind of gate ({@code local}, {@code ssh},
 * {@code azure}). The engine creates the gate whose {@link #name()} it is configured with.
 */
public interface GateProvider {
    String name();

    /**
     * Creates a gate.
     *
     * @throws GateException when the options are wrong (permanent) or the backend cannot be reached (transient)
     */
    Gate create(GateConfig config);
}
