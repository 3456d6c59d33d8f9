package dev.skyport.core.internal.store;

import dev.skyport.api.Job;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.StorageException;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.JobStoreContractTest;
import dev.skyport.core.store.JobStoreProvider;
import dev.skyport.core.store.StoredJob;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The contract, plus what is particular to the SQLite file: its journal mode, its schema and its version. */
class SqliteJobStoreTest extends JobStoreContractTest {
    private static final String FILE = "skyport.db";

    @Override
    protected JobStore openStore(Path dir) {
        return SqliteJobStore.open(dir);
    }

    /** A plain JDBC connection to the store's file, separate from every connection the store holds. */
    private static Connection connect(Path file) throws SQLException {
        return DriverManager.getConnection("jdbc:sqlite:" + file);
    }

    private static List<List<String>> rows(Connection c, String sql) throws SQLException {
        List<List<String>> rows = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= columns; i++) {
                    row.add(rs.getString(i));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    private static String single(Connection c, String sql) throws SQLException {
        return rows(c, sql).get(0).get(0);
    }

    /**
     * A new job's document is bound as UTF-8 bytes and cast to text: what is stored is text, byte for byte the
     * document (names in any script included), and SQLite's JSON functions read it, as listings by name do.
     */
    @Test
    void aNewJobsDocumentIsStoredAsTextThatJsonFunctionsRead() throws Exception {
        String name = "caf\u00e9 \u2713 \ud83d\ude00 \"quoted\"";
        Job job = queuedJob(newId(), "alice", minimalSpec().toBuilder().name(name).build(), T0);
        store.insertAsync(StoredJob.of(job), submitted(job)).get(30, java.util.concurrent.TimeUnit.SECONDS);
        Job other = queuedJob(newId(), "alice", fullSpec(), T0.plusSeconds(1));
        store.insert(StoredJob.of(other), submitted(other));

        try (Connection c = connect(dir.resolve(FILE))) {
            assertThat(rows(c, "SELECT typeof(job_json), json_extract(job_json, '$.spec.name'), job_json = ?"
                    .replace("?", "'" + JobDocument.write(job).replace("'", "''") + "'")
                    + " FROM jobs ORDER BY id"))
                    .containsExactly(List.of("text", name, "1"), List.of("text", other.spec().name(), "0"));
        }
        assertThat(store.find(job.id())).contains(StoredJob.of(job));
        assertThat(listAll(JobQuery.all().withNamePrefix("caf\u00e9 \u2713"))).containsExactly(job);
    }

    /**
     * With every insert queued at once the writer begins each transaction right after its last commit, so a checkpoint
     * on the other thread never catches up before it: only the writer's own checkpoints let SQLite restart the WAL.
     * Without them the WAL held every job written.
     */
    @Test
    void theWalStaysBoundedWhileTheWriterNeverPauses() throws Exception {
        int n = 100_000;
        List<java.util.concurrent.CompletableFuture<Void>> done = new ArrayList<>(n);
        List<Job> jobs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Job job = queuedJob(newId(), "alice", minimalSpec(), T0.plusMillis(i));
            jobs.add(job);
            done.add(store.insertAsync(StoredJob.of(job), submitted(job)));
        }
        java.util.concurrent.CompletableFuture.allOf(done.toArray(new java.util.concurrent.CompletableFuture[0]))
                .get(120, java.util.concurrent.TimeUnit.SECONDS);
        long wal = Files.size(dir.resolve(FILE + "-wal"));
        long database = Files.size(dir.resolve(FILE));
        assertThat(wal).as("the WAL's size beside the database's %d bytes", database).isLessThan(database / 2);
        assertThat(store.find(jobs.get(n - 1).id())).contains(StoredJob.of(jobs.get(n - 1)));
        assertThat(store.lastSequence()).isEqualTo(n);
    }

    /**
     * A checkpoint is due after as many bytes as SQLite's own would wait for, not only after a thousand writes: 48 jobs
     * of 1 MiB scripts, each its own commit, left a WAL of all 48 MiB when only writes were counted.
     */
    @Test
    void bigScriptsAreCheckpointedLongBeforeAThousandWrites() throws Exception {
        String script = "#!/bin/sh\n" + "#".repeat(1 << 20) + "\n";
        for (int i = 0; i < 48; i++) {
            Job job = queuedJob(newId(), "alice", JobSpec.script(script), T0.plusSeconds(i));
            store.insert(StoredJob.of(job), submitted(job));
        }
        assertThat(Files.size(dir.resolve(FILE + "-wal"))).isLessThan(24L << 20);
    }

