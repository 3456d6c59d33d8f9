package dev.skyport.core.internal.store;

import dev.skyport.api.StorageException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Versioned schema migrations of the SQLite store. The version is SQLite's {@code user_version}; each migration runs
 * in its own transaction with the version bump, so a crash mid-migration leaves the previous version intact.
 * Append new migrations; never edit a released one.
 */
final class Schema {
    /** One step from a version to the next, run inside the transaction that bumps the version. */
    @FunctionalInterface
    private interface Migration {
        void apply(Connection c) throws SQLException;
    }

    private static Migration sql(String... statements) {
        return c -> {
            try (Statement s = c.createStatement()) {
                for (String statement : statements) {
                    s.execute(statement);
                }
            }
        };
    }

    private static final List<Migration> MIGRATIONS = List.of(
            sql(
                "CREATE TABLE jobs ("
                        + " id TEXT PRIMARY KEY NOT NULL,"
                        + " owner TEXT NOT NULL,"
                        + " state TEXT NOT NULL,"
                        + " active INTEGER NOT NULL,"
                        + " submit_ms INTEGER NOT NULL,"
                        + " priority INTEGER NOT NULL,"
                        + " nodes INTEGER NOT NULL,"
                        + " cpus INTEGER NOT NULL,"
                        + " mem INTEGER NOT NULL,"
                        + " gpus INTEGER NOT NULL,"
                        + " time_limit_ms INTEGER,"
                        + " account TEXT NOT NULL,"
                        + " stop_intent TEXT,"
                        + " not_before_ms INTEGER,"
                        + " job_json TEXT NOT NULL"
                        + ") WITHOUT ROWID",
                "CREATE INDEX jobs_active ON jobs(id) WHERE active = 1",
                "CREATE TABLE events ("
                        + " seq INTEGER PRIMARY KEY,"
                        + " job_id TEXT NOT NULL,"
                        + " at_ms INTEGER NOT NULL,"
                        + " from_state TEXT,"
                        + " to_state TEXT NOT NULL,"
                        + " reason TEXT,"
                        + " details TEXT NOT NULL)",
                "CREATE INDEX events_job ON events(job_id, seq)"),
            // 2: scripts leave the job document for a table of their own, written once at submit: a transition no
            // longer rewrites a script of up to megabytes, and a listing reads none. Each row carries the job's size
            // (per-user stored bytes) and when it last changed (purging ended jobs).
            sql(
                "CREATE TABLE scripts (id TEXT PRIMARY KEY NOT NULL, script TEXT NOT NULL)",
                "INSERT INTO scripts(id, script) SELECT id, json_extract(job_json, '$.spec.script') FROM jobs"
                        + " WHERE json_type(job_json, '$.spec.script') = 'text'",
                "UPDATE jobs SET job_json = json_set(json_remove(job_json, '$.spec.script'),"
                        + " '$.spec.scriptOmitted', json('true'))"
                        + " WHERE json_type(job_json, '$.spec.script') = 'text'",
                "ALTER TABLE jobs ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE jobs ADD COLUMN updated_ms INTEGER NOT NULL DEFAULT 0",
                "UPDATE jobs SET bytes = length(job_json) + coalesce((SELECT length(script) FROM scripts"
                        + " WHERE scripts.id = jobs.id), 0),"
                        + " updated_ms = coalesce(CAST(round(julianday(json_extract(job_json, '$.updateTime'))"
                        + " * 86400000.0 - 210866760000000.0) AS INTEGER), submit_ms)",
                "CREATE INDEX jobs_owner ON jobs(owner, id)",
                "CREATE INDEX jobs_ended ON jobs(updated_ms) WHERE active = 0"),
            // 3: job documents leave the public records' reflected shape for the store's own versioned one
            // (JobDocument): renaming a record component can no longer drop stored data.
            DocumentMigration::rewrite,
            // 4: an idempotency key names one job per owner: a column of the job's row, so the key is written in the
            // transaction that stores the job and freed when a purge deletes it, with a unique index as the backstop
            // against a second job under the same key (no document before this version has a key). Node transitions
            // join the job events' sequence, and the highest sequence a purge deleted is kept, so that an engine
            // restarting after its newest jobs were purged never hands out a number a client has already seen.
            sql(
                "ALTER TABLE jobs ADD COLUMN idempotency_key TEXT",
                "CREATE UNIQUE INDEX jobs_idempotency ON jobs(owner, idempotency_key)"
                        + " WHERE idempotency_key IS NOT NULL",
                "CREATE TABLE node_events ("
                        + " seq INTEGER PRIMARY KEY,"
                        + " node TEXT NOT NULL,"
                        + " partition TEXT NOT NULL,"
                        + " at_ms INTEGER NOT NULL,"
                        + " from_state TEXT,"
                        + " to_state TEXT NOT NULL,"
                        + " details TEXT NOT NULL)",
                "CREATE INDEX node_events_node ON node_events(node, seq)",
                "CREATE TABLE purged_sequence (seq INTEGER NOT NULL)",
                "INSERT INTO purged_sequence(seq) VALUES (0)"),
            // 5: the cloud partitions the engine creates, uses and deletes for jobs, one row per partition with its
            // phase, so that an engine killed in any phase resumes it (and deletes what it created) on the next start.
            sql(
                "CREATE TABLE partitions ("
                        + " name TEXT PRIMARY KEY NOT NULL,"
                        + " job_id TEXT NOT NULL,"
                        + " phase TEXT NOT NULL,"
                        + " doc TEXT NOT NULL,"
                        + " updated_ms INTEGER NOT NULL)"),
            // 6: the backend job (Slurm's job id) of each job handed to a batch site, written with the job's move to
            // PROVISIONING, so that a restarted engine follows it by id instead of submitting the attempt again.
            sql(
                "CREATE TABLE batch_jobs ("
                        + " job_id TEXT PRIMARY KEY NOT NULL,"
                        + " attempt INTEGER NOT NULL,"
                        + " site TEXT NOT NULL,"
                        + " backend_id TEXT NOT NULL,"
                        + " submitted_ms INTEGER NOT NULL)"),
            // 7: job documents of format 2 (JobDocument.VERSION), which add container steps to a spec and step and
            // output logs to an attempt. A format 1 document is a format 2 one without them: only its "v" changes.
            // The schema moves with it so that an older Sky Port refuses the whole file up front instead of failing
            // on the first job with steps.
            sql(
                // A document that is not JSON is left to fail alone when read, as in schema 3.
                "UPDATE jobs SET job_json = json_set(job_json, '$.v', 2) WHERE CASE WHEN json_valid(job_json)"
                        + " THEN json_extract(job_json, '$.v') END = 1"));

    private Schema() {
    }

    /** The schema version this code writes. */
    static int current() {
        return MIGRATIONS.size();
    }

    /**
     * Refuses a file written by a newer Sky Port, reading its version on a connection that changes nothing (the
     * connections the store uses switch the file to WAL mode as they open).
     */
    static void refuseNewer(Path file) throws SQLException {
        if (!Files.exists(file)) {
            return;
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file)) {
            check(file, version(c));
        }
    }

    private static int version(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA user_version")) {
            return rs.next() ? rs.getInt(1) : 0;
        }
    }

    private static void check(Path file, int version) {
        if (version > current()) {
            throw new StorageException(file + " has schema version " + version + "; this Sky Port knows up to "
                    + current() + ". Use a newer Sky Port.", null);
        }
    }

    static void migrate(Connection c, Path file) throws SQLException {
        int version = version(c);
        check(file, version);
        for (int v = version; v < current(); v++) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                MIGRATIONS.get(v).apply(c);
                s.execute("PRAGMA user_version = " + (v + 1));
                c.commit();
            } catch (SQLException | RuntimeException e) {
                // Before setAutoCommit(true) below, which would commit a half-done migration.
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
    }
}
