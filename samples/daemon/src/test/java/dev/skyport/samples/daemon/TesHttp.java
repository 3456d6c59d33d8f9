package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.api.TesStates;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/** A TES client for the tests: one user's calls to {@code /ga4gh/tes/v1} of a daemon, and checks every reply makes. */
final class TesHttp {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final MediaType APPLICATION_JSON = MediaType.get("application/json");

    private final OkHttpClient client;
    private final String base;

    record Reply(int code, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError(body, e);
            }
        }
    }

    TesHttp(OkHttpClient client, String daemonBase) {
        this.client = client.newBuilder().readTimeout(Duration.ofSeconds(60)).retryOnConnectionFailure(true).build();
        this.base = daemonBase + "/ga4gh/tes/v1";
    }

    Reply get(String path) {
        return call(new Request.Builder().url(base + path).get().build());
    }

    Reply post(String path, String body) {
        RequestBody json = RequestBody.create(body.getBytes(StandardCharsets.UTF_8), APPLICATION_JSON);
        return call(new Request.Builder().url(base + path).post(json).build());
    }

    /** Creates a task, which must be accepted; its id. */
    String create(ObjectNode task) {
        Reply r = post("/tasks", task.toString());
        assertThat(r.code()).as(r.body()).isEqualTo(200);
        assertThat(r.json().size()).as("only the id: %s", r.body()).isEqualTo(1);
        return r.json().get("id").asText();
    }

    JsonNode task(String id, String view) {
        Reply r = get("/tasks/" + id + "?view=" + view);
        assertThat(r.code()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    String state(String id) {
        return task(id, "MINIMAL").get("state").asText();
    }

    /** Polls the task (FULL) until {@code done} holds, for at most {@code within}. */
    JsonNode awaitTask(String id, Predicate<JsonNode> done, Duration within) {
        Instant deadline = Instant.now().plus(within);
        JsonNode t = task(id, "FULL");
        while (!done.test(t)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("task " + id + " did not get there within " + within + ": " + t);
            }
            try {
                Thread.sleep(100); // a poll interval, not a wait for something: the deadline bounds the poll
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
            t = task(id, "FULL");
        }
        return t;
    }

    JsonNode awaitTerminal(String id, Duration within) {
        return awaitTask(id, t -> TesStates.isTerminal(t.get("state").asText()), within);
    }

    private Reply call(Request request) {
        try (Response response = client.newCall(request).execute()) {
            String body = response.body() == null ? "" : response.body().string();
            Reply reply = new Reply(response.code(), body);
            if (!body.isEmpty()) {
                assertThat(response.header("Content-Type")).startsWith("application/json");
                JsonNode json = reply.json();
                assertNoNull(json, "$");
                if (response.code() >= 400) {
                    assertThat(json.path("error").isTextual()).as(body).isTrue();
                    assertThat(json.path("message").isTextual()).as(body).isTrue();
                    assertThat(json.path("status_code").asInt()).as(body).isEqualTo(response.code());
                    assertThat(body).doesNotContain("Exception").doesNotContain("\tat ");
                }
            }
            return reply;
        } catch (IOException e) {
            throw new AssertionError(request.method() + " " + request.url(), e);
        }
    }

    /** TES: no member is nullable; times are RFC 3339; size_bytes and metadata values are strings. */
    static void assertNoNull(JsonNode node, String at) {
        assertThat(node.isNull()).as("null at %s", at).isFalse();
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().endsWith("_time")) {
                    assertThat(e.getValue().isTextual()).as("%s.%s", at, e.getKey()).isTrue();
                    OffsetDateTime.parse(e.getValue().asText()); // RFC 3339
                }
                if (e.getKey().equals("size_bytes")) {
                    assertThat(e.getValue().isTextual()).as("%s.size_bytes", at).isTrue();
                }
                assertNoNull(e.getValue(), at + "." + e.getKey());
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                assertNoNull(node.get(i), at + "[" + i + "]");
            }
        }
    }
}
