package dev.skyport.api;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A job that runs {@code steps} one after another, each in a container of its own image (what a GA4GH TES task's
 * executors are). Before the first step, every input is placed at its container path; {@code volumes} are container
 * directories created empty and mounted in every step, to pass files from step to step; the directory of every output
 * (its parent; a directory output itself; for a pattern, the part before the first segment with a wildcard) is shared
 * by every step the same way. After the last step succeeded, the outputs are copied to their destinations. The job
 * ends with the exit status of the first failing step whose {@link ContainerStep#ignoreError()} is false, and
 * succeeds when there is none. Each attempt records a {@link StepLog} per step that started and an {@link OutputLog}
 * per file copied ({@link Attempt#steps()}, {@link Attempt#outputs()}).
 *
 * <p>A job with steps has no script, command or {@code containerImage} of its own, and runs only where the gate runs
 * container images. Paths are absolute, normalized (no {@code .} or {@code ..} segment, no {@code //}), hold no
 * {@code :} or {@code ,} (the container runtime's mount syntax) and lie outside {@code /proc}, {@code /sys} and
 * {@code /dev}.
 *
 * @param steps the steps, run in this order
 * @param inputs what is placed in the containers before the first step
 * @param outputs what is copied out after the last step succeeded
 * @param volumes container directories shared, empty at first, by every step
 */
public record ContainerSteps(List<ContainerStep> steps, List<StepInput> inputs, List<StepOutput> outputs,
                             List<String> volumes) {
    /** Most {@link #steps()}. */
    public static final int MAX_STEPS = 64;
    /** Most {@link #volumes()}. */
    public static final int MAX_VOLUMES = 64;

    /**
     * Copies the collections, so an instance never changes.
     *
     * @param steps the steps, run in this order
     * @param inputs what is placed in the containers before the first step
     * @param outputs what is copied out after the last step succeeded
     * @param volumes container directories shared, empty at first, by every step
     * @throws InvalidJobSpecException when a component is out of its range (the message names it)
     */
    public ContainerSteps {
        steps = List.copyOf(steps);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        volumes = List.copyOf(volumes);
        if (steps.isEmpty()) {
            throw new InvalidJobSpecException("steps", "give at least one step");
        }
        if (steps.size() > MAX_STEPS) {
            throw new InvalidJobSpecException("steps", "has " + steps.size() + " entries; at most " + MAX_STEPS
                    + " are allowed");
        }
        if (inputs.size() > JobSpec.MAX_FILES || outputs.size() > JobSpec.MAX_FILES) {
            throw new InvalidJobSpecException(inputs.size() > JobSpec.MAX_FILES ? "inputs" : "outputs",
                    "has more than " + JobSpec.MAX_FILES + " entries");
        }
        if (volumes.size() > MAX_VOLUMES) {
            throw new InvalidJobSpecException("volumes", "has " + volumes.size() + " entries; at most "
                    + MAX_VOLUMES + " are allowed");
        }
        for (String v : volumes) {
            absolute("volumes", Optional.of(v));
            if (v.equals("/")) {
                throw new InvalidJobSpecException("volumes", "cannot be the root directory");
            }
        }
        Set<String> inputPaths = new HashSet<>();
        for (StepInput i : inputs) {
            if (!inputPaths.add(i.path())) {
                throw new InvalidJobSpecException("inputs", "two inputs at " + Text.abbreviate(i.path()));
            }
        }
        List<String> shared = sharedDirectories(volumes, outputs);
        for (ContainerStep s : steps) {
            if (s.stdin().isPresent() && !inputPaths.contains(s.stdin().get())
                    && shared.stream().noneMatch(d -> below(s.stdin().get(), d))) {
                throw new InvalidJobSpecException("stdin", "'" + Text.abbreviate(s.stdin().get())
                        + "' is neither an input's path nor in a volume or an output's directory");
            }
        }
    }

    /**
     * {@return steps with no inputs, outputs or volumes}
     *
     * @param steps the steps, run in this order
     */
    public static ContainerSteps of(ContainerStep... steps) {
        return new ContainerSteps(List.of(steps), List.of(), List.of(), List.of());
    }

    /**
     * {@return the container directories every step shares, one mount each: the volumes and the outputs' directories,
     * without those that lie inside another one, in the order first seen}
     */
    public List<String> sharedDirectories() {
        return sharedDirectories(volumes, outputs);
    }

    /**
     * {@return the container directory an output lives in; see the class comment}
     *
     * @param output an output of these steps
     */
    public static String directoryOf(StepOutput output) {
        String p = output.path();
        if (output.directory() && !output.isPattern()) {
            return p;
        }
        int cut = p.length();
        if (output.isPattern()) {
            int wild = firstWildcard(p);
            cut = p.lastIndexOf('/', wild);
        } else {
            cut = p.lastIndexOf('/');
        }
        return cut <= 0 ? "/" : p.substring(0, cut);
    }

    /**
     * {@return true when {@code path} is {@code dir} or lies below it}
     *
     * @param path an absolute container path
     * @param dir an absolute container directory
     */
    public static boolean below(String path, String dir) {
        return path.equals(dir) || path.startsWith(dir.endsWith("/") ? dir : dir + "/");
    }

    private static List<String> sharedDirectories(List<String> volumes, List<StepOutput> outputs) {
        List<String> all = new ArrayList<>(volumes);
        for (StepOutput o : outputs) {
            String d = directoryOf(o);
            if (d.equals("/")) {
                throw new InvalidJobSpecException("outputs", "'" + Text.abbreviate(o.path())
                        + "' must lie in a directory below /, which is mounted to collect it");
            }
            all.add(d);
        }
        List<String> kept = new ArrayList<>();
        for (String d : all) {
            if (kept.contains(d) || all.stream().anyMatch(o -> !o.equals(d) && below(d, o))) {
                continue;
            }
            kept.add(d);
        }
        return List.copyOf(kept);
    }

    private static int firstWildcard(String p) {
        int best = p.length();
        for (char c : new char[] {'*', '?', '['}) {
            int i = p.indexOf(c);
            if (i >= 0 && i < best) {
                best = i;
            }
        }
        return best;
    }

    /** @throws InvalidJobSpecException naming {@code field} when {@code path} is present and not a usable path */
    static void absolute(String field, Optional<String> path) {
        if (path.isEmpty()) {
            return;
        }
        String p = path.get();
        if (p.length() > JobSpec.MAX_PATH_LENGTH) {
            throw new InvalidJobSpecException(field, "is " + p.length() + " characters long; at most "
                    + JobSpec.MAX_PATH_LENGTH + " are allowed");
        }
        if (!p.startsWith("/")) {
            throw new InvalidJobSpecException(field, "must be an absolute path, got '" + Text.abbreviate(p) + "'");
        }
        if (p.indexOf(':') >= 0 || p.indexOf(',') >= 0 || p.indexOf('\0') >= 0 || p.indexOf('\n') >= 0) {
            throw new InvalidJobSpecException(field, "'" + Text.abbreviate(p)
                    + "' holds ':', ',' or a control character, which a container mount cannot take");
        }
        if (p.length() > 1) {
            for (String segment : p.substring(1).split("/", -1)) {
                if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                    throw new InvalidJobSpecException(field, "'" + Text.abbreviate(p)
                            + "' is not a normalized path (empty, '.' or '..' segment)");
                }
            }
        }
        for (String system : List.of("/proc", "/sys", "/dev")) {
            if (below(p, system)) {
                throw new InvalidJobSpecException(field, "'" + Text.abbreviate(p) + "' lies in " + system
                        + ", which the container runtime owns");
            }
        }
    }
}
