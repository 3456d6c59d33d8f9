package dev.skyport.core.store;

import java.nio.file.Path;

/** Found with {@link java.util.ServiceLoader}; the engine opens the store named in its configuration. */
public interface JobStoreProvider {
    /** e.g. {@code sqlite}. */
    String name();

    /** Opens (creating and migrating as needed) the store under {@code dataDir}. */
    JobStore open(Path dataDir);
}
