package dev.skyport.gate.slurm;

import dev.skyport.api.JobId;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunHandle;
import dev.skyport.gate.RunOutcome;
import dev.skyport.gate.RunProbe;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.RunSignal;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * File access to a Slurm site's shared file system ({@link dev.skyport.gate.BatchQueue#files()}): job directories are
 * {@code <work-root>/<job id>}; it runs nothing, since Slurm runs the site's jobs.
 */
abstract class SharedFiles implements NodeAccess, AutoCloseable {
    private final String node;
    final String workRoot;

    SharedFiles(String node, String workRoot) {
        this.node = node;
        this.workRoot = workRoot;
    }

    @Override
    public final String node() {
        return node;
    }

    @Override
    public final String directoryOf(JobId job, Path engineDirectory) {
        return directoryOf(job);
    }

    /** The job's directory on the site: the same for every engine directory, so that a status needs only the id. */
    final String directoryOf(JobId job) {
        return workRoot + "/" + job;
    }

    @Override
    public final RunHandle launch(RunRequest request) {
        throw runsNothing();
    }

    @Override
    public final CompletableFuture<RunOutcome> watch(RunHandle handle) {
        throw runsNothing();
    }

    @Override
    public final RunProbe probe(RunRequest request) {
        throw runsNothing();
    }

    @Override
    public final void signal(RunHandle handle, RunSignal signal) {
        throw runsNothing();
    }

    private GateException runsNothing() {
        return GateException.permanent(node + " moves files only: Slurm runs the jobs of a Slurm site");
    }

    @Override
    public void close() {
    }
}
