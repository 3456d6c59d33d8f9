package dev.skyport.api;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;

/**
 * A file or directory placed at the absolute container path {@code path} of every step of a {@link ContainerSteps}
 * job before the first step runs: either {@code content} (UTF-8 text, at most {@link #MAX_CONTENT_BYTES}) or a file or
 * directory {@code source} on the engine's machine, which must lie under the engine's input root when one is set (as
 * {@link JobSpec#inputFiles()} do). {@code directory} says that {@code source} is a directory, placed as a tree.
 *
 * @param path the absolute container path it is placed at
 * @param content its text, when given inline
 * @param source the file or directory on the engine's machine it is copied from
 * @param directory whether {@code source} is a directory
 */
public record StepInput(String path, Optional<String> content, Optional<String> source, boolean directory) {
    /** The largest {@code content}, in UTF-8 bytes (GA4GH TES asks servers to accept at least 128 KiB). */
    public static final int MAX_CONTENT_BYTES = 1024 * 1024;

    /**
     * Rejects null components.
     *
     * @param path the absolute container path it is placed at
     * @param content its text, when given inline
     * @param source the file or directory on the engine's machine it is copied from
     * @param directory whether {@code source} is a directory
     * @throws InvalidJobSpecException when a component is out of its range (the message names it)
     */
    public StepInput {
        ContainerSteps.absolute("inputs.path", Optional.of(path));
        Objects.requireNonNull(content, "content");
        Objects.requireNonNull(source, "source");
        if (content.isPresent() == source.isPresent()) {
            throw new InvalidJobSpecException("inputs", "give exactly one of content and source for " + path);
        }
        if (content.isPresent()) {
            if (directory) {
                throw new InvalidJobSpecException("inputs", "content makes a file, not a directory, at " + path);
            }
            // Cheap bound first: a UTF-8 byte is at most 3 bytes per Java char.
            if ((long) content.get().length() * 3 > MAX_CONTENT_BYTES) {
                int bytes = content.get().getBytes(StandardCharsets.UTF_8).length;
                if (bytes > MAX_CONTENT_BYTES) {
                    throw new InvalidJobSpecException("inputs", "the content for " + path + " is " + bytes
                            + " bytes; at most " + MAX_CONTENT_BYTES + " are allowed");
                }
            }
        }
        if (source.isPresent()) {
            if (source.get().isBlank() || source.get().length() > JobSpec.MAX_PATH_LENGTH) {
                throw new InvalidJobSpecException("inputs", "the source for " + path + " must be a path of 1 to "
                        + JobSpec.MAX_PATH_LENGTH + " characters");
            }
        }
    }

    /**
     * {@return a file of {@code content} at {@code path}}
     *
     * @param content its text, when given inline
     * @param path the absolute container path it is placed at
     */
    public static StepInput content(String path, String content) {
        return new StepInput(path, Optional.of(content), Optional.empty(), false);
    }

    /**
     * {@return the file {@code source} of the engine's machine at {@code path}}
     *
     * @param path the absolute container path it is placed at
     * @param source the file or directory on the engine's machine it is copied from
     */
    public static StepInput file(String path, String source) {
        return new StepInput(path, Optional.empty(), Optional.of(source), false);
    }

    /**
     * {@return the directory tree {@code source} of the engine's machine at {@code path}}
     *
     * @param path the absolute container path it is placed at
     * @param source the file or directory on the engine's machine it is copied from
     */
    public static StepInput directory(String path, String source) {
        return new StepInput(path, Optional.empty(), Optional.of(source), true);
    }
}
