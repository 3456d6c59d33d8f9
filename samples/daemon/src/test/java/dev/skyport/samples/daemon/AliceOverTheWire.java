package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.JobSpec;
import dev.skyport.client.internal.wire.WireJson;
import dev.skyport.samples.daemon.pki.ClusterPki;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * User {@code alice} of a daemon started by a test, over mTLS: the reads and the job submit that the batch-site and
 * cloud API tests make, each asserting the answer is a success.
 */
final class AliceOverTheWire {
    static final ObjectMapper JSON = new ObjectMapper();

    private final OkHttpClient client;
    private final String base;

    private AliceOverTheWire(OkHttpClient client, String base) {
        this.client = client;
        this.base = base;
    }

    /** Issues alice's certificate in {@code pki} for the daemon listening on {@code port} of localhost. */
    static AliceOverTheWire issue(ClusterPki pki, int port) {
        return new AliceOverTheWire(Mtls.client(pki.issueUser("alice", false), pki.layout().caChain()),
                "https://localhost:" + port);
    }

    /** The JSON body of a GET of {@code path}, which must answer 200. */
    JsonNode get(String path) throws IOException {
        try (Response r = client.newCall(new Request.Builder().url(base + path).header("Accept", "application/json")
                .build()).execute()) {
            String text = r.body().string();
            assertThat(r.code()).as(path + " -> " + text).isEqualTo(200);
            return JSON.readTree(text);
        }
    }

    /** The text of a GET of {@code path}, whatever its status. */
    String text(String path) throws IOException {
        try (Response r = client.newCall(new Request.Builder().url(base + path).build()).execute()) {
            return r.body().string();
        }
    }

    /** Submits {@code spec} on {@code /api/v1/jobs}; its id. */
    String submit(JobSpec spec) throws IOException {
        String body = WireJson.writeSpecRequest(spec).toString();
        try (Response r = client.newCall(new Request.Builder().url(base + "/api/v1/jobs")
                .post(RequestBody.create(body, MediaType.get("application/json"))).build()).execute()) {
            String text = r.body().string();
            assertThat(r.code()).as(text).isBetween(200, 201);
            return JSON.readTree(text).get("id").asText();
        }
    }

    /** The job {@code id} once it SUCCEEDED; fails when it has not within {@code wait}. */
    JsonNode awaitSucceeded(String id, Duration wait, Duration pace) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        JsonNode job = get("/api/v1/jobs/" + id);
        while (!job.get("state").asText().equals("SUCCEEDED") && System.nanoTime() < deadline) {
            Thread.sleep(pace.toMillis()); // a poll's pace
            job = get("/api/v1/jobs/" + id);
        }
        assertThat(job.get("state").asText()).as(job.toString()).isEqualTo("SUCCEEDED");
        return job;
    }

    /** The names of the nodes on {@code /user/node}. */
    List<String> userNodeNames() throws IOException {
        List<String> names = new ArrayList<>();
        get("/user/node").forEach(n -> names.add(n.get("name").asText()));
        return names;
    }

    /** Node {@code name} on {@code /api/v1/nodes}; fails when it is not there. */
    JsonNode apiNode(String name) throws IOException {
        JsonNode v1 = get("/api/v1/nodes");
        JsonNode items = v1.has("items") ? v1.get("items") : v1;
        JsonNode found = null;
        for (JsonNode n : items) {
            if (n.get("name").asText().equals(name)) {
                found = n;
            }
        }
        assertThat(found).as(name + " in " + v1).isNotNull();
        return found;
    }
}
