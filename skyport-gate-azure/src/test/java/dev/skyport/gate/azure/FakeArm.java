package dev.skyport.gate.azure;

import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpPipeline;
import com.azure.core.http.HttpPipelineBuilder;
import com.azure.core.http.policy.FixedDelay;
import com.azure.core.http.policy.HttpPipelinePolicy;
import com.azure.core.http.policy.RetryPolicy;
import com.azure.core.management.AzureEnvironment;
import com.azure.core.management.profile.AzureProfile;
import com.azure.core.util.HttpClientOptions;
import com.azure.resourcemanager.AzureResourceManager;
import com.azure.resourcemanager.resources.fluentcore.utils.ResourceManagerUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.extension.ResponseDefinitionTransformerV2;
import com.github.tomakehurst.wiremock.http.ResponseDefinition;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

/**
 * A stateful fake of the parts of Azure Resource Manager the gate uses, served by WireMock: it keeps the resource
 * groups and the resources PUT into them, answers PUTs of network and compute resources as long-running operations
 * (201, {@code Azure-AsyncOperation} polled once InProgress then Succeeded, then the resource's GET), assigns private
 * IPs to NICs and an address to public IPs, lists groups by tag and resources by group, and deletes a group with all
 * it holds (202 and {@code Location} polling). Faults are injected per test with {@link #fault}. Stubs exist only for
 * the routes ARM has, so an unexpected call shows up in WireMock's unmatched requests.
 */
final class FakeArm implements AutoCloseable {
    static final String SUBSCRIPTION = "00000000-1111-2222-3333-444444444444";
    private static final ObjectMapper JSON = new ObjectMapper();

    static {
        // polls of long-running operations wait this long instead of the SDK's seconds; global to the JVM
        ResourceManagerUtils.InternalRuntimeContext.setDelayProvider(d -> Duration.ofMillis(1));
    }

    private static final String SUB = "/subscriptions/" + SUBSCRIPTION;
    private static final Pattern GROUPS = Pattern.compile("(?i)" + SUB + "/resourcegroups");
    private static final Pattern GROUP = Pattern.compile("(?i)" + SUB + "/resourcegroups/([^/]+)");
    private static final Pattern RESOURCE = Pattern.compile(SUB
            + "/resourceGroups/([^/]+)/providers/(Microsoft\\.(?:Network|Compute))/([A-Za-z]+)/([^/]+)");
    private static final Pattern RESOURCES = Pattern.compile(SUB
            + "/resourceGroups/([^/]+)/providers/(Microsoft\\.(?:Network|Compute))/([A-Za-z]+)");
    private static final Pattern ASYNC = Pattern.compile("/async/(\\d+)");
    private static final Pattern OPERATION = Pattern.compile("/op/(\\d+)");

    /** What a fault does to the request it matches. */
    sealed interface Action {
    }

    /** Answer with this status and an ARM error body ({@code details} codes nested), and these headers. */
    record Error(int status, String code, String message, List<String> details, Map<String, String> headers)
            implements Action {
    }

    /** Serve the request normally, but only after this delay (a timeout when it passes the client's). */
    record Delay(Duration delay) implements Action {
    }

    /** Accept the PUT, then end its long-running operation Failed with this code and detail codes. */
    record LroFailed(String code, String message, List<String> details) implements Action {
    }

    private record Fault(String method, Pattern path, AtomicInteger remaining, Action action) {
    }

    private record Operation(String resourceKey, String groupKey, AtomicInteger pollsLeft, LroFailed failure) {
    }

    private final WireMockServer server;
    private final Map<String, ObjectNode> groups = new LinkedHashMap<>();       // lower-case name -> group
    private final Map<String, ObjectNode> resources = new LinkedHashMap<>();    // lower-case path -> resource
    private final Map<Integer, Operation> operations = new HashMap<>();
    private final List<Fault> faults = new ArrayList<>();
    private final List<String> unexpected = new ArrayList<>();
    private final Map<Pattern, CountDownLatch> watchers = new LinkedHashMap<>();
    private final List<String> deletedGroups = new ArrayList<>();
    private AzureResourceManager client;
    private volatile Hooks hooks = new Hooks() {
    };
    private java.util.function.IntFunction<String> publicIps = n -> "20.30.40." + n;
    private int nextOperation = 1;
    private int nextPrivateIp = 4;
    private int nextPublicIp = 10;

