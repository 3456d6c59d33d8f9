package dev.skyport.samples.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.client.internal.wire.WireJson;
import dev.skyport.samples.daemon.cli.CliHarness.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every client command against a real embedded engine through the {@link Connector} seam: its happy path, its failure
 * path and exit code, and what a person or a script reads from it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicInteger USERS = new AtomicInteger();

    private Path dir;
    private CliHarness cli;

    @BeforeAll
    void start(@TempDir Path dir) {
        this.dir = dir;
        cli = new CliHarness(dir.resolve("data"), 4);
    }

    @AfterAll
    void stop() {
        cli.close();
    }

    /** A user of their own per test, so one test's jobs are not in another's listing. */
    private static String newUser() {
        return "user" + USERS.incrementAndGet();
    }

    private Path script(String name, String body) throws Exception {
        return Files.writeString(dir.resolve(name + "-" + USERS.incrementAndGet() + ".sh"),
                "#!/bin/sh\n#SWM name " + name + "\n" + body + "\n");
    }

    private JobId submit(String user, String script) {
        return cli.as(user).jobs().submit(JobSpec.script(script)).id();
    }


    @Test
    void submitPrintsTheIdOfAQueuedJobOwnedByTheCaller() throws Exception {
        String user = newUser();
        Result r = cli.run(user, "submit", script("hello", "echo hello").toString());
        assertThat(r.exit()).isZero();
        JobId id = JobId.parse(r.out().strip());
        Job job = cli.sky.jobs().get(id);
        assertThat(job.owner()).isEqualTo(user);
        assertThat(job.name()).isEqualTo("hello");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void submitReadsStandardInputAndTakesNameAndIdempotencyKey() {
        String user = newUser();
        cli.stdin = "#!/bin/sh\n#SWM name from-script\necho hi\n".getBytes(StandardCharsets.UTF_8);
        Result r = cli.run(user, "submit", "--name", "renamed", "--idempotency-key", "nightly-42", "-");
        cli.stdin = new byte[0];
        assertThat(r.exit()).as(r.err()).isZero();
        Job job = cli.sky.jobs().get(JobId.parse(r.out().strip()));
        assertThat(job.name()).isEqualTo("renamed");
        assertThat(job.spec().idempotencyKey()).contains("nightly-42");
    }

    @Test
    void submitOfABadScriptPrintsTheReasonAndStoresNothing() throws Exception {
        String user = newUser();
        Result r = cli.run(user, "submit", script("bad", "#SWM cpus lots\necho x").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("skyport submit: ").contains("cpus").doesNotContain("\tat ");
        assertThat(r.out()).isEmpty();
        assertThat(cli.as(user).jobs().list(dev.skyport.api.JobQuery.all()).items()).isEmpty();
    }

    @Test
    void submitOfAMissingFileFailsAndOfEmptyInputIsAUsageError() {
        String user = newUser();
        Result missing = cli.run(user, "submit", dir.resolve("nope.sh").toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("no such file").contains("nope.sh");
        Result empty = cli.run(user, "submit", "-");
        assertThat(empty.exit()).isEqualTo(2);
        assertThat(empty.err()).contains("standard input is empty");
        assertThat(cli.run(user, "submit").exit()).isEqualTo(2); // no FILE
    }

    @Test
    void submitWatchFollowsTheStatesThenPrintsTheOutput() throws Exception {
        String user = newUser();
        Result r = cli.run(user, "submit", "--watch", script("watched", "echo watched output").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().lines().findFirst()).hasValueSatisfying(id -> JobId.parse(id));
        assertThat(r.bytesAsText()).isEqualTo("watched output\n");
        assertThat(r.err()).contains("QUEUED").contains("RUNNING").contains("SUCCEEDED");
        assertThat(r.err().indexOf("RUNNING")).isLessThan(r.err().indexOf("SUCCEEDED"));
    }

    @Test
    void submitWatchExitsOneWhenTheJobFails() throws Exception {
        Result r = cli.run(newUser(), "submit", "--watch", script("failing", "echo before; exit 3").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("FAILED (NON_ZERO_EXIT)");
        assertThat(r.bytesAsText()).isEqualTo("before\n");
    }


    @Test
    void jobsIsAnAlignedTableEvenWithLongAndWideNames() throws Exception {
        String user = newUser();
        List<String> names = List.of("short", "a-name-far-longer-than-the-column-allows-so-it-is-cut-here",
                "日本語のジョブ名", "café-naïve-🚀", "e\u0301tude");
        List<JobId> ids = new ArrayList<>();
        for (String name : names) {
            ids.add(submit(user, "#!/bin/sh\n#SWM name " + name + "\necho " + name + "\n"));
        }
        for (JobId id : ids) {
            cli.await(id);
        }
        Result r = cli.run(user, "jobs");
        assertThat(r.exit()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(1 + names.size());
        assertThat(lines.get(0)).startsWith("ID").contains("NAME", "STATE", "REASON", "NODE", "AGE");
        // Every column starts at the same terminal column in every row. The oracle is the widths a terminal gives
        // these names, written out by hand: CJK characters and the emoji take two columns, a combining accent none,
        // and the long name is cut to the column's 32.
        Map<String, Integer> columns = Map.of("short", 5, "a-name-far-longer-than-the-colu…", 32,
                "日本語のジョブ名", 16, "café-naïve-🚀", 13, "e\u0301tude", 5);
        int stateColumn = 8 + 2 + 32 + 2;
        assertThat(lines.get(0).indexOf("STATE")).isEqualTo(stateColumn);
        for (String line : lines.subList(1, lines.size())) {
            String shown = columns.keySet().stream().filter(line::contains).findFirst().orElseThrow();
            int charsBeyondColumns = shown.length() - columns.get(shown);
            assertThat(line.indexOf("SUCCEEDED")).as(line).isEqualTo(stateColumn + charsBeyondColumns);
            assertThat(line.indexOf("COMPLETED (exit 0)")).as(line)
                    .isEqualTo(lines.get(0).indexOf("REASON") + charsBeyondColumns);
            assertThat(line.indexOf("local")).as(line).isEqualTo(lines.get(0).indexOf("NODE") + charsBeyondColumns);
        }
        assertThat(lines.get(1)).startsWith(JobIds.shortForm(ids.get(0)) + "  short");
        assertThat(r.out()).contains("日本語のジョブ名").contains("café-naïve-🚀").contains("a-name-far-longer-than-the-colu…")
                .doesNotContain("cut-here");
        assertThat(cli.run(user, "jobs", "--wide").out()).contains(ids.get(1).toString()).contains("cut-here");
    }

    @Test
    void jobsJsonParsesBackInTheWireShape() throws Exception {
        String user = newUser();
        JobId id = submit(user, "#!/bin/sh\n#SWM name json-job\n#SWM tag team=vision\necho hi\n");
        cli.await(id);
        Result r = cli.run(user, "jobs", "--json");
        assertThat(r.exit()).isZero();
        JsonNode array = JSON.readTree(r.out());
        assertThat(array.isArray()).isTrue();
        assertThat(array).hasSize(1);
        JsonNode job = array.get(0);
        assertThat(job.get("id").asText()).isEqualTo(id.toString());
        assertThat(job.get("state").asText()).isEqualTo("SUCCEEDED");
        assertThat(job.get("endReason").asText()).isEqualTo("COMPLETED");
        assertThat(job.get("exitCode").asInt()).isZero();
        assertThat(job.get("owner").asText()).isEqualTo(user);
        Set<String> members = new HashSet<>();
        job.fieldNames().forEachRemaining(members::add);
        assertThat(members).containsExactlyInAnyOrder("id", "owner", "ownerName", "name", "state", "stateDetails",
                "endReason", "submitTime", "updateTime", "startTime", "endTime", "exitCode", "nodes", "attempts",
                "spec");
        assertThat(job.get("spec").get("tags").get("team").asText()).isEqualTo("vision");
        assertThat(job.get("spec").get("scriptOmitted").asBoolean()).isTrue(); // listings leave scripts out
        assertThat(job.get("attempts").get(0).get("number").asInt()).isEqualTo(1);
        assertThat(job.has("signal")).isFalse(); // absent values are omitted, never null
        assertThat(JSON.readTree(cli.run(newUser(), "jobs", "--json").out())).isEmpty();
    }

    /** The client's reader of the shared /api/v1 codec rebuilds from the CLI's JSON the very jobs the engine has. */
    @Test
    void jsonOutputParsesBackWithTheWireCodec() throws Exception {
        String user = newUser();
        JobId id = submit(user, "#!/bin/sh\n#SWM name codec\n#SWM tag a=b\n#SWM env K=V\n#SWM ports 8888/tcp/in\n"
                + "#SWM time 1:00:00\n#SWM comment c\nexit 4\n");
        cli.await(id);
        Job listed = cli.as(user).jobs().list(dev.skyport.api.JobQuery.all().withoutScripts()).items().get(0);
        JsonNode array = JSON.readTree(cli.run(user, "jobs", "--json").out());
        assertThat(WireJson.readJob(array.get(0))).isEqualTo(listed);
        JsonNode shown = JSON.readTree(cli.run(user, "show", "--json", id.toString()).out());
        assertThat(WireJson.readJob(shown)).isEqualTo(cli.sky.jobs().get(id));
        assertThat(WireJson.readItems(JSON.createObjectNode().set("items",
                JSON.readTree(cli.run(user, "nodes", "--json").out())), WireJson::readNode)).isEqualTo(cli.sky.nodes());
        assertThat(WireJson.readItems(JSON.createObjectNode().set("items",
                JSON.readTree(cli.run(user, "flavors", "--json").out())), WireJson::readFlavor))
                .isEqualTo(cli.sky.flavors());
        assertThat(WireJson.readItems(JSON.createObjectNode().set("items",
                JSON.readTree(cli.run(user, "remotes", "--json").out())), WireJson::readRemoteSite))
                .isEqualTo(cli.sky.remotes());
    }

    @Test
    void jobsFiltersByStateNameTagAndLimit() throws Exception {
        String user = newUser();
        JobId ok = submit(user, "#!/bin/sh\n#SWM name alpha-1\n#SWM tag k=v\ntrue\n");
        JobId bad = submit(user, "#!/bin/sh\n#SWM name alpha-2\nexit 1\n");
        JobId other = submit(user, "#!/bin/sh\n#SWM name beta\n#SWM tag k=w\ntrue\n");
        cli.await(ok);
        cli.await(bad);
        cli.await(other);
        assertThat(cli.run(user, "jobs", "--json", "--state", "FAILED").jobIds()).containsExactly(bad.toString());
        assertThat(cli.run(user, "jobs", "--json", "--state", "FAILED", "--state", "SUCCEEDED").jobIds())
                .hasSize(3);
        assertThat(cli.run(user, "jobs", "--json", "--name", "alpha").jobIds()).containsExactly(ok.toString(),
                bad.toString());
        assertThat(cli.run(user, "jobs", "--json", "--tag", "k=w").jobIds()).containsExactly(other.toString());
        assertThat(cli.run(user, "jobs", "--json", "--limit", "2").jobIds()).containsExactly(ok.toString(),
                bad.toString());
        assertThat(cli.run(user, "jobs", "--state", "SLEEPING").exit()).isEqualTo(2);
        assertThat(cli.run(user, "jobs", "--limit", "0").exit()).isEqualTo(2);
    }

    @Test
    void jobsShowsAnAdminOnlyTheirOwnJobsUnlessAll() throws Exception {
        String user = newUser();
        JobId users = submit(user, "#!/bin/sh\n#SWM name users-job\ntrue\n");
        JobId admins = submit(CliHarness.ADMIN, "#!/bin/sh\n#SWM name admins-job\ntrue\n");
        cli.await(users);
        cli.await(admins);
        List<String> own = cli.run(CliHarness.ADMIN, "jobs", "--json").jobIds();
        assertThat(own).contains(admins.toString()).doesNotContain(users.toString());
        assertThat(cli.run(CliHarness.ADMIN, "jobs", "--json", "--all").jobIds()).contains(admins.toString(),
                users.toString());
        Result table = cli.run(CliHarness.ADMIN, "jobs", "--all");
        assertThat(table.out().lines().findFirst().orElseThrow()).contains("OWNER");
        assertThat(table.out()).contains(user);
        // A user's --all is their own jobs: the engine's user view decides, not the command.
        assertThat(cli.run(user, "jobs", "--json", "--all").jobIds()).containsExactly(users.toString());
    }



    @Test
    void showPrintsEverythingAboutAJobWithAttemptsAndTransitions() throws Exception {
        String user = newUser();
        JobId id = submit(user, "#!/bin/sh\n#SWM name shown\n#SWM env SECRET=hunter2\n#SWM tag a=b\necho x\n");
        cli.await(id);
        Result r = cli.run(user, "show", id.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("ID:", id.toString(), "Name:", "shown", "State:", "SUCCEEDED",
                "End reason:", "COMPLETED (exit 0)", "Resources:", "Tags:", "a=b", "Environment:", "SECRET",
                "Attempts:", "Transitions:", "QUEUED", "RUNNING");
        assertThat(r.out()).doesNotContain("hunter2");
        assertThat(cli.run(user, "show", "--script", id.toString()).out()).contains("echo x");
        JsonNode json = JSON.readTree(cli.run(user, "show", "--json", id.toString()).out());
        assertThat(json.get("spec").get("env").get("SECRET").asText()).isEqualTo("hunter2");
        assertThat(json.get("spec").get("script").asText()).contains("echo x");
    }

    @Test
    void showOfAnUnknownOrForeignJobFails() throws Exception {
        String user = newUser();
        JobId foreign = submit(newUser(), "#!/bin/sh\ntrue\n");
        Result r = cli.run(user, "show", foreign.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("skyport show: no such job: " + foreign + System.lineSeparator());
        Result part = cli.run(user, "show", JobIds.shortForm(foreign));
        assertThat(part.exit()).isEqualTo(1);
        assertThat(part.err()).contains("no job id starts or ends with");
        assertThat(cli.run(user, "show", "not-an-id!").exit()).isEqualTo(2);
        assertThat(cli.run(user, "show").exit()).isEqualTo(2);
    }

    @Test
    void jobIdsAcceptTheShortFormAndUnambiguousPartsAndNameTheCandidatesOtherwise() throws Exception {
        String user = newUser();
        List<JobId> ids = cli.as(user).jobs().submitAll(List.of(JobSpec.script("#!/bin/sh\ntrue\n"),
                JobSpec.script("#!/bin/sh\ntrue\n"), JobSpec.script("#!/bin/sh\ntrue\n"))).stream()
                .map(Job::id).toList();
        for (JobId id : ids) {
            cli.await(id);
        }
        // The short form the table shows (the end of the id) names one job.
        Result byEnd = cli.run(user, "show", "--json", JobIds.shortForm(ids.get(1)));
        assertThat(JSON.readTree(byEnd.out()).get("id").asText()).isEqualTo(ids.get(1).toString());
        // So does an unambiguous start, in any case.
        String id2 = ids.get(2).toString();
        String start = longestCommonPrefix(ids.get(1).toString(), id2);
        Result byStart = cli.run(user, "show", "--json", id2.substring(0, start.length() + 1).toUpperCase());
        assertThat(byStart.exit()).as(byStart.err()).isZero();
        assertThat(JSON.readTree(byStart.out()).get("id").asText()).isEqualTo(id2);
        // Ids submitted together share their first 8 characters (time-ordered UUIDs): ambiguous, a usage error.
        String shared = ids.get(0).toString().substring(0, 8);
        Result ambiguous = cli.run(user, "show", shared);
        assertThat(ambiguous.exit()).isEqualTo(2);
        assertThat(ambiguous.err()).contains("'" + shared + "' is ambiguous").contains(ids.get(0).toString(),
                ids.get(1).toString(), ids.get(2).toString());
    }

    private static String longestCommonPrefix(String a, String b) {
        int i = 0;
        while (i < a.length() && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return a.substring(0, i);
    }


    @Test
    void cancelPrintsAResultPerIdAndExitsOneIfAnyFailed() throws Exception {
        String user = newUser();
        JobId running = submit(user, "#!/bin/sh\n#SWM name sleeper\nsleep 300\n");
        JobId ended = submit(user, "#!/bin/sh\ntrue\n");
        cli.pollState(running, JobState.RUNNING);
        cli.await(ended);
        Result r = cli.run(user, "cancel", JobIds.shortForm(running), ended.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).startsWith("canceled " + running + " (");
        assertThat(r.err()).isEqualTo("skyport cancel: cannot cancel job " + ended + " in state SUCCEEDED"
                + System.lineSeparator());
        assertThat(cli.await(running).state()).isEqualTo(JobState.CANCELED);
    }

    @Test
    void cancelOfAllGoodIdsExitsZeroAndAnAmbiguousIdChangesNothing() throws Exception {
        String user = newUser();
        List<Job> jobs = cli.as(user).jobs().submitAll(List.of(JobSpec.script("#!/bin/sh\nsleep 300\n"),
                JobSpec.script("#!/bin/sh\nsleep 300\n")));
        Result ambiguous = cli.run(user, "cancel", jobs.get(0).id().toString().substring(0, 8));
        assertThat(ambiguous.exit()).isEqualTo(2);
        assertThat(cli.sky.jobs().get(jobs.get(0).id()).state().isTerminal()).isFalse();
        Result r = cli.run(user, "cancel", jobs.get(0).id().toString(), JobIds.shortForm(jobs.get(1).id()));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().lines()).hasSize(2).allMatch(line -> line.startsWith("canceled "));
        for (Job job : jobs) {
            assertThat(cli.await(job.id()).state()).isEqualTo(JobState.CANCELED);
        }
    }

    @Test
    void requeueStartsANewAttemptAndFailsForAnUnknownId() throws Exception {
        String user = newUser();
        JobId id = submit(user, "#!/bin/sh\necho run\n");
        cli.await(id);
        Result r = cli.run(user, "requeue", id.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("requeued " + id + " (");
        Job again = cli.poll(id, job -> job.attempts().size() == 2 && job.state().isTerminal());
        assertThat(again.state()).isEqualTo(JobState.SUCCEEDED);
        Result unknown = cli.run(user, "requeue", "00000000-0000-7000-8000-000000000000");
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err()).contains("no such job");
    }


    @Test
    void logsPrintsRawBytesOfStdoutOrStderr() throws Exception {
        String user = newUser();
        JobId id = submit(user, "#!/bin/sh\nprintf 'caf\\303\\251 \\377\\376 end'\necho oops >&2\n");
        cli.await(id);
        Result out = cli.run(user, "logs", JobIds.shortForm(id));
        assertThat(out.exit()).as(out.err()).isZero();
        assertThat(out.bytes()).containsExactly(concat("caf".getBytes(StandardCharsets.US_ASCII),
                new byte[]{(byte) 0xC3, (byte) 0xA9, ' ', (byte) 0xFF, (byte) 0xFE, ' ', 'e', 'n', 'd'}));
        assertThat(cli.run(user, "logs", "--stderr", id.toString()).bytesAsText()).isEqualTo("oops\n");
        Result unknown = cli.run(user, "logs", "00000000-0000-7000-8000-000000000000");
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err()).contains("no such job").doesNotContain("\tat ");
    }

    @Test
    void logsFollowReadsUntilTheJobEnds() throws Exception {
        String user = newUser();
        Path gate = dir.resolve("gate-" + USERS.incrementAndGet());
        JobId id = submit(user, "#!/bin/sh\necho first\nwhile [ ! -e " + gate + " ]; do sleep 0.05; done\n"
                + "echo second\n");
        // The job waits for the gate file, created only once the follower has printed the first line: the
        // follower must still be reading when the job writes the second and ends.
        CountDownLatch printedFirst = new CountDownLatch(1);
        cli.tee = new OutputStream() {
            private final StringBuilder seen = new StringBuilder();

            @Override
            public void write(int b) {
                seen.append((char) b);
                if (seen.toString().contains("first\n")) {
                    printedFirst.countDown();
                }
            }
        };
        Thread opener = new Thread(() -> {
            try {
                if (printedFirst.await(30, TimeUnit.SECONDS)) {
                    Files.writeString(gate, "");
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        opener.start();
        Result r;
        try {
            r = cli.run(user, "logs", "-f", id.toString());
        } finally {
            cli.tee = null;
        }
        opener.join();
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.bytesAsText()).isEqualTo("first\nsecond\n");
        assertThat(cli.sky.jobs().get(id).state()).isEqualTo(JobState.SUCCEEDED);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = new byte[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }


    @Test
    void nodesIsATableAndJson() throws Exception {
        SkyPort sky = cli.sky;
        Result table = cli.run(newUser(), "nodes");
        assertThat(table.exit()).isZero();
        assertThat(table.out().lines().findFirst().orElseThrow()).startsWith("NAME").contains("PARTITION", "CPUS");
        assertThat(table.out().lines().count()).isEqualTo(1 + sky.nodes().size());
        assertThat(table.out()).contains(sky.nodes().get(0).name());
        JsonNode json = JSON.readTree(cli.run(newUser(), "nodes", "--json").out());
        assertThat(json).hasSize(sky.nodes().size());
        assertThat(json.get(0).get("cpus").asInt()).isEqualTo(4);
        assertThat(json.get(0).get("state").asText()).isEqualTo(sky.nodes().get(0).state().name());
    }

    @Test
    void flavorsImagesRemotesAndPartitionsAreTablesAndJson() throws Exception {
        for (String command : List.of("flavors", "images", "remotes", "partitions")) {
            Result table = cli.run(newUser(), command);
            assertThat(table.exit()).as(command).isZero();
            assertThat(table.out().lines().findFirst().orElseThrow()).as(command).startsWith("NAME");
            JsonNode json = JSON.readTree(cli.run(newUser(), command, "--json").out());
            assertThat(json.isArray()).as(command).isTrue();
            int expected = switch (command) {
                case "flavors" -> cli.sky.flavors().size();
                case "images" -> cli.sky.images().size();
                case "partitions" -> cli.sky.partitions().size();
                default -> cli.sky.remotes().size();
            };
            assertThat(json).as(command).hasSize(expected);
            assertThat(table.out().lines().count()).as(command).isEqualTo(1 + expected);
        }
    }
}
