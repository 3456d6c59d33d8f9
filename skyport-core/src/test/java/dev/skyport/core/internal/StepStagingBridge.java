package dev.skyport.core.internal;

import dev.skyport.api.ContainerSteps;
import dev.skyport.api.OutputLog;
import dev.skyport.api.StepLog;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunRequest;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** {@link StepStaging} for tests of other packages (the ssh gate's, whose test server is package-private there). */
public final class StepStagingBridge {
    private StepStagingBridge() {
    }

    /** Stage-in to a remote node, without an input root. */
    public static void stageIn(ContainerSteps steps, NodeAccess node, RunRequest request) {
        StepStaging.stageIn(steps, "alice", node, request, Optional.empty(), false);
    }

    /** The step logs read from a remote node into {@code local}. */
    public static List<StepLog> readLogs(ContainerSteps steps, NodeAccess node, RunRequest request, Path local) {
        return StepStaging.readLogs(steps, node, request, false, local);
    }

    /** The outputs collected from a remote node below the input root {@code root} (a real path). */
    public static List<OutputLog> collect(ContainerSteps steps, NodeAccess node, RunRequest request, Path root,
                                          Path local) {
        return StepStaging.collect(steps, "alice", node, request, Optional.of(root), Optional.of(root), false, local);
    }
}
