package dev.skyport.gate.azure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.gate.loopback.LoopbackNodeServer;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.apache.sshd.server.SshServer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;

/**
 * Fake Azure with real SSH, for tests and benchmarks in other modules: {@link FakeArm} answering the gate's start-up
 * reads (subscription, regions, one VM size with a price, the default image) and its partitions, with each head's
 * public IP on its own loopback address (127.0.x.y; Linux routes all of 127/8 to lo). When a head VM is PUT, its
 * custom data is decoded and an Apache MINA SSH server starts on that address and the gate's {@code ssh-port} with
 * the host keys cloud-init would install and only the public key of {@code osProfile} accepted (exec through
 * {@code /bin/sh -c} in a home directory of its own, SFTP); deleting the group stops it. {@link #install()} makes
 * {@code AzureGateProvider} connect here over plain HTTP, as {@code cloudGate("azure")} does in an engine.
 */
public final class FakeAzure implements AutoCloseable {
    public static final String SUBSCRIPTION = FakeArm.SUBSCRIPTION;
    public static final String SIZE = "Standard_D2s_v5";
    public static final String REGION = "eastus";
    private static final String TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BLOCK = Pattern.compile("(?m)^  (ed25519_private|rsa_private): \\|\\n((?:    .*\\n)+)");

    private final FakeArm arm;
    private final Path homes;
    private final int sshPort;
    private final Map<String, SshServer> heads = new ConcurrentHashMap<>();   // group -> the head's server
    private final Map<String, String> addresses = new ConcurrentHashMap<>();  // group -> the head's address
    private final AtomicInteger vmPutsHeld = new AtomicInteger();
    private final AtomicInteger peakVmPutsHeld = new AtomicInteger();
    private final AtomicInteger serversStarted = new AtomicInteger();
    private volatile boolean wrongHostKeys;
    private volatile int holdUntil;
    private volatile long holdNanos;
    private final Object holdLock = new Object();
    private final Map<String, Timeline> timelines = new ConcurrentHashMap<>();
    private static final Pattern GROUP_OF = Pattern.compile("(?i)/resourceGroups/([^/]+)");

    /**
     * When things happened to one partition's group, in {@link System#nanoTime()} (0: not yet): its PUT, the last
     * request about it before the first SSH session on its head (the gate's final read), that session, the DELETE,
     * and the end of the deletion.
     */
    public static final class Timeline {
        private volatile long groupPut;
        private volatile long lastRequest;
        private volatile long lastBeforeSsh;
        private volatile long sshSession;
        private volatile long deleteRequested;
        private volatile long deleted;

        public long groupPut() {
            return groupPut;
        }

        public long lastBeforeSsh() {
            return lastBeforeSsh;
        }

        public long sshSession() {
            return sshSession;
        }

        public long deleteRequested() {
            return deleteRequested;
        }

        public long deleted() {
            return deleted;
        }
    }

    private FakeAzure(FakeArm arm, Path homes, int sshPort) {
        this.arm = arm;
        this.homes = homes;
        this.sshPort = sshPort;
    }

    /** Starts the fake; heads' home directories go under {@code homes}. */
    public static FakeAzure start(Path homes) {
        return start(homes, 0);
    }

    /** As {@link #start(Path)}, with {@code threads} request threads (for many requests held at once). */
    public static FakeAzure start(Path homes, int threads) {
        FakeArm arm = new FakeArm(threads);
        FakeAzure fake = new FakeAzure(arm, homes, freePort());
        arm.publicIps(n -> "127.0." + (1 + n / 250) + "." + (1 + n % 250));
        arm.hooks(fake.new Heads());
        fake.startUpStubs();
        return fake;
    }

    /** Makes {@code AzureGateProvider.create} connect to this fake (plain HTTP, no retries) until {@link #close}. */
    public FakeAzure install() {
        AzureGateProvider.connector = c -> AzureClients.overPlainHttp(URI.create(arm.baseUrl()), TENANT,
                SUBSCRIPTION, AzureClients.noRetries());
        return this;
    }

