package dev.skyport.gate;

import dev.skyport.api.ContainerSteps;
import dev.skyport.api.StepInput;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where the files of a {@link ContainerSteps} run live on its node, the contract between the engine (which places the
 * inputs before the run, reads the step records and collects the outputs after it) and the gate (which mounts them
 * and writes the records). Everything is below the job's directory {@code directory}:
 *
 * <ul>
 *   <li>{@code mounts/shared/<k>}: the {@code k}-th of {@link ContainerSteps#sharedDirectories()}, mounted read-write
 *   at that container directory in every step. An input that lies in one is placed in it, at the same relative
 *   path.</li>
 *   <li>{@code mounts/inputs/<k>}: the {@code k}-th input (index in {@link ContainerSteps#inputs()}) when it lies in
 *   no shared directory, mounted read-only at its own path (a file or a directory tree).</li>
 *   <li>In the run directory ({@link DetachedRun} {@code run.<attempt>}), per step {@code i} (from 0):
 *   {@code step.<i>} with the line {@code start <epoch millis>} written before the step's container starts and the
 *   line {@code end <epoch millis> <status>} after it ended, {@code <status>} as a shell gives it (128 + n for signal
 *   n, {@value #RUNTIME_FAILURE} when the runtime could not create the container, e.g. a missing image); and its
 *   standard output and error in {@code step.<i>.stdout} and {@code step.<i>.stderr}, unless the step's
 *   {@code stdout}/{@code stderr} path maps to a file of a mount ({@link #hostPath}), which then receives it.</li>
 * </ul>
 *
 * A step runs only when every step before it ended with 0 or ignores errors; the run's exit status is that of the
 * first failing step that does not ignore errors, else 0.
 */
public final class StepLayout {
    /** Below the job directory: every mount of a steps run. */
    public static final String MOUNTS = "mounts";
    /** The status podman and docker give when they could not create or start the container (not the command's). */
    public static final int RUNTIME_FAILURE = 125;

    private StepLayout() {
    }

    /**
     * One bind mount of a steps run: {@code host} (a path on the node) at {@code container}; {@code directory} when
     * it is a directory tree.
     *
     * @param host the path on the node
     * @param container where it is mounted in the container
     * @param readOnly whether it is mounted read-only
     * @param directory whether it is a directory tree
     */
    public record Mount(String host, String container, boolean readOnly, boolean directory) {
    }

    /**
     * {@return the mounts of {@code steps} in the job directory {@code directory}: shared directories first, then
     * inputs}
     *
     * @param directory the job's directory on the node
     * @param steps the job's steps
     */
    public static List<Mount> mounts(String directory, ContainerSteps steps) {
        List<Mount> mounts = new ArrayList<>();
        List<String> shared = steps.sharedDirectories();
        for (int k = 0; k < shared.size(); k++) {
            mounts.add(new Mount(directory + "/" + MOUNTS + "/shared/" + k, shared.get(k), false, true));
        }
        List<StepInput> inputs = steps.inputs();
        for (int k = 0; k < inputs.size(); k++) {
            StepInput in = inputs.get(k);
            if (sharedOf(shared, in.path()) < 0) {
                mounts.add(new Mount(directory + "/" + MOUNTS + "/inputs/" + k, in.path(), true, in.directory()));
            }
        }
        return List.copyOf(mounts);
    }

    /**
     * {@return the node path behind the container path {@code containerPath}: in a shared directory's mount, or an
     * input's own mount when it is exactly that input's path; empty when no mount holds it}
     *
     * @param directory the job's directory on the node
     * @param steps the job's steps
     * @param containerPath an absolute container path
     */
    public static Optional<String> hostPath(String directory, ContainerSteps steps, String containerPath) {
        List<String> shared = steps.sharedDirectories();
        int k = sharedOf(shared, containerPath);
        if (k >= 0) {
            String rest = containerPath.substring(shared.get(k).length());
            return Optional.of(directory + "/" + MOUNTS + "/shared/" + k + rest);
        }
        List<StepInput> inputs = steps.inputs();
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).path().equals(containerPath)) {
                return Optional.of(directory + "/" + MOUNTS + "/inputs/" + i);
            }
        }
        return Optional.empty();
    }

    /**
     * {@return the record of step {@code index} (from 0) in the run directory {@code runDirectory}}
     *
     * @param runDirectory the attempt's run directory
     * @param index the step's index, from 0
     */
    public static String record(String runDirectory, int index) {
        return runDirectory + "/step." + index;
    }

    /**
     * {@return where the standard output of step {@code index} goes unless its {@code stdout} maps to a mount}
     *
     * @param runDirectory the attempt's run directory
     * @param index the step's index, from 0
     */
    public static String stdout(String runDirectory, int index) {
        return runDirectory + "/step." + index + ".stdout";
    }

    /**
     * {@return where the standard error of step {@code index} goes unless its {@code stderr} maps to a mount}
     *
     * @param runDirectory the attempt's run directory
     * @param index the step's index, from 0
     */
    public static String stderr(String runDirectory, int index) {
        return runDirectory + "/step." + index + ".stderr";
    }

    private static int sharedOf(List<String> shared, String path) {
        for (int k = 0; k < shared.size(); k++) {
            if (ContainerSteps.below(path, shared.get(k))) {
                return k;
            }
        }
        return -1;
    }
}
