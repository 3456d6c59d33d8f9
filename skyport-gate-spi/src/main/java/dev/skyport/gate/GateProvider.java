package dev.skyport.gate;

/**
 * Found with {@link java.util.ServiceLoader}: one provider per kind of gate ({@code local}, {@code ssh},
 * {@code azure}). The engine creates the gate whose {@link #name()} it is configured with.
 */
public interface GateProvider {
    /** {@return the name a gate setting chooses this provider by, e.g. {@code local}} */
    String name();

    /**
     * Creates a gate.
     *
     * @param config the gate's directory, options and clock
     * @return the gate
     * @throws GateException when the options are wrong (permanent) or the backend cannot be reached (transient)
     */
    Gate create(GateConfig config);
}
