package dev.skyport.core.internal.ssh;

import dev.skyport.api.EmbeddedBuilder;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.SkyPort;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * MINA SSH servers on loopback playing on-prem hosts for the {@code ssh} gate: each node has its own server, port and
 * host key (all in {@code known_hosts}), one client key logs in to all. A node's server can be stopped and started
 * again on the same port, which is how tests take a host down and bring it back.
 */
final class SshNodes implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(60);

    final Path dir;
    final Path clientKeyFile;
    final Path knownHosts;
    final Path remoteRoot;
    final KeyPair clientKey = MinaSshServer.rsa();
    private final Map<String, Host> hosts = new LinkedHashMap<>();

    static final class Host {
        final KeyPair hostKey = MinaSshServer.rsa();
        int port;
        MinaSshServer server;
    }

    SshNodes(Path dir) throws IOException {
        this.dir = dir;
        this.clientKeyFile = dir.resolve("id_rsa");
        Files.writeString(clientKeyFile, MinaSshServer.pem(clientKey));
        this.knownHosts = dir.resolve("known_hosts");
        Files.writeString(knownHosts, "");
        this.remoteRoot = Files.createDirectories(dir.resolve("remote"));
    }

    /** Adds node {@code name} with its own server, started now, and its host key in {@code known_hosts}. */
    SshNodes node(String name) throws IOException {
        Host h = new Host();
        h.server = MinaSshServer.start(0, h.hostKey, clientKey.getPublic(), Optional.empty());
        h.port = h.server.port();
        Files.writeString(knownHosts, MinaSshServer.knownHostsLine(h.port, h.hostKey.getPublic()),
                java.nio.file.StandardOpenOption.APPEND);
        hosts.put(name, h);
        return this;
    }

    Host host(String name) {
        return hosts.get(name);
    }

    int port(String name) {
        return hosts.get(name).port;
    }

    void stop(String name) throws IOException {
        Host h = hosts.get(name);
        if (h.server != null) {
            h.server.stop();
            h.server = null;
        }
    }

    void start(String name) throws IOException {
        Host h = hosts.get(name);
        if (h.server == null) {
            h.server = MinaSshServer.start(h.port, h.hostKey, clientKey.getPublic(), Optional.empty());
        }
    }

    /** The gate options for every node added, with short health timings so that tests see changes quickly. */
    Map<String, String> options() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("nodes", String.join(",", hosts.keySet()));
        o.put("user", System.getProperty("user.name"));
        o.put("key", clientKeyFile.toString());
        o.put("known-hosts", knownHosts.toString());
        o.put("remote-root", remoteRoot.toString());
        o.put("health-interval", "200ms");
        o.put("node-lost-after", "2s");
        o.put("connect-timeout", "3s");
        for (Map.Entry<String, Host> e : hosts.entrySet()) {
            o.put("node." + e.getKey() + ".host", "127.0.0.1");
            o.put("node." + e.getKey() + ".port", Integer.toString(e.getValue().port));
            o.put("node." + e.getKey() + ".cpus", "1");
            o.put("node." + e.getKey() + ".memory", "1G");
        }
        return o;
    }

    /** An engine builder over the ssh gate with {@code options}. */
    static EmbeddedBuilder engine(Path data, Map<String, String> options) {
        EmbeddedBuilder b = SkyPort.embedded().dataDir(data).gate("ssh").jobIsolation(JobIsolation.NONE);
        options.forEach(b::gateOption);
        return b;
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out waiting until " + what);
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    @Override
    public void close() throws IOException {
        for (String name : hosts.keySet()) {
            stop(name);
        }
    }
}
