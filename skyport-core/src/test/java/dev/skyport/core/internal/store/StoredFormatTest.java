package dev.skyport.core.internal.store;

import dev.skyport.api.Attempt;
import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.OutputLog;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;
import dev.skyport.api.StorageException;
import dev.skyport.core.store.ActiveJob;
import dev.skyport.core.store.OwnerUsage;
import dev.skyport.core.store.StoredEvent;
import dev.skyport.core.store.StoredJob;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The store's file format over versions. {@code src/test/resources/store/schema-N.sqlite} is a store file that the
 * release with schema version N wrote with {@link GoldenStoreWriter}, holding the {@link GoldenJobs}: every later
 * version must read each of them back equal, field for field, to the same jobs built in Java. A golden file is never
 * written again; a new schema version adds its own.
 */
class StoredFormatTest {
    /** The first schema version with a golden file: version 2, the last one storing the public records' shape. */
    private static final int FIRST_GOLDEN = 2;

    @TempDir
    Path dir;

    static IntStream goldenVersions() {
        return IntStream.rangeClosed(FIRST_GOLDEN, Schema.current());
    }

    @ParameterizedTest(name = "schema {0}")
    @MethodSource("goldenVersions")
    void everyGoldenFileReadsBackFieldForFieldAsTheJobsBuiltInJava(int version) throws Exception {
        Path data = copyGolden(version);
        try (SqliteJobStore store = SqliteJobStore.open(data)) {
            for (StoredJob expected : GoldenJobs.all(version)) {
                StoredJob found = store.find(expected.job().id()).orElseThrow();
                // The recursive comparison names the first field that differs (spec.retryPolicy.deadline, ...).
                assertThat(found).usingRecursiveComparison().isEqualTo(expected);
                assertThat(found).isEqualTo(expected);
                assertThat(List.copyOf(found.job().spec().env().keySet()))
                        .containsExactlyElementsOf(expected.job().spec().env().keySet());
                assertThat(List.copyOf(found.job().spec().tags().keySet()))
                        .containsExactlyElementsOf(expected.job().spec().tags().keySet());
                assertThat(store.history(expected.job().id())).usingRecursiveFieldByFieldElementComparator()
                        .containsExactlyElementsOf(events(version, expected.job().id()));
            }
            List<Job> all = GoldenJobs.all(version).stream().map(StoredJob::job).toList();
            assertThat(store.list(JobQuery.all()).items()).containsExactlyElementsOf(all);
            assertThat(store.list(JobQuery.all().withoutScripts()).items())
                    .containsExactlyElementsOf(all.stream().map(StoredFormatTest::listedWithoutScript).toList());
            assertThat(store.active()).containsExactly(activeRow(GoldenJobs.command()),
                    activeRow(GoldenJobs.stopping()));
            List<NodeTransitioned> nodeEvents = GoldenJobs.nodeEvents(version);
            assertThat(store.lastSequence()).isEqualTo(GoldenJobs.events(version).size() + nodeEvents.size());
            List<StoredEvent> expectedEvents = new ArrayList<>();
            for (JobTransitioned e : GoldenJobs.events(version)) {
                String owner = GoldenJobs.all(version).stream().map(StoredJob::job)
                        .filter(j -> j.id().equals(e.jobId())).findFirst().orElseThrow().owner();
                expectedEvents.add(StoredEvent.of(e, owner));
            }
            nodeEvents.forEach(e -> expectedEvents.add(StoredEvent.of(e)));
            expectedEvents.sort(java.util.Comparator.comparingLong(e -> e.event().sequence()));
            assertThat(store.eventsAfter(0, store.lastSequence(), 100)).usingRecursiveFieldByFieldElementComparator()
                    .containsExactlyElementsOf(expectedEvents);
            Map<String, NodeTransitioned> lastOfEachNode = new LinkedHashMap<>();
            nodeEvents.forEach(e -> lastOfEachNode.put(e.node(), e));
            assertThat(store.lastNodeEvents()).isEqualTo(lastOfEachNode);
            assertThat(store.batchJobs()).isEqualTo(GoldenJobs.batchJobs(version));
            assertThat(store.findByIdempotencyKey(GoldenJobs.OWNER_ID, GoldenJobs.FULL_KEY))
                    .isEqualTo(version >= GoldenJobs.KEYS_AND_NODE_EVENTS ? Optional.of(GoldenJobs.FULL)
                            : Optional.empty());
            Map<String, OwnerUsage> usage = store.usageByOwner();
            assertThat(usage.get(GoldenJobs.OWNER_ID)).isEqualTo(new OwnerUsage(1,
                    GoldenJobs.full(version).size() + GoldenJobs.stopping().size()));
            assertThat(usage.get("bob")).isEqualTo(new OwnerUsage(1, GoldenJobs.command().size()));
        }
        try (Connection c = connect(data)) {
            assertThat(single(c, "PRAGMA user_version")).isEqualTo(String.valueOf(Schema.current()));
            assertThat(single(c, "SELECT count(*) FROM jobs WHERE json_extract(job_json, '$.v') = "
                    + JobDocument.VERSION)).as("documents in the current format")
                    .isEqualTo(String.valueOf(GoldenJobs.all(version).size()));
        }
    }

