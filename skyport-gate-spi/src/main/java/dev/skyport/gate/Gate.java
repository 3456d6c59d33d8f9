package dev.skyport.gate;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.Partition;
import dev.skyport.api.RemoteSite;

import java.util.List;

/**
 * A source of nodes: this machine, a list of on-prem hosts, or a cloud that creates partitions on demand. Thread-safe.
 * Every failure is a {@link GateException} that says whether it is transient.
 */
public interface Gate extends AutoCloseable {
    /** The name it was created under, e.g. {@code local}. */
    String name();

    /** The nodes jobs can run on now, including those of partitions this gate created. */
    List<Node> nodes();

    /**
     * The machine sizes this gate offers, with prices: those {@link #createPartition} accepts when
     * {@link #createsPartitions()}, else the shapes of the fixed nodes it has, so that a user's form has a size to
     * offer (the local gate lists its one node at price 0).
     */
    List<Flavor> flavors();

    /**
     * Whether {@link #createPartition} adds nodes of the listed {@link #flavors()}. Only then does the scheduler plan
     * new nodes for a job the present nodes cannot hold; a gate with fixed nodes (the default) lists flavors that
     * describe what it has, and a job that fits none of its nodes waits as infeasible.
     */
    default boolean createsPartitions() {
        return false;
    }

    List<Image> images();

    List<RemoteSite> remotes();

    /** The partitions this gate manages now, with their tags. */
    List<Partition> partitions();

    /**
     * Creates (or, if one with the same name exists, returns) a partition. Gates with fixed nodes throw a permanent
     * {@link GateException}.
     */
    Partition createPartition(PartitionSpec spec);

    /** Deletes a partition and everything in it. Deleting a partition that does not exist is not an error. */
    void deletePartition(String name);

    /**
     * Access to run and move files on one node.
     *
     * @throws GateException (permanent) when the gate has no such node
     */
    NodeAccess access(String nodeName);

    /**
     * Whether a job's {@code container-image} is honoured. False by default, for gates that run scripts directly on
     * their nodes: the engine then keeps such a job with a warning that says so, rather than knowing gates by name.
     */
    default boolean runsContainerImages() {
        return false;
    }

    @Override
    void close();
}
