package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.Job;
import dev.skyport.api.JobQuery;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import dev.skyport.samples.daemon.pki.Pem;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.TlsVersion;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The real daemon on a random port with real certificates, driven over mTLS the way the upstream Python client,
 * console and Jupyter spawner drive it ({@code docs/user-api.md}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UserApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> JOB_KEYS = Set.of("id", "name", "state", "state_details", "submit_time",
            "start_time", "end_time", "duration", "exitcode", "signal", "node_names", "node_ips", "remote_id",
            "flavor_id", "request", "resources", "comment");
    private static final Set<String> STATES = Set.of("R", "Q", "W", "F", "E", "T", "C");

    private Path dir;
    private Daemon daemon;
    private ClusterPki pki;
    private OkHttpClient alice;
    private OkHttpClient bob;
    private OkHttpClient admin;
    private OkHttpClient opsAdmin;
    private String base;
    private IssuedUser rootUser;

    @BeforeAll
    void startDaemon(@TempDir Path tmp) {
        dir = tmp;
        Path spool = dir.resolve("spool");
        pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        IssuedUser a = pki.issueUser("alice", false);
        IssuedUser b = pki.issueUser("bob", false);
        IssuedUser root = pki.issueUser("root", false);
        rootUser = root;
        Path bundle = pki.layout().caChain();
        alice = Mtls.client(a, bundle);
        bob = Mtls.client(b, bundle);
        admin = Mtls.client(root, bundle);
        IssuedUser ops = pki.issueUser("ops", false);
        opsAdmin = Mtls.client(ops, bundle);
        String opsSubject = Pem.readCertificates(ops.cert()).get(0).getSubjectX500Principal().getName();
        daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1").withSpool(spool)
                .withDataDir(dir.resolve("data")).withAdmins(List.of("root", opsSubject)));
        base = "https://localhost:" + daemon.port();
    }

    @AfterAll
    void stopDaemon() {
        daemon.close();
    }

    // ---- transport

    @Test
    void apiVersionAnswersAsUpstream() throws IOException {
        try (Response r = call(alice, get("/user"))) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.header("Content-Type")).startsWith("application/json");
            assertThat(r.body().string()).isEqualTo("{\"api_version\": 1}");
            assertThat(r.handshake().tlsVersion()).isIn(TlsVersion.TLS_1_2, TlsVersion.TLS_1_3);
            assertThat(r.protocol().toString()).isEqualTo("http/1.1");
        }
    }

    @Test
    void serverCertificatePassesHostnameVerificationForEveryNameItCarries() throws IOException {
        for (String host : List.of("localhost", "127.0.0.1")) {
            try (Response r = alice.newCall(new Request.Builder()
                    .url("https://" + host + ":" + daemon.port() + "/user").build()).execute()) {
                assertThat(r.code()).as(host).isEqualTo(200);
            }
        }
    }

    @Test
    void clientsWithoutACertificateAreRefusedAtTheTlsLayer() {
        OkHttpClient anonymous = Mtls.anonymous(pki.layout().caChain());
        assertRefusedDuringHandshake(anonymous);
    }

    @Test
    void certificatesFromAnotherCaAreRefusedAtTheTlsLayer() {
        ClusterPki other = ClusterPki.init(dir.resolve("other-spool"), List.of("localhost"));
        IssuedUser mallory = other.issueUser("alice", false); // same name, wrong CA
        OkHttpClient client = Mtls.client(mallory, pki.layout().caChain());
        assertRefusedDuringHandshake(client);
    }

    /**
     * No HTTP response at all. Under TLS 1.3 the server checks the client's certificate after the client has finished
     * its side of the handshake, so the client sees either the server's alert ({@link SSLException}) or, when it has
     * already started writing the request, the closed socket ({@link SocketException}) — both before any HTTP byte.
     */
    private void assertRefusedDuringHandshake(OkHttpClient client) {
        assertThatThrownBy(() -> client.newCall(get("/user")).execute().close())
                .isInstanceOfAny(SSLException.class, SocketException.class);
    }

    @Test
    void aCertificateOfTheClusterCaWithoutARegisteredUserIsRefused() throws IOException {
        IssuedUser carol = pki.issueUser("carol", false);
        OkHttpClient stale = Mtls.client(carol, pki.layout().caChain());
        // Retired: the certificate still chains to the cluster CA, but its UUID names no registered user.
        Files.delete(carol.cert());
        awaitCode(stale, get("/user/job"), 403);
        try (Response r = call(stale, submitRequest("#!/bin/sh\necho hi\n"))) {
            assertThat(r.code()).isEqualTo(400);
            assertThat(JSON.readTree(r.body().string()).get("message").asText())
                    .matches("User with ID=\"[0-9a-f-]{36}\" is not registred in the workload manager");
        }
    }

    @Test
    void reissuingAUsersCertificateRetiresTheOldOne() throws IOException {
        IssuedUser dave = pki.issueUser("dave", false);
        OkHttpClient leaked = Mtls.client(dave, pki.layout().caChain());
        try (Response r = call(leaked, get("/user/job"))) {
            assertThat(r.code()).isEqualTo(200);
        }
        OkHttpClient renewed = Mtls.client(pki.issueUser("dave", true), pki.layout().caChain());
        awaitCode(leaked, get("/user/job"), 403);
        try (Response r = call(renewed, get("/user/job"))) {
            assertThat(r.code()).isEqualTo(200);
        }
    }

    @Test
    void aUserRecreatedUnderTheSameNameSeesNoneOfTheOldUsersJobs() throws IOException {
        IssuedUser first = pki.issueUser("carla", false);
        OkHttpClient old = Mtls.client(first, pki.layout().caChain());
        String oldJob = submit(old, "#!/bin/sh\necho mine\n");
        // Deleting the user's directory deletes the user; a new certificate for the name is a new user (a new UUID).
        Files.delete(first.cert());
        Files.delete(first.key());
        IssuedUser second = pki.issueUser("carla", false);
        assertThat(second.uuid()).isNotEqualTo(first.uuid());
        OkHttpClient recreated = Mtls.client(second, pki.layout().caChain());
        awaitCode(recreated, get("/user/job"), 200);
        assertThat(ids(body(recreated, "/user/job"))).doesNotContain(oldJob);
        String unknown = java.util.UUID.randomUUID().toString();
        try (Response theirs = call(recreated, get("/user/job/" + oldJob));
             Response none = call(recreated, get("/user/job/" + unknown))) {
            assertThat(theirs.code()).isEqualTo(none.code());
            assertThat(theirs.body().string()).isEqualTo(none.body().string().replace(unknown, oldJob));
        }
        try (Response r = call(recreated, delete(oldJob))) {
            assertThat(r.body().string()).contains("Not found: " + oldJob);
        }
        // The admin still sees the old job, shown with the name it was submitted under.
        JsonNode asAdmin = body(admin, "/user/job/" + oldJob);
        assertThat(asAdmin.get("user").asText()).isEqualTo("carla");
        String newJob = submit(recreated, "#!/bin/sh\necho mine too\n");
        assertThat(ids(body(recreated, "/user/job"))).containsExactly(newJob);
    }

    @Test
    void adminsAreRegisteredUsersNamedByUserNameOrSubjectAndOwnWhatTheySubmit() throws IOException {
        String theirs = submit(bob, "#!/bin/sh\necho bob\n");
        String adminsOwn = submit(admin, "#!/bin/sh\necho root\n");
        assertThat(body(admin, "/user/job/" + adminsOwn).get("user").asText()).isEqualTo("root");
        assertThat(ids(body(opsAdmin, "/user/job"))).contains(theirs, adminsOwn); // admin by subject
        assertThat(ids(body(bob, "/user/job"))).doesNotContain(adminsOwn);

        IssuedUser eve = pki.issueUser("eve", false);
        OkHttpClient retired = Mtls.client(eve, pki.layout().caChain());
        Daemon second = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1")
                .withSpool(pki.layout().spool()).withDataDir(dir.resolve("data-2")).withAdmins(List.of("eve")));
        try {
            Request list = new Request.Builder().url("https://localhost:" + second.port() + "/user/job").build();
            try (Response r = call(retired, list)) {
                assertThat(r.code()).isEqualTo(200);
            }
            Files.delete(eve.cert()); // an admin is retired like any user
            awaitCode(retired, list, 403);
        } finally {
            second.close();
        }
    }

    // ---- submit and the job's shape

    @Test
    void submitsTheExactMultipartFormOfThePythonClientAndRunsTheJob() throws IOException {
        String id = submit(alice, "#!/bin/sh\n#SWM name shape\necho out-line\necho err-line >&2\n");
        assertThat(id).hasSize(36).doesNotContain("\n");
        JsonNode job = awaitState(alice, id, s -> s.equals("F"));
        assertThat(fieldNames(job)).containsAll(JOB_KEYS);
        assertNoNulls(job);
        assertThat(job.get("id").asText()).isEqualTo(id);
        assertThat(job.get("name").asText()).isEqualTo("shape");
        assertThat(job.get("state_details").isTextual()).isTrue();
        assertThat(job.get("duration").isIntegralNumber()).isTrue();
        assertThat(job.get("exitcode").asInt()).isZero();
        assertThat(job.get("signal").asInt()).isZero();
        assertThat(job.get("submit_time").asText()).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z");
        assertThat(job.get("end_time").asText()).isNotEmpty();
        assertThat(job.get("node_names").isArray()).isTrue();
        assertThat(job.get("node_ips")).hasSize(job.get("node_names").size());
        assertThat(job.get("user").asText()).isEqualTo("alice");
        for (JsonNode resource : job.get("request")) {
            assertThat(resource.get("name").isTextual()).isTrue();
            assertThat(resource.get("count").isIntegralNumber()).isTrue();
            if (resource.has("value")) {
                assertThat(resource.get("value").isTextual()).isTrue();
            }
        }
        assertThat(resourceValue(job, "submission-address")).isEqualTo("127.0.0.1");
        try (Response r = call(alice, get("/user/job/" + id + "/stdout"))) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.body().string()).isEqualTo("out-line\n");
        }
        try (Response r = call(alice, get("/user/job/" + id + "/stderr"))) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.body().string()).isEqualTo("err-line\n");
        }
    }

    @Test
    void submitsARawBodyAsUpstreamsCurlScriptsDo() throws IOException {
        Request raw = new Request.Builder().url(base + "/user/job")
                .post(RequestBody.create("#!/bin/sh\n#SWM submission-address 10.1.2.3\necho raw\n",
                        MediaType.get("application/x-www-form-urlencoded")))
                .build();
        String id;
        try (Response r = call(alice, raw)) {
            assertThat(r.code()).isEqualTo(200);
            id = r.body().string();
        }
        JsonNode job = awaitState(alice, id, s -> s.equals("F"));
        assertThat(resourceValue(job, "submission-address")).isEqualTo("10.1.2.3");
    }

    @Test
    void listsAreArraysOfObjectsWithTheDocumentedKeys() throws IOException {
        String id = submit(alice, "#!/bin/sh\necho listed\n");
        JsonNode jobs = body(alice, "/user/job");
        assertThat(jobs.isArray()).isTrue();
        assertThat(ids(jobs)).contains(id);
        for (JsonNode job : jobs) {
            assertThat(fieldNames(job)).containsAll(JOB_KEYS);
            assertThat(STATES).contains(job.get("state").asText());
            assertNoNulls(job);
        }
        JsonNode nodes = body(alice, "/user/node");
        assertThat(nodes.isArray()).isTrue();
        assertThat(nodes).isNotEmpty();
        for (JsonNode node : nodes) {
            assertThat(fieldNames(node)).contains("id", "name", "host", "api_port", "state_power", "state_alloc",
                    "resources", "roles");
            assertThat(node.get("state_power").asText()).isIn("up", "down");
            assertThat(node.get("state_alloc").asText()).isIn("idle", "stopped", "offline", "busy", "maint");
            assertThat(node.get("api_port").isIntegralNumber()).isTrue();
            assertNoNulls(node);
        }
        for (String path : List.of("/user/flavor", "/user/image", "/user/remote")) {
            JsonNode list = body(alice, path);
            assertThat(list.isArray()).as(path).isTrue();
            list.forEach(UserApiTest::assertNoNulls);
        }
        assertThat(body(alice, "/user/node?limit=1")).hasSize(1);
    }

    /**
     * The upstream Jupyter spawner's form offers the remotes and flavors listed, and fails with
     * {@code KeyError: 'selected_flavor_name'} when there are none: the embedded default lists this machine as one
     * remote with one free flavor of its shape, and a job naming that flavor runs here.
     */
    @Test
    void theDefaultGateOffersThisMachineAsARemoteWithOneFreeFlavorThatJobsCanName() throws Exception {
        JsonNode remotes = body(alice, "/user/remote");
        JsonNode flavors = body(alice, "/user/flavor");
        assertThat(remotes).hasSize(1);
        assertThat(flavors).hasSize(1);
        JsonNode flavor = flavors.get(0);
        assertThat(flavor.get("remote_id").asText()).isEqualTo(remotes.get(0).get("id").asText());
        assertThat(flavor.get("price").asDouble()).isZero();
        JsonNode node = body(alice, "/user/node").get(0);
        for (String resource : List.of("cpus", "mem")) {
            assertThat(value(flavor, "resources", resource)).as(resource).isEqualTo(value(node, "resources", resource));
        }
        String id = submit(alice, "#!/bin/sh\n#SWM flavor " + flavor.get("name").asText()
                + "\necho on the flavor of this machine\n");
        JsonNode done = awaitState(alice, id, s -> s.equals("F") || s.equals("E") || s.equals("C"));
        assertThat(done.get("state").asText()).as(done.toString()).isEqualTo("F");
        assertThat(done.get("exitcode").asInt()).isZero();
        assertThat(done.get("flavor_id").asText()).isEqualTo(flavor.get("id").asText());
    }

    /**
     * A requeue stops the running process through CANCELING; the upstream Jupyter spawner reads C as "stopped" and
     * forgets the job, so while the process is being stopped for a requeue the job shows R. A cancel that comes while
     * it stops wins, and then the job shows C. The job holds its SIGTERM until the test lets it go, so the window is
     * not a matter of timing.
     */
    @Test
    void aRunningJobBeingRequeuedShowsRUntilACancelWins() throws Exception {
        String id = submit(alice, "#!/bin/sh\ntrap 'while [ ! -f release ]; do sleep 0.05; done; exit 0' TERM\n"
                + "echo armed\nwhile :; do sleep 0.1; done\n");
        dev.skyport.api.JobId jobId = dev.skyport.api.JobId.parse(id);
        awaitState(alice, id, s -> s.equals("R"));
        // RUNNING is reported once the process started, which may be before the shell set its trap: a TERM then
        // would end the job at once. The script says when the trap is in place.
        Instant armedBy = Instant.now().plus(Duration.ofSeconds(30));
        while (!daemon.engine().jobs().stdout(jobId).contains("armed")) {
            assertThat(Instant.now()).as("job %s set its TERM trap", id).isBefore(armedBy);
            pause();
        }
        try (Response r = call(alice, requeue(id, "modification", "requeue"))) {
            assertThat(r.code()).isEqualTo(200);
        }
        assertThat(daemon.engine().jobs().get(jobId).state()).isEqualTo(dev.skyport.api.JobState.CANCELING);
        JsonNode stopping = body(alice, "/user/job/" + id);
        JsonNode listed = null;
        for (JsonNode j : body(alice, "/user/job")) {
            if (j.get("id").asText().equals(id)) {
                listed = j;
            }
        }
        assertThat(daemon.engine().jobs().get(jobId).state()).as("still stopping when the letters were read")
                .isEqualTo(dev.skyport.api.JobState.CANCELING);
        assertThat(stopping.get("state").asText()).isEqualTo("R");
        assertThat(stopping.get("state_details").asText()).isEqualTo("Requeue requested");
        assertThat(listed).isNotNull();
        assertThat(listed.get("state").asText()).isEqualTo("R");

        try (Response r = call(alice, delete(id))) {
            assertThat(r.code()).isEqualTo(200);
        }
        assertThat(body(alice, "/user/job/" + id).get("state").asText()).isEqualTo("C");
        Files.writeString(dir.resolve("data").resolve("jobs").resolve(id).resolve("release"), "");
        assertThat(daemon.engine().jobs().await(jobId, Duration.ofSeconds(30)).state())
                .isEqualTo(dev.skyport.api.JobState.CANCELED);
        assertThat(body(alice, "/user/job/" + id).get("state").asText()).isEqualTo("C");
    }

    private static String value(JsonNode shape, String list, String name) {
        for (JsonNode r : shape.get(list)) {
            if (r.get("name").asText().equals(name)) {
                return r.get("count").asText();
            }
        }
        throw new AssertionError("no " + name + " in " + shape);
    }

    // ---- cancel and requeue

    @Test
    void cancelAndRequeueAnswerInUpstreamsTextFormat() throws IOException, InterruptedException {
        String id = submit(alice, "#!/bin/sh\nsleep 600\n");
        awaitState(alice, id, s -> s.equals("R"));
        try (Response r = call(alice, requeue(id, "modification", "requeue"))) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.body().string()).isEqualTo("Requeued: " + id + "\nNot found: ");
        }
        assertThat(daemon.engine().events().history(dev.skyport.api.JobId.parse(id)))
                .anyMatch(t -> t.to() == dev.skyport.api.JobState.CANCELING); // the running process is stopped
        // R while it stops (see aRunningJobBeingRequeuedShowsRUntilACancelWins), then R of the new run
        awaitState(alice, id, s -> s.equals("R"));
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (daemon.engine().jobs().get(dev.skyport.api.JobId.parse(id)).state() != dev.skyport.api.JobState.RUNNING) {
            assertThat(Instant.now()).as("job %s running again", id).isBefore(deadline);
            pause();
        }
        assertThat(daemon.engine().events().history(dev.skyport.api.JobId.parse(id)))
                .filteredOn(t -> t.to() == dev.skyport.api.JobState.RUNNING).hasSize(2); // and runs again
        try (Response r = call(alice, delete(id))) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.body().string()).isEqualTo("Canceled: " + id + "\nNot found: ");
        }
        JsonNode canceled = awaitState(alice, id, s -> s.equals("C"));
        assertThat(canceled.get("exitcode").asInt()).isEqualTo(-1);
        assertThat(canceled.get("signal").asInt()).isEqualTo(-1);
        daemon.engine().jobs().await(dev.skyport.api.JobId.parse(id), Duration.ofSeconds(30));
        canceled = body(alice, "/user/job/" + id);
        assertThat(canceled.get("state").asText()).isEqualTo("C");
        assertThat(canceled.get("exitcode").asInt()).isEqualTo(-1); // also once the stopped process's code is known
        assertThat(canceled.get("signal").asInt()).isEqualTo(-1);
        assertThat(canceled.get("end_time").asText()).isNotEmpty();
        // unknown ids, in the same text format
        String unknown = "00000000-0000-4000-8000-000000000000";
        try (Response r = call(alice, delete(unknown))) {
            assertThat(r.body().string()).isEqualTo("Canceled: \nNot found: " + unknown);
        }
        try (Response r = call(alice, requeue(unknown, "Modification", "requeue"))) {
            assertThat(r.body().string()).isEqualTo("Requeued: \nNot found: " + unknown);
        }
        try (Response r = call(alice, delete("short"))) {
            assertThat(r.code()).isEqualTo(404);
            assertThat(r.body().string()).isEqualTo("Can't parse the request");
        }
    }

    @Test
    void requeueWithoutOrWithAnUnknownModificationIsABadRequest() throws IOException {
        String id = submit(alice, "#!/bin/sh\necho x\n");
        Job before = daemon.engine().jobs().get(dev.skyport.api.JobId.parse(id));
        try (Response r = call(alice, new Request.Builder().url(base + "/user/job/" + id)
                .patch(RequestBody.create(new byte[0])).build())) {
            assertThat(r.code()).isEqualTo(400);
            assertThat(r.body().string()).isEqualTo("Modification is not specified in the headers");
        }
        try (Response r = call(alice, requeue(id, "modification", "shuffle"))) {
            assertThat(r.code()).isEqualTo(400);
            assertThat(r.body().string()).doesNotContain("Authorization").contains("requeue");
        }
        assertThat(daemon.engine().events().history(before.id()))
                .noneMatch(t -> t.from().isPresent() && t.to() == dev.skyport.api.JobState.QUEUED);
    }

    // ---- isolation

    @Test
    void usersSeeAndTouchOnlyTheirOwnJobsWhileAdminsSeeAll() throws IOException {
        String mine = submit(alice, "#!/bin/sh\nsleep 600\n");
        String theirs = submit(bob, "#!/bin/sh\necho bob\n");
        awaitState(alice, mine, s -> s.equals("R"));

        assertThat(ids(body(bob, "/user/job"))).contains(theirs).doesNotContain(mine);
        assertThat(ids(body(alice, "/user/job"))).contains(mine).doesNotContain(theirs);
        assertThat(ids(body(admin, "/user/job"))).contains(mine, theirs);

        for (String path : List.of("/user/job/" + mine, "/user/job/" + mine + "/stdout",
                "/user/job/" + mine + "/stderr")) {
            try (Response r = call(bob, get(path))) {
                assertThat(r.code()).as(path).isEqualTo(404);
            }
        }
        try (Response r = call(bob, delete(mine))) {
            assertThat(r.body().string()).isEqualTo("Canceled: \nNot found: " + mine);
        }
        try (Response r = call(bob, requeue(mine, "modification", "requeue"))) {
            assertThat(r.body().string()).isEqualTo("Requeued: \nNot found: " + mine);
        }
        assertThat(body(alice, "/user/job/" + mine).get("state").asText()).isEqualTo("R");
        assertThat(daemon.engine().events().history(dev.skyport.api.JobId.parse(mine)))
                .extracting(t -> t.to()).containsExactly(dev.skyport.api.JobState.QUEUED,
                        dev.skyport.api.JobState.RUNNING); // neither bob's cancel nor his requeue reached it
        // the admin acts on anyone's job
        try (Response r = call(admin, delete(mine))) {
            assertThat(r.body().string()).isEqualTo("Canceled: " + mine + "\nNot found: ");
        }
        awaitState(alice, mine, s -> s.equals("C"));
    }

    @Test
    void aJobOfBobCannotReadAlicesOutputTheAdminsKeyOrTheStore() throws IOException {
        String alices = submit(alice, "#!/bin/sh\necho alice-output-line\nsleep 600\n");
        awaitState(alice, alices, s -> s.equals("R"));
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (!text(alice, "/user/job/" + alices + "/stdout").contains("alice-output-line")) {
            assertThat(Instant.now()).as("alice's job wrote its output").isBefore(deadline);
            pause();
        }
        Path data = dir.resolve("data");
        String bobs = submit(bob, "#!/bin/sh\necho \"user=$USER\"\n"
                + "cat ../*/stdout.log ../*/script " + data + "/jobs/" + alices + "/stdout.log\n"
                + "ls -R " + pki.layout().spool() + "\n"
                + "cat " + rootUser.key() + " " + pki.layout().clusterKey() + " " + data + "/*.db\n"
                + "exit 0\n");
        awaitState(bob, bobs, s -> s.equals("F"));
        String out = text(bob, "/user/job/" + bobs + "/stdout");
        String seen = out + text(bob, "/user/job/" + bobs + "/stderr");
        assertThat(out).startsWith("user=bob\n");
        assertThat(seen).doesNotContain("alice-output-line", "PRIVATE KEY", "SQLite");
        try (Response r = call(admin, delete(alices))) {
            assertThat(r.code()).isEqualTo(200);
        }
    }

    private String text(OkHttpClient client, String path) throws IOException {
        try (Response r = call(client, get(path))) {
            assertThat(r.code()).as(path).isEqualTo(200);
            return r.body().string();
        }
    }

    // ---- bad input

    @Test
    void badInputGets4xxChangesNothingAndTheDaemonKeepsServing() throws IOException {
        String id = submit(alice, "#!/bin/sh\necho keep\n");
        awaitState(alice, id, s -> s.equals("F"));
        List<Job> before = allJobs();
        String boundary = "0123456789abcdef0123456789abcdef";
        MediaType multipart = MediaType.get("multipart/form-data; boundary=" + boundary);
        List<Request> bad = new ArrayList<>();
        // malformed multipart
        bad.add(post("--" + boundary + "\r\nContent-Disposition: form-data; name=\"script_content\"\r\n\r\n#!/bin/sh\n",
                multipart));
        bad.add(post("garbage without any boundary", multipart));
        bad.add(post("--" + boundary + "\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--" + boundary
                + "--\r\n", multipart));
        bad.add(post("x", MediaType.get("multipart/form-data")));
        bad.add(post("--" + boundary + "\r\nbroken header line\r\n\r\nx\r\n--" + boundary + "--\r\n", multipart));
        // empty and binary scripts
        bad.add(multipartRequest(new byte[0]));
        bad.add(multipartRequest("   \n\n".getBytes(StandardCharsets.UTF_8)));
        bad.add(multipartRequest(new byte[] {0x7f, 'E', 'L', 'F', 0, 0, 1, 2}));
        bad.add(multipartRequest(new byte[] {(byte) 0xc3, (byte) 0x28, '\n'}));
        bad.add(new Request.Builder().url(base + "/user/job").post(RequestBody.create(new byte[0])).build());
        // oversized
        byte[] huge = new byte[DaemonConfig.DEFAULT_MAX_SCRIPT_BYTES + 1];
        java.util.Arrays.fill(huge, (byte) 'a');
        huge[0] = '#';
        bad.add(multipartRequest(huge));
        bad.add(post(new String(huge, StandardCharsets.US_ASCII), MediaType.get("text/plain")));
        bad.add(new Request.Builder().url(base + "/user/job").post(chunked(huge)).build()); // no Content-Length
        // malformed directives
        for (String directive : List.of("#SWM gpus x", "#SWM gpus -1", "#SWM cpus 0", "#SWM mem lots",
                "#SWM time forever", "#SWM ports 80", "#SWM ports 80/tcp/sideways", "#SWM nodes 0",
                "#SWM priority high", "#SWM stdout /tmp/x", "#SWM stdin /dev/null", "#SWM stderr /tmp/e",
                "#SWM cpus 99999999", "#SWM env NOEQUALS")) {
            bad.add(submitRequest("#!/bin/sh\n" + directive + "\necho x\n"));
        }
        bad.add(post("#!/bin/sh\necho x\n", MediaType.get("text/plain"), "/user/job?path=/etc/passwd"));
        bad.add(post("#!/bin/sh\necho x\n", MediaType.get("text/plain"), "/user/job?priority=3"));
        // unknown ids and paths
        for (String path : List.of("/user/job/short", "/user/job/" + "x".repeat(36),
                "/user/job/00000000-0000-4000-8000-000000000000", "/user/job/short/stdout",
                "/user/job/" + "x".repeat(36) + "/stderr", "/user/job/00000000-0000-4000-8000-000000000000/stdout",
                "/user/job/" + id + "/stdin", "/user/nothing", "/user/job/", "/user/", "/", "/user/job/a/b/c/d",
                "/users", "/user/node?limit=0", "/user/node?limit=x", "/user/flavor?lmit=3", "/user?x=1")) {
            bad.add(get(path));
        }
        // wrong methods
        bad.add(new Request.Builder().url(base + "/user").post(RequestBody.create(new byte[0])).build());
        bad.add(new Request.Builder().url(base + "/user/node").post(RequestBody.create(new byte[0])).build());
        bad.add(new Request.Builder().url(base + "/user/job").put(RequestBody.create(new byte[0])).build());
        bad.add(new Request.Builder().url(base + "/user/job").delete().build());
        bad.add(new Request.Builder().url(base + "/user/job/" + id).post(RequestBody.create(new byte[0])).build());
        bad.add(new Request.Builder().url(base + "/user/job/" + id + "/stdout").delete().build());
        bad.add(new Request.Builder().url(base + "/user/flavor").method("OPTIONS", null).build());
        bad.add(new Request.Builder().url(base + "/user/remote").patch(RequestBody.create(new byte[0])).build());
        // bad headers
        bad.add(requeue(id, "modification", "requeue-all"));
        bad.add(requeue(id, "modification", " "));
        bad.add(new Request.Builder().url(base + "/user/job").header("Content-Type", "multipart/form-data; boundary=")
                .post(RequestBody.create("x".getBytes(StandardCharsets.UTF_8))).build());

        assertThat(bad).hasSizeGreaterThanOrEqualTo(50);
        for (Request request : bad) {
            try (Response r = call(alice, request)) {
                String text = r.body().string();
                assertThat(r.code()).as(request.method() + " " + request.url() + " " + describe(request) + " -> " + text)
                        .isBetween(400, 499);
                assertThat(text).as(request.url().toString()).doesNotContain("Exception", "\tat ");
                if (r.header("Content-Type", "").startsWith("application/json")) {
                    JsonNode error = JSON.readTree(text);
                    assertThat(error.get("error").isTextual()).as(text).isTrue();
                    assertThat(error.get("message").asText()).as(text).isNotBlank();
                }
            }
        }
        assertThat(allJobs()).isEqualTo(before);
        try (Response r = call(alice, get("/user"))) {
            assertThat(r.code()).isEqualTo(200);
        }
        assertThat(submit(alice, "#!/bin/sh\necho still-serving\n")).hasSize(36);
    }

    @Test
    void oversizedScriptsAnswer413WithOrWithoutAContentLength() throws IOException {
        byte[] huge = new byte[DaemonConfig.DEFAULT_MAX_SCRIPT_BYTES + 1];
        java.util.Arrays.fill(huge, (byte) '#');
        for (Request request : List.of(multipartRequest(huge),
                new Request.Builder().url(base + "/user/job").post(chunked(huge)).build())) {
            try (Response r = call(alice, request)) {
                assertThat(r.code()).isEqualTo(413);
                assertThat(JSON.readTree(r.body().string()).get("error").asText()).isEqualTo("script_too_large");
            }
        }
    }

    @Test
    void aMebibyteAccountDirectiveIs400NamingTheFieldAndStoresNothing() throws IOException {
        int before = allJobs().size();
        // As large as the default script limit lets through: the account alone is 1 MiB less 1 KiB.
        String script = "#!/bin/sh\n#SWM account " + "a".repeat((1 << 20) - 1024) + "\necho hi\n";
        try (Response r = call(alice, submitRequest(script))) {
            String text = r.body().string();
            assertThat(r.code()).as(text).isEqualTo(400);
            JsonNode body = JSON.readTree(text);
            assertThat(body.get("error").asText()).isEqualTo("invalid_script");
            assertThat(body.get("field").asText()).isEqualTo("account");
            assertThat(body.get("message").asText()).startsWith("line 2: #SWM account: ")
                    .contains("at most " + dev.skyport.api.JobSpec.MAX_ACCOUNT_LENGTH).hasSizeLessThan(200);
        }
        assertThat(allJobs()).hasSize(before);
    }

    @Test
    void healthAnswers200WithTheStatusWhileTheEngineWorks() throws IOException {
        try (Response r = call(bob, get("/user/health"))) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.header("Content-Type")).startsWith("application/json");
            assertThat(JSON.readTree(r.body().string())).isEqualTo(JSON.readTree("{\"status\":\"UP\",\"problems\":[]}"));
        }
        try (Response r = call(bob, get("/user/health?verbose=1"))) {
            assertThat(r.code()).isEqualTo(400);
        }
    }

    @Test
    void malformedDirectivesNameTheLineAndTheField() throws IOException {
        try (Response r = call(alice, submitRequest("#!/bin/sh\n#SWM gpus two\n"))) {
            assertThat(r.code()).isEqualTo(400);
            JsonNode error = JSON.readTree(r.body().string());
            assertThat(error.get("error").asText()).isEqualTo("invalid_script");
            assertThat(error.get("field").asText()).isEqualTo("gpus");
            assertThat(error.get("message").asText()).contains("line 2");
        }
    }

    // ---- helpers

    private static String describe(Request request) throws IOException {
        if (request.body() == null) {
            return "";
        }
        okio.Buffer buffer = new okio.Buffer();
        request.body().writeTo(buffer);
        return buffer.readUtf8(Math.min(buffer.size(), 200)).replace("\r", "\\r").replace("\n", "\\n");
    }

    private List<Job> allJobs() {
        return daemon.engine().jobs().list(JobQuery.all().withLimit(JobQuery.MAX_LIMIT)).items();
    }

    private String submit(OkHttpClient client, String script) throws IOException {
        try (Response r = call(client, submitRequest(script))) {
            String body = r.body().string();
            assertThat(r.code()).as(body).isEqualTo(200);
            return body;
        }
    }

    private Request submitRequest(String script) {
        return multipartRequest(script.getBytes(StandardCharsets.UTF_8));
    }

    /** The body httpx 0.23 sends for {@code SwmApi.submit_job} (spec §B.7), byte for byte. */
    private Request multipartRequest(byte[] script) {
        String boundary = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
        byte[] head = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"script_content\"\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] body = new byte[head.length + script.length + tail.length];
        System.arraycopy(head, 0, body, 0, head.length);
        System.arraycopy(script, 0, body, head.length, script.length);
        System.arraycopy(tail, 0, body, head.length + script.length, tail.length);
        return new Request.Builder().url(base + "/user/job")
                .post(RequestBody.create(body, MediaType.get("multipart/form-data; boundary=" + boundary)))
                .build();
    }

    private static RequestBody chunked(byte[] bytes) {
        return new RequestBody() {
            @Override
            public MediaType contentType() {
                return MediaType.get("text/plain");
            }

            @Override
            public long contentLength() {
                return -1; // sent chunked
            }

            @Override
            public void writeTo(okio.BufferedSink sink) throws IOException {
                sink.write(bytes);
            }
        };
    }

    private Request post(String body, MediaType type) {
        return post(body, type, "/user/job");
    }

    private Request post(String body, MediaType type, String path) {
        return new Request.Builder().url(base + path).post(RequestBody.create(body.getBytes(StandardCharsets.UTF_8),
                type)).build();
    }

    private Request get(String path) {
        return new Request.Builder().url(base + path).build();
    }

    private Request delete(String id) {
        return new Request.Builder().url(base + "/user/job/" + id).delete().build();
    }

    private Request requeue(String id, String header, String value) {
        return new Request.Builder().url(base + "/user/job/" + id).header(header, value)
                .patch(RequestBody.create(new byte[0])).build();
    }

    /** Every call carries what the Python client sends: the constant bearer token and Accept: application/json. */
    private static Response call(OkHttpClient client, Request request) throws IOException {
        return client.newCall(request.newBuilder()
                .header("Authorization", "Bearer swm")
                .header("Accept", "application/json")
                .header("User-Agent", "python-httpx/0.23.3")
                .build()).execute();
    }

    private JsonNode body(OkHttpClient client, String path) throws IOException {
        try (Response r = call(client, get(path))) {
            String text = r.body().string();
            assertThat(r.code()).as(path + " -> " + text).isEqualTo(200);
            return JSON.readTree(text);
        }
    }

    private JsonNode awaitState(OkHttpClient client, String id, Predicate<String> state) throws IOException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        JsonNode job = body(client, "/user/job/" + id);
        while (!state.test(job.get("state").asText())) {
            assertThat(Instant.now()).as("job %s still %s", id, job).isBefore(deadline);
            pause();
            job = body(client, "/user/job/" + id);
        }
        return job;
    }

    private void awaitCode(OkHttpClient client, Request request, int code) throws IOException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (true) {
            try (Response r = call(client, request)) {
                if (r.code() == code) {
                    return;
                }
                assertThat(Instant.now()).as("still %d", r.code()).isBefore(deadline);
            }
            pause();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(50); // polling interval, bounded by the caller's deadline
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static Set<String> ids(JsonNode jobs) {
        Set<String> ids = new HashSet<>();
        jobs.forEach(j -> ids.add(j.get("id").asText()));
        return ids;
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new HashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static String resourceValue(JsonNode job, String name) {
        for (JsonNode r : job.get("request")) {
            if (r.get("name").asText().equals(name)) {
                return r.get("value").asText();
            }
        }
        throw new AssertionError("no " + name + " in " + job);
    }

    private static void assertNoNulls(JsonNode node) {
        if (node.isNull()) {
            throw new AssertionError("null in the reply");
        }
        Iterator<JsonNode> children = node.elements();
        while (children.hasNext()) {
            assertNoNulls(children.next());
        }
    }
}
