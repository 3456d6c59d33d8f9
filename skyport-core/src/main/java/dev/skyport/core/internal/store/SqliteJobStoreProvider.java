package dev.skyport.core.internal.store;

import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.JobStoreProvider;

import java.nio.file.Path;

/** Provides the SQLite store under the name {@code sqlite}. */
public final class SqliteJobStoreProvider implements JobStoreProvider {
    @Override
    public String name() {
        return "sqlite";
    }

    @Override
    public JobStore open(Path dataDir) {
        return SqliteJobStore.open(dataDir);
    }
}
