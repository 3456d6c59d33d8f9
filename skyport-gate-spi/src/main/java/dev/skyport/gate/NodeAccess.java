package dev.skyport.gate;

import dev.skyport.api.JobId;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * Runs jobs and moves files on one node. A run is detached: it goes on when Sky Port stops, and a later
 * {@link #probe} finds it again. Implementations follow the {@link DetachedRun} protocol so that a run starts at most
 * once even when a crash races with its start. Thread-safe.
 */
public interface NodeAccess {
    /** {@return the node's name} */
    String node();

    /**
     * Starts a detached run in its own process group, with stdout and stderr going to the job directory's
     * {@code stdout.log} and {@code stderr.log}.
     *
     * @param request the run
     * @return the started run
     * @throws GateException when it could not be started
     */
    RunHandle launch(RunRequest request);

    /**
     * Completes when the run ends. Never completes exceptionally for a run that ended; a lost run is an outcome.
     *
     * @param handle the run
     * @return completes with how the run ended
     */
    CompletableFuture<RunOutcome> watch(RunHandle handle);

    /**
     * Finds a run of an earlier life of the engine; see {@link RunProbe}.
     *
     * @param request the run as it was requested
     * @return what was found
     */
    RunProbe probe(RunRequest request);

    /**
     * Sends {@code signal} to every process of the run's group. A run that has ended is not an error.
     *
     * @param handle the run
     * @param signal what to send
     */
    void signal(RunHandle handle, RunSignal signal);

    /**
     * Copies a local file to {@code remotePath} on the node, creating parent directories. Nothing half-written is ever
     * seen at {@code remotePath}: the bytes go to a temporary name first, are checked (size, and a checksum where the
     * transport can) and then renamed. A transfer cut off is resumed or retried where the transport allows.
     *
     * @param local the file on the engine's machine
     * @param remotePath where it goes on the node
     * @throws GateException transient when the node could not be reached or the transfer was cut off; permanent when
     *                       the local file is missing or unreadable or the node refused the path
     */
    void upload(Path local, String remotePath);

    /**
     * Copies {@code remotePath} on the node to a local file, with the same guarantee as {@link #upload}: {@code local}
     * is either absent or complete.
     *
     * @param remotePath the file on the node
     * @param local where it goes on the engine's machine
     * @throws GateException permanent when {@code remotePath} does not exist on the node
     */
    void download(String remotePath, Path local);

    /**
     * {@return where a job's directory is on this node, for a job whose directory on the engine's machine is
     * {@code engineDirectory}} The engine uses it for every {@link RunRequest#directory()} and staged path of that job.
     * Nodes that share the engine's file system (the local gate) answer {@code engineDirectory} itself, the default.
     *
     * @param job the job
     * @param engineDirectory the job's directory on the engine's machine
     */
    default String directoryOf(JobId job, Path engineDirectory) {
        return engineDirectory.toString();
    }

    /**
     * Copies the local directory tree {@code local} (files and sub-directories; symbolic links are refused) to
     * {@code remotePath}, each file as {@link #upload} does.
     *
     * @param local the directory on the engine's machine
     * @param remotePath where it goes on the node
     * @throws GateException permanent where the gate cannot move trees, or {@code local} is not a directory
     */
    default void uploadTree(Path local, String remotePath) {
        throw GateException.permanent("the node " + node() + " cannot receive directory trees");
    }

    /**
     * Copies the directory tree {@code remotePath} on the node into the local directory {@code local}.
     *
     * @param remotePath the directory on the node
     * @param local where it goes on the engine's machine
     */
    default void downloadTree(String remotePath, Path local) {
        throw GateException.permanent("the node " + node() + " cannot send directory trees");
    }

    /**
     * Deletes {@code remotePath} on the node and everything below it, following no symbolic link (a link is removed,
     * not what it names); nothing there is not an error. The engine empties what an earlier attempt may have left.
     *
     * @param remotePath the file or directory on the node
     * @throws GateException permanent where the gate cannot delete; transient when the node is unreachable
     */
    default void deleteTree(String remotePath) {
        throw GateException.permanent("the node " + node() + " cannot delete files");
    }

    /**
     * Opens a local port on the engine's machine that reaches {@code remotePort} on the node's loopback (what an
     * {@code out} port of {@code #SWM ports} needs, e.g. a notebook on the node). Closing the forward frees the port.
     *
     * @param remotePort the port on the node's loopback
     * @return the forward; close it to stop forwarding
     * @throws GateException permanent where the gate cannot forward ports; transient when the node is unreachable
     */
    default PortForward forwardToNode(int remotePort) {
        throw GateException.permanent("the node " + node() + " cannot forward ports");
    }

    /**
     * Opens {@code remotePort} on the node's loopback that reaches {@code localPort} on the engine's loopback (a job
     * calling back to a service beside the engine).
     *
     * @param remotePort the port opened on the node's loopback
     * @param localPort the port on the engine's loopback it reaches
     * @return the forward; close it to stop forwarding
     */
    default PortForward forwardFromNode(int remotePort, int localPort) {
        throw GateException.permanent("the node " + node() + " cannot forward ports");
    }
}
