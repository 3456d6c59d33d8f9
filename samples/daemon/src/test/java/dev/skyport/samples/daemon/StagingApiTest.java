package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.samples.daemon.pki.ClusterPki;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A daemon user stages only files of their own input directory ({@code <spool>/inputs/<user>}): the daemon's store,
 * another user's file, and a link out of the directory are refused, and their content never reaches the user.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StagingApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MediaType TEXT = MediaType.get("text/plain");
    private static final String BOBS_SECRET = "BOB-SECRET-CONTENT-7f3a";

    private Daemon daemon;
    private OkHttpClient alice;
    private String base;
    private Path spool;
    private Path data;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        spool = dir.resolve("spool");
        data = dir.resolve("data");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost"));
        alice = Mtls.client(pki.issueUser("alice", false), pki.layout().caChain()).newBuilder()
                .retryOnConnectionFailure(true).build();
        pki.issueUser("bob", false);
        Path bobs = Files.createDirectories(spool.resolve("inputs/bob"));
        Files.writeString(bobs.resolve("secret.txt"), BOBS_SECRET);
        Path alices = Files.createDirectories(spool.resolve("inputs/alice"));
        Files.writeString(alices.resolve("mine.txt"), "alice's data");
        Files.createSymbolicLink(alices.resolve("link.txt"), bobs.resolve("secret.txt"));
        daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1").withSpool(spool)
                .withDataDir(data));
        base = "https://localhost:" + daemon.port();
    }

    @AfterAll
    void stop() {
        daemon.close();
    }

    @Test
    void filesOutsideTheUsersInputDirectoryAreRefusedAtSubmitWithAJsonError() throws Exception {
        int before = daemon.engine().jobs().list(JobQuery.all()).items().size();
        for (String input : List.of(data.resolve("skyport.db").toString(), spool.resolve("secure/cluster/key.pem")
                .toString(), spool.resolve("inputs/bob/secret.txt").toString(), "../bob/secret.txt")) {
            try (Response r = alice.newCall(post("#!/bin/sh\n#SWM input-files " + input + "\ncat *\n")).execute()) {
                assertThat(r.code()).as(input).isEqualTo(400);
                JsonNode body = JSON.readTree(r.body().bytes());
                assertThat(body.path("error").asText()).isNotBlank();
                assertThat(body.path("message").asText()).contains(input);
                assertThat(body.path("field").asText()).isIn("inputFiles", "input-files");
            }
        }
        assertThat(daemon.engine().jobs().list(JobQuery.all()).items()).hasSize(before);
    }

    @Test
    void aLinkOutOfTheInputDirectoryFailsTheStagingWithoutRevealingTheFile() throws Exception {
        String id = submitted("#!/bin/sh\n#SWM input-files link.txt\ncat link.txt\n");
        daemon.engine().jobs().await(JobId.parse(id), Duration.ofSeconds(60));
        JsonNode job = getJson("/api/v1/jobs/" + id);
        assertThat(job.path("state").asText()).isEqualTo("FAILED");
        assertThat(job.path("endReason").asText()).isEqualTo("STAGING_FAILED");
        assertThat(job.toString()).contains("link.txt").doesNotContain(BOBS_SECRET);
        assertThat(getText("/api/v1/jobs/" + id + "/stdout")).doesNotContain(BOBS_SECRET);
        assertThat(getText("/api/v1/jobs/" + id + "/stderr")).doesNotContain(BOBS_SECRET);
        try (var walk = Files.walk(data.resolve("jobs"))) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                assertThat(new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1)).as(p.toString())
                        .doesNotContain(BOBS_SECRET);
            }
        }
    }

    @Test
    void theUsersOwnInputIsStaged() throws Exception {
        String id = submitted("#!/bin/sh\n#SWM input-files mine.txt\ncat mine.txt\n");
        daemon.engine().jobs().await(JobId.parse(id), Duration.ofSeconds(60));
        assertThat(getJson("/api/v1/jobs/" + id).path("state").asText()).isEqualTo("SUCCEEDED");
        assertThat(getText("/api/v1/jobs/" + id + "/stdout")).isEqualTo("alice's data");
    }

    private String submitted(String script) throws IOException {
        try (Response r = alice.newCall(post(script)).execute()) {
            assertThat(r.code()).isEqualTo(201);
            return JSON.readTree(r.body().bytes()).get("id").asText();
        }
    }

    private JsonNode getJson(String path) throws IOException {
        return JSON.readTree(getText(path));
    }

    private String getText(String path) throws IOException {
        try (Response r = alice.newCall(new Request.Builder().url(base + path).build()).execute()) {
            assertThat(r.code()).as(path).isEqualTo(200);
            return r.body().string();
        }
    }

    private Request post(String script) {
        return new Request.Builder().url(base + "/api/v1/jobs").post(RequestBody.create(script, TEXT)).build();
    }
}