    /**
     * What a wrapper of the fake (real SSH servers for the heads, held requests) is told. {@link #beforeServe} runs
     * outside the fake's lock, so it may block a request without blocking the others; the rest run under it.
     */
    interface Hooks {
        default void beforeServe(String method, String path) {
        }

        /** A VM was PUT (created or updated) in {@code group}; {@code body} is the request's JSON. */
        default void vmPut(String group, String vm, JsonNode body) {
        }

        /** The deletion of {@code group} finished: it and everything in it are gone. */
        default void groupDeleted(String group) {
        }
    }

    FakeArm() {
        this(0);
    }

    /** @param threads WireMock's request threads (0: its default), more when a test holds many requests at once */
    FakeArm(int threads) {
        var options = options().dynamicPort().extensions(new Transformer());
        if (threads > 0) {
            options.containerThreads(threads);
        }
        server = new WireMockServer(options);
        server.start();
        for (Pattern p : List.of(GROUPS, GROUP, RESOURCE, RESOURCES, ASYNC, OPERATION)) {
            server.stubFor(any(urlPathMatching(p.pattern())).willReturn(aResponse().withTransformers("fake-arm")));
        }
    }

    void hooks(Hooks hooks) {
        this.hooks = hooks;
    }

    /** Public IPs are {@code addresses.apply(n)} for n = 10, 11, ... instead of 20.30.40.n. */
    synchronized void publicIps(java.util.function.IntFunction<String> addresses) {
        this.publicIps = addresses;
    }

    String baseUrl() {
        return server.baseUrl();
    }

    WireMockServer wireMock() {
        return server;
    }

    /**
     * A client as the gate gets it in production, but over plain HTTP with a dummy token and no retries; one per
     * fake, because building one loads and wires every manager of the SDK (seconds on a busy machine).
     */
    synchronized AzureResourceManager azure() {
        if (client == null) {
            client = azure(new RetryPolicy(new FixedDelay(0, Duration.ZERO)), Duration.ofSeconds(60));
        }
        return client;
    }

    /** Forgets every resource, fault and recorded request, as a new fake would. */
    synchronized void reset() {
        groups.clear();
        resources.clear();
        operations.clear();
        faults.clear();
        unexpected.clear();
        deletedGroups.clear();
        watchers.clear();
        server.resetRequests();
    }

    AzureResourceManager azure(RetryPolicy retry, Duration responseTimeout) {
        Map<String, String> endpoints = new HashMap<>(AzureEnvironment.AZURE.getEndpoints());
        endpoints.put("resourceManagerEndpointUrl", baseUrl() + "/");
        AzureProfile profile = new AzureProfile("tenant", SUBSCRIPTION, new AzureEnvironment(endpoints));
        HttpPipelinePolicy token = (context, next) -> {
            context.getHttpRequest().setHeader(HttpHeaderName.AUTHORIZATION, "Bearer test-token");
            return next.process();
        };
        HttpPipeline pipeline = new HttpPipelineBuilder()
                .httpClient(HttpClient.createDefault(new HttpClientOptions().setResponseTimeout(responseTimeout)
                        .setReadTimeout(responseTimeout)))
                .policies(retry, token)
                .build();
        return AzureResourceManager.authenticate(pipeline, profile).withSubscription(SUBSCRIPTION);
    }

    /** Applies {@code action} to the next {@code times} requests of {@code method} whose path matches {@code path}. */
    synchronized FakeArm fault(String method, String path, int times, Action action) {
        faults.add(new Fault(method, Pattern.compile(path), new AtomicInteger(times), action));
        return this;
    }

    /** A latch released when a request of {@code method} whose path matches {@code path} arrives. */
    synchronized CountDownLatch arrival(String method, String path) {
        CountDownLatch latch = new CountDownLatch(1);
        watchers.put(Pattern.compile(method + " .*" + path), latch);
        return latch;
    }

    static Error error(int status, String code, String... details) {
        return new Error(status, code, code + " (injected)", List.of(details), Map.of());
    }

    static Error throttled(int retryAfterSeconds) {
        return new Error(429, "TooManyRequests", "too many requests (injected)", List.of(),
                Map.of("Retry-After", Integer.toString(retryAfterSeconds)));
    }

    synchronized List<String> groupNames() {
        return groups.values().stream().map(g -> g.get("name").asText()).toList();
    }

    synchronized List<String> resourcePaths() {
        return resources.values().stream().map(r -> r.get("id").asText()).toList();
    }

