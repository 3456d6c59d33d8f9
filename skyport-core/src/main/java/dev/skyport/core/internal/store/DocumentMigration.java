package dev.skyport.core.internal.store;

import dev.skyport.api.Job;
import dev.skyport.core.store.StoredJob;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Schema 3: rewrites every job document of schemas 1 and 2 ({@link LegacyJobJson}) into the store's own format
 * ({@link JobDocument}), in the migration's transaction. A document the old code could not read either is left as it
 * is, with a warning: it fails alone when read, as it did before, instead of keeping the whole store from opening.
 */
final class DocumentMigration {
    private static final Logger LOG = LoggerFactory.getLogger(DocumentMigration.class);
    /** Rows read at a time: the statement that reads must be done before the same connection updates the table. */
    private static final int PAGE = 1000;

    private DocumentMigration() {
    }

    static void rewrite(Connection c) throws SQLException {
        try (PreparedStatement select = c.prepareStatement(
                     "SELECT id, job_json FROM jobs WHERE id > ? ORDER BY id LIMIT " + PAGE);
             // The size is recounted as the store counts it now (StoredJob.size), so that what a purge subtracts is
             // what the start-up sum added; schema 2 had counted the document's length.
             PreparedStatement update = c.prepareStatement("UPDATE jobs SET job_json = ?, bytes = ? + coalesce("
                     + "(SELECT length(script) FROM scripts WHERE scripts.id = jobs.id), 0) WHERE id = ?");
             PreparedStatement keepScript = c.prepareStatement(
                     "INSERT OR IGNORE INTO scripts(id, script) VALUES (?, ?)")) {
            String after = "";
            int rewritten = 0;
            int left = 0;
            while (true) {
                List<String[]> rows = new ArrayList<>(PAGE);
                select.setString(1, after);
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        rows.add(new String[] {rs.getString(1), rs.getString(2)});
                    }
                }
                if (rows.isEmpty()) {
                    break;
                }
                if (after.isEmpty()) {
                    // Measured: 100,000 jobs with every field set took 6 s of cpu (12 s on a busy machine).
                    LOG.info("rewriting the stored jobs in the store's own format, once; opening waits for it");
                }
                for (String[] row : rows) {
                    Job job;
                    try {
                        job = LegacyJobJson.read(row[1]);
                    } catch (IOException | RuntimeException e) {
                        LOG.warn("job {}: its stored document cannot be read ({}); it is left as it was",
                                row[0], e.getMessage());
                        left++;
                        continue;
                    }
                    if (job.spec().script().isPresent()) {
                        // Schema 2 moved every script out; one still inside a document is kept all the same.
                        keepScript.setString(1, row[0]);
                        keepScript.setString(2, job.spec().script().get());
                        keepScript.executeUpdate();
                    }
                    update.setString(1, JobDocument.write(job));
                    update.setLong(2, StoredJob.of(job).size() - job.spec().script().map(String::length).orElse(0));
                    update.setString(3, row[0]);
                    update.executeUpdate();
                    rewritten++;
                }
                after = rows.get(rows.size() - 1)[0];
            }
            if (rewritten + left > 0) {
                LOG.info("rewrote {} job documents in the store's format version {}{}", rewritten, JobDocument.VERSION,
                        left == 0 ? "" : "; " + left + " unreadable ones were left as they were");
            }
        }
    }
}
