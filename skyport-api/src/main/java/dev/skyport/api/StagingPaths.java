package dev.skyport.api;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The rules of {@link JobSpec#inputFiles()} and {@link JobSpec#outputFiles()}, checked at submit by the builder so
 * that every front door (Java, {@code #SWM}, REST, {@code /user}) refuses the same paths.
 *
 * <p>An input is a file on the engine's machine, copied into the job's working directory on its node under its base
 * name; an output is a path relative to that working directory, copied back to the same relative path of the job's
 * directory on the engine's machine (an output ending in {@code /} is a directory, copied back as a tree). The base names a run writes itself ({@code stdout.log}, {@code stderr.log},
 * {@code script}, the {@code run.<attempt>} directories of the gate SPI's detached-run protocol) are refused for
 * inputs: an input there would be overwritten by the run, or overwrite what the engine reads back.
 */
final class StagingPaths {
    /** The names of the gate SPI's {@code DetachedRun} protocol; the api module cannot see that class. */
    private static final Set<String> RUN_FILES = Set.of("stdout.log", "stderr.log", "script");
    private static final String RUN_DIRECTORY_PREFIX = "run.";

    private StagingPaths() {
    }

    /** @throws InvalidJobSpecException when {@code path} cannot be an input file */
    static void checkInput(String path) {
        List<String> segments = segments("inputFiles", path, true);
        for (String s : segments) {
            if (s.equals("..")) {
                throw refused("inputFiles", path, "'..' is not allowed (path traversal)");
            }
        }
        String base = segments.isEmpty() ? "" : segments.get(segments.size() - 1);
        if (base.isEmpty() || base.equals(".")) {
            throw refused("inputFiles", path, "names no file");
        }
        if (RUN_FILES.contains(base) || base.startsWith(RUN_DIRECTORY_PREFIX)) {
            throw refused("inputFiles", path, "its base name '" + Text.abbreviate(base)
                    + "' is one the run writes itself (stdout.log, stderr.log, script, run.*)");
        }
    }

    /** @throws InvalidJobSpecException when {@code path} cannot be an output file */
    static void checkOutput(String path) {
        normalOutput(path);
    }

    /** Refuses two inputs with the same base name (they would overwrite each other) and repeated outputs. */
    static void checkLists(List<String> inputs, List<String> outputs) {
        Set<String> bases = new HashSet<>();
        for (String in : inputs) {
            checkInput(in);
            if (!bases.add(baseName(in))) {
                throw refused("inputFiles", in, "another input has the base name '" + Text.abbreviate(baseName(in))
                        + "'; both would be staged to the same file");
            }
        }
        Set<String> seen = new HashSet<>();
        for (String out : outputs) {
            if (!seen.add(normalOutput(out))) {
                throw refused("outputFiles", out, "the same output is named twice");
            }
        }
    }

    static String baseName(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** The output relative to the working directory without {@code .} and inner {@code ..} segments. */
    private static String normalOutput(String path) {
        if (path.startsWith("/")) {
            throw refused("outputFiles", path, "must be relative to the job's working directory");
        }
        // One trailing '/' names a directory, copied back as a tree.
        String file = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        Deque<String> kept = new ArrayDeque<>();
        for (String s : segments("outputFiles", file, false)) {
            if (s.equals("..")) {
                if (kept.isEmpty()) {
                    throw refused("outputFiles", path, "'..' leaves the job's directory (path traversal)");
                }
                kept.removeLast();
            } else if (!s.equals(".")) {
                kept.addLast(s);
            }
        }
        if (kept.isEmpty()) {
            throw refused("outputFiles", path, "names the working directory itself, not a file in it");
        }
        return String.join("/", kept);
    }

    /** The segments of {@code path}; an empty one ({@code a//b}, a trailing {@code /} of an input) is refused. */
    private static List<String> segments(String field, String path, boolean absoluteAllowed) {
        String rest = absoluteAllowed && path.startsWith("/") ? path.substring(1) : path;
        List<String> segments = List.of(rest.split("/", -1));
        if (segments.contains("")) {
            throw refused(field, path, "has an empty path segment");
        }
        return segments;
    }

    private static InvalidJobSpecException refused(String field, String path, String why) {
        return new InvalidJobSpecException(field, "'" + Text.abbreviate(path) + "' " + why);
    }
}
