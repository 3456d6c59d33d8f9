package dev.skyport.core.store;

import java.nio.file.Path;

/** Found with {@link java.util.ServiceLoader}; the engine opens the store named in its configuration. */
public interface JobStoreProvider {
    /**
     * e.g. {@code sqlite}.
     *
     * @return the name {@code store} settings choose this provider by
     */
    String name();

    /**
     * Opens (creating and migrating as needed) the store under {@code dataDir}.
     *
     * @param dataDir the engine's data directory
     * @return the open store; closing it releases the files
     */
    JobStore open(Path dataDir);
}