    /**
     * Batch sizes around the number of rows one insert statement takes; every third job has a script ({@link
     * #specNumber}), so the last two give exactly one and one more than a statement's worth of scripts.
     */
    static List<Integer> sizesAroundTheRowsOfOneStatement() {
        int k = SqliteJobStore.ROWS_PER_STATEMENT;
        return List.of(1, k - 1, k, k + 1, 2 * k + 1, 3 * k + 1, 3 * k + 2);
    }

    /** Alternates a command job, a script job (a row in scripts too) and a full spec with an idempotency key. */
    private static JobSpec specNumber(int i) {
        return switch (i % 3) {
            case 0 -> minimalSpec();
            case 1 -> JobSpec.script("#!/bin/sh\necho " + i + "\n");
            default -> fullSpec().toBuilder().idempotencyKey("key-" + i).build();
        };
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("sizesAroundTheRowsOfOneStatement")
    void everyJobOfABatchReadsBackWithItsScriptAndEventWhateverItsSize(int size) {
        List<StoredJob> jobs = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            jobs.add(StoredJob.of(queuedJob(newId(), i % 2 == 0 ? "alice" : "bob", specNumber(i), T0.plusSeconds(i))));
        }
        List<dev.skyport.api.JobTransitioned> events = jobs.stream().map(j -> submitted(j.job())).toList();

        store.insertAll(jobs, events);

        for (int i = 0; i < size; i++) {
            assertThat(store.find(jobs.get(i).job().id())).as("job %d of %d", i, size).contains(jobs.get(i));
            assertThat(store.history(jobs.get(i).job().id())).containsExactly(events.get(i));
        }
        assertThat(listAll(JobQuery.all())).extracting(Job::id)
                .containsExactlyElementsOf(jobs.stream().map(j -> j.job().id()).toList());
        assertThat(store.lastSequence()).isEqualTo(events.get(size - 1).sequence());
    }

