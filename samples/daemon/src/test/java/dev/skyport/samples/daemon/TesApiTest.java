package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

import static dev.skyport.samples.daemon.TesHttp.JSON;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code /ga4gh/tes/v1} of the real daemon (random port, real certificates, real SQLite store) while its one node is
 * held by a job of another user that takes every cpu: TES tasks then stay QUEUED (the engine keeps a job that fits a
 * node but finds none free waiting; one larger than every node it refuses at submission), so listing, paging, filters,
 * views, cancel of a queued task, isolation and bad input are checked without running anything. What running tasks do
 * is {@link TesContainerTest}'s.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TesApiTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private Daemon daemon;
    private TesHttp alice;
    private TesHttp bob;
    private TesHttp stranger;
    private Path aliceStorage;
    private Job blocker;

    @BeforeAll
    void start(@TempDir Path dir) throws IOException, InterruptedException {
        Path spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        Path bundle = pki.layout().caChain();
        IssuedUser a = pki.issueUser("alice", false);
        IssuedUser b = pki.issueUser("bob", false);
        IssuedUser carol = pki.issueUser("carol", false);
        okhttp3.OkHttpClient carolClient = Mtls.client(carol, bundle);
        Files.delete(carol.cert()); // a certificate of the cluster CA that names no registered user
        Path config = dir.resolve("skyport.yaml");
        Files.writeString(config, """
                local-cpus: 2
                local-memory: 256G
                gate-options:
                  container-runtime: podman
                """);
        daemon = Daemon.start(DaemonConfig.load(Optional.of(config), Map.of()).withPort(0).withBind("127.0.0.1")
                .withSpool(spool).withDataDir(dir.resolve("data")));
        String base = "https://localhost:" + daemon.port();
        alice = new TesHttp(Mtls.client(a, bundle), base);
        bob = new TesHttp(Mtls.client(b, bundle), base);
        stranger = new TesHttp(carolClient, base);
        aliceStorage = spool.toAbsolutePath().normalize().resolve("inputs").resolve("alice");
        Files.createDirectories(aliceStorage);
        Files.writeString(aliceStorage.resolve("in.txt"), "input\n");
        // Every cpu of the node, held until the end: TES tasks asking one cpu wait behind it. (The declared memory
        // lets a task ask 100 GB without being refused as larger than every node; none of them runs.)
        SkyPort holder = daemon.engine().asUser("holder");
        blocker = holder.jobs().submit(JobSpec.builder().command(List.of("sleep", "3600")).cpus(2).build());
        Instant deadline = Instant.now().plus(WAIT);
        while (holder.jobs().get(blocker.id()).state() != JobState.RUNNING) {
            assertThat(Instant.now()).as("the blocker runs").isBefore(deadline);
            assertThat(holder.jobs().get(blocker.id()).state().isTerminal()).as("blocker ended").isFalse();
            Thread.sleep(50);
        }
    }

    @AfterAll
    void stop() {
        if (daemon != null) {
            if (blocker != null) {
                daemon.engine().jobs().cancel(blocker.id());
            }
            daemon.close();
        }
    }

    private static ObjectNode task(String name) {
        ObjectNode t = JSON.createObjectNode();
        t.put("name", name);
        ObjectNode e = t.putArray("executors").addObject();
        e.put("image", "alpine:3.19");
        e.putArray("command").add("/bin/sh").add("-c").add("echo hi");
        return t;
    }

    private static ObjectNode task(String name, Map<String, String> tags) {
        ObjectNode t = task(name);
        ObjectNode tg = t.putObject("tags");
        tags.forEach(tg::put);
        return t;
    }

    // ---- service-info

    @Test
    void serviceInfoNamesTesAndTheCallersStorage() {
        TesHttp.Reply r = alice.get("/service-info");
        assertThat(r.code()).isEqualTo(200);
        JsonNode info = r.json();
        assertThat(info.get("type").get("group").asText()).isEqualTo("org.ga4gh");
        assertThat(info.get("type").get("artifact").asText()).isEqualTo("tes");
        assertThat(info.get("type").get("version").asText()).isEqualTo("1.1.0");
        for (String required : List.of("id", "name", "version")) {
            assertThat(info.get(required).asText()).as(required).isNotBlank();
        }
        assertThat(info.get("organization").get("name").asText()).isNotBlank();
        assertThat(info.get("organization").get("url").asText()).isEqualTo("https://localhost:" + daemon.port() + "/");
        assertThat(info.get("storage")).hasSize(1);
        assertThat(info.get("storage").get(0).asText()).isEqualTo("file://" + aliceStorage + "/");
        assertThat(bob.get("/service-info").json().get("storage").get(0).asText()).endsWith("/inputs/bob/");
        List<String> params = new ArrayList<>();
        info.get("tesResources_backend_parameters").forEach(p -> params.add(p.asText()));
        assertThat(params).containsExactly("account", "flavor", "gpus", "priority", "time_limit");
        assertThat(stranger.get("/service-info").code()).isEqualTo(403);
    }

    // ---- create and the views

    @Test
    void aTaskIsReadBackInEachView() {
        ObjectNode t = task("views-1", Map.of("project", "demo", "empty", ""));
        t.put("description", "a task in three views");
        t.put("id", "client-made-id").put("state", "COMPLETE").put("creation_time", "2000-01-01T00:00:00Z");
        t.put("unknown_member", 42);
        ArrayNode inputs = t.putArray("inputs");
        inputs.addObject().put("path", "/data/conf.ini").put("content", "threshold=3\n");
        inputs.addObject().put("path", "/data/in.txt").put("url", "file://" + aliceStorage + "/in.txt");
        inputs.addObject().put("path", "/data/bare.txt").put("url", aliceStorage + "/in.txt");
        t.putArray("outputs").addObject().put("path", "/data/out/*.txt").put("path_prefix", "/data/out/")
                .put("url", "file://" + aliceStorage + "/results/");
        t.putArray("volumes").add("/vol/A");
        ObjectNode res = t.putObject("resources").put("cpu_cores", 1).put("ram_gb", 0.5).put("disk_gb", 10.5)
                .put("preemptible", true);
        res.putObject("backend_parameters").put("Account", "lab").put("time_limit", "600").put("VmSize", "small");
        ObjectNode e = (ObjectNode) t.get("executors").get(0);
        e.put("workdir", "/data").put("stdout", "/vol/A/out.log").put("ignore_error", true);
        e.putObject("env").put("MODE", "fast");
        t.withArray("executors").addObject().put("image", "busybox").putArray("command").add("true");

        String id = alice.create(t);
        assertThat(id).isNotEqualTo("client-made-id");

        JsonNode minimal = alice.get("/tasks/" + id).json();
        assertThat(minimal.size()).as("MINIMAL is id and state: %s", minimal).isEqualTo(2);
        assertThat(minimal.get("id").asText()).isEqualTo(id);
        assertThat(minimal.get("state").asText()).isEqualTo("QUEUED");

        JsonNode basic = alice.task(id, "BASIC");
        assertThat(basic.get("name").asText()).isEqualTo("views-1");
        assertThat(basic.get("description").asText()).isEqualTo("a task in three views");
        assertThat(basic.get("state").asText()).isEqualTo("QUEUED");
        assertThat(Instant.parse(basic.get("creation_time").asText())).isAfter(Instant.parse("2020-01-01T00:00:00Z"));
        assertThat(basic.has("logs")).as("no logs before an attempt started").isFalse();
        assertThat(basic.get("tags")).isEqualTo(JSON.valueToTree(Map.of("project", "demo", "empty", "")));
        assertThat(basic.get("inputs").get(0).has("content")).as("BASIC omits content").isFalse();
        assertThat(basic.get("inputs").get(0).get("path").asText()).isEqualTo("/data/conf.ini");
        assertThat(basic.get("inputs").get(1).get("url").asText()).isEqualTo("file://" + aliceStorage + "/in.txt");
        assertThat(basic.get("inputs").get(2).get("url").asText()).isEqualTo("file://" + aliceStorage + "/in.txt");
        assertThat(basic.get("inputs").get(1).get("type").asText()).isEqualTo("FILE");
        JsonNode out = basic.get("outputs").get(0);
        assertThat(out.get("path").asText()).isEqualTo("/data/out/*.txt");
        assertThat(out.get("path_prefix").asText()).isEqualTo("/data/out/");
        assertThat(out.get("url").asText()).isEqualTo("file://" + aliceStorage + "/results/");
        assertThat(basic.get("volumes")).hasSize(1);
        assertThat(basic.get("volumes").get(0).asText()).isEqualTo("/vol/A");
        JsonNode r = basic.get("resources");
        assertThat(r.get("cpu_cores").asInt()).isEqualTo(1);
        assertThat(r.get("ram_gb").asDouble()).isEqualTo(0.5);
        assertThat(r.get("disk_gb").asDouble()).isEqualTo(10.5);
        assertThat(r.get("preemptible").asBoolean()).isTrue();
        assertThat(r.get("backend_parameters")).as("the unsupported VmSize is neither stored nor returned")
                .isEqualTo(JSON.valueToTree(Map.of("account", "lab", "time_limit", "600")));
        JsonNode x = basic.get("executors").get(0);
        assertThat(x.get("image").asText()).isEqualTo("alpine:3.19");
        assertThat(x.get("command").toString()).isEqualTo("[\"/bin/sh\",\"-c\",\"echo hi\"]");
        assertThat(x.get("workdir").asText()).isEqualTo("/data");
        assertThat(x.get("stdout").asText()).isEqualTo("/vol/A/out.log");
        assertThat(x.get("env").get("MODE").asText()).isEqualTo("fast");
        assertThat(x.get("ignore_error").asBoolean()).isTrue();
        assertThat(basic.get("executors").get(1).has("ignore_error")).isFalse();

        JsonNode full = alice.task(id, "FULL");
        assertThat(full.get("inputs").get(0).get("content").asText()).isEqualTo("threshold=3\n");
        assertThat(full.has("logs")).isFalse();
        // The warning about VmSize is the job's, shown in system_logs once an attempt starts.
        assertThat(daemon.engine().jobs().get(dev.skyport.api.JobId.parse(id)).warnings())
                .anyMatch(w -> w.contains("VmSize") && w.contains("dropped"))
                .anyMatch(w -> w.contains("disk_gb"));
        // 2^30 bytes a GB, as Nextflow and Cromwell count them.
        assertThat(daemon.engine().jobs().get(dev.skyport.api.JobId.parse(id)).spec().memoryBytes())
                .isEqualTo(512L * 1024 * 1024);
    }

    @Test
    void ramGbComesBackAsSentThoughItIsRoundedUpToBytes() {
        ObjectNode t = task("ram");
        t.putObject("resources").put("ram_gb", 0.1);
        String id = alice.create(t);
        assertThat(alice.task(id, "BASIC").get("resources").get("ram_gb").asDouble()).isEqualTo(0.1);
        assertThat(daemon.engine().jobs().get(dev.skyport.api.JobId.parse(id)).spec().memoryBytes())
                .isEqualTo((long) Math.ceil(0.1 * (1L << 30)));
    }

    @Test
    void ramGbAndDiskGbComeBackAsSentNeverInExponentForm() {
        ObjectNode t = task("ram-100");
        t.putObject("resources").put("ram_gb", 100).put("disk_gb", 250);
        String id = alice.create(t);
        TesHttp.Reply r = alice.get("/tasks/" + id + "?view=BASIC");
        // The text, not the number: 1E+2 is valid JSON for 100 and a JSON reader would take it as equal.
        assertThat(r.body()).containsPattern("\"ram_gb\":100[,}]").containsPattern("\"disk_gb\":250[,}]");
        t = task("ram-1.5");
        t.putObject("resources").put("ram_gb", 1.5).put("disk_gb", 0.25);
        r = alice.get("/tasks/" + alice.create(t) + "?view=BASIC");
        assertThat(r.body()).containsPattern("\"ram_gb\":1\\.5[,}]").containsPattern("\"disk_gb\":0\\.25[,}]");
    }

    @Test
    void aTaskIsListedAndReadOnlyByItsOwnerAndOnlyTesJobsAreTasks() {
        String id = alice.create(task("mine-" + UUID.randomUUID()));
        assertThat(bob.get("/tasks/" + id).code()).isEqualTo(404);
        assertThat(bob.post("/tasks/" + id + ":cancel", "{}").code()).isEqualTo(404);
        assertThat(alice.state(id)).isEqualTo("QUEUED");
        assertThat(listAll(bob, "")).doesNotContain(id);
        assertThat(listAll(alice, "")).contains(id);
        // A job alice made through /api/v1 (here: the engine as her) is not a TES task.
        Job plain = daemon.engine().asUser(idOf("alice"), "alice").jobs()
                .submit(JobSpec.builder().command(List.of("true")).build());
        assertThat(alice.get("/tasks/" + plain.id()).code()).isEqualTo(404);
        assertThat(listAll(alice, "")).doesNotContain(plain.id().toString());
        daemon.engine().jobs().cancel(plain.id());
        assertThat(alice.get("/tasks/not-a-task-id").code()).isEqualTo(404);
        assertThat(alice.get("/tasks/" + UUID.randomUUID()).code()).isEqualTo(404);
        assertThat(stranger.get("/tasks").code()).isEqualTo(403);
    }

    /** The owner id the daemon gives a user: the UUID of the certificate, as the first task of theirs shows. */
    private String idOf(String user) {
        return daemon.engine().jobs().list(dev.skyport.api.JobQuery.all().withLimit(1000)).items().stream()
                .filter(j -> j.ownerName().equals(user)).findFirst().orElseThrow().owner();
    }

    // ---- list filters

    @Test
    void tagFiltersFollowTheSpecsTruthTable() {
        String p = "tags-" + UUID.randomUUID() + "-";
        String bar = alice.create(task(p + "1", Map.of("foo", "bar")));
        String bat = alice.create(task(p + "2", Map.of("foo", "bat")));
        String empty = alice.create(task(p + "3", Map.of("foo", "")));
        String both = alice.create(task(p + "4", Map.of("foo", "bar", "baz", "bat")));
        String none = alice.create(task(p + "5"));
        String q = "name_prefix=" + p;
        assertThat(listAll(alice, q)).containsExactly(bar, bat, empty, both, none);
        assertThat(listAll(alice, q + "&tag_key=foo&tag_value=bar")).containsExactly(bar, both);
        assertThat(listAll(alice, q + "&tag_key=foo&tag_value=bat")).containsExactly(bat);
        assertThat(listAll(alice, q + "&tag_key=foo&tag_value=")).containsExactly(bar, bat, empty, both);
        assertThat(listAll(alice, q + "&tag_key=foo")).as("a key without a value is \"\"")
                .containsExactly(bar, bat, empty, both);
        assertThat(listAll(alice, q + "&tag_key=foo&tag_value=bar&tag_key=baz&tag_value=bat")).containsExactly(both);
        assertThat(listAll(alice, q + "&tag_key=baz&tag_key=foo&tag_value=&tag_value=bar")).containsExactly(both);
        assertThat(listAll(alice, q + "&tag_key=nope")).isEmpty();
        assertThat(listAll(alice, q + "&tag_key=FOO")).as("keys are case-sensitive").isEmpty();
        assertThat(alice.get("/tasks?tag_key=a&tag_value=1&tag_value=2").code()).isEqualTo(400);
        // And the other filters: name prefix and state, each narrowing the rest.
        assertThat(listAll(alice, "name_prefix=" + p + "4")).containsExactly(both);
        assertThat(listAll(alice, q + "&state=QUEUED&tag_key=foo&tag_value=bat")).containsExactly(bat);
        assertThat(listAll(alice, q + "&state=COMPLETE")).isEmpty();
        assertThat(listAll(alice, q + "&state=PAUSED")).isEmpty();
        assertThat(listAll(alice, q + "&state=UNKNOWN")).isEmpty();
        assertThat(alice.post("/tasks/" + none + ":cancel", "").code()).isEqualTo(200);
        alice.awaitTask(none, t -> t.get("state").asText().equals("CANCELED"), WAIT);
        assertThat(listAll(alice, q + "&state=CANCELED")).containsExactly(none);
        assertThat(listAll(alice, q + "&state=QUEUED")).containsExactly(bar, bat, empty, both);
    }

    @Test
    void oneThousandTasksPageWithoutDuplicatesOrGaps() {
        String p = "page-" + UUID.randomUUID() + "-";
        List<String> made = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            made.add(alice.create(task(p + i, Map.of("parity", i % 2 == 0 ? "even" : "odd"))));
        }
        // Default page size 256: 4 pages, the last one without a token.
        List<Integer> sizes = new ArrayList<>();
        List<String> seen = pages(alice, "name_prefix=" + p, sizes);
        assertThat(seen).containsExactlyElementsOf(made);
        assertThat(sizes).containsExactly(256, 256, 256, 232);
        // Pages of 100 exactly: no empty page after the tenth.
        sizes.clear();
        assertThat(pages(alice, "name_prefix=" + p + "&page_size=100", sizes)).containsExactlyElementsOf(made);
        assertThat(sizes).hasSize(10).containsOnly(100);
        // A filter the engine cannot apply (a key that only has to exist) across engine pages, with a state filter.
        sizes.clear();
        List<String> odd = new ArrayList<>();
        for (int i = 1; i < 1000; i += 2) {
            odd.add(made.get(i));
        }
        assertThat(pages(alice, "name_prefix=" + p + "&page_size=37&state=QUEUED&tag_key=parity&tag_value=odd",
                sizes)).containsExactlyElementsOf(odd);
        assertThat(pages(alice, "name_prefix=" + p + "&page_size=37&tag_key=parity", sizes)).hasSize(1000);
        // The largest page holds them all, and tasks created between pages appear after, once.
        sizes.clear();
        assertThat(pages(alice, "name_prefix=" + p + "&page_size=2047", sizes)).hasSize(1000);
        assertThat(sizes).containsExactly(1000);
        TesHttp.Reply first = alice.get("/tasks?name_prefix=" + p + "&page_size=600");
        String later = alice.create(task(p + "later"));
        TesHttp.Reply second = alice.get("/tasks?name_prefix=" + p + "&page_size=600&page_token="
                + first.json().get("next_page_token").asText());
        assertThat(second.json().get("tasks")).hasSize(401);
        assertThat(second.json().get("tasks").get(400).get("id").asText()).isEqualTo(later);
        assertThat(second.json().has("next_page_token")).isFalse();
        // A MINIMAL listing is id and state only; BASIC and FULL render the task.
        JsonNode one = alice.get("/tasks?name_prefix=" + p + "&page_size=1").json().get("tasks").get(0);
        assertThat(one.size()).isEqualTo(2);
        JsonNode basic = alice.get("/tasks?name_prefix=" + p + "&page_size=1&view=BASIC").json().get("tasks").get(0);
        assertThat(basic.get("name").asText()).isEqualTo(p + "0");
        assertThat(basic.get("executors")).hasSize(1);
        assertThat(alice.get("/tasks?name_prefix=nothing-has-this-name").body()).isEqualTo("{\"tasks\":[]}");
    }

    @Test
    void tasksLeavingTheStateBetweenPagesCostNoOtherTaskItsPlace() {
        String p = "keyset-" + UUID.randomUUID() + "-";
        List<String> made = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            made.add(alice.create(task(p + i)));
        }
        String q = "/tasks?name_prefix=" + p + "&state=QUEUED&page_size=1";
        List<String> listed = new ArrayList<>();
        JsonNode page = alice.get(q).json();
        page.get("tasks").forEach(t -> listed.add(t.get("id").asText()));
        // The task just listed leaves QUEUED: the next page still starts at the task after it.
        cancel(made.get(0));
        page = alice.get(q + "&page_token=" + page.get("next_page_token").asText()).json();
        page.get("tasks").forEach(t -> listed.add(t.get("id").asText()));
        // The task the token names leaves QUEUED before it is listed: the one after it comes next.
        cancel(made.get(2));
        while (page.has("next_page_token")) {
            page = alice.get(q + "&page_token=" + page.get("next_page_token").asText()).json();
            page.get("tasks").forEach(t -> listed.add(t.get("id").asText()));
        }
        assertThat(listed).containsExactly(made.get(0), made.get(1), made.get(3), made.get(4));
    }

    private void cancel(String id) {
        assertThat(alice.post("/tasks/" + id + ":cancel", "{}").code()).isEqualTo(200);
        alice.awaitTask(id, t -> t.get("state").asText().equals("CANCELED"), WAIT);
    }

    private static List<String> pages(TesHttp who, String query, List<Integer> sizes) {
        List<String> ids = new ArrayList<>();
        Set<String> tokens = new HashSet<>();
        String token = null;
        do {
            TesHttp.Reply r = who.get("/tasks?" + query + (token == null ? "" : "&page_token=" + token));
            assertThat(r.code()).as(r.body()).isEqualTo(200);
            JsonNode page = r.json();
            sizes.add(page.get("tasks").size());
            page.get("tasks").forEach(t -> ids.add(t.get("id").asText()));
            token = page.has("next_page_token") ? page.get("next_page_token").asText() : null;
            assertThat(token == null || tokens.add(token)).as("a token repeats").isTrue();
            assertThat(token == null || !token.isEmpty()).isTrue();
        } while (token != null);
        assertThat(new HashSet<>(ids)).as("no duplicates").hasSize(ids.size());
        return ids;
    }

    private static List<String> listAll(TesHttp who, String query) {
        return pages(who, query, new ArrayList<>());
    }

    // ---- cancel

    @Test
    void cancelOfAQueuedTaskEndsItAndAgainChangesNothing() {
        String id = alice.create(task("cancel-queued"));
        TesHttp.Reply r = alice.post("/tasks/" + id + ":cancel", "{\"ignored\": true}");
        assertThat(r.code()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("{}");
        JsonNode canceled = alice.awaitTask(id, t -> t.get("state").asText().equals("CANCELED"), WAIT);
        assertThat(canceled.has("logs")).as("it never started").isFalse();
        // Again, on the ended task, and with the colon percent-encoded: 200 {} and still CANCELED.
        assertThat(alice.post("/tasks/" + id + "%3Acancel", "").body()).isEqualTo("{}");
        assertThat(alice.post("/tasks/" + id + ":cancel", "").code()).isEqualTo(200);
        assertThat(alice.state(id)).isEqualTo("CANCELED");
        assertThat(alice.post("/tasks/" + UUID.randomUUID() + ":cancel", "").code()).isEqualTo(404);
        assertThat(alice.post("/tasks/nonsense:cancel", "").code()).isEqualTo(404);
        assertThat(alice.get("/tasks/" + id + ":cancel").code()).isEqualTo(405);
    }

    // ---- bad input

    /** Cases by the field their 400 names; a field has several. */
    private static final class Cases extends ArrayList<Map.Entry<String, Consumer<ObjectNode>>> {
        private static final long serialVersionUID = 1L;

        void put(String field, Consumer<ObjectNode> change) {
            add(Map.entry(field, change));
        }
    }

    @Test
    void badInputIsA400NamingTheFieldAndCreatesNothing() {
        int before = listAll(alice, "").size();
        String storage = aliceStorage.toString();
        Cases bad = new Cases(); // field -> a change of a good task that makes it bad there
        bad.put("executors", t -> t.remove("executors"));
        bad.put("executors", t -> t.putArray("executors"));
        bad.put("executors", t -> t.put("executors", "echo"));
        bad.put("executors[0].image", t -> ((ObjectNode) t.get("executors").get(0)).remove("image"));
        bad.put("executors[0].image", t -> ((ObjectNode) t.get("executors").get(0)).put("image", "--privileged"));
        bad.put("executors[0].command", t -> ((ObjectNode) t.get("executors").get(0)).remove("command"));
        bad.put("executors[0].command", t -> ((ObjectNode) t.get("executors").get(0)).put("command", "echo hi"));
        bad.put("executors[0].command", t -> ((ObjectNode) t.get("executors").get(0)).putArray("command"));
        bad.put("executors[0].command[3]", t -> ((ArrayNode) t.get("executors").get(0).get("command")).add(1));
        bad.put("executors[0].workdir", t -> ((ObjectNode) t.get("executors").get(0)).put("workdir", "data"));
        bad.put("executors[0].stdout", t -> ((ObjectNode) t.get("executors").get(0)).put("stdout", "out.log"));
        bad.put("executors[0].ignore_error", t -> ((ObjectNode) t.get("executors").get(0)).put("ignore_error", "y"));
        bad.put("executors[0].env.A", t -> ((ObjectNode) t.get("executors").get(0)).putObject("env").put("A", 1));
        bad.put("inputs[0].path", t -> t.putArray("inputs").addObject().put("content", "x"));
        bad.put("inputs[0].path", t -> t.putArray("inputs").addObject().put("content", "x").put("path", "rel/x"));
        bad.put("inputs[0].url", t -> t.putArray("inputs").addObject().put("path", "/x"));
        bad.put("inputs[0].url", t -> t.putArray("inputs").addObject().put("path", "/x").put("url", "s3://bkt/x"));
        bad.put("inputs[0].url", t -> t.putArray("inputs").addObject().put("path", "/x").put("url", "https://h/x"));
        bad.put("inputs[0].url", t -> t.putArray("inputs").addObject().put("path", "/x").put("url", "/etc/passwd"));
        bad.put("inputs[0].url", t -> t.putArray("inputs").addObject().put("path", "/x")
                .put("url", "file://" + storage + "/../bob/secret"));
        bad.put("inputs[0].url", t -> t.putArray("inputs").addObject().put("path", "/x")
                .put("url", "file://elsewhere" + storage + "/in.txt"));
        bad.put("inputs[0].url", t -> t.putArray("inputs").addObject().put("path", "/x").put("url", "in.txt"));
        bad.put("inputs[0].url", t -> t.putArray("inputs").addObject().put("path", "/x")
                .put("url", storage + "//in.txt"));
        bad.put("inputs[0].type", t -> t.putArray("inputs").addObject().put("path", "/x").put("content", "x")
                .put("type", "BLOB"));
        bad.put("inputs[0]", t -> t.putArray("inputs").addObject().put("path", "/x")
                .put("content", "x".repeat(1024 * 1024 + 1)));
        bad.put("outputs[0].url", t -> t.putArray("outputs").addObject().put("path", "/out/x"));
        bad.put("outputs[0].path", t -> t.putArray("outputs").addObject().put("url", storage + "/x"));
        bad.put("outputs[0].path", t -> t.putArray("outputs").addObject().put("path", "out/x")
                .put("url", storage + "/x"));
        bad.put("outputs[0].path_prefix", t -> t.putArray("outputs").addObject().put("path", "/out/*.txt")
                .put("url", storage + "/r/"));
        bad.put("outputs[0].url", t -> t.putArray("outputs").addObject().put("path", "/out/x")
                .put("url", "gs://bkt/x"));
        bad.put("volumes", t -> t.putArray("volumes").add("vol"));
        bad.put("volumes[0]", t -> t.putArray("volumes").add(3));
        bad.put("tags", t -> t.putObject("tags").put("k".repeat(200), "v"));
        bad.put("tags", t -> t.putObject("tags").put("k", "v".repeat(300)));
        bad.put("tags", t -> t.putObject("tags").put("skyport.tes", "forged"));
        bad.put("tags.k", t -> t.putObject("tags").put("k", 5));
        bad.put("name", t -> t.put("name", "n".repeat(300)));
        bad.put("name", t -> t.put("name", 7));
        bad.put("resources", t -> t.put("resources", "big"));
        bad.put("resources.cpu_cores", t -> t.putObject("resources").put("cpu_cores", "2"));
        bad.put("resources.cpu_cores", t -> t.putObject("resources").put("cpu_cores", 0));
        bad.put("resources.cpu_cores", t -> t.putObject("resources").put("cpu_cores", 4096));
        bad.put("resources.ram_gb", t -> t.putObject("resources").put("ram_gb", -1));
        bad.put("resources.zones", t -> t.putObject("resources").putArray("zones").add("a").add("b"));
        bad.put("resources.zones", t -> t.putObject("resources").putArray("zones").add("no-such-site"));
        bad.put("resources.backend_parameters.VmSize", t -> t.putObject("resources")
                .put("backend_parameters_strict", true).putObject("backend_parameters").put("VmSize", "x"));
        bad.put("resources.backend_parameters.time_limit", t -> t.putObject("resources")
                .put("backend_parameters_strict", true).putObject("backend_parameters").put("time_limit", "soon"));
        for (Map.Entry<String, Consumer<ObjectNode>> c : bad) {
            ObjectNode t = task("bad");
            c.getValue().accept(t);
            TesHttp.Reply r = alice.post("/tasks", t.toString());
            assertThat(r.code()).as("%s: %s", c.getKey(), r.body()).isEqualTo(400);
            assertThat(r.json().get("field").asText()).as(r.body()).isEqualTo(c.getKey());
        }
        for (String body : List.of("", "{", "[]", "\"task\"", "null", "{\"executors\": [}", "{} {}")) {
            TesHttp.Reply r = alice.post("/tasks", body);
            assertThat(r.code()).as("%s: %s", body, r.body()).isEqualTo(400);
        }
        for (String query : List.of("view=full", "view=EVERYTHING", "state=DONE", "state=queued", "page_size=0",
                "page_size=2048", "page_size=ten", "page_token=garbage", "name_prefix=" + "n".repeat(300),
                "page_token=" + token("t2\n" + UUID.randomUUID() + "\nnot-a-job"), "page_token=" + token("t2\nnot-an-id\n"),
                "page_token=" + token("t2\n" + UUID.randomUUID()), "page_token=" + token("t1\n0\n"),
                "view=BASIC&view=FULL")) {
            TesHttp.Reply r = alice.get("/tasks?" + query);
            assertThat(r.code()).as("%s: %s", query, r.body()).isEqualTo(400);
        }
        // A well-formed position is no secret: any task id (here bob's) only says where to start the caller's list.
        String bobs = bob.create(task("bobs"));
        TesHttp.Reply fromBobs = alice.get("/tasks?page_token=" + token("t2\n" + bobs + "\n"));
        assertThat(fromBobs.code()).isEqualTo(200);
        assertThat(fromBobs.body()).doesNotContain(bobs);
        String id = alice.create(task("for-view"));
        assertThat(alice.get("/tasks/" + id + "?view=ALL").code()).isEqualTo(400);
        assertThat(alice.get("/nowhere").code()).isEqualTo(404);
        assertThat(alice.post("/service-info", "{}").code()).isEqualTo(405);
        assertThat(listAll(alice, "").size()).as("nothing but the one good task was created").isEqualTo(before + 1);
    }

    /** A page token as this server writes them, holding {@code plain}. */
    private static String token(String plain) {
        return URLEncoder.encode(java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                plain.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }
}