    /** The options of {@code cloudGate("azure")} for this fake. */
    public Map<String, String> options() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("subscription-id", SUBSCRIPTION);
        o.put("tenant-id", TENANT);
        o.put("client-id", "99999999-8888-7777-6666-555555555555");
        o.put("client-secret", "not-used-by-the-plain-http-client");
        o.put("region", REGION);
        o.put("vm-sizes", SIZE);
        o.put("ssh-sources", "127.0.0.0/8");
        o.put("ssh-port", Integer.toString(sshPort));
        o.put("prices-url", arm.baseUrl() + AzureWire.PRICES_PATH);
        return o;
    }

    /** Heads start with host keys of their own instead of those cloud-init carries: pinning must refuse them. */
    public FakeAzure wrongHostKeys(boolean wrong) {
        this.wrongHostKeys = wrong;
        return this;
    }

    /** The next {@code times} VM creations are accepted and then fail with {@code code} (e.g. AllocationFailed). */
    public FakeAzure failVmCreation(int times, String code) {
        arm.fault("PUT", "/virtualMachines/", times, new FakeArm.LroFailed(code, code + " (injected)", List.of()));
        return this;
    }

    /**
     * VM PUTs wait until {@code pending} of them wait at once, or {@code max} passed since the first, so that the
     * peak of concurrent partition creations shows in {@link #peakVmPutsHeld()}.
     */
    public FakeAzure holdVmPuts(int pending, Duration max) {
        holdNanos = max.toNanos();
        holdUntil = pending;
        return this;
    }

    /** The timeline of {@code group} (created on its first request). */
    public Optional<Timeline> timeline(String group) {
        return Optional.ofNullable(timelines.get(group.toLowerCase(java.util.Locale.ROOT)));
    }

    public void forgetTimelines() {
        timelines.clear();
    }

    public int peakVmPutsHeld() {
        return peakVmPutsHeld.get();
    }

    public List<String> groupNames() {
        return arm.groupNames();
    }

    public List<String> deletedGroups() {
        return arm.deletedGroups();
    }

    public List<String> resourcePaths() {
        return arm.resourcePaths();
    }

    /** Head servers started so far (one per head VM PUT that found none running). */
    public int serversStarted() {
        return serversStarted.get();
    }

    /** Head servers running now. */
    public int serversRunning() {
        return heads.size();
    }

    /** Requests no route of the fake serves. */
    public List<String> unexpected() {
        return arm.unexpected();
    }

    public List<String> requests() {
        return arm.requests();
    }

    @Override
    public void close() {
        AzureGateProvider.connector = AzureClients::connect;
        synchronized (holdLock) {
            holdUntil = 0;
            holdLock.notifyAll();
        }
        heads.values().forEach(FakeAzure::stop);
        heads.clear();
        arm.close();
    }

    private void startUpStubs() {
        String sub = "/subscriptions/" + SUBSCRIPTION;
        var w = arm.wireMock();
        w.stubFor(get(urlPathEqualTo(sub)).willReturn(okJson("{\"id\":\"" + sub + "\",\"subscriptionId\":\""
                + SUBSCRIPTION + "\",\"displayName\":\"fake\",\"state\":\"Enabled\"}")));
        ArrayNode regions = JSON.createArrayNode();
        regions.addObject().put("id", sub + "/locations/" + REGION).put("name", REGION).put("displayName", REGION)
                .put("regionalDisplayName", REGION);
        w.stubFor(get(urlPathEqualTo(sub + "/locations"))
                .willReturn(okJson(JSON.createObjectNode().set("value", regions).toString())));
        ArrayNode skus = JSON.createArrayNode().add(AzureWire.d2sV5());
        w.stubFor(get(urlPathEqualTo(sub + "/providers/Microsoft.Compute/skus"))
                .withQueryParam("$filter", equalTo("location eq '" + REGION + "'"))
                .willReturn(okJson(JSON.createObjectNode().set("value", skus).toString())));
        w.stubFor(get(urlPathEqualTo(AzureWire.PRICES_PATH))
                .willReturn(okJson(AzureWire.page(null, AzureWire.linux(SIZE, 0.096)))));
        ArrayNode versions = JSON.createArrayNode();
        String publisher = "Canonical";
        String offer = "ubuntu-24_04-lts";
        versions.addObject().put("name", "24.04.202411030").put("location", REGION).put("id", "/Subscriptions/"
                + SUBSCRIPTION + "/Providers/Microsoft.Compute/Locations/" + REGION + "/Publishers/" + publisher
                + "/ArtifactTypes/VMImage/Offers/" + offer + "/Skus/server/Versions/24.04.202411030");
        w.stubFor(get(urlPathEqualTo(sub + "/providers/Microsoft.Compute/locations/" + REGION + "/publishers/"
                + publisher + "/artifacttypes/vmimage/offers/" + offer + "/skus/server/versions"))
                .willReturn(okJson(versions.toString())));
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private final class Heads implements FakeArm.Hooks {
        @Override
        public void beforeServe(String method, String path) {
            Matcher g = GROUP_OF.matcher(path);
            if (g.find()) {
                long now = System.nanoTime();
                Timeline t = timelines.computeIfAbsent(g.group(1).toLowerCase(java.util.Locale.ROOT),
                        k -> new Timeline());
                if (method.equals("PUT") && t.groupPut == 0 && path.matches("(?i).*/resourceGroups/[^/]+")) {
                    t.groupPut = now;
                }
                if (method.equals("DELETE") && t.deleteRequested == 0) {
                    t.deleteRequested = now;
                }
                t.lastRequest = now;
            }
            if (holdUntil <= 0 || !method.equals("PUT") || !path.contains("/virtualMachines/")) {
                return;
            }
            synchronized (holdLock) {
                int now = vmPutsHeld.incrementAndGet();
                peakVmPutsHeld.accumulateAndGet(now, Math::max);
                long end = System.nanoTime() + holdNanos;
                try {
                    if (now >= holdUntil) {
                        holdUntil = 0; // released: every later PUT passes too
                        holdLock.notifyAll();
                    }
                    while (holdUntil > 0 && System.nanoTime() < end) {
                        TimeUnit.NANOSECONDS.timedWait(holdLock, end - System.nanoTime());
                    }
                    holdUntil = 0;
                    holdLock.notifyAll();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    vmPutsHeld.decrementAndGet();
                }
            }
        }

        @Override
        public void vmPut(String group, String vm, JsonNode body) {
            if (!"head".equals(body.at("/tags/" + AzurePartitions.TAG_ROLE).asText()) || heads.containsKey(group)) {
                return;
            }
            String address = publicAddress(group);
            try {
                SshServer s = server(group, address, vm, body);
                heads.put(group, s);
                serversStarted.incrementAndGet();
            } catch (IOException | java.security.GeneralSecurityException e) {
                throw new IllegalStateException("cannot start the SSH server of " + vm + " on " + address, e);
            }
        }

        @Override
        public void groupDeleted(String group) {
            Timeline t = timelines.get(group.toLowerCase(java.util.Locale.ROOT));
            if (t != null) {
                t.deleted = System.nanoTime();
            }
            SshServer s = heads.remove(group);
            if (s != null) {
                stop(s);
            }
        }
    }

    /** The address the fake gave the group's public IP (the head's NIC refers to it). */
    private String publicAddress(String group) {
        String prefix = ("/subscriptions/" + SUBSCRIPTION + "/resourceGroups/" + group
                + "/providers/Microsoft.Network/publicIPAddresses/").toLowerCase();
        for (JsonNode r : arm.everything()) {
            if (r.path("id").asText().toLowerCase().startsWith(prefix)) {
                return r.at("/properties/ipAddress").asText();
            }
        }
        throw new IllegalStateException("group " + group + " has no public IP");
    }

    private SshServer server(String group, String address, String vm, JsonNode body)
            throws IOException, java.security.GeneralSecurityException {
        String cloudConfig = new String(Base64.getDecoder().decode(body.at("/properties/osProfile/customData")
                .asText()), StandardCharsets.UTF_8);
        List<KeyPair> hostKeys = new ArrayList<>();
        if (wrongHostKeys) {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(256);
            hostKeys.add(g.generateKeyPair());
        } else {
            Matcher m = BLOCK.matcher(cloudConfig);
            while (m.find()) {
                String pem = m.group(2).replaceAll("(?m)^    ", "");
                for (KeyPair k : SecurityUtils.loadKeyPairIdentities(null, () -> vm + "-" + m.group(1),
                        new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)), null)) {
                    hostKeys.add(k);
                }
            }
            if (hostKeys.isEmpty()) {
                throw new IllegalStateException("custom data of " + vm + " carries no host key");
            }
        }
        List<PublicKey> accepted = new ArrayList<>();
        for (JsonNode k : body.at("/properties/osProfile/linuxConfiguration/ssh/publicKeys")) {
            accepted.add(AuthorizedKeyEntry.parseAuthorizedKeyEntry(k.path("keyData").asText())
                    .resolvePublicKey(null, PublicKeyEntryResolver.FAILING));
        }
        Path home = Files.createDirectories(homes.resolve(vm));
        SshServer s = LoopbackNodeServer.configure(address, sshPort, hostKeys,
                key -> accepted.stream().anyMatch(a -> KeyUtils.compareKeys(a, key)), home);
        Timeline t = timelines.computeIfAbsent(group.toLowerCase(java.util.Locale.ROOT), k -> new Timeline());
        s.addSessionListener(new SessionListener() {
            @Override
            public void sessionCreated(Session session) {
                if (t.sshSession == 0) {
                    t.lastBeforeSsh = t.lastRequest;
                    t.sshSession = System.nanoTime();
                }
            }
        });
        try {
            s.start();
        } catch (IOException | RuntimeException e) {
            stop(s);
            throw e;
        }
        return s;
    }

    private static void stop(SshServer s) {
        try {
            s.stop(true);
        } catch (IOException ignored) {
            // stopping immediately closes the sockets; nothing is left to report
        }
    }
}
