package dev.skyport.api;

import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link ContainerSteps} job leaves behind, copied to the engine's machine after its last step succeeded.
 * {@code path} is an absolute container path; it may hold POSIX wildcards ({@code *}, {@code ?}, {@code [...]}, never
 * matching {@code /} or a leading {@code .}) in its last segments, and then {@code pathPrefix} is required: each
 * match's path minus {@code pathPrefix} is appended to {@code destination}, a directory. Without wildcards
 * {@code destination} is the file (or, with {@code directory}, the directory tree) the output is copied to.
 * {@code destination} is an absolute path on the engine's machine, which must lie under the engine's input root (the
 * owner's storage) when one is set. A missing output without wildcards fails the job; a pattern matching nothing
 * does not.
 *
 * @param path the absolute container path, maybe with wildcards in its last segments
 * @param pathPrefix what is cut from each match's path before it is appended to {@code destination}
 * @param destination the absolute path on the engine's machine it is copied to
 * @param directory whether the output is a directory tree
 */
public record StepOutput(String path, Optional<String> pathPrefix, String destination, boolean directory) {
    /**
     * Rejects null components.
     *
     * @param path the absolute container path, maybe with wildcards in its last segments
     * @param pathPrefix what is cut from each match's path before it is appended to {@code destination}
     * @param destination the absolute path on the engine's machine it is copied to
     * @param directory whether the output is a directory tree
     * @throws InvalidJobSpecException when a component is out of its range (the message names it)
     */
    public StepOutput {
        ContainerSteps.absolute("outputs.path", Optional.of(path));
        Objects.requireNonNull(pathPrefix, "pathPrefix");
        Objects.requireNonNull(destination, "destination");
        if (!destination.startsWith("/") || destination.length() > JobSpec.MAX_PATH_LENGTH) {
            throw new InvalidJobSpecException("outputs.destination", "must be an absolute path of at most "
                    + JobSpec.MAX_PATH_LENGTH + " characters, got '" + Text.abbreviate(destination) + "'");
        }
        if (hasWildcard(path)) {
            if (pathPrefix.isEmpty()) {
                throw new InvalidJobSpecException("outputs.pathPrefix", "is required with a wildcard path ("
                        + Text.abbreviate(path) + ")");
            }
            if (!path.startsWith(pathPrefix.get())) {
                throw new InvalidJobSpecException("outputs.pathPrefix", "'" + Text.abbreviate(pathPrefix.get())
                        + "' is not a prefix of '" + Text.abbreviate(path) + "'");
            }
            if (hasWildcard(pathPrefix.get())) {
                throw new InvalidJobSpecException("outputs.pathPrefix", "must not hold wildcards");
            }
            if (directory) {
                throw new InvalidJobSpecException("outputs", "a wildcard path matches files, not a directory");
            }
        }
    }

    /**
     * {@return the file at {@code path}, copied to {@code destination}}
     *
     * @param destination the absolute path on the engine's machine it is copied to
     * @param path the absolute container path, maybe with wildcards in its last segments
     */
    public static StepOutput file(String path, String destination) {
        return new StepOutput(path, Optional.empty(), destination, false);
    }

    /**
     * {@return true when {@code path} holds a POSIX wildcard ({@code *}, {@code ?} or {@code [})}
     *
     * @param path the absolute container path, maybe with wildcards in its last segments
     */
    public static boolean hasWildcard(String path) {
        return path.indexOf('*') >= 0 || path.indexOf('?') >= 0 || path.indexOf('[') >= 0;
    }

    /** {@return true when this output has wildcards} */
    public boolean isPattern() {
        return hasWildcard(path);
    }
}
