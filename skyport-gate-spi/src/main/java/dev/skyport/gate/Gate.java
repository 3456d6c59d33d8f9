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
    /** {@return the name it was created under, e.g. {@code local}} */
    String name();

    /** {@return the nodes jobs can run on now, including those of partitions this gate created} */
    List<Node> nodes();

    /**
     * {@return the machine sizes this gate offers, with prices: those {@link #createPartition} accepts when
     * {@link #createsPartitions()}, else the shapes of the fixed nodes it has, so that a user's form has a size to
     * offer (the local gate lists its one node at price 0)}
     */
    List<Flavor> flavors();

    /**
     * {@return whether {@link #createPartition} adds nodes of the listed {@link #flavors()}} Only then does the
     * scheduler plan new nodes for a job the present nodes cannot hold; a gate with fixed nodes (the default) lists
     * flavors that describe what it has, and a job that fits none of its nodes waits as infeasible.
     */
    default boolean createsPartitions() {
        return false;
    }

    /** {@return the images this gate can start jobs from} */
    List<Image> images();

    /** {@return the sites this gate creates resources in} */
    List<RemoteSite> remotes();

    /**
     * {@return the partitions this gate manages now, with their tags, as the public API lists them} By default
     * {@link #listPartitions()} seen through {@link PartitionHandle#toPartition()}.
     */
    default List<Partition> partitions() {
        return listPartitions().stream().map(PartitionHandle::toPartition).toList();
    }

    /**
     * {@return every partition this gate finds in its backend by its tags, including those an earlier life of the
     * engine (or a crash in the middle of {@link #createPartition}) left: the engine's reconciler adopts those of live
     * jobs and deletes the others} Gates with fixed nodes have none.
     *
     * @throws GateException transient when the backend cannot be listed now
     */
    default List<PartitionHandle> listPartitions() {
        return List.of();
    }

    /**
     * Creates the partition {@code spec} asks for and returns it {@link PartitionState#READY}: every node exists and
     * its address and host key fingerprints are known (the engine then waits until it answers over SSH). Blocks until
     * then; the engine calls it on a thread of its own, with a deadline, and interrupts the thread when the deadline
     * passes or the job is canceled: an implementation stops between steps when interrupted (what it created stays
     * listed, and the engine deletes it). <b>Idempotent</b>: a partition of the same name that exists (complete or half
     * created by an earlier call or an earlier life of the engine) is completed and returned, not created twice. Every
     * resource carries {@code spec.tags()}.
     *
     * @param spec what to create
     * @return the ready partition
     * @throws GateException permanent when the spec cannot be met (unknown flavor or image, quota, size not available)
     *                       with the reason; transient (with {@link GateException#retryAfter()} when the backend said)
     *                       when the same call may succeed later. Gates with fixed nodes throw a permanent one.
     */
    PartitionHandle createPartition(PartitionSpec spec);

    /**
     * Deletes a partition and everything in it, and returns when it is gone. Deleting a partition that does not exist
     * is not an error; the call is idempotent and may be repeated after a failure or a restart.
     *
     * @param name the partition's name
     * @throws GateException transient when the backend could not finish the deletion now (the engine retries)
     */
    void deletePartition(String name);

    /**
     * {@return access to run and move files on one node}
     *
     * @param nodeName the node's name
     * @throws GateException (permanent) when the gate has no such node
     */
    NodeAccess access(String nodeName);

    /**
     * {@return the queue of a site whose own scheduler places and runs jobs (a Slurm cluster); empty (the default) for
     * gates whose nodes Sky Port's scheduler places jobs on} A gate with a queue lists the site's nodes in
     * {@link #nodes()} for users to see, but the engine never places a job on them itself.
     */
    default java.util.Optional<BatchQueue> batchQueue() {
        return java.util.Optional.empty();
    }

    /**
     * {@return whether a job's {@code container-image} is honoured} False by default, for gates that run scripts
     * directly on their nodes: the engine then keeps such a job with a warning that says so, rather than knowing gates
     * by name.
     */
    default boolean runsContainerImages() {
        return false;
    }

    @Override
    void close();
}
