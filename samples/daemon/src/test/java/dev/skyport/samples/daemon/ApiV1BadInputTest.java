package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.Page;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.SoftAssertions.assertSoftly;

/**
 * Malformed requests to {@code /api/v1} of the real daemon, each answered with a 4xx and the JSON error body, none
 * storing or changing a job, the daemon serving on afterwards. Every reply is also checked against the OpenAPI file
 * where it declares the operation (a wrong method or path has no operation to check against).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiV1BadInputTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MediaType APPLICATION_JSON = MediaType.get("application/json");
    private static final MediaType TEXT = MediaType.get("text/plain");

    private final OpenApiContract contract = new OpenApiContract();
    private Daemon daemon;
    private OkHttpClient alice;
    private OkHttpClient admin;
    private IssuedUser bobUser;
    private String base;
    private String alicesJob;
    private String bobsJob;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        alice = Mtls.client(pki.issueUser("alice", false), pki.layout().caChain()).newBuilder()
                .retryOnConnectionFailure(true).build();
        bobUser = pki.issueUser("bob", false);
        admin = Mtls.client(pki.issueUser("root", false), pki.layout().caChain()).newBuilder()
                .retryOnConnectionFailure(true).build();
        daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1").withAdmins(List.of("root"))
                .withSpool(dir.resolve("spool")).withDataDir(dir.resolve("data")));
        base = "https://localhost:" + daemon.port();
        OkHttpClient bob = Mtls.client(bobUser, pki.layout().caChain());
        alicesJob = submitted(alice, "#!/bin/sh\nprintf 0123456789\n");
        bobsJob = submitted(bob, "#!/bin/sh\necho bob\n");
        for (String id : List.of(alicesJob, bobsJob)) {
            daemon.engine().jobs().await(JobId.parse(id), Duration.ofSeconds(60));
        }
    }

    @AfterAll
    void stop() {
        daemon.close();
    }

    @Test
    void malformedRequestsGet4xxWithAJsonErrorStoreNothingAndTheDaemonServesOn() throws Exception {
        List<Job> before = everyJob();
        String unknown = UUID.randomUUID().toString();
        Map<String, Request> cases = new LinkedHashMap<>();
        String[] badSpecs = {
            "{", "[]", "\"just a string\"", "{\"script\":1}", "{\"script\":\"x\",\"cpus\":\"2\"}",
            "{\"script\":\"x\",\"cpus\":-1}", "{\"script\":\"x\",\"memoryBytes\":-1}", "{\"script\":\"x\",\"gpus\":-1}",
            "{\"script\":\"x\",\"nodes\":0}", "{\"script\":\"x\",\"bogus\":1}", "{\"script\":\"x\",\"warnings\":[]}",
            "{\"script\":\"x\",\"scriptOmitted\":true}", "{\"script\":\"x\",\"command\":[\"ls\"]}", "{}",
            "{\"script\":\"x\",\"cpus\":1.5}", "{\"script\":\"x\",\"cpus\":1e30}", "{\"script\":\"x\",\"timeLimit\":\"1h\"}",
            "{\"script\":\"x\",\"retryPolicy\":{\"maxAttempts\":0}}", "{\"script\":\"x\",\"retryPolicy\":{\"x\":1}}",
            "{\"script\":\"x\",\"ports\":[{\"port\":70000,\"protocol\":\"tcp\",\"direction\":\"IN\"}]}",
            "{\"script\":\"x\",\"env\":{\"1BAD\":\"v\"}}", "{\"script\":\"x\",\"tags\":{\"k\":5}}",
            "{\"script\":\"x\",\"name\":\"" + "n".repeat(300) + "\"}", "{\"script\":\"x\",\"script\":\"y\"}",
            "{\"script\":null}", "{\"script\":\"x\"} trailing", "{\"command\":[]}", "{\"script\":\"   \"}",
            "{\"script\":\"x\",\"flavor\":\"no-such-flavor\"}", "{\"script\":\"x\",\"idempotencyKey\":\"has space\"}",
        };
        for (String spec : badSpecs) {
            cases.put("spec " + abbreviate(spec), post("/api/v1/jobs", RequestBody.create(spec, APPLICATION_JSON)));
        }
        cases.put("oversized JSON body", post("/api/v1/jobs",
                ApiV1Test.unsized("{\"script\":\"" + "x".repeat(7 << 20) + "\"}", APPLICATION_JSON)));
        cases.put("blank script", post("/api/v1/jobs", RequestBody.create("   \n", TEXT)));
        cases.put("script with NUL", post("/api/v1/jobs", RequestBody.create("#!/bin/sh\necho \0\n", TEXT)));
        cases.put("bad directive", post("/api/v1/jobs", RequestBody.create("#!/bin/sh\n#SWM cpus -3\necho\n", TEXT)));
        cases.put("xml", post("/api/v1/jobs", RequestBody.create("<job/>", MediaType.get("application/xml"))));
        cases.put("no content type", post("/api/v1/jobs", RequestBody.create(new byte[] {'{', '}'}, null)));
        cases.put("key with a space", withHeader(post("/api/v1/jobs", RequestBody.create("echo\n", TEXT)),
                ApiV1.IDEMPOTENCY_KEY, "a b"));
        cases.put("key too long", withHeader(post("/api/v1/jobs", RequestBody.create("echo\n", TEXT)),
                ApiV1.IDEMPOTENCY_KEY, "k".repeat(300)));
        cases.put("empty batch", post("/api/v1/jobs/batch", RequestBody.create("{\"jobs\":[]}", APPLICATION_JSON)));
        cases.put("batch not an array", post("/api/v1/jobs/batch", RequestBody.create("{\"jobs\":\"x\"}",
                APPLICATION_JSON)));
        cases.put("batch bad spec", post("/api/v1/jobs/batch", RequestBody.create(
                "{\"jobs\":[{\"script\":\"x\"},{\"script\":\"x\",\"cpus\":0}]}", APPLICATION_JSON)));
        cases.put("batch extra member", post("/api/v1/jobs/batch", RequestBody.create(
                "{\"jobs\":[{\"script\":\"x\"}],\"more\":true}", APPLICATION_JSON)));
        cases.put("batch with a key header", withHeader(post("/api/v1/jobs/batch", RequestBody.create(
                "{\"jobs\":[{\"script\":\"x\"}]}", APPLICATION_JSON)), ApiV1.IDEMPOTENCY_KEY, "k1"));
        for (String query : List.of("cursor=garbage", "cursor=", "limit=0", "limit=1001", "limit=abc",
                "state=BOGUS", "tag=novalue", "tag==v", "limit=1&limit=2", "scripts=yes", "sort=name",
                "name=" + "n".repeat(300))) {
            cases.put("list ?" + abbreviate(query), get("/api/v1/jobs?" + query));
        }
        cases.put("unknown id", get("/api/v1/jobs/" + unknown));
        cases.put("foreign id", get("/api/v1/jobs/" + bobsJob));
        cases.put("not an id", get("/api/v1/jobs/not-a-uuid"));
        cases.put("cancel foreign", post("/api/v1/jobs/" + bobsJob + "/cancel", RequestBody.create(new byte[0])));
        cases.put("requeue unknown", post("/api/v1/jobs/" + unknown + "/requeue", RequestBody.create(new byte[0])));
        cases.put("cancel ended", post("/api/v1/jobs/" + alicesJob + "/cancel", RequestBody.create(new byte[0])));
        cases.put("history foreign", get("/api/v1/jobs/" + bobsJob + "/events"));
        cases.put("stdout foreign", get("/api/v1/jobs/" + bobsJob + "/stdout"));
        cases.put("wait=0", get("/api/v1/jobs/" + alicesJob + "?wait=0"));
        cases.put("wait=301", get("/api/v1/jobs/" + alicesJob + "?wait=301"));
        cases.put("DELETE a job", new Request.Builder().url(base + "/api/v1/jobs/" + alicesJob).delete().build());
        cases.put("PUT jobs", new Request.Builder().url(base + "/api/v1/jobs").put(RequestBody.create("{}",
                APPLICATION_JSON)).build());
        cases.put("GET batch", get("/api/v1/jobs/batch"));
        cases.put("GET cancel", get("/api/v1/jobs/" + alicesJob + "/cancel"));
        cases.put("POST nodes", post("/api/v1/nodes", RequestBody.create(new byte[0])));
        for (String range : List.of("bytes=5-2", "bytes=-5", "items=0-1", "bytes=0-1,3-4", "bytes=x-")) {
            cases.put("Range " + range, withHeader(get("/api/v1/jobs/" + alicesJob + "/stdout"), "Range", range));
        }
        cases.put("Range past the end", withHeader(get("/api/v1/jobs/" + alicesJob + "/stdout"), "Range",
                "bytes=10-"));
        cases.put("Range with follow", withHeader(get("/api/v1/jobs/" + alicesJob + "/stdout?follow=true"), "Range",
                "bytes=0-"));
        cases.put("follow=maybe", get("/api/v1/jobs/" + alicesJob + "/stdout?follow=maybe"));
        for (String id : List.of("abc", "-1", "99999999999", "1.5", "1 2")) {
            cases.put("Last-Event-ID '" + id + "'", withHeader(get("/api/v1/events"), "Last-Event-ID", id));
        }
        cases.put("after=x", get("/api/v1/events?after=x"));
        cases.put("act as another user", withHeader(get("/api/v1/jobs"), ApiV1.ACT_AS, bobUser.uuid().toString()));
        cases.put("act as a blank user", withHeader(get("/api/v1/jobs"), ApiV1.ACT_AS, "  "));
        cases.put("a name without a user", withHeader(get("/api/v1/jobs"), ApiV1.ACT_AS_NAME, "bob"));
        cases.put("unknown path", get("/api/v1/nope"));
        cases.put("unknown sub-resource", get("/api/v1/jobs/" + alicesJob + "/nope"));
        cases.put("unknown parameter", get("/api/v1/nodes?limit=1"));

        assertThat(cases).hasSizeGreaterThanOrEqualTo(40);
        for (Map.Entry<String, Request> c : cases.entrySet()) {
            try (Response r = alice.newCall(c.getValue()).execute()) {
                byte[] body = r.body().bytes();
                String text = new String(body, StandardCharsets.UTF_8);
                assertThat(r.code()).as(c.getKey() + ": " + text).isBetween(400, 499);
                assertThat(r.header("Content-Type")).as(c.getKey()).startsWith("application/json");
                JsonNode json = JSON.readTree(body);
                assertThat(json.path("error").isTextual()).as(c.getKey() + ": " + text).isTrue();
                assertThat(json.path("message").isTextual()).as(c.getKey()).isTrue();
                assertThat(text).as(c.getKey()).doesNotContain("\tat ", "Exception");
                if (r.code() == 405) {
                    assertThat(r.header("Allow")).as(c.getKey()).isNotBlank();
                } else if (r.code() != 404 || !c.getKey().startsWith("unknown path")
                        && !c.getKey().startsWith("unknown sub")) {
                    contract.check(c.getValue().method(), c.getValue().url().encodedPath(), r.code(),
                            r.header("Content-Type"), body);
                }
            }
        }
        assertThat(everyJob()).as("nothing stored, nothing changed").isEqualTo(before);
        try (Response r = alice.newCall(get("/api/v1")).execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
        try (Response r = admin.newCall(get("/api/v1/jobs?limit=1000")).execute()) {
            assertThat(JSON.readTree(r.body().bytes()).get("items")).hasSize(before.size());
        }
    }

    private List<Job> everyJob() {
        List<Job> all = new ArrayList<>();
        JobQuery query = JobQuery.all().withLimit(JobQuery.MAX_LIMIT);
        while (true) {
            Page<Job> page = daemon.engine().jobs().list(query);
            all.addAll(page.items());
            if (page.nextPageToken().isEmpty()) {
                return all;
            }
            query = query.after(page);
        }
    }

    /** Query strings Jetty cannot decode and header values out of range: 4xx with a JSON error, never a 500. */
    @Test
    void undecodableQueriesAndOutOfRangeHeadersGet4xxWithAJsonError() throws Exception {
        Map<String, Request> cases = new LinkedHashMap<>();
        cases.put("state=%FF", get("/api/v1/jobs?state=%FF"));
        cases.put("cursor=%FF", get("/api/v1/jobs?cursor=%FF"));
        cases.put("name=%FF", get("/api/v1/jobs?name=%FF"));
        cases.put("%FF=1", get("/api/v1/jobs?%FF=1"));
        cases.put("path %FF", get("/api/v1/jobs/%FF"));
        cases.put("wait=%FF", get("/api/v1/jobs/" + alicesJob + "?wait=%FF"));
        cases.put("Range 20 digits", withHeader(get("/api/v1/jobs/" + alicesJob + "/stdout"), "Range",
                "bytes=99999999999999999999-"));
        cases.put("Range two parts", withHeader(get("/api/v1/jobs/" + alicesJob + "/stdout"), "Range",
                "bytes=0-1,3-4"));
        cases.put("Last-Event-ID 20 digits", withHeader(get("/api/v1/events"), "Last-Event-ID",
                "99999999999999999999"));
        cases.put("tag with %FF", get("/api/v1/jobs?tag=k%3D%FF"));
        Map<String, String> seen = new LinkedHashMap<>();
        for (Map.Entry<String, Request> c : cases.entrySet()) {
            try (Response r = alice.newCall(c.getValue()).execute()) {
                String text = new String(r.body().bytes(), StandardCharsets.UTF_8);
                seen.put(c.getKey(), r.code() + " " + r.header("Content-Type") + " " + text);
            } catch (IOException e) {
                seen.put(c.getKey(), "000 no reply: " + e);
            }
        }
        assertSoftly(soft -> seen.forEach((name, reply) -> {
            int code = Integer.parseInt(reply.substring(0, 3));
            soft.assertThat(code).as(name + ": " + reply).isBetween(400, 499);
            soft.assertThat(reply).as(name).contains("application/json").contains("\"error\"");
        }));
    }

    /** The wire contract: batch errors name the field as jobs[i].member, also for what the engine checks. */
    @Test
    void aBatchErrorFoundByTheEngineNamesTheSpecItIsIn() throws Exception {
        Map<String, String> bodies = new LinkedHashMap<>();
        bodies.put("jobs[1].flavor", "{\"jobs\":[{\"script\":\"echo\"},{\"script\":\"echo\",\"flavor\":\"nope\"}]}");
        bodies.put("jobs[1].cpus", "{\"jobs\":[{\"script\":\"echo\"},{\"script\":\"echo\",\"cpus\":100000}]}");
        bodies.put("jobs[1].idempotencyKey", "{\"jobs\":[{\"script\":\"echo\",\"idempotencyKey\":\"k\"},"
                + "{\"script\":\"echo\",\"idempotencyKey\":\"k\"}]}");
        List<Job> before = everyJob();
        Map<String, String> fields = new LinkedHashMap<>();
        for (Map.Entry<String, String> b : bodies.entrySet()) {
            try (Response r = alice.newCall(post("/api/v1/jobs/batch", RequestBody.create(b.getValue(),
                    APPLICATION_JSON))).execute()) {
                assertThat(r.code()).as(b.getKey()).isEqualTo(400);
                fields.put(b.getKey(), JSON.readTree(r.body().bytes()).path("field").asText());
            }
        }
        assertSoftly(soft -> fields.forEach((expected, actual) -> soft.assertThat(actual).isEqualTo(expected)));
        assertThat(everyJob()).isEqualTo(before);
    }

    /** A tag filter names each key once: a second value for it would silently win over the first. */
    @Test
    void aTagFilterGivenTwiceForOneKeyIsRefused() throws Exception {
        try (Response r = alice.newCall(get("/api/v1/jobs?tag=k%3D1&tag=k%3D2")).execute()) {
            assertThat(r.code()).isEqualTo(400);
            JsonNode error = JSON.readTree(r.body().bytes());
            assertThat(error.path("error").asText()).isEqualTo("invalid_parameter");
            assertThat(error.path("field").asText()).isEqualTo("tag");
            assertThat(error.path("message").asText()).contains("k");
        }
        try (Response r = alice.newCall(get("/api/v1/jobs?tag=k%3D1&tag=j%3D2")).execute()) {
            assertThat(r.code()).as("two keys").isEqualTo(200);
        }
    }

    private String submitted(OkHttpClient client, String script) throws IOException {
        try (Response r = client.newCall(post("/api/v1/jobs", RequestBody.create(script, TEXT))).execute()) {
            assertThat(r.code()).isEqualTo(201);
            return JSON.readTree(r.body().bytes()).get("id").asText();
        }
    }

    private Request get(String path) {
        return new Request.Builder().url(base + path).build();
    }

    private Request post(String path, RequestBody body) {
        return new Request.Builder().url(base + path).post(body).build();
    }

    private static Request withHeader(Request r, String name, String value) {
        return r.newBuilder().header(name, value).build();
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }
}
