package dev.skyport.core.internal.store;

import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.StorageFullException;
import dev.skyport.core.store.OwnerUsage;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.Page;
import dev.skyport.api.StorageException;
import dev.skyport.core.store.ActiveJob;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.StoredEvent;
import dev.skyport.core.store.StoredJob;
import dev.skyport.core.store.StoredBatchJob;
import dev.skyport.core.store.StoredPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The default {@link JobStore}: one SQLite file in WAL mode with {@code synchronous=FULL}, so a committed write
 * survives a crash of the process and of the machine.
 *
 * <p>Group commit: all writes go through one writer thread, which takes every write waiting in its queue and commits
 * them in one transaction (one fsync). Callers block until their write is durable. When a batch fails, its writes
 * are retried one transaction each, so one bad write fails alone.
 *
 * <p>Reads use a small pool of separate connections; WAL lets them run alongside the writer.
 *
 * <p>Checkpoints (copying the WAL's pages into the database file) run on a thread and connection of their own, while
 * the writer goes on with the next batch: on the writer they were a sixth of its cpu a job, and the writer is what
 * bounds asynchronous submits. A checkpoint that runs while the writer appends cannot let SQLite restart the WAL from
 * its beginning, so every {@link #WRITER_CHECKPOINT_EVERY}th time the writer checkpoints itself, between its commit
 * and its next transaction: by then the other thread has copied nearly everything, and the WAL stays bounded.
 */
public final class SqliteJobStore implements JobStore {
    private static final Logger LOG = LoggerFactory.getLogger(SqliteJobStore.class);
    private static final int MAX_BATCH = 4096;
    /**
     * New jobs' rows (and their events') go in by statements of this many rows, the rest of a batch one by one.
     * sqlite-jdbc crosses into native code for every statement's execution as well as for every bound value, so one
     * statement of 64 rows does in one step what 64 did. 64 rows of 18 values stay far below SQLite's limit of 32,766
     * bound values.
     */
    static final int ROWS_PER_STATEMENT = 64;
    /** The writer connection's page cache: room for a full batch's dirty pages and the B-trees' hot pages. */
    private static final int WRITER_CACHE_KIB = 16 * 1024;
    private static final int READERS = 4;
    /**
     * Writes committed between two checkpoints: SQLite checkpoints by itself every 1,000 WAL pages, about as many as
     * this many job inserts or updates write, or as {@link #CHECKPOINT_BYTES} of documents and scripts (a script may
     * be a megabyte).
     */
    private static final int CHECKPOINT_WRITES = 1024;
    private static final long CHECKPOINT_BYTES = 4L << 20;
    /** What a write adds to the WAL besides its document and script: rows, index entries, its event. */
    private static final int WRITE_OVERHEAD_BYTES = 256;
    /** Every how many checkpoints the writer runs one itself, so the WAL restarts (see the class comment). */
    static final int WRITER_CHECKPOINT_EVERY = 4;
    /** SQLite's primary result code for a full disk (or a file at its max_page_count). */
    private static final int SQLITE_FULL = 13;

    private final Path file;
    private final Connection writer;
    private final PreparedStatement insertJob;
    private final PreparedStatement updateJob;
    private final PreparedStatement insertEvent;
    private final PreparedStatement insertJobs;
    private final PreparedStatement insertEvents;
    /** The inserts of the writes being committed that have not been executed yet (writer thread only). */
    private final List<Insert> pendingInserts = new ArrayList<>();
    private final Statement control;
    private final PreparedStatement insertScript;
    private final PreparedStatement insertScripts;
    private final PreparedStatement purgeJob;
    private final PreparedStatement purgeScript;
    private final PreparedStatement purgeEvents;
    private final PreparedStatement keepPurgedSequence;
    private final PreparedStatement insertNodeEvent;
    private final PreparedStatement putPartition;
    private final PreparedStatement deletePartition;
    private final PreparedStatement purgeNodeEvents;
    private final PreparedStatement putBatchJob;
    private final PreparedStatement deleteBatchJob;
    private final BlockingQueue<Write> queue = new LinkedBlockingQueue<>();
    private final BlockingQueue<Connection> readers = new ArrayBlockingQueue<>(READERS);
    private final Thread writerThread;
    private final Connection checkpointer;
    private final Thread checkpointThread;
    /** Released by the writer when enough was committed since the last checkpoint; the checkpointer takes it. */
    private final java.util.concurrent.Semaphore checkpointWanted = new java.util.concurrent.Semaphore(0);
    private volatile boolean checkpointerStops;
    /**
     * Held while a checkpoint runs. SQLite lets one run at a time and refuses a second at once: the writer's would then
     * copy nothing and the WAL would not restart, so it waits for the other thread's to end (copying what the writer
     * would otherwise copy itself).
     */
    private final java.util.concurrent.locks.ReentrantLock checkpointing = new java.util.concurrent.locks.ReentrantLock();
    private int writesSinceCheckpoint;
    private long bytesSinceCheckpoint;
    private long checkpoints;
    /** The writer's last checkpoint did not copy every frame: the next one is the writer's again. */
    private boolean writerCheckpointPending;
    private volatile long lastCheckpointWarning;
    /** Held to enqueue a write, taken exclusively to close: no write is queued after the writer may have quit. */
    private final ReadWriteLock closeLock = new ReentrantReadWriteLock();
    private volatile boolean closing;
    private long commits;
    private long writes;

    private SqliteJobStore(Path file, Connection writer, OptionalLong maxPages) throws SQLException {
        this.file = file;
        this.writer = writer;
        Schema.migrate(writer, file);
        try (Statement s = writer.createStatement()) {
            // A commit of 4,096 new jobs dirties about 4 MB of pages. With SQLite's default cache of 2 MB the writer
            // spilled dirty pages to the WAL in mid-transaction and wrote the pages it went on changing again (and
            // read evicted ones back): pwrite was a third of its cpu. The cache is per connection, and only this one
            // writes.
            s.execute("PRAGMA cache_size = -" + WRITER_CACHE_KIB);
            // The checkpointer's thread checkpoints instead (see the class comment).
            s.execute("PRAGMA wal_autocheckpoint = 0");
            if (maxPages.isPresent()) {
                s.execute("PRAGMA max_page_count = " + maxPages.getAsLong());
            }
        }
        // Transactions are begun and ended by hand (see commit): the driver's own transaction handling loses track
        // when SQLite rolls a transaction back by itself, as it does on a full disk, and would then run the next
        // batch's statements one by one outside any transaction, storing a job row without its event.
        control = writer.createStatement();
        insertJob = writer.prepareStatement(INSERT_JOB + rows(1, JOB_ROW));
        updateJob = writer.prepareStatement("UPDATE jobs SET owner=?, state=?, active=?, submit_ms=?, priority=?,"
                + " nodes=?, cpus=?, mem=?, gpus=?, time_limit_ms=?, account=?, stop_intent=?, not_before_ms=?,"
                + " job_json=?, bytes=?, updated_ms=? WHERE id=?");
        insertScript = writer.prepareStatement(INSERT_SCRIPT + rows(1, SCRIPT_ROW));
        insertScripts = writer.prepareStatement(INSERT_SCRIPT + rows(ROWS_PER_STATEMENT, SCRIPT_ROW));
        purgeJob = writer.prepareStatement("DELETE FROM jobs WHERE id = ? AND active = 0");
        purgeScript = writer.prepareStatement("DELETE FROM scripts WHERE id = ?");
        purgeEvents = writer.prepareStatement("DELETE FROM events WHERE job_id = ?");
        keepPurgedSequence = writer.prepareStatement("UPDATE purged_sequence SET seq = max(seq,"
                + " coalesce((SELECT max(seq) FROM events WHERE job_id = ?), 0))");
        putPartition = writer.prepareStatement("INSERT OR REPLACE INTO partitions(name, job_id, phase, doc, updated_ms)"
                + " VALUES (?,?,?,?,?)");
        deletePartition = writer.prepareStatement("DELETE FROM partitions WHERE name = ?");
        putBatchJob = writer.prepareStatement("INSERT OR REPLACE INTO batch_jobs(job_id, attempt, site, backend_id,"
                + " submitted_ms) VALUES (?,?,?,?,?)");
        deleteBatchJob = writer.prepareStatement("DELETE FROM batch_jobs WHERE job_id = ?");
        insertNodeEvent = writer.prepareStatement("INSERT INTO node_events(seq, node, partition, at_ms, from_state,"
                + " to_state, details) VALUES (?,?,?,?,?,?,?)");
        purgeNodeEvents = writer.prepareStatement("DELETE FROM node_events WHERE at_ms < ?"
                + " AND seq NOT IN (SELECT max(seq) FROM node_events GROUP BY node)");
        insertEvent = writer.prepareStatement(INSERT_EVENT + rows(1, EVENT_ROW));
        insertJobs = writer.prepareStatement(INSERT_JOB + rows(ROWS_PER_STATEMENT, JOB_ROW));
        insertEvents = writer.prepareStatement(INSERT_EVENT + rows(ROWS_PER_STATEMENT, EVENT_ROW));
        try {
            for (int i = 0; i < READERS; i++) {
                readers.add(connect(file));
            }
            checkpointer = connect(file);
        } catch (SQLException e) {
            readers.forEach(SqliteJobStore::closeQuietly);
            throw e;
        }
        writerThread = new Thread(this::writeLoop, "skyport-store-writer");
        writerThread.setDaemon(true);
        writerThread.start();
        checkpointThread = new Thread(this::checkpointLoop, "skyport-store-checkpointer");
        checkpointThread.setDaemon(true);
        checkpointThread.start();
    }

    private static final String INSERT_JOB = "INSERT INTO jobs(id, owner, state, active, submit_ms, priority, nodes,"
            + " cpus, mem, gpus, time_limit_ms, account, stop_intent, not_before_ms, job_json, bytes, updated_ms,"
            + " idempotency_key) VALUES ";
    private static final String INSERT_EVENT = "INSERT INTO events(seq, job_id, at_ms, from_state, to_state, reason,"
            + " details) VALUES ";

    /**
     * A new job's values. The document is bound as its UTF-8 bytes, a blob that the cast makes text again, byte for
     * byte (the database's encoding is UTF-8): the same stored value as binding a String, without the writer thread
     * encoding one per job.
     */
    private static final String JOB_ROW = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,CAST(? AS TEXT),?,?,?)";
    private static final String EVENT_ROW = "(?,?,?,?,?,?,?)";
    private static final String INSERT_SCRIPT = "INSERT INTO scripts(id, script) VALUES ";
    private static final String SCRIPT_ROW = "(?,?)";

    /** {@code row} repeated {@code rows} times, comma-separated. */
    private static String rows(int rows, String row) {
        return String.join(",", java.util.Collections.nCopies(rows, row));
    }

    /**
     * Opens or creates {@code <dataDir>/skyport.db}, migrating its schema to the current version. A file written by a
     * newer Sky Port is refused before anything touches it.
     */
    public static SqliteJobStore open(Path dataDir) {
        return open(dataDir, OptionalLong.empty());
    }

    /** As {@link #open(Path)}, the file capped at {@code maxPages} pages: a full disk, for tests. */
    static SqliteJobStore open(Path dataDir, OptionalLong maxPages) {
        Connection writer = null;
        try {
            Files.createDirectories(dataDir);
            Path file = dataDir.resolve("skyport.db");
            if (!Files.exists(file)) {
                // The store holds every job's script; SQLite gives its -wal and -shm files the same permissions.
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            }
            Schema.refuseNewer(file);
            writer = connect(file);
            return new SqliteJobStore(file, writer, maxPages);
        } catch (SQLException | java.io.IOException e) {
            closeQuietly(writer);
            throw new StorageException("cannot open the job store in " + dataDir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(writer);
            throw e;
        }
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                LOG.warn("closing a store connection: {}", e.getMessage());
            }
        }
    }

    private static Connection connect(Path file) throws SQLException {
        Properties props = new Properties();
        // Every insert would otherwise run a second statement for a generated key nobody reads.
        props.setProperty("jdbc.get_generated_keys", "false");
        Connection c = DriverManager.getConnection("jdbc:sqlite:" + file, props);
        try (Statement s = c.createStatement()) {
            s.execute("PRAGMA busy_timeout=10000");
            s.execute("PRAGMA journal_mode=WAL");
            s.execute("PRAGMA synchronous=FULL");
        }
        return c;
    }

    // ---------------------------------------------------------------- writes

    private sealed interface Op permits Insert, Update, Purge, NodeEvent, PurgeNodeEvents, PutPartition,
            DeletePartition, PutBatchJob, DeleteBatchJob {
    }

    private record PutBatchJob(StoredBatchJob batch) implements Op {
    }

    private record DeleteBatchJob(JobId job) implements Op {
    }

    private record PutPartition(StoredPartition partition) implements Op {
    }

    private record DeletePartition(String name) implements Op {
    }

    private record NodeEvent(NodeTransitioned event) implements Op {
    }

    /** Deletes node events before {@code beforeMs} but each node's last; {@code deleted} says how many. */
    private record PurgeNodeEvents(long beforeMs, int[] deleted) implements Op {
    }

    /** Deletes an ended job, its script and its events; {@code deleted} says whether it was there and ended. */
    private record Purge(JobId id, boolean[] deleted) implements Op {
    }

    /** {@code json}, {@code id} and {@code size} are made on the caller's thread: the one writer thread only binds. */
    private record Insert(StoredJob job, byte[] json, JobTransitioned event, String id, long size) implements Op {
        static Insert of(StoredJob job, JobTransitioned event) {
            return new Insert(job, JobDocument.writeUtf8(job.job()), event, job.job().id().toString(), job.size());
        }
    }

    private record Update(StoredJob job, String json, JobTransitioned event) implements Op {
    }

    /**
     * Queued ops and how their caller learns the outcome. {@code async}: the caller holds {@code done} itself, so it
     * fails with the caller's exception; a blocking caller's join translates the writer's.
     */
    private record Write(List<Op> ops, CompletableFuture<Void> done, boolean async) {
        /** About what this write adds to the WAL: documents and scripts, and an allowance per op for the rest. */
        long bytes() {
            long n = 0;
            for (Op op : ops) {
                n += WRITE_OVERHEAD_BYTES;
                if (op instanceof Insert ins) {
                    n += ins.json.length + ins.job.job().spec().script().map(String::length).orElse(0);
                } else if (op instanceof Update up) {
                    n += up.json.length();
                }
            }
            return n;
        }

        void fail(Throwable failure) {
            done.completeExceptionally(async ? callerException(failure) : failure);
        }
    }

    /** A write that must fail alone: the id or idempotency key exists (insert) or the id does not (update). */
    private static final class Rejected extends RuntimeException {
        Rejected(String message) {
            super(message, null, false, false);
        }
    }

    // Callers serialise their JSON on their own threads, so the single writer only binds and commits.

    @Override
    public void insert(StoredJob job, JobTransitioned event) {
        submit(List.of(Insert.of(job, event)));
    }

    @Override
    public void insertAll(List<StoredJob> jobs, List<JobTransitioned> events) {
        if (jobs.size() != events.size()) {
            throw new IllegalArgumentException("one event per job");
        }
        List<Op> ops = new ArrayList<>(jobs.size());
        for (int i = 0; i < jobs.size(); i++) {
            ops.add(Insert.of(jobs.get(i), events.get(i)));
        }
        submit(ops);
    }

    @Override
    public void update(StoredJob job, JobTransitioned event) {
        submit(List.of(new Update(job, JobDocument.write(job.job()), event)));
    }

    @Override
    public void update(StoredJob job, JobTransitioned event, StoredBatchJob batch) {
        if (!batch.job().equals(job.job().id())) {
            throw new IllegalArgumentException("the batch row of job " + batch.job() + " given with job "
                    + job.job().id());
        }
        submit(List.of(new Update(job, JobDocument.write(job.job()), event), new PutBatchJob(batch)));
    }

    @Override
    public void deleteBatchJob(JobId job) {
        submit(List.of(new DeleteBatchJob(job)));
    }

    @Override
    public List<StoredBatchJob> batchJobs() {
        return read(c -> {
            List<StoredBatchJob> out = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT job_id, attempt, site, backend_id, submitted_ms FROM batch_jobs ORDER BY job_id")) {
                while (rs.next()) {
                    out.add(new StoredBatchJob(JobId.parse(rs.getString(1)), rs.getInt(2), rs.getString(3),
                            rs.getString(4), Instant.ofEpochMilli(rs.getLong(5))));
                }
            }
            return out;
        });
    }

    @Override
    public void insertNodeEvent(NodeTransitioned event) {
        submit(List.of(new NodeEvent(event)));
    }

    @Override
    public int purgeNodeEvents(Instant before) {
        int[] deleted = new int[1];
        submit(List.of(new PurgeNodeEvents(before.toEpochMilli(), deleted)));
        return deleted[0];
    }

    @Override
    public boolean purge(JobId id) {
        boolean[] deleted = new boolean[1];
        submit(List.of(new Purge(id, deleted)));
        return deleted[0];
    }

    @Override
    public CompletableFuture<Void> insertAsync(StoredJob job, JobTransitioned event) {
        try {
            // The writer completes this future itself: a second future per job to translate failures cost the
            // writer thread a completion more per job.
            return enqueue(List.of(Insert.of(job, event)), true).done;
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private void submit(List<Op> ops) {
        Write write = enqueue(ops, false);
        try {
            // Uninterruptible: the write is queued and will commit, so the caller must learn how it ended.
            write.done.join();
        } catch (CompletionException e) {
            throw callerException(e.getCause());
        }
    }

    private Write enqueue(List<Op> ops, boolean async) {
        Write write = new Write(ops, new CompletableFuture<>(), async);
        closeLock.readLock().lock();
        try {
            if (closing) {
                throw new StorageException("the job store is closed", null);
            }
            queue.add(write);
        } finally {
            closeLock.readLock().unlock();
        }
        return write;
    }

    private static RuntimeException callerException(Throwable cause) {
        if (cause instanceof Rejected) {
            return new IllegalArgumentException(cause.getMessage());
        }
        if (cause instanceof StorageException se) {
            return se;
        }
        return new StorageException("write failed: " + cause.getMessage(), cause);
    }

    private void writeLoop() {
        List<Write> batch = new ArrayList<>();
        while (true) {
            try {
                Write first = queue.poll(50, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closing) {
                        return;
                    }
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                commit(batch);
                commits++;
                writes += batch.size();
                afterCommit(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException | Error e) {
                LOG.error("job store writer failed", e);
                batch.forEach(w -> w.fail(e));
            } finally {
                batch.clear();
            }
        }
    }

    /**
     * Asks for a checkpoint once enough was written, and every so often runs it here (see the class comment); a turn of
     * the writer's that could not copy every frame (a reader's snapshot, the other thread's checkpoint running long) is
     * taken again at the next one instead of the checkpointer's.
     */
    private void afterCommit(List<Write> batch) {
        for (Write w : batch) {
            if (!w.done.isCompletedExceptionally()) {
                writesSinceCheckpoint++;
                bytesSinceCheckpoint += w.bytes();
            }
        }
        if (writesSinceCheckpoint < CHECKPOINT_WRITES && bytesSinceCheckpoint < CHECKPOINT_BYTES) {
            return;
        }
        writesSinceCheckpoint = 0;
        bytesSinceCheckpoint = 0;
        if (!writerCheckpointPending && ++checkpoints % WRITER_CHECKPOINT_EVERY != 0) {
            checkpointWanted.release();
            return;
        }
        writerCheckpointPending = !checkpoint(writer, CHECKPOINT_LOCK_WAIT_MILLIS);
    }

    /** How long the writer waits for the other thread's checkpoint before it leaves its own for the next turn. */
    private static final long CHECKPOINT_LOCK_WAIT_MILLIS = 1_000;

    /**
     * Copies what it can of the WAL into the database file through {@code connection}, after any other checkpoint
     * (waiting at most {@code waitMillis} for it): PASSIVE never waits for the writer or readers. True when every frame
     * was copied, so that the next write transaction restarts the WAL (unless a reader still reads from it).
     */
    private boolean checkpoint(Connection connection, long waitMillis) {
        try {
            if (!checkpointing.tryLock(waitMillis, TimeUnit.MILLISECONDS)) {
                return false;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
            // busy, frames in the WAL, frames copied
            return rs.next() && rs.getInt(1) == 0 && rs.getLong(3) >= rs.getLong(2);
        } catch (SQLException e) {
            // A full or failing disk fails every checkpoint: once a minute is enough to tell.
            long now = System.nanoTime();
            if (now - lastCheckpointWarning > TimeUnit.MINUTES.toNanos(1) || lastCheckpointWarning == 0) {
                lastCheckpointWarning = now;
                LOG.warn("checkpoint of {} failed: {}", file, e.getMessage());
            } else {
                LOG.debug("checkpoint of {} failed: {}", file, e.getMessage());
            }
            return false;
        } finally {
            checkpointing.unlock();
        }
    }

    /** Checkpoints when the writer asks, until the store closes. */
    private void checkpointLoop() {
        while (true) {
            checkpointWanted.acquireUninterruptibly();
            checkpointWanted.drainPermits();
            if (checkpointerStops) {
                return;
            }
            checkpoint(checkpointer, Long.MAX_VALUE);
        }
    }

    private void commit(List<Write> batch) {
        try {
            control.execute("BEGIN IMMEDIATE");
            pendingInserts.clear(); // none left by a batch that an Error ended
            for (Write w : batch) {
                apply(w);
            }
            flushInserts();
            control.execute("COMMIT");
            batch.forEach(w -> w.done.complete(null));
            return;
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly();
            if (batch.size() == 1) {
                batch.get(0).fail(translate(e));
                return;
            }
        }
        for (Write w : batch) {
            try {
                control.execute("BEGIN IMMEDIATE");
                apply(w);
                flushInserts();
                control.execute("COMMIT");
                w.done.complete(null);
            } catch (SQLException | RuntimeException e) {
                rollbackQuietly();
                w.fail(translate(e));
            }
        }
    }

    private static Throwable translate(Exception e) {
        if (e instanceof SQLException sql && sql.getMessage() != null && sql.getMessage().contains("PRIMARYKEY")) {
            return new Rejected("a job with this id exists");
        }
        if (e instanceof SQLException sql && sql.getMessage() != null
                && sql.getMessage().contains("jobs.idempotency_key")) {
            return new Rejected("the owner already has a job with this idempotency key");
        }
        if (e instanceof SQLException sql && (sql.getErrorCode() & 0xff) == SQLITE_FULL) {
            return new StorageFullException("the disk of the job store is full: " + sql.getMessage(), sql);
        }
        if (e instanceof SQLException sql) {
            return new StorageException("SQLite: " + sql.getMessage(), sql);
        }
        return e;
    }

    private void rollbackQuietly() {
        pendingInserts.clear();
        try {
            control.execute("ROLLBACK");
        } catch (SQLException e) {
            // After some errors (a full disk, an I/O error) SQLite has rolled the transaction back itself.
            if (e.getMessage() == null || !e.getMessage().contains("no transaction is active")) {
                LOG.warn("rollback failed: {}", e.getMessage());
            }
        }
    }

    private void apply(Write w) throws SQLException {
        for (Op op : w.ops) {
            if (op instanceof Insert ins) {
                // Kept to be inserted with the inserts that follow; any other op first executes those before it.
                pendingInserts.add(ins);
                continue;
            }
            flushInserts();
            if (op instanceof Update up) {
                int next = bindJob(updateJob, up.job, up.json, up.job.size(), 1);
                updateJob.setString(next, up.job.job().id().toString());
                if (updateJob.executeUpdate() != 1) {
                    throw new Rejected("no job " + up.job.job().id());
                }
                bindEvent(insertEvent, 1, up.event, up.event.jobId().toString());
                insertEvent.executeUpdate();
            } else if (op instanceof Purge purge) {
                // Before the job's events go: the next engine continues after the highest sequence ever stored.
                keepPurgedSequence.setString(1, purge.id.toString());
                keepPurgedSequence.executeUpdate();
                purgeJob.setString(1, purge.id.toString());
                if (purgeJob.executeUpdate() == 1) {
                    purgeScript.setString(1, purge.id.toString());
                    purgeScript.executeUpdate();
                    purgeEvents.setString(1, purge.id.toString());
                    purgeEvents.executeUpdate();
                    deleteBatchJob.setString(1, purge.id.toString());
                    deleteBatchJob.executeUpdate();
                    purge.deleted[0] = true;
                }
            } else if (op instanceof NodeEvent node) {
                NodeTransitioned e = node.event;
                insertNodeEvent.setLong(1, e.sequence());
                insertNodeEvent.setString(2, e.node());
                insertNodeEvent.setString(3, e.partition());
                insertNodeEvent.setLong(4, e.time().toEpochMilli());
                insertNodeEvent.setString(5, e.from().map(StoredNames::of).orElse(null));
                insertNodeEvent.setString(6, StoredNames.of(e.to()));
                insertNodeEvent.setString(7, e.details());
                insertNodeEvent.executeUpdate();
            } else if (op instanceof PutPartition put) {
                StoredPartition p = put.partition;
                putPartition.setString(1, p.name());
                putPartition.setString(2, p.job().toString());
                putPartition.setString(3, p.phase());
                putPartition.setString(4, p.document());
                putPartition.setLong(5, p.updated().toEpochMilli());
                putPartition.executeUpdate();
            } else if (op instanceof PutBatchJob put) {
                StoredBatchJob b = put.batch;
                putBatchJob.setString(1, b.job().toString());
                putBatchJob.setInt(2, b.attempt());
                putBatchJob.setString(3, b.site());
                putBatchJob.setString(4, b.backendId());
                putBatchJob.setLong(5, b.submitted().toEpochMilli());
                putBatchJob.executeUpdate();
            } else if (op instanceof DeleteBatchJob del) {
                deleteBatchJob.setString(1, del.job.toString());
                deleteBatchJob.executeUpdate();
            } else if (op instanceof DeletePartition del) {
                deletePartition.setString(1, del.name);
                deletePartition.executeUpdate();
            } else if (op instanceof PurgeNodeEvents p) {
                purgeNodeEvents.setLong(1, p.beforeMs);
                p.deleted[0] = purgeNodeEvents.executeUpdate();
            }
        }
    }

    /**
     * Executes the pending inserts: their job rows, then scripts, then events, in statements of
     * {@link #ROWS_PER_STATEMENT} rows while that many remain. A constraint that fails fails the statement, and so the
     * transaction; {@link #commit} then retries each write alone.
     */
    private void flushInserts() throws SQLException {
        List<Insert> inserts = pendingInserts;
        if (inserts.isEmpty()) {
            return;
        }
        insertRows(inserts, insertJobs, insertJob, SqliteJobStore::bindNewJob);
        // Most jobs have a script: a statement each was a third of the writer's statements.
        List<Insert> scripted = new ArrayList<>(inserts.size());
        for (Insert ins : inserts) {
            if (ins.job.job().spec().script().isPresent()) {
                scripted.add(ins);
            }
        }
        insertRows(scripted, insertScripts, insertScript, SqliteJobStore::bindScript);
        insertRows(inserts, insertEvents, insertEvent, (ps, at, ins) -> bindEvent(ps, at, ins.event, ins.id));
        inserts.clear();
    }

    /** Binds one row made from an insert from parameter {@code at} on; returns the next parameter's index. */
    @FunctionalInterface
    private interface RowBinder {
        int bind(PreparedStatement ps, int at, Insert ins) throws SQLException;
    }

    /**
     * Inserts a row per item of {@code rows}: {@code many} (a statement of {@link #ROWS_PER_STATEMENT} rows) while that
     * many remain, then {@code one} for each of the rest.
     */
    private static void insertRows(List<Insert> rows, PreparedStatement many, PreparedStatement one, RowBinder binder)
            throws SQLException {
        int n = rows.size();
        int i = 0;
        for (; i + ROWS_PER_STATEMENT <= n; i += ROWS_PER_STATEMENT) {
            int next = 1;
            for (int k = i; k < i + ROWS_PER_STATEMENT; k++) {
                next = binder.bind(many, next, rows.get(k));
            }
            many.executeUpdate();
        }
        for (; i < n; i++) {
            binder.bind(one, 1, rows.get(i));
            one.executeUpdate();
        }
    }

    /** Binds a new job's 18 columns from parameter {@code at} on; returns the next parameter's index. */
    private static int bindNewJob(PreparedStatement ps, int at, Insert ins) throws SQLException {
        ps.setString(at, ins.id);
        int next = bindJob(ps, ins.job, ins.json, ins.size, at + 1);
        ps.setString(next, ins.job.job().spec().idempotencyKey().orElse(null));
        return next + 1;
    }

    /**
     * Binds a job's columns but its id and idempotency key (16 of them, in the order of the insert and the update) from
     * parameter {@code at} on; returns the next parameter's index. {@code json} is the document, a String or (for
     * an insert) its UTF-8 bytes.
     */
    private static int bindJob(PreparedStatement ps, StoredJob stored, Object json, long size, int at)
            throws SQLException {
        Job job = stored.job();
        int i = at;
        ps.setString(i++, job.owner());
        ps.setString(i++, StoredNames.of(job.state()));
        ps.setInt(i++, job.state().isTerminal() ? 0 : 1);
        ps.setLong(i++, job.submitTime().toEpochMilli());
        ps.setInt(i++, job.spec().priority());
        ps.setInt(i++, job.spec().nodes());
        ps.setInt(i++, job.spec().cpus());
        ps.setLong(i++, job.spec().memoryBytes());
        ps.setInt(i++, job.spec().gpus());
        if (job.spec().timeLimit().isPresent()) {
            ps.setLong(i++, job.spec().timeLimit().get().toMillis());
        } else {
            ps.setNull(i++, Types.INTEGER);
        }
        ps.setString(i++, job.spec().account().orElse(""));
        ps.setString(i++, stored.stopIntent().map(StoredNames::of).orElse(null));
        if (stored.notBefore().isPresent()) {
            ps.setLong(i++, stored.notBefore().get().toEpochMilli());
        } else {
            ps.setNull(i++, Types.INTEGER);
        }
        if (json instanceof byte[] utf8) {
            ps.setBytes(i++, utf8);
        } else {
            ps.setString(i++, (String) json);
        }
        ps.setLong(i++, size);
        ps.setLong(i++, job.updateTime().toEpochMilli());
        return i;
    }

    /** Binds a new job's script row from parameter {@code at} on; returns the next parameter's index. */
    private static int bindScript(PreparedStatement ps, int at, Insert ins) throws SQLException {
        ps.setString(at, ins.id);
        ps.setString(at + 1, ins.job.job().spec().script().orElseThrow());
        return at + 2;
    }

    /** Binds an event's 7 columns from parameter {@code at} on; returns the next parameter's index. */
    private static int bindEvent(PreparedStatement ps, int at, JobTransitioned e, String jobId) throws SQLException {
        int i = at;
        ps.setLong(i++, e.sequence());
        ps.setString(i++, jobId);
        ps.setLong(i++, e.time().toEpochMilli());
        ps.setString(i++, e.from().map(StoredNames::of).orElse(null));
        ps.setString(i++, StoredNames.of(e.to()));
        ps.setString(i++, e.endReason().map(StoredNames::of).orElse(null));
        ps.setString(i++, e.details());
        return i;
    }

    // ---------------------------------------------------------------- reads

    @FunctionalInterface
    private interface Query<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T read(Query<T> query) {
        if (closing) {
            throw new StorageException("the job store is closed", null);
        }
        Connection c;
        try {
            c = readers.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted while waiting for a store connection", e);
        }
        try {
            return query.run(c);
        } catch (SQLException e) {
            throw new StorageException("SQLite: " + e.getMessage(), e);
        } finally {
            readers.add(c);
        }
    }

    @Override
    public Optional<StoredJob> find(JobId id) {
        return read(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT j.job_json, j.stop_intent, j.not_before_ms, s.script FROM jobs j"
                            + " LEFT JOIN scripts s ON s.id = j.id WHERE j.id = ?")) {
                ps.setString(1, id.toString());
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    String intent = rs.getString(2);
                    long notBefore = rs.getLong(3);
                    boolean hasNotBefore = !rs.wasNull();
                    String script = rs.getString(4);
                    return Optional.of(new StoredJob(JobDocument.read(rs.getString(1), script),
                            Optional.ofNullable(intent).map(StoredNames::stopIntent),
                            hasNotBefore ? Optional.of(Instant.ofEpochMilli(notBefore)) : Optional.empty()));
                }
            }
        });
    }

    @Override
    public Page<Job> list(JobQuery query) {
        query.pageToken().ifPresent(token -> {
            try {
                JobId.parse(token);
            } catch (InvalidJobSpecException e) {
                throw new InvalidJobSpecException("pageToken", "not a page token of this store");
            }
        });
        StringBuilder sql = new StringBuilder(query.withScripts()
                ? "SELECT j.job_json, s.script FROM jobs j LEFT JOIN scripts s ON s.id = j.id WHERE 1=1"
                : "SELECT j.job_json, NULL FROM jobs j WHERE 1=1");
        List<String> args = new ArrayList<>();
        if (!query.states().isEmpty()) {
            sql.append(" AND j.state IN (");
            for (JobState s : query.states()) {
                sql.append(args.isEmpty() ? "?" : ",?");
                args.add(StoredNames.of(s));
            }
            sql.append(')');
        }
        query.owner().ifPresent(o -> {
            sql.append(" AND j.owner = ?");
            args.add(o);
        });
        query.namePrefix().ifPresent(prefix -> {
            // substr, not LIKE or GLOB: a name may hold their wildcards, and both fold or escape in ways a user's
            // text must not reach. SQLite counts both lengths in characters, so the comparison is exact.
            sql.append(" AND substr(json_extract(j.job_json, '$.spec.name'), 1, length(?)) = ?");
            args.add(prefix);
            args.add(prefix);
        });
        for (Map.Entry<String, String> tag : query.tags().entrySet()) {
            // json_each rather than a JSON path built from the key, which may hold any character.
            sql.append(" AND EXISTS (SELECT 1 FROM json_each(j.job_json, '$.spec.tags') t"
                    + " WHERE t.key = ? AND t.type = 'text' AND t.value = ?)");
            args.add(tag.getKey());
            args.add(tag.getValue());
        }
        query.pageToken().ifPresent(t -> {
            sql.append(" AND j.id > ?");
            args.add(t);
        });
        sql.append(" ORDER BY j.id LIMIT ").append(query.limit() + 1);
        return read(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
                for (int i = 0; i < args.size(); i++) {
                    ps.setString(i + 1, args.get(i));
                }
                List<Job> jobs = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        jobs.add(JobDocument.read(rs.getString(1), rs.getString(2)));
                    }
                }
                if (jobs.size() > query.limit()) {
                    jobs.remove(jobs.size() - 1);
                    return new Page<>(jobs, Optional.of(jobs.get(jobs.size() - 1).id().toString()));
                }
                return new Page<>(jobs, Optional.empty());
            }
        });
    }

    @Override
    public List<ActiveJob> active() {
        return read(c -> {
            List<ActiveJob> out = new ArrayList<>();
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT id, owner, state, submit_ms, priority, nodes, cpus, mem, gpus,"
                         + " time_limit_ms, account, not_before_ms FROM jobs WHERE active = 1 ORDER BY id")) {
                while (rs.next()) {
                    long limit = rs.getLong(10);
                    Optional<Duration> timeLimit = rs.wasNull() ? Optional.empty() : Optional.of(Duration.ofMillis(limit));
                    long notBefore = rs.getLong(12);
                    Optional<Instant> nb = rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(notBefore));
                    out.add(new ActiveJob(JobId.parse(rs.getString(1)), rs.getString(2), StoredNames.state(rs.getString(3)),
                            Instant.ofEpochMilli(rs.getLong(4)), rs.getInt(5), rs.getInt(6), rs.getInt(7), rs.getLong(8),
                            rs.getInt(9), timeLimit, rs.getString(11), nb));
                }
            }
            return out;
        });
    }

    @Override
    public Map<String, OwnerUsage> usageByOwner() {
        return read(c -> {
            Map<String, OwnerUsage> out = new HashMap<>();
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT owner, sum(active), sum(bytes) FROM jobs GROUP BY owner")) {
                while (rs.next()) {
                    out.put(rs.getString(1), new OwnerUsage(rs.getLong(2), rs.getLong(3)));
                }
            }
            return out;
        });
    }

    @Override
    public List<JobId> endedBefore(Instant before, int max) {
        return read(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id FROM jobs WHERE active = 0 AND updated_ms < ? ORDER BY updated_ms LIMIT ?")) {
                ps.setLong(1, before.toEpochMilli());
                ps.setInt(2, max);
                List<JobId> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(JobId.parse(rs.getString(1)));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public List<JobTransitioned> history(JobId id) {
        return read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT seq, at_ms, from_state, to_state, reason, details"
                    + " FROM events WHERE job_id = ? ORDER BY seq")) {
                ps.setString(1, id.toString());
                List<JobTransitioned> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String from = rs.getString(3);
                        String reason = rs.getString(5);
                        out.add(new JobTransitioned(rs.getLong(1), Instant.ofEpochMilli(rs.getLong(2)), id,
                                Optional.ofNullable(from).map(StoredNames::state), StoredNames.state(rs.getString(4)),
                                Optional.ofNullable(reason).map(StoredNames::endReason), rs.getString(6)));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public Optional<JobId> findByIdempotencyKey(String owner, String key) {
        return read(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id FROM jobs WHERE owner = ? AND idempotency_key = ?")) {
                ps.setString(1, owner);
                ps.setString(2, key);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(JobId.parse(rs.getString(1))) : Optional.empty();
                }
            }
        });
    }

    @Override
    public void putPartition(StoredPartition partition) {
        submit(List.of(new PutPartition(partition)));
    }

    @Override
    public void deletePartition(String name) {
        submit(List.of(new DeletePartition(name)));
    }

    @Override
    public List<StoredPartition> partitions() {
        return read(c -> {
            List<StoredPartition> out = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT name, job_id, phase, doc, updated_ms FROM partitions ORDER BY name")) {
                while (rs.next()) {
                    out.add(new StoredPartition(rs.getString(1), JobId.parse(rs.getString(2)), rs.getString(3),
                            rs.getString(4), Instant.ofEpochMilli(rs.getLong(5))));
                }
            }
            return out;
        });
    }

    @Override
    public Map<String, NodeTransitioned> lastNodeEvents() {
        return read(c -> {
            Map<String, NodeTransitioned> out = new HashMap<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT seq, at_ms, node, partition, from_state, to_state, details FROM node_events"
                            + " WHERE seq IN (SELECT max(seq) FROM node_events GROUP BY node)")) {
                while (rs.next()) {
                    NodeTransitioned e = nodeEvent(rs);
                    out.put(e.node(), e);
                }
            }
            return out;
        });
    }

    private static NodeTransitioned nodeEvent(ResultSet rs) throws SQLException {
        String from = rs.getString(5);
        return new NodeTransitioned(rs.getLong(1), Instant.ofEpochMilli(rs.getLong(2)), rs.getString(3),
                rs.getString(4), Optional.ofNullable(from).map(StoredNames::nodeState),
                StoredNames.nodeState(rs.getString(6)), rs.getString(7));
    }

    @Override
    public List<StoredEvent> eventsAfter(long after, long upTo, int max) {
        if (max < 1 || upTo <= after) {
            return List.of();
        }
        return read(c -> {
            // Each table by its primary key with its own limit, merged here: a UNION ordered by sequence would sort
            // the whole range on every page of a long replay.
            List<StoredEvent> jobs = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT e.seq, e.at_ms, e.job_id, e.from_state,"
                    + " e.to_state, e.reason, e.details, j.owner FROM events e JOIN jobs j ON j.id = e.job_id"
                    + " WHERE e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?")) {
                ps.setLong(1, after);
                ps.setLong(2, upTo);
                ps.setInt(3, max);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String from = rs.getString(4);
                        String reason = rs.getString(6);
                        jobs.add(StoredEvent.of(new JobTransitioned(rs.getLong(1), Instant.ofEpochMilli(rs.getLong(2)),
                                JobId.parse(rs.getString(3)), Optional.ofNullable(from).map(StoredNames::state),
                                StoredNames.state(rs.getString(5)),
                                Optional.ofNullable(reason).map(StoredNames::endReason), rs.getString(7)),
                                rs.getString(8)));
                    }
                }
            }
            List<StoredEvent> nodes = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT seq, at_ms, node, partition, from_state, to_state,"
                    + " details FROM node_events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?")) {
                ps.setLong(1, after);
                ps.setLong(2, upTo);
                ps.setInt(3, max);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        nodes.add(StoredEvent.of(nodeEvent(rs)));
                    }
                }
            }
            List<StoredEvent> out = new ArrayList<>(Math.min(max, jobs.size() + nodes.size()));
            int i = 0;
            int k = 0;
            while (out.size() < max && (i < jobs.size() || k < nodes.size())) {
                boolean job = k == nodes.size() || (i < jobs.size()
                        && jobs.get(i).event().sequence() < nodes.get(k).event().sequence());
                out.add(job ? jobs.get(i++) : nodes.get(k++));
            }
            return out;
        });
    }

    @Override
    public long lastSequence() {
        return read(c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT max(coalesce((SELECT max(seq) FROM events), 0),"
                            + " coalesce((SELECT max(seq) FROM node_events), 0),"
                            + " (SELECT seq FROM purged_sequence))")) {
                return rs.next() ? rs.getLong(1) : 0L;
            }
        });
    }

    @Override
    public void close() {
        closeLock.writeLock().lock();
        try {
            if (closing) {
                return;
            }
            closing = true;
        } finally {
            closeLock.writeLock().unlock();
        }
        try {
            writerThread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        checkpointerStops = true;
        checkpointWanted.release();
        try {
            checkpointThread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.debug("{}: {} writes in {} commits", file, writes, commits);
        List<Connection> all = new ArrayList<>();
        readers.drainTo(all);
        all.add(checkpointer);
        // Last: the last connection to close checkpoints what is left and removes the WAL.
        all.add(writer);
        for (Connection c : all) {
            try {
                c.close();
            } catch (SQLException e) {
                LOG.warn("closing {}: {}", file, e.getMessage());
            }
        }
    }
}