    /**
     * The current schema version has its golden file, and this code writes the very documents it holds: a change to
     * the document's shape must come with a new format version, a migration and a new golden file.
     */
    @Test
    void theCurrentVersionHasAGoldenFileAndWritesItsDocumentsByteForByte() throws Exception {
        assertThat(StoredFormatTest.class.getResource(golden(Schema.current())))
                .as("%s: write it with GoldenStoreWriter when releasing schema %d", golden(Schema.current()),
                        Schema.current())
                .isNotNull();
        try (Connection c = connect(copyGolden(Schema.current()))) {
            for (StoredJob expected : GoldenJobs.all()) {
                assertThat(document(c, expected.job().id())).isEqualTo(JobDocument.write(expected.job()));
            }
        }
    }

    /**
     * The golden jobs use every component of every record the document maps, each with at least two values, and
     * every optional or collection component present at least once: a component added to a record (even behind a
     * constructor that keeps the old signature) fails here until the golden jobs use it, and then fails the golden
     * comparison until the document maps it.
     */
    @Test
    void theGoldenJobsUseEveryComponentOfTheStoredRecords() throws Exception {
        Map<Class<?>, List<Object>> instances = new LinkedHashMap<>();
        List<Object> roots = new ArrayList<>();
        for (StoredJob s : GoldenJobs.all()) {
            roots.add(s);
            roots.add(new StoredJob(listedWithoutScript(s.job()), s.stopIntent(), s.notBefore()));
        }
        roots.addAll(GoldenJobs.events());
        roots.addAll(GoldenJobs.nodeEvents(Schema.current()));
        for (Object root : roots) {
            collect(root, instances);
        }
        List<String> unused = new ArrayList<>();
        for (Map.Entry<Class<?>, List<Object>> e : instances.entrySet()) {
            for (RecordComponent rc : e.getKey().getRecordComponents()) {
                Set<Object> values = new HashSet<>();
                boolean present = false;
                for (Object instance : e.getValue()) {
                    Object v = rc.getAccessor().invoke(instance);
                    values.add(v);
                    present |= isPresent(v);
                }
                if (values.size() < 2 || !present) {
                    unused.add(e.getKey().getSimpleName() + "." + rc.getName());
                }
            }
        }
        assertThat(unused).as("components the golden jobs leave at one value or always empty").isEmpty();
        assertThat(instances.keySet()).contains(StoredJob.class, Job.class, JobSpec.class, RetryPolicy.class,
                PortSpec.class, Attempt.class, JobTransitioned.class, NodeTransitioned.class, ContainerSteps.class,
                ContainerStep.class, StepInput.class, StepOutput.class, StepLog.class, OutputLog.class);
    }

    /**
     * The components of the records the document maps, as format version 1 knows them. A rename compiles only once
     * {@link JobDocument} follows it, and then fails here as a reminder that the stored name stays; an added component
     * must be mapped and given a stored name before this list is updated.
     */
    @Test
    void theRecordsTheDocumentMapsHaveTheComponentsItKnows() {
        Map<Class<?>, List<String>> known = new LinkedHashMap<>();
        known.put(Job.class, List.of("id", "owner", "ownerName", "spec", "state", "stateDetails", "endReason",
                "submitTime", "updateTime", "attempts"));
        known.put(JobSpec.class, List.of("name", "script", "command", "containerImage", "cloudImage", "nodes", "cpus",
                "memoryBytes", "gpus", "flavor", "remoteSite", "relocatable", "ports", "inputFiles", "outputFiles",
                "workdir", "env", "account", "priority", "timeLimit", "retryPolicy", "tags", "comment",
                "submissionAddress", "storage", "idempotencyKey", "warnings", "scriptOmitted", "containerSteps"));
        known.put(Attempt.class, List.of("number", "nodes", "partition", "startTime", "endTime", "exitCode", "signal",
                "endReason", "steps", "outputs"));
        known.put(ContainerSteps.class, List.of("steps", "inputs", "outputs", "volumes"));
        known.put(ContainerStep.class, List.of("image", "command", "workdir", "stdin", "stdout", "stderr", "env",
                "ignoreError"));
        known.put(StepInput.class, List.of("path", "content", "source", "directory"));
        known.put(StepOutput.class, List.of("path", "pathPrefix", "destination", "directory"));
        known.put(StepLog.class, List.of("startTime", "endTime", "exitCode", "stdoutTail", "stderrTail"));
        known.put(OutputLog.class, List.of("path", "destination", "sizeBytes"));
        known.put(RetryPolicy.class, List.of("maxAttempts", "initialBackoff", "maxBackoff", "deadline",
                "retryUserFailures"));
        known.put(PortSpec.class, List.of("port", "protocol", "direction"));
        known.put(JobId.class, List.of("value"));
        known.put(NodeTransitioned.class, List.of("sequence", "time", "node", "partition", "from", "to", "details"));
        for (Map.Entry<Class<?>, List<String>> e : known.entrySet()) {
            assertThat(java.util.Arrays.stream(e.getKey().getRecordComponents()).map(RecordComponent::getName))
                    .as("the components of %s: map a new or renamed one in JobDocument (keeping stored names), then"
                            + " update this list", e.getKey().getSimpleName())
                    .containsExactlyElementsOf(e.getValue());
        }
    }

