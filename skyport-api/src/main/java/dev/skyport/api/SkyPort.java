package dev.skyport.api;

import java.util.List;

/**
 * The workload manager: in-process ({@link #embedded()}) or, through the REST client, out of process. Both implement
 * this same interface and pass the same behavioural tests. Thread-safe. {@link #close()} stops the manager's
 * threads; jobs that run keep running and are re-attached on the next start.
 */
public interface SkyPort extends AutoCloseable {
    /**
     * A builder for the in-process engine. The engine itself comes from {@code skyport-core}, found with
     * {@link java.util.ServiceLoader}; with the default settings it runs jobs as processes on this machine and keeps
     * its state under {@code ~/.skyport}.
     */
    static EmbeddedBuilder embedded() {
        return new EmbeddedBuilder();
    }

    Jobs jobs();

    /** Nodes jobs can run on now, with their capacity. */
    List<Node> nodes();

    /** Sizes of machine the gates can create. */
    List<Flavor> flavors();

    List<Image> images();

    List<RemoteSite> remotes();

    /** Partitions the gates manage now. */
    List<Partition> partitions();

    Events events();

    @Override
    void close();
}