    synchronized List<String> deletedGroups() {
        return List.copyOf(deletedGroups);
    }

    synchronized List<String> unexpected() {
        return List.copyOf(unexpected);
    }

    /** Requests WireMock received, in order, as {@code METHOD path}. */
    List<String> requests() {
        List<ServeEvent> events = new ArrayList<>(server.getAllServeEvents());
        events.sort((a, b) -> a.getRequest().getLoggedDate().compareTo(b.getRequest().getLoggedDate()));
        return events.stream().map(e -> e.getRequest().getMethod() + " " + path(e.getRequest())).toList();
    }

    /** The JSON bodies of every PUT whose path has a match of {@code pathRegex}, in order. */
    List<JsonNode> puts(String pathRegex) {
        Pattern pattern = Pattern.compile(pathRegex);
        List<JsonNode> out = new ArrayList<>();
        List<ServeEvent> events = new ArrayList<>(server.getAllServeEvents());
        events.sort((a, b) -> a.getRequest().getLoggedDate().compareTo(b.getRequest().getLoggedDate()));
        for (ServeEvent e : events) {
            LoggedRequest r = e.getRequest();
            if (r.getMethod().getName().equals("PUT") && pattern.matcher(path(r)).find()) {
                out.add(read(r.getBodyAsString()));
            }
        }
        return out;
    }

    /** Every stored resource and group, as ARM would return it. */
    synchronized List<JsonNode> everything() {
        List<JsonNode> out = new ArrayList<>(groups.values());
        out.addAll(resources.values());
        return out;
    }

    @Override
    public void close() {
        server.stop();
    }