    /**
     * Schema 6 adds the batch rows: a version 5 file migrates to an empty table that then takes rows in the same write
     * as the job's transition, and keeps everything it held.
     */
    @Test
    void migratingTheVersionFiveFileAddsAnEmptyBatchTableThatTakesRows() throws Exception {
        Path data = copyGolden(5);
        try (SqliteJobStore store = SqliteJobStore.open(data)) {
            assertThat(store.batchJobs()).isEmpty();
            StoredJob stopping = store.find(GoldenJobs.STOPPING).orElseThrow();
            JobTransitioned note = new JobTransitioned(store.lastSequence() + 1, GoldenJobs.T0.plusSeconds(900),
                    GoldenJobs.STOPPING, Optional.of(stopping.job().state()), stopping.job().state(), Optional.empty(),
                    "noted");
            dev.skyport.core.store.StoredBatchJob row = new dev.skyport.core.store.StoredBatchJob(GoldenJobs.STOPPING,
                    1, "hpc", "99", GoldenJobs.T0.plusSeconds(900));
            store.update(stopping, note, row);
            assertThat(store.batchJobs()).containsExactly(row);
            assertThat(store.find(GoldenJobs.FULL)).contains(GoldenJobs.full(5));
        }
        try (Connection c = connect(data)) {
            assertThat(single(c, "PRAGMA user_version")).isEqualTo(String.valueOf(Schema.current()));
        }
    }

    @Test
    void migratingTheVersionTwoFileRewritesEveryDocumentAndKeepsAScriptStillInside() throws Exception {
        Path data = copyGolden(2);
        JobId stopping = GoldenJobs.STOPPING;
        try (Connection c = connect(data); Statement s = c.createStatement()) {
            // As a schema-1 document migrated by hand might hold it: the script inside, no row of its own.
            s.execute("DELETE FROM scripts WHERE id = '" + stopping + "'");
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET job_json = json_set(job_json,"
                    + " '$.spec.script', ?, '$.spec.scriptOmitted', json('false')) WHERE id = ?")) {
                ps.setString(1, GoldenJobs.STOPPING_SCRIPT);
                ps.setString(2, stopping.toString());
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
        }
        try (SqliteJobStore store = SqliteJobStore.open(data)) {
            assertThat(store.find(stopping)).contains(GoldenJobs.stopping());
        }
        try (Connection c = connect(data)) {
            assertThat(document(c, stopping)).isEqualTo(JobDocument.write(GoldenJobs.stopping().job()));
            assertThat(single(c, "SELECT count(*) FROM jobs WHERE json_extract(job_json, '$.v') = "
                    + JobDocument.VERSION)).isEqualTo("3");
        }
    }

