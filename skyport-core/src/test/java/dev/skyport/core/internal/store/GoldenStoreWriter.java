package dev.skyport.core.internal.store;

import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.core.store.StoredJob;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Writes the {@link GoldenJobs} into a new store file with this version's store, for a golden file of a released
 * format. Run it only when a new schema version N is released, never to refresh an existing golden file:
 * {@code java -cp <test classpath> dev.skyport.core.internal.store.GoldenStoreWriter <new directory>}, then copy
 * {@code <new directory>/skyport.db} to {@code src/test/resources/store/schema-N.sqlite} (the repository ignores
 * {@code *.db}).
 */
final class GoldenStoreWriter {
    private GoldenStoreWriter() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        if (Files.exists(dir.resolve("skyport.db"))) {
            throw new IllegalArgumentException(dir + " already holds a store");
        }
        write(dir);
        System.out.println("wrote " + dir.resolve("skyport.db"));
    }

    static void write(Path dir) throws SQLException {
        try (SqliteJobStore store = SqliteJobStore.open(dir)) {
            for (StoredJob job : GoldenJobs.all()) {
                List<JobTransitioned> events = GoldenJobs.events().stream()
                        .filter(e -> e.jobId().equals(job.job().id())).toList();
                store.insert(job, events.get(0));
                List<dev.skyport.core.store.StoredBatchJob> batch = GoldenJobs.batchJobs(Schema.current()).stream()
                        .filter(b -> b.job().equals(job.job().id())).toList();
                for (JobTransitioned e : events.subList(1, events.size())) {
                    if (!batch.isEmpty()) {
                        store.update(job, e, batch.get(0));
                    } else {
                        store.update(job, e);
                    }
                }
            }
            for (NodeTransitioned e : GoldenJobs.nodeEvents(Schema.current())) {
                store.insertNodeEvent(e);
            }
        }
        // One self-contained, compact file: no write-ahead log beside it, no free pages.
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("skyport.db"));
             Statement s = c.createStatement()) {
            s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
            s.execute("PRAGMA journal_mode=DELETE");
            s.execute("VACUUM");
        }
    }
}