    /**
     * Asynchronous inserts queued together share a commit and its statements of many rows: one whose id exists and
     * one whose idempotency key its owner used fail, each alone, and every other is stored.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("sizesAroundTheRowsOfOneStatement")
    void aRowThatBreaksAConstraintFailsOnlyItsOwnInsert(int size) throws Exception {
        Job existing = queuedJob(newId(), "alice", fullSpec().toBuilder().idempotencyKey("taken").build(), T0);
        store.insert(StoredJob.of(existing), submitted(existing));
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            jobs.add(queuedJob(newId(), "alice", specNumber(i), T0.plusSeconds(1 + i)));
        }
        int sameId = size / 2;
        int sameKey = size - 1;
        jobs.set(sameId, queuedJob(existing.id(), "alice", minimalSpec(), T0.plusSeconds(1 + sameId)));
        if (size > 1) {
            jobs.set(sameKey, queuedJob(newId(), "alice", minimalSpec().toBuilder().idempotencyKey("taken").build(),
                    T0.plusSeconds(1 + sameKey)));
        }
        List<java.util.concurrent.CompletableFuture<Void>> done = new ArrayList<>();
        for (Job j : jobs) {
            done.add(store.insertAsync(StoredJob.of(j), submitted(j)));
        }

        for (int i = 0; i < size; i++) {
            java.util.concurrent.CompletableFuture<Void> f = done.get(i);
            if (i == sameId || (size > 1 && i == sameKey)) {
                assertThatThrownBy(() -> f.get(30, java.util.concurrent.TimeUnit.SECONDS)).as("insert %d", i)
                        .cause().isInstanceOf(IllegalArgumentException.class);
            } else {
                f.get(30, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(store.find(jobs.get(i).id())).as("insert %d", i).contains(StoredJob.of(jobs.get(i)));
                assertThat(store.history(jobs.get(i).id())).hasSize(1);
            }
        }
        assertThat(store.find(existing.id())).contains(StoredJob.of(existing));
        assertThat(store.history(existing.id())).hasSize(1);
        assertThat(listAll(JobQuery.all())).hasSize(1 + size - (size > 1 ? 2 : 1));
    }

    @Test
    void theFileIsInWalModeAtTheCurrentSchemaVersion() throws Exception {
        Job job = queuedJob(newId(), "alice", JobSpec.command("true"), T0);
        store.insert(StoredJob.of(job), submitted(job));

        try (Connection c = connect(dir.resolve(FILE))) {
            assertThat(single(c, "PRAGMA journal_mode")).isEqualTo("wal");
            assertThat(Integer.parseInt(single(c, "PRAGMA user_version"))).isEqualTo(Schema.current()).isPositive();
            assertThat(single(c, "SELECT count(*) FROM jobs")).isEqualTo("1");
        }
    }

    @Test
    void migrationCreatesTheExpectedTablesIndexesAndColumns() throws Exception {
        // The schema is a file format: released migrations are never edited (see Schema), so this list only grows.
        try (Connection c = connect(dir.resolve(FILE))) {
            assertThat(rows(c, "SELECT type, name, tbl_name FROM sqlite_master"
                    + " WHERE name NOT LIKE 'sqlite_%' ORDER BY name")).containsExactly(
                    List.of("table", "batch_jobs", "batch_jobs"),
                    List.of("table", "events", "events"),
                    List.of("index", "events_job", "events"),
                    List.of("table", "jobs", "jobs"),
                    List.of("index", "jobs_active", "jobs"),
                    List.of("index", "jobs_ended", "jobs"),
                    List.of("index", "jobs_idempotency", "jobs"),
                    List.of("index", "jobs_owner", "jobs"),
                    List.of("table", "node_events", "node_events"),
                    List.of("index", "node_events_node", "node_events"),
                    List.of("table", "partitions", "partitions"),
                    List.of("table", "purged_sequence", "purged_sequence"),
                    List.of("table", "scripts", "scripts"));
            assertThat(rows(c, "SELECT name FROM pragma_table_info('jobs') ORDER BY cid").stream().map(r -> r.get(0)))
                    .containsExactly("id", "owner", "state", "active", "submit_ms", "priority", "nodes", "cpus",
                            "mem", "gpus", "time_limit_ms", "account", "stop_intent", "not_before_ms", "job_json", "bytes", "updated_ms",
                            "idempotency_key");
            assertThat(rows(c, "SELECT name FROM pragma_table_info('events') ORDER BY cid").stream()
                    .map(r -> r.get(0)))
                    .containsExactly("seq", "job_id", "at_ms", "from_state", "to_state", "reason", "details");
            assertThat(rows(c, "SELECT name FROM pragma_table_info('node_events') ORDER BY cid").stream()
                    .map(r -> r.get(0)))
                    .containsExactly("seq", "node", "partition", "at_ms", "from_state", "to_state", "details");
            assertThat(rows(c, "SELECT name FROM pragma_table_info('partitions') ORDER BY cid").stream()
                    .map(r -> r.get(0)))
                    .containsExactly("name", "job_id", "phase", "doc", "updated_ms");
            assertThat(rows(c, "SELECT pk FROM pragma_table_info('jobs') WHERE name = 'id'")).containsExactly(
                    List.of("1"));
            assertThat(rows(c, "SELECT pk FROM pragma_table_info('events') WHERE name = 'seq'")).containsExactly(
                    List.of("1"));
        }
    }

    @Test
    void partitionRowsAreStoredReplacedListedAndDeleted() {
        dev.skyport.api.JobId job = newId();
        var first = new dev.skyport.core.store.StoredPartition("swm-0000abcd", job, "CREATING", "{\"a\":1}", T0);
        store.putPartition(first);
        assertThat(store.partitions()).containsExactly(first);
        var ready = new dev.skyport.core.store.StoredPartition("swm-0000abcd", job, "READY", "{\"a\":2}",
                T0.plusSeconds(5));
        store.putPartition(ready);
        assertThat(store.partitions()).containsExactly(ready);
        store.deletePartition("swm-0000abcd");
        store.deletePartition("swm-0000abcd"); // not there: no error
        assertThat(store.partitions()).isEmpty();
    }

    @Test
    void anExistingEmptyFileIsMigrated() throws Exception {
        Path other = dir.resolve("empty");
        Files.createDirectories(other);
        try (Connection c = connect(other.resolve(FILE)); Statement s = c.createStatement()) {
            s.execute("PRAGMA user_version = 0");
        }

        try (JobStore migrated = SqliteJobStore.open(other)) {
            Job job = queuedJob(newId(), "alice", JobSpec.command("true"), T0);
            migrated.insert(StoredJob.of(job), submitted(job));
            assertThat(migrated.list(JobQuery.all()).items()).containsExactly(job);
        }
        try (Connection c = connect(other.resolve(FILE))) {
            assertThat(Integer.parseInt(single(c, "PRAGMA user_version"))).isEqualTo(Schema.current());
        }
    }

    /**
     * A file of schema version 1, as the first release wrote it (the script inside the job's document, no size or
     * update columns, jobs owned by a name only), is migrated: every job reads back whole and lists without its script.
     */
    @Test
    void aVersionOneFileIsMigratedAndEveryJobReadsBackWhole() throws Exception {
        Path old = dir.resolve("v1");
        Files.createDirectories(old);
        String id = "0190a000-0000-7000-8000-000000000001";
        String json = "{\"id\":\"" + id + "\",\"owner\":\"carol\",\"spec\":{\"name\":\"old\","
                + "\"script\":\"#!/bin/sh\\necho old\\n\",\"command\":[],\"containerImage\":null,"
                + "\"cloudImage\":null,\"nodes\":1,\"cpus\":1,\"memoryBytes\":0,\"gpus\":0,\"flavor\":null,"
                + "\"remoteSite\":null,\"relocatable\":false,\"ports\":[],\"inputFiles\":[],\"outputFiles\":[],"
                + "\"workdir\":null,\"env\":{},\"account\":null,\"priority\":0,\"timeLimit\":null,"
                + "\"retryPolicy\":{\"maxAttempts\":3,\"initialBackoff\":\"PT10S\",\"maxBackoff\":\"PT10M\","
                + "\"deadline\":\"PT24H\",\"retryUserFailures\":false},\"tags\":{},\"comment\":\"\","
                + "\"submissionAddress\":null,\"storage\":null,\"warnings\":[]},\"state\":\"SUCCEEDED\","
                + "\"stateDetails\":\"Completed\",\"endReason\":\"COMPLETED\","
                + "\"submitTime\":\"2026-03-01T10:00:00Z\",\"updateTime\":\"2026-03-01T10:00:05.250Z\","
                + "\"attempts\":[]}";
        try (Connection c = connect(old.resolve(FILE)); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY NOT NULL, owner TEXT NOT NULL, state TEXT NOT NULL,"
                    + " active INTEGER NOT NULL, submit_ms INTEGER NOT NULL, priority INTEGER NOT NULL,"
                    + " nodes INTEGER NOT NULL, cpus INTEGER NOT NULL, mem INTEGER NOT NULL, gpus INTEGER NOT NULL,"
                    + " time_limit_ms INTEGER, account TEXT NOT NULL, stop_intent TEXT, not_before_ms INTEGER,"
                    + " job_json TEXT NOT NULL) WITHOUT ROWID");
            s.execute("CREATE INDEX jobs_active ON jobs(id) WHERE active = 1");
            s.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, job_id TEXT NOT NULL, at_ms INTEGER NOT NULL,"
                    + " from_state TEXT, to_state TEXT NOT NULL, reason TEXT, details TEXT NOT NULL)");
            s.execute("CREATE INDEX events_job ON events(job_id, seq)");
            s.execute("INSERT INTO jobs VALUES ('" + id + "', 'carol', 'SUCCEEDED', 0, 1772359200000, 0, 1, 1, 0, 0,"
                    + " NULL, '', NULL, NULL, '" + json + "')");
            s.execute("PRAGMA user_version = 1");
        }
        try (JobStore migrated = SqliteJobStore.open(old)) {
            Job job = migrated.find(dev.skyport.api.JobId.parse(id)).orElseThrow().job();
            assertThat(job.spec().script()).contains("#!/bin/sh\necho old\n");
            assertThat(job.spec().scriptOmitted()).isFalse();
            assertThat(job.owner()).isEqualTo("carol");
            assertThat(job.ownerName()).isEqualTo("carol");
            assertThat(migrated.list(JobQuery.all().withoutScripts()).items().get(0).spec().scriptOmitted()).isTrue();
            assertThat(migrated.list(JobQuery.all()).items()).containsExactly(job);
            assertThat(migrated.usageByOwner().get("carol").storedBytes()).isPositive();
            assertThat(migrated.endedBefore(java.time.Instant.parse("2026-03-01T10:00:05.251Z"), 5)).hasSize(1);
            assertThat(migrated.endedBefore(java.time.Instant.parse("2026-03-01T10:00:05.250Z"), 5)).isEmpty();
        }
    }

    @Test
    void aFullDiskFailsTheWriteWithStorageFullAndChangesNothing() {
        Path small = dir.resolve("small");
        try (JobStore full = SqliteJobStore.open(small, java.util.OptionalLong.of(64))) {
            String filler = "#!/bin/sh\n# " + "z".repeat(20_000) + "\n";
            List<Job> stored = new ArrayList<>();
            Throwable failure = null;
            for (int i = 0; i < 100 && failure == null; i++) {
                Job job = queuedJob(newId(), "alice", JobSpec.script(filler), T0);
                try {
                    full.insert(StoredJob.of(job), submitted(job));
                    stored.add(job);
                } catch (StorageException e) {
                    failure = e;
                    assertThat(full.find(job.id())).isEmpty();
                }
            }
            assertThat(failure).isInstanceOf(dev.skyport.api.StorageFullException.class)
                    .hasMessageContaining("full");
            assertThat(stored).isNotEmpty();
            // Everything acknowledged before is intact, and reads go on.
            assertThat(full.list(JobQuery.all().withLimit(JobQuery.MAX_LIMIT)).items()).containsExactlyElementsOf(stored);
            // A row and its event are one write: neither lands when the event does not fit.
            Job first = stored.get(0);
            Job ended = inState(first, dev.skyport.api.JobState.CANCELED, T0.plusSeconds(1));
            assertThatThrownBy(() -> full.update(StoredJob.of(ended), new dev.skyport.api.JobTransitioned(999_999,
                    T0.plusSeconds(1), first.id(), java.util.Optional.of(dev.skyport.api.JobState.QUEUED),
                    dev.skyport.api.JobState.CANCELED, java.util.Optional.empty(), "x".repeat(200_000))))
                    .isInstanceOf(dev.skyport.api.StorageFullException.class);
            assertThat(full.find(first.id()).orElseThrow().job()).isEqualTo(first);
        }
    }

    @Test
    void aFileFromANewerVersionIsRefusedAndLeftUnchanged() throws Exception {
        Path newer = dir.resolve("newer");
        Files.createDirectories(newer);
        Path file = newer.resolve(FILE);
        int future = 4242;
        try (Connection c = connect(file); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE jobs_v4242 (id TEXT PRIMARY KEY, doc TEXT)");
            s.execute("INSERT INTO jobs_v4242 VALUES ('0190a000-0000-7000-8000-000000000000', '{}')");
            s.execute("PRAGMA user_version = " + future);
        }
        byte[] before = Files.readAllBytes(file);
        List<Path> filesBefore = list(newer);

        assertThatThrownBy(() -> SqliteJobStore.open(newer).close())
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("version")
                .hasMessageContaining(String.valueOf(future));

        SoftAssertions softly = new SoftAssertions();
        // In the 100-byte header, offsets 18 and 19 are the journal mode (1 rollback, 2 WAL) and 24..27 the change
        // counter: a refused file must not have been switched to WAL or written at all.
        softly.assertThat(differences(before, Files.readAllBytes(file))).as("bytes changed in %s", file).isEmpty();
        // Files left behind (-wal, -shm) mean the refused open still holds a connection to the file.
        softly.assertThat(list(newer)).as("the files in %s", newer).isEqualTo(filesBefore);
        softly.assertAll();
        try (Connection c = connect(file)) {
            assertThat(Integer.parseInt(single(c, "PRAGMA user_version"))).isEqualTo(future);
            assertThat(rows(c, "SELECT name FROM sqlite_master WHERE type = 'table'"))
                    .containsExactly(List.of("jobs_v4242"));
        }
    }

    @Test
    void theProviderIsFoundByServiceLoaderUnderTheNameSqlite() {
        Map<String, JobStoreProvider> providers = new LinkedHashMap<>();
        ServiceLoader.load(JobStoreProvider.class).forEach(p -> providers.put(p.name(), p));

        assertThat(providers).containsKey("sqlite");
        assertThat(providers.get("sqlite")).isInstanceOf(SqliteJobStoreProvider.class);
        Path other = dir.resolve("by-provider");
        try (JobStore opened = providers.get("sqlite").open(other)) {
            assertThat(opened).isInstanceOf(SqliteJobStore.class);
            assertThat(opened.lastSequence()).isZero();
        }
        assertThat(other.resolve(FILE)).isRegularFile();
    }

    /** "offset N: before -> after" for every byte that differs, and a line for a change of length. */
    private static List<String> differences(byte[] before, byte[] after) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < Math.min(before.length, after.length); i++) {
            if (before[i] != after[i]) {
                out.add("offset " + i + ": " + (before[i] & 0xff) + " -> " + (after[i] & 0xff));
            }
        }
        if (before.length != after.length) {
            out.add("length: " + before.length + " -> " + after.length);
        }
        return out;
    }

    private static List<Path> list(Path directory) throws Exception {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(Path::getFileName).sorted().toList();
        }
    }
}
