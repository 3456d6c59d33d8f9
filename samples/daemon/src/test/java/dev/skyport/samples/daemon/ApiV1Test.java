package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Limits;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.client.internal.wire.WireJson;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import okhttp3.ConnectionPool;
import okhttp3.Headers;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSink;
import okio.BufferedSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code /api/v1} of the real daemon on a random port with real certificates, checked against its OpenAPI file: every
 * reply's path, method and status is declared and its JSON body validates against the declared schema, and by the
 * end every declared status has been seen ({@link #everyDeclaredStatusWasExercised}). Two daemons: the main one, and a
 * constrained one (tiny script limit, one active job per user, a scheduler that can be made to fail, a one-second
 * idle timeout) for the 413, 429 and 503 answers and for the waits that must outlive an idle timeout.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiV1Test {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MediaType APPLICATION_JSON = MediaType.get("application/json");
    private static final MediaType TEXT = MediaType.get("text/plain");
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final OpenApiContract contract = new OpenApiContract();
    private Daemon daemon;
    private Daemon constrained;
    private String base;
    private String constrainedBase;
    private OkHttpClient alice;
    private OkHttpClient bob;
    private OkHttpClient admin;
    private OkHttpClient stranger;
    private OkHttpClient constrainedAlice;
    private OkHttpClient constrainedBob;
    private OkHttpClient constrainedAdmin;
    private IssuedUser bobUser;
    private IssuedUser aliceUser;

    record Reply(int code, Headers headers, byte[] body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError(new String(body, StandardCharsets.UTF_8), e);
            }
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        String error() {
            return json().path("error").asText();
        }
    }

    @BeforeAll
    void start(@TempDir Path dir) {
        Path spool = dir.resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        Path bundle = pki.layout().caChain();
        aliceUser = pki.issueUser("alice", false);
        bobUser = pki.issueUser("bob", false);
        // Retrying a call on a pooled connection the daemon closed while idle (after 30 s by default).
        alice = Mtls.client(aliceUser, bundle).newBuilder().readTimeout(Duration.ofSeconds(30))
                .retryOnConnectionFailure(true).build();
        bob = Mtls.client(bobUser, bundle).newBuilder().retryOnConnectionFailure(true).build();
        admin = Mtls.client(pki.issueUser("root", false), bundle).newBuilder().retryOnConnectionFailure(true).build();
        IssuedUser carol = pki.issueUser("carol", false);
        stranger = Mtls.client(carol, bundle);
        try {
            Files.delete(carol.cert()); // a certificate of the cluster CA that names no registered user
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1").withSpool(spool)
                .withDataDir(dir.resolve("data")).withAdmins(List.of("root")));
        base = "https://localhost:" + daemon.port();

        DaemonConfig defaults = DaemonConfig.defaults();
        FailingScheduler.failing = false;
        constrained = Daemon.start(defaults.withPort(0).withBind("127.0.0.1").withSpool(spool)
                .withDataDir(dir.resolve("data-constrained")).withAdmins(List.of("root"))
                .withEngine(defaults.engine().withScheduler("failing"))
                .withLimits(Limits.defaults().withMaxActiveJobsPerUser(1)).withMaxScriptBytes(1024)
                .withClients(new DaemonConfig.ClientLimits(32, 64, 1024, Duration.ofSeconds(60),
                        Duration.ofSeconds(1))));
        constrainedBase = "https://localhost:" + constrained.port();
        // No pooled connections: the server closes idle ones after a second, and a reused closed one would fail.
        constrainedAlice = unpooled(Mtls.client(aliceUser, bundle));
        constrainedBob = unpooled(bob);
        constrainedAdmin = unpooled(admin);
    }

    @AfterAll
    void stop() {
        FailingScheduler.failing = false;
        daemon.close();
        constrained.close();
    }

    // ---- identity and impersonation

    @Test
    void whoAmIAnswersForUsersAdminsAndImpersonation() throws IOException {
        JsonNode me = call(alice, get("/api/v1")).json();
        assertThat(me.get("apiVersion").asText()).isEqualTo("v1");
        assertThat(me.get("user").get("name").asText()).isEqualTo("alice");
        assertThat(me.get("user").get("id").asText()).isEqualTo(aliceUser.uuid().toString());
        assertThat(me.get("user").get("admin").asBoolean()).isFalse();
        assertThat(me.get("lastSequence").asLong()).isLessThanOrEqualTo(daemon.engine().events().lastSequence());
        assertThat(call(admin, get("/api/v1")).json().get("user").get("admin").asBoolean()).isTrue();

        JsonNode acting = call(admin, get("/api/v1").newBuilder().header(ApiV1.ACT_AS, bobUser.uuid().toString())
                .header(ApiV1.ACT_AS_NAME, "bob").build()).json();
        assertThat(acting.get("user").get("id").asText()).isEqualTo(bobUser.uuid().toString());
        assertThat(acting.get("user").get("admin").asBoolean()).isFalse();
        Reply self = call(alice, get("/api/v1").newBuilder().header(ApiV1.ACT_AS, aliceUser.uuid().toString()).build());
        assertThat(self.code()).isEqualTo(200);
        Reply other = call(alice, get("/api/v1").newBuilder().header(ApiV1.ACT_AS, bobUser.uuid().toString()).build());
        assertThat(other.code()).isEqualTo(403);
        assertThat(other.error()).isEqualTo("forbidden");
        Reply blank = call(admin, get("/api/v1").newBuilder().header(ApiV1.ACT_AS, " ").build());
        assertThat(blank.code()).isEqualTo(400);
        assertThat(blank.json().get("field").asText()).isEqualTo(ApiV1.ACT_AS);
        Reply unregistered = call(stranger, get("/api/v1"));
        assertThat(unregistered.code()).isEqualTo(403);
        assertThat(unregistered.error()).isEqualTo("unregistered_user");
    }

    @Test
    void anAdminActingAsAUserSubmitsAsThatUserAndSeesOnlyTheirJobs() throws Exception {
        String bobs = submitScript(bob, "#!/bin/sh\necho bob\n");
        String alices = submitScript(alice, "#!/bin/sh\necho alice\n");
        Request asBob = post("/api/v1/jobs", RequestBody.create("#!/bin/sh\necho via admin\n", TEXT)).newBuilder()
                .header(ApiV1.ACT_AS, bobUser.uuid().toString()).header(ApiV1.ACT_AS_NAME, "bob").build();
        JsonNode made = call(admin, asBob).json();
        assertThat(made.get("owner").asText()).isEqualTo(bobUser.uuid().toString());
        assertThat(made.get("ownerName").asText()).isEqualTo("bob");
        List<String> seen = ids(call(admin, get("/api/v1/jobs?limit=1000").newBuilder()
                .header(ApiV1.ACT_AS, bobUser.uuid().toString()).build()).json());
        assertThat(seen).contains(bobs, made.get("id").asText()).doesNotContain(alices);
        assertThat(ids(call(admin, get("/api/v1/jobs?limit=1000")).json())).contains(bobs, alices);
        assertThat(ids(call(bob, get("/api/v1/jobs?limit=1000")).json())).contains(made.get("id").asText());
    }

    // ---- health, catalogue, the document

    @Test
    void healthCatalogueAndTheDocumentAnswer() throws IOException {
        JsonNode health = call(alice, get("/api/v1/health")).json();
        assertThat(health.get("status").asText()).isIn("UP", "DEGRADED");
        for (String list : List.of("nodes", "flavors", "images", "remotes", "partitions")) {
            JsonNode items = call(alice, get("/api/v1/" + list)).json().get("items");
            assertThat(items.isArray()).as(list).isTrue();
        }
        assertThat(call(alice, get("/api/v1/nodes")).json().get("items")).isNotEmpty();
        Reply doc = call(alice, get("/api/v1/openapi.yaml"));
        assertThat(doc.headers().get("Content-Type")).startsWith("application/yaml");
        assertThat(new ObjectMapper(new YAMLFactory()).readTree(doc.body()).get("openapi").asText()).startsWith("3.1");
    }

    // ---- submit

    @Test
    void aJsonSpecWithEveryMemberIsStoredAsSentAndAScriptRunsToItsEnd() throws Exception {
        JsonNode flavor = call(alice, get("/api/v1/flavors")).json().get("items").get(0);
        JobSpec spec = JobSpec.builder()
                .name("every-member")
                .command(List.of("/bin/sh", "-c", "echo \"$GREETING\""))
                .nodes(1).cpus(1).memoryBytes(1024 * 1024).gpus(0)
                .flavor(flavor.get("name").asText()).remoteSite(flavor.get("remoteSite").asText())
                .relocatable(false)
                .port(new PortSpec(18080, "tcp", PortSpec.Direction.IN))
                .port(new PortSpec(18081, "udp", PortSpec.Direction.OUT))
                .env("GREETING", "hello from json")
                .account("physics").priority(5).timeLimit(Duration.ofMinutes(5))
                .retryPolicy(new RetryPolicy(2, Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofMinutes(30),
                        true))
                .tag("team", "ml").comment("all of it").submissionAddress("192.0.2.7")
                .idempotencyKey("every-" + UUID.randomUUID())
                .build();
        Reply made = call(alice, post("/api/v1/jobs", json(WireJson.writeSpecRequest(spec))));
        assertThat(made.code()).as(made.text()).isEqualTo(201);
        String id = made.json().get("id").asText();
        assertThat(made.headers().get("Location")).isEqualTo("/api/v1/jobs/" + id);
        assertThat(WireJson.readJob(made.json()).spec()).isEqualTo(spec);
        JsonNode ended = call(alice, get("/api/v1/jobs/" + id + "?wait=60")).json();
        assertThat(ended.get("state").asText()).as(ended.toString()).isEqualTo("SUCCEEDED");
        assertThat(WireJson.readJob(ended).spec()).isEqualTo(spec);
        assertThat(call(alice, get("/api/v1/jobs/" + id + "/stdout")).text()).isEqualTo("hello from json\n");

        Reply script = call(alice, post("/api/v1/jobs", RequestBody.create(
                "#!/bin/sh\n#SWM name scripted\n#SWM mystery 1\necho out\necho err >&2\n",
                MediaType.get("text/x-shellscript"))));
        assertThat(script.code()).isEqualTo(201);
        assertThat(script.json().get("name").asText()).isEqualTo("scripted");
        assertThat(script.json().get("spec").get("warnings")).isNotEmpty();
        String scripted = script.json().get("id").asText();
        JsonNode done = call(alice, get("/api/v1/jobs/" + scripted + "?wait=60")).json();
        assertThat(done.get("state").asText()).isEqualTo("SUCCEEDED");
        assertThat(done.get("exitCode").asInt()).isZero();
        assertThat(done.has("endTime")).isTrue();
        assertThat(call(alice, get("/api/v1/jobs/" + scripted + "/stderr")).text()).isEqualTo("err\n");
        JsonNode history = call(alice, get("/api/v1/jobs/" + scripted + "/events")).json().get("items");
        assertThat(history.get(0).get("to").asText()).isEqualTo("QUEUED");
        assertThat(history.get(history.size() - 1).get("to").asText()).isEqualTo("SUCCEEDED");
    }

    @Test
    void anIdempotencyKeyReturnsTheFirstJobAndRefusesAnotherSpec() throws IOException {
        String key = UUID.randomUUID().toString();
        Request first = post("/api/v1/jobs", RequestBody.create("#!/bin/sh\necho once\n", TEXT)).newBuilder()
                .header(ApiV1.IDEMPOTENCY_KEY, key).build();
        Reply made = call(alice, first);
        assertThat(made.code()).isEqualTo(201);
        Reply again = call(alice, first);
        assertThat(again.code()).isEqualTo(200);
        assertThat(again.headers().get("Idempotent-Replayed")).isEqualTo("true");
        assertThat(again.json().get("id").asText()).isEqualTo(made.json().get("id").asText());
        Reply other = call(alice, post("/api/v1/jobs", RequestBody.create("#!/bin/sh\necho twice\n", TEXT))
                .newBuilder().header(ApiV1.IDEMPOTENCY_KEY, key).build());
        assertThat(other.code()).isEqualTo(422);
        assertThat(other.error()).isEqualTo("idempotency_key_reused");
        assertThat(other.json().get("jobId").asText()).isEqualTo(made.json().get("id").asText());
        Reply differs = call(alice, post("/api/v1/jobs", RequestBody.create(
                "{\"script\":\"echo x\",\"idempotencyKey\":\"a\"}", APPLICATION_JSON)).newBuilder()
                .header(ApiV1.IDEMPOTENCY_KEY, "b").build());
        assertThat(differs.code()).isEqualTo(400);
        assertThat(differs.json().get("field").asText()).isEqualTo("idempotencyKey");
    }

    @Test
    void badBodiesAreRefusedWithTheirStatus() throws IOException {
        Reply type = call(alice, post("/api/v1/jobs", RequestBody.create("<job/>", MediaType.get("application/xml"))));
        assertThat(type.code()).isEqualTo(415);
        Reply batchType = call(alice, post("/api/v1/jobs/batch", RequestBody.create("echo", TEXT)));
        assertThat(batchType.code()).isEqualTo(415);
        Reply negative = call(alice, post("/api/v1/jobs", RequestBody.create("{\"script\":\"echo\",\"cpus\":-1}",
                APPLICATION_JSON)));
        assertThat(negative.code()).isEqualTo(400);
        assertThat(negative.error()).isEqualTo("invalid_spec");
        assertThat(negative.json().get("field").asText()).isEqualTo("cpus");
        // The body is sent whole, without a declared length: the daemon reads one byte past its limit and refuses.
        Reply big = call(constrainedAlice, new Request.Builder().url(constrainedBase + "/api/v1/jobs")
                .post(unsized("#!/bin/sh\n" + "#".repeat(1100) + "\n", TEXT)).build());
        assertThat(big.code()).isEqualTo(413);
        assertThat(big.error()).isEqualTo("payload_too_large");
        String hugeBatch = "{\"jobs\":[{\"script\":\"" + "x".repeat(32 * 1024 * 1024) + "\"}]}";
        Reply bigBatch = call(alice, post("/api/v1/jobs/batch", unsized(hugeBatch, APPLICATION_JSON)));
        assertThat(bigBatch.code()).isEqualTo(413);
    }

    @Test
    void aBatchIsAllOrNone() throws IOException {
        Reply made = call(alice, post("/api/v1/jobs/batch", RequestBody.create(
                "{\"jobs\":[{\"script\":\"echo a\",\"name\":\"batch-a\"},{\"command\":[\"true\"],\"name\":\"batch-b\"}]}",
                APPLICATION_JSON)));
        assertThat(made.code()).isEqualTo(201);
        assertThat(made.json().get("items")).hasSize(2);
        assertThat(made.json().get("items").get(1).get("name").asText()).isEqualTo("batch-b");
        int before = ids(call(admin, get("/api/v1/jobs?limit=1000")).json()).size();
        Reply bad = call(alice, post("/api/v1/jobs/batch", RequestBody.create(
                "{\"jobs\":[{\"script\":\"echo a\"},{\"script\":\"echo b\",\"cpus\":0}]}", APPLICATION_JSON)));
        assertThat(bad.code()).isEqualTo(400);
        assertThat(bad.json().get("field").asText()).isEqualTo("jobs[1].cpus");
        assertThat(ids(call(admin, get("/api/v1/jobs?limit=1000")).json())).hasSize(before);
    }

    // ---- lists

    @Test
    void listsFilterAndPageWithCursors() throws IOException {
        String run = UUID.randomUUID().toString().substring(0, 8);
        List<String> made = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            made.add(call(bob, post("/api/v1/jobs", RequestBody.create("{\"script\":\"echo " + i + "\",\"name\":\"pg-"
                    + run + "-" + i + "\",\"tags\":{\"run\":\"" + run + "\",\"i\":\"" + i + "\"}}",
                    APPLICATION_JSON))).json().get("id").asText());
        }
        List<String> paged = new ArrayList<>();
        String url = "/api/v1/jobs?name=pg-" + run + "&limit=2";
        while (true) {
            JsonNode page = call(bob, get(url)).json();
            paged.addAll(ids(page));
            if (!page.has("nextCursor")) {
                break;
            }
            url = "/api/v1/jobs?name=pg-" + run + "&limit=2&cursor=" + page.get("nextCursor").asText();
        }
        assertThat(paged).containsExactlyElementsOf(made);
        assertThat(ids(call(bob, get("/api/v1/jobs?tag=run=" + run + "&tag=i=1")).json()))
                .containsExactly(made.get(1));
        JsonNode noScripts = call(bob, get("/api/v1/jobs?tag=run=" + run + "&scripts=false")).json();
        assertThat(noScripts.get("items").get(0).get("spec").get("scriptOmitted").asBoolean()).isTrue();
        assertThat(noScripts.get("items").get(0).get("spec").has("script")).isFalse();
        assertThat(ids(call(alice, get("/api/v1/jobs?tag=run=" + run)).json())).isEmpty();
        assertThat(ids(call(alice, get("/api/v1/jobs?owner=" + bobUser.uuid() + "&tag=run=" + run)).json())).isEmpty();
        assertThat(ids(call(admin, get("/api/v1/jobs?owner=" + bobUser.uuid() + "&tag=run=" + run)).json()))
                .hasSize(3);
        for (String s : List.of("SUCCEEDED", "QUEUED")) {
            for (JsonNode job : call(admin, get("/api/v1/jobs?state=" + s)).json().get("items")) {
                assertThat(job.get("state").asText()).isEqualTo(s);
            }
        }
        Reply badCursor = call(bob, get("/api/v1/jobs?cursor=not-a-cursor"));
        assertThat(badCursor.code()).isEqualTo(400);
        assertThat(badCursor.json().get("field").asText()).isEqualTo("cursor");
    }

    // ---- one job: get, cancel, requeue, 404s

    @Test
    void cancelRequeueAndTheirConflicts() throws Exception {
        int cpus = call(alice, get("/api/v1/nodes")).json().get("items").get(0).get("cpus").asInt();
        String holder = submitJson(alice, "{\"script\":\"sleep 60\",\"cpus\":" + cpus + "}");
        awaitState(alice, holder, "RUNNING");
        String waiting = submitJson(alice, "{\"script\":\"echo later\",\"cpus\":" + cpus + "}");
        Reply queued = call(alice, post("/api/v1/jobs/" + waiting + "/requeue", RequestBody.create(new byte[0])));
        assertThat(queued.code()).as("a queued job cannot be requeued").isEqualTo(409);
        assertThat(queued.error()).isEqualTo("illegal_state");
        assertThat(queued.json().get("jobId").asText()).isEqualTo(waiting);
        assertThat(queued.json().get("state").asText()).isEqualTo("QUEUED");

        Reply canceled = call(alice, post("/api/v1/jobs/" + holder + "/cancel", RequestBody.create(new byte[0])));
        assertThat(canceled.code()).isEqualTo(200);
        assertThat(canceled.json().get("state").asText()).isIn("CANCELING", "CANCELED");
        assertThat(call(alice, get("/api/v1/jobs/" + holder + "?wait=60")).json().get("state").asText())
                .isEqualTo("CANCELED");
        Reply again = call(alice, post("/api/v1/jobs/" + holder + "/cancel", RequestBody.create(new byte[0])));
        assertThat(again.code()).isEqualTo(409);
        Reply requeued = call(alice, post("/api/v1/jobs/" + holder + "/requeue", RequestBody.create(new byte[0])));
        assertThat(requeued.code()).isEqualTo(200);
        call(alice, post("/api/v1/jobs/" + holder + "/cancel", RequestBody.create(new byte[0])));
        call(alice, post("/api/v1/jobs/" + waiting + "/cancel", RequestBody.create(new byte[0])));
    }

    @Test
    void anotherUsersJobAnswersExactlyAsAnUnknownOne() throws IOException {
        String bobs = submitScript(bob, "#!/bin/sh\necho mine\n");
        String unknown = UUID.randomUUID().toString();
        for (String suffix : List.of("", "/events", "/stdout", "/stderr")) {
            Reply theirs = call(alice, get("/api/v1/jobs/" + bobs + suffix));
            Reply none = call(alice, get("/api/v1/jobs/" + unknown + suffix));
            assertThat(theirs.code()).as(suffix).isEqualTo(404);
            assertThat(theirs.text()).isEqualTo(none.text().replace(unknown, bobs));
            assertThat(theirs.json().get("jobId").asText()).isEqualTo(bobs);
        }
        for (String op : List.of("/cancel", "/requeue")) {
            Reply theirs = call(alice, post("/api/v1/jobs/" + bobs + op, RequestBody.create(new byte[0])));
            assertThat(theirs.code()).as(op).isEqualTo(404);
        }
        Reply malformed = call(alice, get("/api/v1/jobs/not-a-uuid"));
        assertThat(malformed.code()).isEqualTo(404);
        assertThat(malformed.json().has("jobId")).isFalse();
    }

    // ---- logs

    @Test
    void logsWholeByRangeAndFollowed() throws Exception {
        String id = submitScript(alice, "#!/bin/sh\nprintf 'abcdefghij'\n");
        call(alice, get("/api/v1/jobs/" + id + "?wait=60"));
        assertThat(call(alice, get("/api/v1/jobs/" + id + "/stdout")).text()).isEqualTo("abcdefghij");
        Reply part = call(alice, get("/api/v1/jobs/" + id + "/stdout").newBuilder().header("Range", "bytes=2-4")
                .build());
        assertThat(part.code()).isEqualTo(206);
        assertThat(part.text()).isEqualTo("cde");
        assertThat(part.headers().get("Content-Range")).isEqualTo("bytes 2-4/10");
        Reply tail = call(alice, get("/api/v1/jobs/" + id + "/stdout").newBuilder().header("Range", "bytes=7-")
                .build());
        assertThat(tail.text()).isEqualTo("hij");
        Reply past = call(alice, get("/api/v1/jobs/" + id + "/stdout").newBuilder().header("Range", "bytes=10-")
                .build());
        assertThat(past.code()).isEqualTo(416);
        assertThat(past.headers().get("Content-Range")).isEqualTo("bytes */10");
        Reply emptyRange = call(alice, get("/api/v1/jobs/" + id + "/stderr").newBuilder().header("Range", "bytes=0-")
                .build());
        assertThat(emptyRange.code()).isEqualTo(200);
        assertThat(emptyRange.body()).isEmpty();
        Reply stderr206 = call(alice, get("/api/v1/jobs/" + submitAndWait("printf xyz >&2") + "/stderr")
                .newBuilder().header("Range", "bytes=1-").build());
        assertThat(stderr206.code()).isEqualTo(206);
        assertThat(stderr206.text()).isEqualTo("yz");
        Reply stderr416 = call(alice, get("/api/v1/jobs/" + submitAndWait("printf xyz >&2") + "/stderr")
                .newBuilder().header("Range", "bytes=5-").build());
        assertThat(stderr416.code()).isEqualTo(416);
    }

    @Test
    void aFollowedLogGoesOnThroughQuietSpellsLongerThanTheIdleTimeoutUntilTheJobEnds() throws Exception {
        Reply followed = call(constrainedAlice, new Request.Builder().url(constrainedBase + "/api/v1/jobs/"
                + submitJsonAt(constrainedAlice, constrainedBase,
                "{\"script\":\"echo one; sleep 3; echo two; echo three >&2\"}") + "/stdout?follow=true").build());
        assertThat(followed.code()).isEqualTo(200);
        assertThat(followed.text()).isEqualTo("one\ntwo\n");
    }

    @Test
    void aLongPollOutlivesTheIdleTimeoutAndAnswersTheJobAsItIsWhenTheWaitEnds() throws Exception {
        String id = submitJsonAt(constrainedAlice, constrainedBase, "{\"script\":\"sleep 4\"}");
        Instant start = Instant.now();
        Reply early = call(constrainedAlice, new Request.Builder().url(constrainedBase + "/api/v1/jobs/" + id
                + "?wait=2").build());
        assertThat(early.code()).isEqualTo(200);
        // Generous: the wait is the acceptance test here; it must have waited (not answered at once) and answered.
        assertThat(Duration.between(start, Instant.now())).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
        assertThat(early.json().get("state").asText()).isIn("QUEUED", "RUNNING", "SUCCEEDED");
        Reply ended = call(constrainedAlice, new Request.Builder().url(constrainedBase + "/api/v1/jobs/" + id
                + "?wait=30").build());
        assertThat(ended.json().get("state").asText()).isEqualTo("SUCCEEDED");
    }

    @Test
    void followStreamsOutputAsItComes() throws Exception {
        String id = submitScript(alice, "#!/bin/sh\necho first\nsleep 2\necho second\n");
        try (Response r = alice.newCall(get("/api/v1/jobs/" + id + "/stdout?follow=true")).execute()) {
            assertThat(r.code()).isEqualTo(200);
            BufferedSource source = r.body().source();
            assertThat(source.readUtf8Line()).isEqualTo("first");
            JsonNode now = call(alice, get("/api/v1/jobs/" + id)).json();
            assertThat(now.get("state").asText()).as("the first line came while the job ran").isNotEqualTo(
                    "SUCCEEDED");
            assertThat(source.readUtf8Line()).isEqualTo("second");
            assertThat(source.exhausted()).isTrue();
            contract.check("GET", "/api/v1/jobs/" + id + "/stdout", r.code(), r.header("Content-Type"), new byte[0]);
        }
    }

    @Test
    void aFollowerThatStopsReadingIsCutOffAndItsRequestEnds() throws Exception {
        String id = submitScript(alice, "#!/bin/sh\nyes 0123456789abcdef | head -c " + (64 << 20) + "\n");
        String user = aliceUser.uuid().toString();
        Response r = alice.newCall(get("/api/v1/jobs/" + id + "/stdout?follow=true")).execute();
        try {
            assertThat(r.code()).isEqualTo(200);
            // Nothing is read: the socket buffers fill, a write stalls, ClientGuard's minimum rate ends it.
            Instant deadline = Instant.now().plus(WAIT);
            while (daemon.inFlight(user, ClientGuard.Kind.WAIT) > 0) { // a follow counts among the waits
                assertThat(Instant.now()).as("the stalled follow was cut off").isBefore(deadline);
                Thread.onSpinWait();
            }
        } finally {
            r.close();
        }
        call(alice, post("/api/v1/jobs/" + id + "/cancel", RequestBody.create(new byte[0])));
    }

    // ---- events

    @Test
    void eventsStreamAsServerSentEventsAndResumeAfterTheLastId() throws Exception {
        OkHttpClient streaming = alice.newBuilder().readTimeout(Duration.ofSeconds(60)).build();
        String first;
        long lastId;
        try (Response r = streaming.newCall(get("/api/v1/events")).execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.header("Content-Type")).startsWith("text/event-stream");
            contract.check("GET", "/api/v1/events", r.code(), r.header("Content-Type"), new byte[0]);
            BufferedSource source = r.body().source();
            assertThat(source.readUtf8Line()).isEqualTo(": keepalive");
            first = submitScript(alice, "#!/bin/sh\necho evented\n");
            List<JsonNode> events = new ArrayList<>();
            lastId = readUntil(source, events, e -> e.path("jobId").asText().equals(first)
                    && e.get("to").asText().equals("SUCCEEDED"));
            List<Long> ids = events.stream().map(e -> e.get("sequence").asLong()).toList();
            assertThat(ids).isSorted().doesNotHaveDuplicates();
        }
        String second = submitScript(alice, "#!/bin/sh\necho missed\n");
        call(alice, get("/api/v1/jobs/" + second + "?wait=60"));
        try (Response r = streaming.newCall(get("/api/v1/events").newBuilder()
                .header("Last-Event-ID", String.valueOf(lastId)).build()).execute()) {
            assertThat(r.code()).isEqualTo(200);
            List<JsonNode> events = new ArrayList<>();
            readUntil(r.body().source(), events, e -> e.path("jobId").asText().equals(second)
                    && e.get("to").asText().equals("SUCCEEDED"));
            assertThat(events.get(0).get("sequence").asLong()).isGreaterThan(lastId);
            assertThat(events.stream().map(e -> e.path("jobId").asText())).doesNotContain(first);
        }
        try (Response r = streaming.newCall(get("/api/v1/events?after=" + lastId)).execute()) {
            assertThat(r.code()).isEqualTo(200);
            List<JsonNode> events = new ArrayList<>();
            readUntil(r.body().source(), events, e -> e.path("jobId").asText().equals(second));
        }
        Reply ahead = call(alice, get("/api/v1/events").newBuilder().header("Last-Event-ID", "99999999999").build());
        assertThat(ahead.code()).isEqualTo(400);
        assertThat(ahead.json().get("field").asText()).isEqualTo("Last-Event-ID");
    }

    /** Reads SSE frames into {@code events} until one matches; returns its id. Each frame's data is validated. */
    private long readUntil(BufferedSource source, List<JsonNode> events, Predicate<JsonNode> last)
            throws IOException {
        long id = -1;
        String type = null;
        while (true) {
            String line = source.readUtf8Line();
            assertThat(line).as("the stream ended early").isNotNull();
            if (line.startsWith("id: ")) {
                id = Long.parseLong(line.substring(4));
            } else if (line.startsWith("event: ")) {
                type = line.substring(7);
            } else if (line.startsWith("data: ")) {
                JsonNode event = JSON.readTree(line.substring(6));
                assertThat(event.get("type").asText()).isEqualTo(type);
                assertThat(event.get("sequence").asLong()).isEqualTo(id);
                contract.check("GET", "/api/v1/jobs/" + UUID.randomUUID() + "/events", 200, "application/json",
                        JSON.writeValueAsBytes(JSON.createObjectNode().set("items",
                                JSON.createArrayNode().add(event))));
                events.add(event);
                if (last.test(event)) {
                    return id;
                }
            }
        }
    }

    // ---- the constrained daemon: quota, an engine that cannot schedule

    @Test
    void quotaAndAnEngineThatCannotScheduleAnswer429And503() throws Exception {
        // One user at the quota, another to make the engine fail, a third to be refused: a quota is per user.
        String running = submitJsonAt(constrainedBob, constrainedBase, "{\"script\":\"sleep 30\"}");
        Reply quota = call(constrainedBob, new Request.Builder().url(constrainedBase + "/api/v1/jobs")
                .post(RequestBody.create("{\"script\":\"echo\"}", APPLICATION_JSON)).build());
        assertThat(quota.code()).isEqualTo(429);
        assertThat(quota.error()).isEqualTo("quota_exceeded");
        assertThat(quota.headers().get("Retry-After")).isNotBlank();
        assertThat(quota.json().has("limit")).isTrue();
        call(constrainedBob, new Request.Builder().url(constrainedBase + "/api/v1/jobs/" + running + "/cancel")
                .post(RequestBody.create(new byte[0])).build());

        FailingScheduler.failing = true;
        try {
            submitJsonAt(constrainedAdmin, constrainedBase, "{\"script\":\"echo trigger\"}");
            Instant deadline = Instant.now().plus(WAIT);
            Reply health;
            do {
                health = call(constrainedAlice, new Request.Builder().url(constrainedBase + "/api/v1/health").build());
            } while (health.code() != 503 && Instant.now().isBefore(deadline));
            assertThat(health.code()).isEqualTo(503);
            assertThat(health.headers().get("Retry-After")).isNotBlank();
            assertThat(health.json().get("status").asText()).isEqualTo("DOWN");
            Reply refused = call(constrainedAlice, new Request.Builder().url(constrainedBase + "/api/v1/jobs")
                    .post(RequestBody.create("{\"script\":\"echo\"}", APPLICATION_JSON)).build());
            assertThat(refused.code()).isEqualTo(503);
            assertThat(refused.error()).isEqualTo("engine_unavailable");
            assertThat(refused.json().get("health").get("status").asText()).isEqualTo("DOWN");
        } finally {
            FailingScheduler.failing = false;
        }
        Instant deadline = Instant.now().plus(WAIT);
        while (call(constrainedAlice, new Request.Builder().url(constrainedBase + "/api/v1/health").build()).code()
                != 200) {
            assertThat(Instant.now()).as("the engine recovers").isBefore(deadline);
        }
    }

    // ---- 400 and 403 on every operation

    @Test
    void everyOperationRefusesAnUnknownParameterAndAForbiddenImpersonation() throws IOException {
        String id = submitScript(alice, "#!/bin/sh\ntrue\n");
        Map<String, String> operations = new java.util.LinkedHashMap<>();
        for (String p : List.of("", "/health", "/openapi.yaml", "/jobs", "/jobs/" + id, "/jobs/" + id + "/events",
                "/jobs/" + id + "/stdout", "/jobs/" + id + "/stderr", "/nodes", "/flavors", "/images", "/remotes",
                "/partitions", "/events")) {
            operations.put("GET " + p, p);
        }
        for (String p : List.of("/jobs", "/jobs/batch", "/jobs/" + id + "/cancel", "/jobs/" + id + "/requeue")) {
            operations.put("POST " + p, p);
        }
        for (Map.Entry<String, String> op : operations.entrySet()) {
            boolean isPost = op.getKey().startsWith("POST");
            Request.Builder b = new Request.Builder().url(base + "/api/v1" + op.getValue() + "?bogus=1");
            if (isPost) {
                b.post(RequestBody.create("{\"script\":\"echo\"}", APPLICATION_JSON));
            }
            Reply unknown = call(alice, b.build());
            assertThat(unknown.code()).as(op.getKey()).isEqualTo(400);
            assertThat(unknown.error()).as(op.getKey()).isEqualTo("unknown_parameter");
            Request.Builder forbidden = new Request.Builder().url(base + "/api/v1" + op.getValue())
                    .header(ApiV1.ACT_AS, bobUser.uuid().toString());
            if (isPost) {
                forbidden.post(RequestBody.create("{\"script\":\"echo\"}", APPLICATION_JSON));
            }
            Reply refused = call(alice, forbidden.build());
            assertThat(refused.code()).as(op.getKey()).isEqualTo(403);
        }
    }

    // ---- the end: coverage

    @AfterAll
    void everyDeclaredStatusWasExercised() {
        assertThat(contract.exercised()).containsExactlyInAnyOrderElementsOf(contract.declared());
    }

    // ---- helpers

    /** No pooled connections: the constrained daemon closes idle ones after a second, and reusing one would fail. */
    private static OkHttpClient unpooled(OkHttpClient client) {
        return client.newBuilder().connectionPool(new ConnectionPool(0, 1, TimeUnit.SECONDS))
                .readTimeout(Duration.ofSeconds(30)).build();
    }

    private Request get(String path) {
        return new Request.Builder().url(base + path).build();
    }

    private Request post(String path, RequestBody body) {
        return new Request.Builder().url(base + path).post(body).build();
    }

    private static RequestBody json(JsonNode node) {
        return RequestBody.create(WireJson.bytes(node), APPLICATION_JSON);
    }

    /** A body of unknown length, sent chunked. */
    static RequestBody unsized(String text, MediaType type) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return new RequestBody() {
            @Override
            public MediaType contentType() {
                return type;
            }

            @Override
            public void writeTo(BufferedSink sink) throws IOException {
                sink.write(bytes);
            }
        };
    }

    /** Executes, reads the reply whole and checks it against the OpenAPI file. */
    Reply call(OkHttpClient client, Request request) throws IOException {
        try (Response r = client.newCall(request).execute()) {
            byte[] body = r.body().bytes();
            contract.check(request.method(), request.url().encodedPath(), r.code(), r.header("Content-Type"), body);
            return new Reply(r.code(), r.headers(), body);
        }
    }

    private String submitScript(OkHttpClient client, String script) throws IOException {
        Reply r = call(client, post("/api/v1/jobs", RequestBody.create(script, TEXT)));
        assertThat(r.code()).as(r.text()).isEqualTo(201);
        return r.json().get("id").asText();
    }

    private String submitJson(OkHttpClient client, String spec) throws IOException {
        return submitJsonAt(client, base, spec);
    }

    private String submitJsonAt(OkHttpClient client, String at, String spec) throws IOException {
        Reply r = call(client, new Request.Builder().url(at + "/api/v1/jobs")
                .post(RequestBody.create(spec, APPLICATION_JSON)).build());
        assertThat(r.code()).as(r.text()).isEqualTo(201);
        return r.json().get("id").asText();
    }

    private String submitAndWait(String command) throws IOException {
        String id = submitScript(alice, "#!/bin/sh\n" + command + "\n");
        assertThat(call(alice, get("/api/v1/jobs/" + id + "?wait=60")).json().get("state").asText())
                .isEqualTo(JobState.SUCCEEDED.name());
        return id;
    }

    private void awaitState(OkHttpClient client, String id, String state) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        while (Instant.now().isBefore(deadline)) {
            if (call(client, get("/api/v1/jobs/" + id)).json().get("state").asText().equals(state)) {
                return;
            }
            Thread.onSpinWait();
        }
        throw new AssertionError("job " + id + " did not reach " + state);
    }

    private static List<String> ids(JsonNode page) {
        List<String> ids = new ArrayList<>();
        page.get("items").forEach(j -> ids.add(j.get("id").asText()));
        return ids;
    }
}
