package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.samples.daemon.pki.ClusterPki;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.SoftAssertions.assertSoftly;

/** Review of issue 12: more malformed requests, each must get a 4xx with a JSON error (never a 500). */
class ReviewBadInputTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void malformedEncodingsAndHeadersGet4xxJson(@TempDir Path dir) throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        OkHttpClient alice = Mtls.client(pki.issueUser("alice", false), pki.layout().caChain()).newBuilder()
                .retryOnConnectionFailure(true).build();
        try (Daemon daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1")
                .withSpool(dir.resolve("spool")).withDataDir(dir.resolve("data")))) {
            String base = "https://localhost:" + daemon.port();
            String job;
            try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/jobs")
                    .post(RequestBody.create("#!/bin/sh\necho hi\n", MediaType.get("text/plain"))).build())
                    .execute()) {
                job = JSON.readTree(r.body().bytes()).get("id").asText();
            }
            Map<String, Request> cases = new LinkedHashMap<>();
            cases.put("state=%FF", get(base + "/api/v1/jobs?state=%FF"));
            cases.put("cursor=%FF", get(base + "/api/v1/jobs?cursor=%FF"));
            cases.put("name=%FF", get(base + "/api/v1/jobs?name=%FF"));
            cases.put("%FF=1", get(base + "/api/v1/jobs?%FF=1"));
            cases.put("path %FF", get(base + "/api/v1/jobs/%FF"));
            cases.put("wait=%FF", get(base + "/api/v1/jobs/" + job + "?wait=%FF"));
            cases.put("Range 20 digits", get(base + "/api/v1/jobs/" + job + "/stdout").newBuilder()
                    .header("Range", "bytes=99999999999999999999-").build());
            cases.put("Range two parts", get(base + "/api/v1/jobs/" + job + "/stdout").newBuilder()
                    .header("Range", "bytes=0-1,3-4").build());
            cases.put("Last-Event-ID 20 digits", get(base + "/api/v1/events").newBuilder()
                    .header("Last-Event-ID", "99999999999999999999").build());
            cases.put("tag with %FF", get(base + "/api/v1/jobs?tag=k%3D%FF"));
            Map<String, String> seen = new LinkedHashMap<>();
            for (Map.Entry<String, Request> c : cases.entrySet()) {
                try (Response r = alice.newCall(c.getValue()).execute()) {
                    String text = new String(r.body().bytes(), StandardCharsets.UTF_8);
                    seen.put(c.getKey(), r.code() + " " + r.header("Content-Type") + " " + text);
                } catch (java.io.IOException e) {
                    seen.put(c.getKey(), "000 no reply: " + e);
                }
            }
            assertSoftly(soft -> seen.forEach((name, reply) -> {
                int code = Integer.parseInt(reply.substring(0, 3));
                soft.assertThat(code).as(name + ": " + reply).isBetween(400, 499);
                soft.assertThat(reply).as(name).contains("application/json").contains("\"error\"");
            }));
        }
    }

    private static Request get(String url) {
        return new Request.Builder().url(url).build();
    }

    /** The wire contract: batch errors name the field as jobs[i].member, also for what the engine checks. */
    @Test
    void aBatchErrorFoundByTheEngineNamesTheSpecItIsIn(@TempDir Path dir) throws Exception {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        OkHttpClient alice = Mtls.client(pki.issueUser("alice", false), pki.layout().caChain());
        try (Daemon daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1")
                .withSpool(dir.resolve("spool")).withDataDir(dir.resolve("data")))) {
            String base = "https://localhost:" + daemon.port();
            Map<String, String> bodies = new LinkedHashMap<>();
            bodies.put("jobs[1].flavor", "{\"jobs\":[{\"script\":\"echo\"},{\"script\":\"echo\",\"flavor\":\"nope\"}]}");
            bodies.put("jobs[1].cpus", "{\"jobs\":[{\"script\":\"echo\"},{\"script\":\"echo\",\"cpus\":100000}]}");
            bodies.put("jobs[1].idempotencyKey", "{\"jobs\":[{\"script\":\"echo\",\"idempotencyKey\":\"k\"},"
                    + "{\"script\":\"echo\",\"idempotencyKey\":\"k\"}]}");
            Map<String, String> fields = new LinkedHashMap<>();
            for (Map.Entry<String, String> b : bodies.entrySet()) {
                try (Response r = alice.newCall(new Request.Builder().url(base + "/api/v1/jobs/batch")
                        .post(RequestBody.create(b.getValue(), MediaType.get("application/json"))).build()).execute()) {
                    assertThat(r.code()).as(b.getKey()).isEqualTo(400);
                    fields.put(b.getKey(), JSON.readTree(r.body().bytes()).path("field").asText());
                }
            }
            assertSoftly(soft -> fields.forEach((expected, actual) -> soft.assertThat(actual).isEqualTo(expected)));
        }
    }
}
