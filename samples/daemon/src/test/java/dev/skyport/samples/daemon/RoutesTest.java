package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The route table on a real Jetty server: each facade gets its own paths, whole, and nothing else. */
class RoutesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient client = HttpClient.newHttpClient();
    private Server server;
    private String base;

    @BeforeEach
    void start() throws Exception {
        Map<String, Handler> facades = new LinkedHashMap<>();
        // Listed shortest first on purpose: the table must still give /api/v1 paths to the longer prefix.
        facades.put("/api", facade("api"));
        facades.put("/user", facade("user"));
        facades.put("/api/v1", facade("api-v1"));
        server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setHandler(new Routes(facades, JSON));
        server.start();
        base = "http://127.0.0.1:" + connector.getLocalPort();
    }

    @AfterEach
    void stop() throws Exception {
        server.stop();
    }

    @Test
    void givesEachPathToTheFacadeWithTheLongestPrefixThatOwnsIt() throws Exception {
        assertThat(get("/user").body()).isEqualTo("user /user");
        assertThat(get("/user/job/x/stdout").body()).isEqualTo("user /user/job/x/stdout");
        assertThat(get("/api/v1").body()).isEqualTo("api-v1 /api/v1");
        assertThat(get("/api/v1/jobs").body()).isEqualTo("api-v1 /api/v1/jobs");
        assertThat(get("/api/v2/jobs").body()).isEqualTo("api /api/v2/jobs");
        assertThat(get("/api/v1x").body()).isEqualTo("api /api/v1x");
    }

    @Test
    void answersAPathNoFacadeOwnsWith404AndTheJsonErrorBody() throws Exception {
        for (String path : new String[] {"/", "/users", "/userx/job", "/ap", "/ga4gh/tes/v1/tasks"}) {
            HttpResponse<String> r = get(path);
            assertThat(r.statusCode()).as(path).isEqualTo(404);
            assertThat(r.headers().firstValue("Content-Type")).as(path).hasValueSatisfying(
                    t -> assertThat(t).startsWith("application/json"));
            JsonNode error = JSON.readTree(r.body());
            assertThat(error.get("error").asText()).isEqualTo("not_found");
            assertThat(error.get("message").asText()).isEqualTo("no such resource: " + path);
        }
    }

    @Test
    void refusesAMalformedPrefix() {
        for (String prefix : new String[] {"", "/", "user", "/user/", "/us er", "/user//job"}) {
            assertThatThrownBy(() -> new Routes(Map.of(prefix, facade("x")), JSON)).as(prefix)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("route prefix");
        }
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A facade that answers with its name and the path it was given. */
    private static Handler facade(String name) {
        return new Handler.Abstract() {
            @Override
            public boolean handle(Request request, org.eclipse.jetty.server.Response response,
                                  org.eclipse.jetty.util.Callback callback) {
                Replies.send(response, callback, 200, Replies.TEXT, name + " " + Request.getPathInContext(request));
                return true;
            }
        };
    }
}
