package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.Job;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.samples.daemon.pki.ClusterPki;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile requests written byte for byte on a TLS socket of a registered user, past what an HTTP client library would
 * normalise or refuse to send (dot segments, encoded separators, oversized headers, methods no client offers): each
 * gets a 4xx with the JSON error body, changes no job, and the daemon keeps serving. The cases
 * {@link UserApiTest#badInputGets4xxChangesNothingAndTheDaemonKeepsServing} already sends through a client are not
 * repeated here.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UserApiBadInputTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Daemon daemon;
    private OkHttpClient alice;

    @BeforeAll
    void startDaemon(@TempDir Path dir) {
        ClusterPki pki = ClusterPki.init(dir.resolve("spool"), List.of("localhost"));
        alice = Mtls.client(pki.issueUser("alice", false), pki.layout().caChain());
        daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1")
                .withSpool(dir.resolve("spool")).withDataDir(dir.resolve("data")));
    }

    @AfterAll
    void stopDaemon() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void pathTraversalInAnyEncodingNeverLeavesTheApi() throws IOException, InterruptedException {
        String id = succeededJob();
        List<String> targets = new ArrayList<>(List.of(
                "/user/job/../../etc/passwd",
                "/user/job/../../../../../../../../etc/passwd",
                "/user/job/" + id + "/../../../../etc/passwd",
                "/user/job/..%2f..%2fetc%2fpasswd",
                "/user/job/%2e%2e/%2e%2e/etc/passwd",
                "/user/job/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                "/user/job/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
                "/user/job/..%5c..%5cetc%5cpasswd",
                "/user/job/..\\..\\etc\\passwd",
                "/user/job/..;/..;/etc/passwd",
                "/user/job/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
                "/user/job/" + id + "%2f..%2f..%2fscript",
                "/user/job/" + id + "/%2e%2e/%2e%2e/spool/stdout",
                "/user/job/" + id + "%00/stdout",
                "/user/job/%00../../etc/passwd",
                "/user/job/" + "../".repeat(12) + "etc/passwd/stdout"));
        List<byte[]> bad = new ArrayList<>();
        for (String target : targets) {
            bad.add(request("GET", target, Map.of(), new byte[0]));
            bad.add(request("DELETE", target, Map.of(), new byte[0]));
            bad.add(request("PATCH", target, Map.of("modification", "requeue"), new byte[0]));
        }
        assertBadAndHarmless(bad);
    }

    @Test
    void jobIdsThatAreNotUuidsAreUnknownJobs() throws IOException {
        List<String> ids = List.of(
                "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
                "{0000000-0000-4000-8000-00000000000}",
                "%C3%A9".repeat(18), // 36 bytes of UTF-8 that are no UUID
                "00000000-0000-4000-8000-0000000000%0d%0a", // an attempt to end the reply's header
                "00000000-0000-4000-8000-000000000000-00000000",
                "-1",
                "null");
        List<byte[]> bad = new ArrayList<>();
        for (String id : ids) {
            bad.add(request("GET", "/user/job/" + id, Map.of(), new byte[0]));
            bad.add(request("GET", "/user/job/" + id + "/stdout", Map.of(), new byte[0]));
        }
        assertBadAndHarmless(bad);
    }

    @Test
    void malformedOrIncompleteSubmitsAreRefused() throws IOException {
        String b = "b0undary";
        String type = "multipart/form-data; boundary=" + b;
        StringBuilder manyParts = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            manyParts.append("--").append(b).append("\r\nContent-Disposition: form-data; name=\"p").append(i)
                    .append("\"\r\n\r\nx\r\n");
        }
        manyParts.append("--").append(b).append("--\r\n");
        Map<String, String> bodies = new LinkedHashMap<>();
        bodies.put("no parts at all", "--" + b + "--\r\n");
        bodies.put("part name in another case",
                part(b, "form-data; name=\"Script_Content\"", "#!/bin/sh\necho x\n") + "--" + b + "--\r\n");
        bodies.put("part without a name", part(b, "form-data", "#!/bin/sh\necho x\n") + "--" + b + "--\r\n");
        bodies.put("more parts than allowed", manyParts.toString());
        bodies.put("headers of the part never end",
                "--" + b + "\r\nContent-Disposition: form-data; name=\"script_content\"\r\n");
        bodies.put("another boundary than declared",
                part("other", "form-data; name=\"script_content\"", "#!/bin/sh\necho x\n") + "--other--\r\n");
        List<byte[]> bad = new ArrayList<>();
        bodies.values().forEach(body -> bad.add(request("POST", "/user/job", Map.of("Content-Type", type),
                body.getBytes(StandardCharsets.UTF_8))));
        bad.add(request("POST", "/user/job", Map.of("Content-Type", "multipart/form-data; boundary=\"unclosed"),
                part("unclosed", "form-data; name=\"script_content\"", "#!/bin/sh\n").getBytes(StandardCharsets.UTF_8)));
        // A body larger than the limit, announced by its length: refused before it is read.
        bad.add(request("POST", "/user/job", Map.of("Content-Type", "text/plain", "Content-Length", "10000000000"),
                "#!/bin/sh\n".getBytes(StandardCharsets.UTF_8)));
        assertBadAndHarmless(bad);
    }

    @Test
    void unknownDirectiveValuesAreRefusedWithTheirField() throws IOException {
        List<String> directives = List.of("relocatable maybe", "relocatable TRUE", "ports 8888/sctp/in",
                "ports 0/tcp/in", "ports 65536/tcp/in", "ports 8888/tcp/in,", "gpus +1", "gpus 0x1", "gpus 1.5",
                "mem 1Q", "mem 0", "mem -1G", "time 1-25:99:99", "time -5", "tag noequals", "priority 1.5",
                "priority 99999999999999999999", "nodes -2", "name", "container-image");
        List<byte[]> bad = new ArrayList<>();
        for (String directive : directives) {
            bad.add(request("POST", "/user/job", Map.of("Content-Type", "text/plain"),
                    ("#!/bin/sh\n#SWM " + directive + "\necho x\n").getBytes(StandardCharsets.UTF_8)));
        }
        for (Reply reply : assertBadAndHarmless(bad)) {
            assertThat(reply.json().get("error").asText()).isEqualTo("invalid_script");
            assertThat(reply.json().get("field").asText()).as(reply.json().toString()).isNotBlank();
        }
    }

    @Test
    void oversizedHeadersAndUnknownMethodsAreRefused() throws IOException, InterruptedException {
        String id = succeededJob();
        List<byte[]> bad = new ArrayList<>();
        bad.add(request("GET", "/user/job", Map.of("X-Padding", "a".repeat(64 * 1024)), new byte[0]));
        Map<String, String> many = new LinkedHashMap<>();
        for (int i = 0; i < 2_000; i++) {
            many.put("X-H" + i, "v");
        }
        bad.add(request("GET", "/user/job", many, new byte[0]));
        bad.add(request("GET", "/user/job/" + "a".repeat(64 * 1024), Map.of(), new byte[0]));
        bad.add(request("TRACE", "/user/job", Map.of(), new byte[0]));
        bad.add(request("BREW", "/user/job", Map.of(), new byte[0]));
        bad.add(request("get", "/user/job", Map.of(), new byte[0]));
        bad.add(request("PUT", "/user/job/" + id + "/stdout", Map.of(), new byte[0]));
        bad.add(request("POST", "/user/job/" + id + "/stderr", Map.of("Content-Type", "text/plain"),
                "#!/bin/sh\necho x\n".getBytes(StandardCharsets.UTF_8)));
        bad.add(request("DELETE", "/user", Map.of(), new byte[0]));
        bad.add(request("PATCH", "/user/node", Map.of(), new byte[0]));
        assertBadAndHarmless(bad);
    }

    // ---- helpers

    /** A job of alice's that has ended, so that nothing changes on its own while the cases run. */
    private String succeededJob() throws InterruptedException {
        Job job = daemon.engine().asUser("alice").jobs().submit(JobSpec.script("#!/bin/sh\necho x\n"));
        daemon.engine().jobs().await(job.id(), Duration.ofSeconds(30));
        return job.id().toString();
    }

    private record Reply(String request, int status, String contentType, String body, JsonNode json) {
    }

    /** Sends each request on its own connection; every reply must be a 4xx JSON error, and no job may change. */
    private List<Reply> assertBadAndHarmless(List<byte[]> requests) throws IOException {
        List<Job> before = allJobs();
        List<Reply> replies = new ArrayList<>();
        for (byte[] request : requests) {
            Reply reply = send(request);
            String what = reply.request() + " -> " + reply.status() + " " + reply.body();
            assertThat(reply.status()).as(what).isBetween(400, 499);
            assertThat(reply.contentType()).as(what).startsWith("application/json");
            assertThat(reply.body()).as(what).doesNotContain("Exception", "\tat ", "<html", "root:");
            assertThat(reply.json().path("error").asText()).as(what).isNotBlank();
            assertThat(reply.json().path("message").asText()).as(what).isNotBlank();
            replies.add(reply);
        }
        assertThat(allJobs()).isEqualTo(before);
        Reply alive = send(request("GET", "/user", Map.of(), new byte[0]));
        assertThat(alive.status()).as("the daemon still answers").isEqualTo(200);
        return replies;
    }

    private List<Job> allJobs() {
        return daemon.engine().jobs().list(JobQuery.all().withLimit(JobQuery.MAX_LIMIT)).items();
    }

    private static String part(String boundary, String disposition, String content) {
        return "--" + boundary + "\r\nContent-Disposition: " + disposition + "\r\n\r\n" + content + "\r\n";
    }

    /** An HTTP/1.1 request as it goes on the wire, with a Content-Length of the body unless the headers name one. */
    private static byte[] request(String method, String target, Map<String, String> headers, byte[] body) {
        StringBuilder head = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n")
                .append("Host: localhost\r\nConnection: close\r\nAccept: application/json\r\n");
        headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
        if (body.length > 0 && !headers.containsKey("Content-Length")) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        byte[] h = head.toString().getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[h.length + body.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(body, 0, all, h.length, body.length);
        return all;
    }

    private Reply send(byte[] request) throws IOException {
        String first = describe(request);
        try (SSLSocket socket = (SSLSocket) alice.sslSocketFactory().createSocket("localhost", daemon.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            try {
                out.write(request);
                out.flush();
            } catch (IOException e) {
                // The server may answer and close before it has read all of an oversized request: read the answer.
            }
            byte[] raw = readAll(socket.getInputStream());
            return parse(first, raw);
        }
    }

    /** The request line, the type and the start of the body, for failure messages. */
    private static String describe(byte[] request) {
        String text = new String(request, StandardCharsets.UTF_8);
        String line = text.lines().findFirst().orElse("");
        String type = text.lines().filter(l -> l.startsWith("Content-Type:")).findFirst().orElse("");
        int body = text.indexOf("\r\n\r\n") + 4;
        String start = text.substring(body, Math.min(text.length(), body + 80));
        return (line.length() > 120 ? line.substring(0, 120) + "..." : line) + " [" + type + "] "
                + start.replace("\r", "\\r").replace("\n", "\\n");
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                all.write(buffer, 0, n);
            }
        } catch (IOException e) {
            // a reset after the reply (the server closed with unread request bytes): keep what arrived
            if (all.size() == 0) {
                throw e;
            }
        }
        return all.toByteArray();
    }

    private static Reply parse(String request, byte[] raw) throws IOException {
        String text = new String(raw, StandardCharsets.UTF_8);
        int end = text.indexOf("\r\n\r\n");
        assertThat(end).as(request + ": a whole reply, got: " + text).isPositive();
        String[] lines = text.substring(0, end).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        String contentType = "";
        boolean chunked = false;
        for (String line : lines) {
            String lower = line.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-type:")) {
                contentType = line.substring("content-type:".length()).strip();
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            }
        }
        String body = text.substring(end + 4);
        if (chunked) {
            body = unchunk(body);
        }
        JsonNode json = contentType.startsWith("application/json") ? JSON.readTree(body) : JSON.missingNode();
        return new Reply(request, status, contentType, body, json);
    }

    private static String unchunk(String body) {
        StringBuilder out = new StringBuilder();
        int at = 0;
        while (true) {
            int lineEnd = body.indexOf("\r\n", at);
            int size = Integer.parseInt(body.substring(at, lineEnd).strip(), 16);
            if (size == 0) {
                return out.toString();
            }
            out.append(body, lineEnd + 2, lineEnd + 2 + size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
