package dev.skyport.gate;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * Runs jobs and moves files on one node. A run is detached: it goes on when Sky Port stops, and a later
 * {@link #probe} finds it again. Implementations follow the {@link DetachedRun} protocol so that a run starts at most
 * once even when a crash races with its start. Thread-safe.
 */
public interface NodeAccess {
    /** The node's name. */
    String node();

    /**
     * Starts a detached run in its own process group, with stdout and stderr going to the job directory's
     * {@code stdout.log} and {@code stderr.log}.
     *
     * @throws GateException when it could not be started
     */
    RunHandle launch(RunRequest request);

    /** Completes when the run ends. Never completes exceptionally for a run that ended; a lost run is an outcome. */
    CompletableFuture<RunOutcome> watch(RunHandle handle);

    /** Finds a run of an earlier life of the engine; see {@link RunProbe}. */
    RunProbe probe(RunRequest request);

    /** Sends {@code signal} to every process of the run's group. A run that has ended is not an error. */
    void signal(RunHandle handle, RunSignal signal);

    /** Copies a local file to {@code remotePath} on the node, creating parent directories. */
    void upload(Path local, String remotePath);

    /** Copies {@code remotePath} on the node to a local file. */
    void download(String remotePath, Path local);
}
