package dev.skyport.api;

import java.util.Objects;

/**
 * One file a {@link StepOutput} copied: its container {@code path}, where it was copied to on the engine's machine
 * ({@code destination}) and its size. A directory output gives one log per file of the tree.
 *
 * @param path the file's path inside the container
 * @param destination where it was copied to on the engine's machine
 * @param sizeBytes its size, in bytes
 */
public record OutputLog(String path, String destination, long sizeBytes) {
    /**
     * Rejects null components.
     *
     * @param path the file's path inside the container
     * @param destination where it was copied to on the engine's machine
     * @param sizeBytes its size, in bytes
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public OutputLog {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(destination, "destination");
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("sizeBytes must not be negative");
        }
    }
}