    private static String path(LoggedRequest r) {
        String url = r.getUrl();
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q);
    }

    private static JsonNode read(String body) {
        try {
            return body == null || body.isBlank() ? JSON.createObjectNode() : JSON.readTree(body);
        } catch (Exception e) {
            throw new IllegalArgumentException("not JSON: " + body, e);
        }
    }

    private final class Transformer implements ResponseDefinitionTransformerV2 {
        @Override
        public String getName() {
            return "fake-arm";
        }

        @Override
        public boolean applyGlobally() {
            return false;
        }

        @Override
        public ResponseDefinition transform(ServeEvent event) {
            hooks.beforeServe(event.getRequest().getMethod().getName(), path(event.getRequest()));
            synchronized (FakeArm.this) {
                return serve(event.getRequest());
            }
        }
    }

    private ResponseDefinition serve(LoggedRequest request) {
        String method = request.getMethod().getName();
        String path = path(request);
        watchers.forEach((p, latch) -> {
            if (p.matcher(method + " " + path).find()) {
                latch.countDown();
            }
        });
        Action action = null;
        for (Iterator<Fault> it = faults.iterator(); it.hasNext(); ) {
            Fault f = it.next();
            if (f.method().equals(method) && f.path().matcher(path).find() && f.remaining().get() > 0) {
                if (f.remaining().decrementAndGet() == 0) {
                    it.remove();
                }
                action = f.action();
                break;
            }
        }
        if (action instanceof Error e) {
            return errorResponse(e);
        }
        ResponseDefinitionBuilder response = route(method, path, request,
                action instanceof LroFailed l ? l : null);
        if (action instanceof Delay d) {
            response.withFixedDelay((int) d.delay().toMillis());
        }
        return response.build();
    }

    private ResponseDefinitionBuilder route(String method, String path, LoggedRequest request, LroFailed lroFailure) {
        Matcher m;
        if ((m = ASYNC.matcher(path)).matches()) {
            return asyncStatus(Integer.parseInt(m.group(1)));
        }
        if ((m = OPERATION.matcher(path)).matches()) {
            return deletion(Integer.parseInt(m.group(1)));
        }
        if (GROUPS.matcher(path).matches() && method.equals("GET")) {
            return listGroups(request);
        }
        if ((m = GROUP.matcher(path)).matches()) {
            String name = m.group(1);
            switch (method) {
                case "PUT":
                    return putGroup(name, read(request.getBodyAsString()));
                case "GET":
                    ObjectNode g = groups.get(name.toLowerCase(Locale.ROOT));
                    return g == null ? notFound("ResourceGroupNotFound", "Resource group '" + name + "' could not be found.")
                            : json(200, g);
                case "DELETE":
                    return deleteGroup(name);
                default:
                    break;
            }
        }
        if ((m = RESOURCE.matcher(path)).matches()) {
            String group = m.group(1);
            switch (method) {
                case "PUT":
                    return putResource(path, group, m.group(2) + "/" + m.group(3), m.group(4),
                            read(request.getBodyAsString()), lroFailure);
                case "GET":
                    ObjectNode r = resources.get(path.toLowerCase(Locale.ROOT));
                    return r == null ? notFound("ResourceNotFound", "The resource '" + m.group(4) + "' was not found.")
                            : json(200, r);
                default:
                    break;
            }
        }
        if ((m = RESOURCES.matcher(path)).matches() && method.equals("GET")) {
            String prefix = path.toLowerCase(Locale.ROOT) + "/";
            ArrayNode value = JSON.createArrayNode();
            resources.forEach((k, v) -> {
                if (k.startsWith(prefix) && k.indexOf('/', prefix.length()) < 0) {
                    value.add(v);
                }
            });
            ObjectNode page = JSON.createObjectNode();
            page.set("value", value);
            return json(200, page);
        }
        unexpected.add(method + " " + path);
        return json(405, errorBody("MethodNotAllowed", "the fake does not serve " + method + " " + path, List.of()));
    }

    private ResponseDefinitionBuilder putGroup(String name, JsonNode body) {
        String key = name.toLowerCase(Locale.ROOT);
        ObjectNode existing = groups.get(key);
        if (existing != null && "Deleting".equals(existing.at("/properties/provisioningState").asText())) {
            return json(409, errorBody("ResourceGroupBeingDeleted", "The resource group '" + name
                    + "' is in deprovisioning state and cannot perform this operation.", List.of()));
        }
        ObjectNode g = JSON.createObjectNode();
        g.put("id", SUB + "/resourceGroups/" + name);
        g.put("name", name);
        g.put("type", "Microsoft.Resources/resourceGroups");
        g.put("location", body.path("location").asText());
        g.set("tags", body.path("tags").isObject() ? body.get("tags").deepCopy() : JSON.createObjectNode());
        g.putObject("properties").put("provisioningState", "Succeeded");
        groups.put(key, g);
        return json(existing == null ? 201 : 200, g);
    }

    private ResponseDefinitionBuilder deleteGroup(String name) {
        String key = name.toLowerCase(Locale.ROOT);
        ObjectNode g = groups.get(key);
        if (g == null) {
            return notFound("ResourceGroupNotFound", "Resource group '" + name + "' could not be found.");
        }
        deletedGroups.add(g.get("name").asText());
        ((ObjectNode) g.get("properties")).put("provisioningState", "Deleting");
        int id = nextOperation++;
        operations.put(id, new Operation(null, key, new AtomicInteger(1), null));
        return aResponse().withStatus(202).withHeader("Location", baseUrl() + "/op/" + id);
    }

    private ResponseDefinitionBuilder deletion(int id) {
        Operation op = operations.get(id);
        if (op == null) {
            unexpected.add("GET /op/" + id);
            return notFound("NotFound", "no operation " + id);
        }
        if (op.pollsLeft().getAndDecrement() > 0) {
            return aResponse().withStatus(202).withHeader("Location", baseUrl() + "/op/" + id);
        }
        ObjectNode g = groups.remove(op.groupKey());
        if (g != null) {
            String prefix = (SUB + "/resourceGroups/" + g.get("name").asText() + "/").toLowerCase(Locale.ROOT);
            resources.keySet().removeIf(k -> k.startsWith(prefix));
            hooks.groupDeleted(g.get("name").asText());
        }
        return aResponse().withStatus(200);
    }

    private ResponseDefinitionBuilder putResource(String path, String group, String type, String name, JsonNode body,
                                                  LroFailed lroFailure) {
        if (!groups.containsKey(group.toLowerCase(Locale.ROOT))) {
            return notFound("ResourceGroupNotFound", "Resource group '" + group + "' could not be found.");
        }
        String key = path.toLowerCase(Locale.ROOT);
        ObjectNode existing = resources.get(key);
        ObjectNode r = body.isObject() ? ((ObjectNode) body).deepCopy() : JSON.createObjectNode();
        r.put("id", path);
        r.put("name", name);
        r.put("type", type);
        ObjectNode props = r.has("properties") && r.get("properties").isObject() ? (ObjectNode) r.get("properties")
                : r.putObject("properties");
        props.put("provisioningState", type.endsWith("virtualMachines") ? "Creating" : "Updating");
        if (type.equals("Microsoft.Network/networkInterfaces")) {
            JsonNode configs = props.path("ipConfigurations");
            for (int i = 0; i < configs.size(); i++) {
                String ip = existing == null ? null
                        : existing.at("/properties/ipConfigurations/" + i + "/properties/privateIPAddress").asText(null);
                ObjectNode cp = configs.get(i).has("properties") ? (ObjectNode) configs.get(i).get("properties")
                        : ((ObjectNode) configs.get(i)).putObject("properties");
                cp.put("privateIPAddress", ip != null ? ip : "10.0.0." + nextPrivateIp++);
                cp.put("provisioningState", "Succeeded");
            }
        }
        if (type.equals("Microsoft.Network/publicIPAddresses")) {
            String ip = existing == null ? null : existing.at("/properties/ipAddress").asText(null);
            props.put("ipAddress", ip != null ? ip : publicIps.apply(nextPublicIp++));
        }
        if (type.equals("Microsoft.Compute/virtualMachines")) {
            hooks.vmPut(group, name, body);
        }
        resources.put(key, r);
        int id = nextOperation++;
        operations.put(id, new Operation(key, group.toLowerCase(Locale.ROOT), new AtomicInteger(1), lroFailure));
        return json(existing == null ? 201 : 200, r)
                .withHeader("Azure-AsyncOperation", baseUrl() + "/async/" + id);
    }

    private ResponseDefinitionBuilder asyncStatus(int id) {
        Operation op = operations.get(id);
        if (op == null) {
            unexpected.add("GET /async/" + id);
            return notFound("NotFound", "no operation " + id);
        }
        if (op.pollsLeft().getAndDecrement() > 0) {
            return json(200, JSON.createObjectNode().put("status", "InProgress"));
        }
        ObjectNode r = resources.get(op.resourceKey());
        if (op.failure() != null) {
            if (r != null) {
                ((ObjectNode) r.get("properties")).put("provisioningState", "Failed");
            }
            ObjectNode status = JSON.createObjectNode().put("status", "Failed");
            status.set("error", errorBody(op.failure().code(), op.failure().message(), op.failure().details())
                    .get("error"));
            return json(200, status);
        }
        if (r != null) {
            ((ObjectNode) r.get("properties")).put("provisioningState", "Succeeded");
        }
        return json(200, JSON.createObjectNode().put("status", "Succeeded"));
    }

    private ResponseDefinitionBuilder listGroups(LoggedRequest request) {
        String filter = request.queryParameter("$filter").isPresent()
                ? URLDecoder.decode(request.queryParameter("$filter").firstValue(), StandardCharsets.UTF_8) : "";
        Matcher f = Pattern.compile("(?i)tagname eq '([^']*)'(?: and tagvalue eq '([^']*)')?").matcher(filter);
        String tag = f.find() ? f.group(1) : null;
        String value = tag == null ? null : f.group(2);
        if (!filter.isBlank() && tag == null) {
            unexpected.add("GET groups with filter " + filter);
        }
        ArrayNode list = JSON.createArrayNode();
        for (ObjectNode g : groups.values()) {
            JsonNode tags = g.path("tags");
            if (tag == null || (tags.has(tag) && (value == null || tags.get(tag).asText().equals(value)))) {
                list.add(g);
            }
        }
        ObjectNode page = JSON.createObjectNode();
        page.set("value", list);
        return json(200, page);
    }

    private ResponseDefinition errorResponse(Error e) {
        ResponseDefinitionBuilder b = json(e.status(), errorBody(e.code(), e.message(), e.details()));
        e.headers().forEach(b::withHeader);
        return b.build();
    }

    private static ObjectNode errorBody(String code, String message, List<String> details) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("code", code);
        error.put("message", message);
        if (!details.isEmpty()) {
            ArrayNode d = error.putArray("details");
            for (String c : details) {
                d.addObject().put("code", c).put("message", c + " (injected detail)");
            }
        }
        return body;
    }

    private static ResponseDefinitionBuilder notFound(String code, String message) {
        return json(404, errorBody(code, message, List.of()));
    }

    private static ResponseDefinitionBuilder json(int status, JsonNode body) {
        return aResponse().withStatus(status).withHeader("Content-Type", "application/json")
                .withBody(body.toString());
    }
}
