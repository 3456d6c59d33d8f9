package dev.skyport.gate;

/**
 * An open port forward between the engine's machine and a node: connections to {@link #localPort()} on the engine's
 * loopback reach {@link #remotePort()} on the node's, or the other way round. Closing it stops accepting and ends
 * the connections it carries; closing twice is not an error.
 */
public interface PortForward extends AutoCloseable {
    /** {@return the port on the engine's loopback} */
    int localPort();

    /** {@return the port on the node's loopback} */
    int remotePort();

    @Override
    void close();
}