    @Test
    void aVersionTwoDocumentThatCannotBeReadIsLeftAsItWasAndTheOthersAreMigrated() throws Exception {
        Path data = copyGolden(2);
        try (Connection c = connect(data); PreparedStatement ps = c.prepareStatement(
                "UPDATE jobs SET job_json = '{\"id\": \"damaged\"' WHERE id = ?")) {
            ps.setString(1, GoldenJobs.COMMAND.toString());
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
        try (SqliteJobStore store = SqliteJobStore.open(data)) {
            assertThat(store.find(GoldenJobs.FULL)).contains(GoldenJobs.full(2));
            assertThat(store.find(GoldenJobs.STOPPING)).contains(GoldenJobs.stopping());
            assertThatThrownBy(() -> store.find(GoldenJobs.COMMAND)).isInstanceOf(StorageException.class)
                    .hasMessageContaining("format version");
        }
        try (Connection c = connect(data)) {
            assertThat(document(c, GoldenJobs.COMMAND)).isEqualTo("{\"id\": \"damaged\"");
        }
    }

    @Test
    void aDocumentWithAFieldThisVersionDoesNotKnowIsRefusedNamingTheFieldAndLeftUnchanged() throws Exception {
        Path data = copyGolden(Schema.current());
        String newer;
        try (Connection c = connect(data); PreparedStatement ps = c.prepareStatement(
                "UPDATE jobs SET job_json = json_set(job_json, '$.spec.gpu_model', 'A100') WHERE id = ?")) {
            ps.setString(1, GoldenJobs.FULL.toString());
            assertThat(ps.executeUpdate()).isEqualTo(1);
            newer = document(c, GoldenJobs.FULL);
        }
        try (SqliteJobStore store = SqliteJobStore.open(data)) {
            assertThatThrownBy(() -> store.find(GoldenJobs.FULL)).isInstanceOf(StorageException.class)
                    .hasMessageContaining(GoldenJobs.FULL.toString())
                    .hasMessageContaining("'spec.gpu_model'")
                    .hasMessageContaining("newer Sky Port");
            assertThatThrownBy(() -> store.list(JobQuery.all())).isInstanceOf(StorageException.class)
                    .hasMessageContaining("'spec.gpu_model'");
            assertThat(store.find(GoldenJobs.COMMAND)).contains(GoldenJobs.command());
        }
        try (Connection c = connect(data)) {
            assertThat(document(c, GoldenJobs.FULL)).isEqualTo(newer);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static String golden(int version) {
        return "/store/schema-" + version + ".sqlite";
    }

    /** A copy of a golden file in a data directory of its own: the checked-in file is never opened for writing. */
    private Path copyGolden(int version) throws IOException {
        Path data = dir.resolve("v" + version + "-" + System.nanoTime());
        Files.createDirectories(data);
        try (InputStream in = StoredFormatTest.class.getResourceAsStream(golden(version))) {
            assertThat(in).as("golden file %s", golden(version)).isNotNull();
            Files.copy(in, data.resolve("skyport.db"));
        }
        return data;
    }

    private static Connection connect(Path data) throws SQLException {
        Connection c = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("skyport.db"));
        try (Statement s = c.createStatement()) {
            s.execute("PRAGMA busy_timeout = 10000");
        }
        return c;
    }

    private static String single(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertThat(rs.next()).isTrue();
            return rs.getString(1);
        }
    }

    private static String document(Connection c, JobId id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT job_json FROM jobs WHERE id = ?")) {
            ps.setString(1, id.toString());
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                return rs.getString(1);
            }
        }
    }

    private static List<JobTransitioned> events(int version, JobId id) {
        return GoldenJobs.events(version).stream().filter(e -> e.jobId().equals(id)).toList();
    }

    private static Job listedWithoutScript(Job job) {
        return new Job(job.id(), job.owner(), job.ownerName(), job.spec().withoutScript(), job.state(),
                job.stateDetails(), job.endReason(), job.submitTime(), job.updateTime(), job.attempts());
    }

    private static ActiveJob activeRow(StoredJob stored) {
        Job job = stored.job();
        JobSpec spec = job.spec();
        return new ActiveJob(job.id(), job.owner(), job.state(), job.submitTime(), spec.priority(), spec.nodes(),
                spec.cpus(), spec.memoryBytes(), spec.gpus(), spec.timeLimit(), spec.account().orElse(""),
                stored.notBefore());
    }

    /** Every record reachable from {@code value} (through components, optionals, lists and maps), by class. */
    private static void collect(Object value, Map<Class<?>, List<Object>> into) throws Exception {
        if (value instanceof Optional<?> o) {
            if (o.isPresent()) {
                collect(o.get(), into);
            }
        } else if (value instanceof Collection<?> c) {
            for (Object v : c) {
                collect(v, into);
            }
        } else if (value instanceof Map<?, ?> m) {
            for (Object v : m.values()) {
                collect(v, into);
            }
        } else if (value != null && value.getClass().isRecord()) {
            into.computeIfAbsent(value.getClass(), k -> new ArrayList<>()).add(value);
            for (RecordComponent rc : value.getClass().getRecordComponents()) {
                collect(rc.getAccessor().invoke(value), into);
            }
        }
    }

    private static boolean isPresent(Object v) {
        if (v instanceof Optional<?> o) {
            return o.isPresent();
        }
        if (v instanceof OptionalInt o) {
            return o.isPresent();
        }
        if (v instanceof Collection<?> c) {
            return !c.isEmpty();
        }
        if (v instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        return v != null;
    }
}
