package dev.skyport.gate;

import dev.skyport.api.ContainerSteps;
import dev.skyport.api.StepInput;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Where the files of a {@link ContainerSteps} run live on its node, the contract between the engine (which places the
 * inputs before the run, reads the step records and collects the outputs after it) and the gate (which mounts them
 * and writes the records). Everything is below the job's directory {@code directory}; the mounts of each attempt
 * are its own ({@code mounts/<attempt>/...}), made fresh by the engine before it places the inputs, so nothing an
 * earlier attempt left (files, links) is written through or taken for a later attempt's outputs:
 *
 * <ul>
 *   <li>{@code mounts/<attempt>/shared/<k>}: the {@code k}-th of {@link ContainerSteps#sharedDirectories()}, mounted
 *   read-write at that container directory in every step. An input that lies in one is placed in it, at the same
 *   relative path.</li>
 *   <li>{@code mounts/<attempt>/inputs/<k>}: the {@code k}-th input (index in {@link ContainerSteps#inputs()}) when it
 *   lies in no shared directory, mounted read-only at its own path (a file or a directory tree).</li>
 *   <li>In the run directory ({@link DetachedRun} {@code run.<attempt>}), per step {@code i} (from 0):
 *   {@code step.<i>} with the line {@code start <epoch millis>} written before the step's container starts and the
 *   line {@code end <epoch millis> <status>} after it ended, {@code <status>} as a shell gives it (128 + n for signal
 *   n), followed by the word {@value #NO_CONTAINER} when the command never ran (the runtime could not create or start
 *   the container, e.g. a missing image: the status is then {@value #RUNTIME_FAILURE}); and its
 *   standard output and error in {@code step.<i>.stdout} and {@code step.<i>.stderr}, unless the step's
 *   {@code stdout}/{@code stderr} path lies in a shared directory, whose file then receives it
 *   ({@link #stdoutOf}, {@link #stderrOf}). A step the gate could not start (a stream path it refused, as
 *   {@link StepsRun} does) ends with {@value #RUNTIME_FAILURE} {@value #NO_CONTAINER} and the reason in
 *   {@code step.<i>.stderr}.</li>
 * </ul>
 *
 * A step runs only when every step before it ended with 0 or ignores errors and had its container (a step without one
 * ends the run, whether or not it ignores errors); the run's exit status is that of the first step that ended it,
 * else 0.
 */
public final class StepLayout {
    /** Below the job directory: every mount of a steps run, in a directory per attempt ({@link #mountsOf}). */
    public static final String MOUNTS = "mounts";
    /**
     * The status podman and docker give when they could not create or start the container, and which a command may
     * also exit with: {@link StepRecord#noContainer()} tells the two apart.
     */
    public static final int RUNTIME_FAILURE = 125;
    /**
     * The word after the status in a step's {@code end} line when the step's command never ran: the runtime could not
     * create or start its container, or the gate refused to start it. Only then is {@value #RUNTIME_FAILURE} not the
     * command's own status (podman and docker pass a command's 125 through).
     */
    public static final String NO_CONTAINER = "nocontainer";

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
     * {@return the directory of attempt {@code attempt}'s mounts in the job directory {@code directory}}
     *
     * @param directory the job's directory on the node
     * @param attempt the attempt, from 1
     */
    public static String mountsOf(String directory, int attempt) {
        return directory + "/" + MOUNTS + "/" + attempt;
    }

    /**
     * {@return the mounts of {@code steps} for attempt {@code attempt} in the job directory {@code directory}: shared
     * directories first, then inputs}
     *
     * @param directory the job's directory on the node
     * @param attempt the attempt, from 1: each attempt has fresh mounts
     * @param steps the job's steps
     */
    public static List<Mount> mounts(String directory, int attempt, ContainerSteps steps) {
        String base = mountsOf(directory, attempt);
        List<Mount> mounts = new ArrayList<>();
        List<String> shared = steps.sharedDirectories();
        for (int k = 0; k < shared.size(); k++) {
            mounts.add(new Mount(base + "/shared/" + k, shared.get(k), false, true));
        }
        List<StepInput> inputs = steps.inputs();
        for (int k = 0; k < inputs.size(); k++) {
            StepInput in = inputs.get(k);
            if (sharedOf(shared, in.path()) < 0) {
                mounts.add(new Mount(base + "/inputs/" + k, in.path(), true, in.directory()));
            }
        }
        return List.copyOf(mounts);
    }

    /**
     * {@return the node path behind the container path {@code containerPath}: in a shared directory's mount, or an
     * input's own mount when it is exactly that input's path; empty when no mount holds it}
     *
     * @param directory the job's directory on the node
     * @param attempt the attempt, from 1
     * @param steps the job's steps
     * @param containerPath an absolute container path
     */
    public static Optional<String> hostPath(String directory, int attempt, ContainerSteps steps,
                                            String containerPath) {
        String base = mountsOf(directory, attempt);
        List<String> shared = steps.sharedDirectories();
        int k = sharedOf(shared, containerPath);
        if (k >= 0) {
            String rest = containerPath.substring(shared.get(k).length());
            return Optional.of(base + "/shared/" + k + rest);
        }
        List<StepInput> inputs = steps.inputs();
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).path().equals(containerPath)) {
                return Optional.of(base + "/inputs/" + i);
            }
        }
        return Optional.empty();
    }

    /**
     * Where step {@code index}'s standard output goes: the node path of its {@code stdout} when that lies in a shared
     * directory, else {@link #stdout(String, int)} in the run directory {@code runDirectory}.
     *
     * @param directory the job's directory on the node, where the mounts lie
     * @param attempt the attempt, from 1
     * @param runDirectory the attempt's run directory
     * @param steps the job's container steps
     * @param index the step's index, from 0
     * @return the node path the step's standard output is written to
     */
    public static String stdoutOf(String directory, int attempt, String runDirectory, ContainerSteps steps,
                                  int index) {
        return sharedHostPath(directory, attempt, steps, steps.steps().get(index).stdout())
                .orElse(stdout(runDirectory, index));
    }

    /**
     * As {@link #stdoutOf} for standard error.
     *
     * @param directory the job's directory on the node, where the mounts lie
     * @param attempt the attempt, from 1
     * @param runDirectory the attempt's run directory
     * @param steps the job's container steps
     * @param index the step's index, from 0
     * @return the node path the step's standard error is written to
     */
    public static String stderrOf(String directory, int attempt, String runDirectory, ContainerSteps steps,
                                  int index) {
        return sharedHostPath(directory, attempt, steps, steps.steps().get(index).stderr())
                .orElse(stderr(runDirectory, index));
    }

    /**
     * The node path of a step's {@code stdout} or {@code stderr}: only in a shared directory, never over an input
     * (which is the engine's, mounted read-only).
     */
    static Optional<String> sharedHostPath(String directory, int attempt, ContainerSteps steps,
                                           Optional<String> containerPath) {
        if (containerPath.isEmpty() || sharedOf(steps.sharedDirectories(), containerPath.get()) < 0) {
            return Optional.empty();
        }
        return hostPath(directory, attempt, steps, containerPath.get());
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

    /**
     * What a step's record ({@link #record}) says: when the step started, and when it ended with which status, once it
     * has. {@code end} and {@code status} are both present or both absent.
     *
     * @param start       when the step started
     * @param end         when it ended; empty while it runs
     * @param status      its exit status once it ended
     * @param noContainer true when the runtime could not create or start its container ({@link StepLayout#NO_CONTAINER}),
     *                    so that a status of {@value StepLayout#RUNTIME_FAILURE} is the runtime's and not the command's
     */
    public record StepRecord(Instant start, Optional<Instant> end, OptionalInt status, boolean noContainer) {
        /**
         * Rejects null components, an end without a status or the reverse, and a missing container on a step that
         * has not ended: a reader must never see a half-ended step.
         *
         * @param start       when the step started
         * @param end         when it ended; empty while it runs
         * @param status      its exit status once it ended
         * @param noContainer true when the runtime could not create or start its container
         * @throws IllegalArgumentException when {@code end} and {@code status} disagree, or {@code noContainer} is
         *                                  set on a step that has not ended
         */
        public StepRecord {
            Objects.requireNonNull(start, "start");
            Objects.requireNonNull(end, "end");
            Objects.requireNonNull(status, "status");
            if (end.isPresent() != status.isPresent()) {
                throw new IllegalArgumentException("end and status go together");
            }
            if (noContainer && end.isEmpty()) {
                throw new IllegalArgumentException("only an ended step can have had no container");
            }
        }

        /**
         * A record of a step whose container was created and started, or has not ended yet.
         *
         * @param start  when the step started
         * @param end    when it ended; empty while it runs
         * @param status its exit status once it ended
         */
        public StepRecord(Instant start, Optional<Instant> end, OptionalInt status) {
            this(start, end, status, false);
        }

        /** {@return true once the step has ended} */
        public boolean ended() {
            return end.isPresent();
        }
    }

    /**
     * Reads the content of a step's record. Only complete lines count (a line ends with a line feed): the last one may
     * be half-written when the run is read while it goes on, or was killed while writing. Lines it does not know are
     * skipped.
     *
     * @param content the record file's content, as read so far
     * @return empty when no complete {@code start} line is there yet (the step has not started, as far as anyone can
     *         tell)
     */
    public static Optional<StepRecord> parseRecord(String content) {
        Instant start = null;
        Instant end = null;
        int status = 0;
        boolean noContainer = false;
        int done = content.lastIndexOf('\n');
        if (done < 0) {
            return Optional.empty();
        }
        for (String line : content.substring(0, done).split("\n")) {
            String[] w = line.strip().split(" +");
            try {
                if (w.length == 2 && w[0].equals("start") && start == null) {
                    start = Instant.ofEpochMilli(Long.parseLong(w[1]));
                } else if ((w.length == 3 || (w.length == 4 && w[3].equals(NO_CONTAINER))) && w[0].equals("end")
                        && start != null && end == null) {
                    int s = Integer.parseInt(w[2]);
                    end = Instant.ofEpochMilli(Long.parseLong(w[1]));
                    status = s;
                    noContainer = w.length == 4;
                }
            } catch (NumberFormatException garbled) {
                // not a line the driver wrote whole
            }
        }
        if (start == null) {
            return Optional.empty();
        }
        return Optional.of(end == null ? new StepRecord(start, Optional.empty(), OptionalInt.empty())
                : new StepRecord(start, Optional.of(end), OptionalInt.of(status), noContainer));
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
