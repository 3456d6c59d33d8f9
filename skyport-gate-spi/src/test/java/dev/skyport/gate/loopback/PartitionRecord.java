package dev.skyport.gate.loopback;

import dev.skyport.api.PortSpec;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.PartitionState;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * What the loopback gate keeps of one partition in {@code <workDir>/partitions/<name>/partition.properties}, so that a
 * gate created later over the same directory (an engine restart, also in another JVM) lists it and serves its nodes on
 * the same ports with the same host keys, as a cloud keeps its VMs and their addresses while the engine is down. The
 * file is replaced atomically and readable by its owner only: it holds the nodes' private host keys.
 */
final class PartitionRecord {
    static final String FILE = "partition.properties";

    final String name;
    final PartitionSpec spec;
    final String flavor;
    final Instant created;
    final String sshUser;
    final PublicKey clientKey;
    final boolean unreachable;
    PartitionState state;
    final List<NodeRecord> nodes = new ArrayList<>();

    /** One node: its port on 127.0.0.1 and its host key pair. */
    record NodeRecord(int index, int port, KeyPair hostKey) {
    }

    PartitionRecord(String name, PartitionSpec spec, String flavor, Instant created, String sshUser,
                    PublicKey clientKey, boolean unreachable, PartitionState state) {
        this.name = name;
        this.spec = spec;
        this.flavor = flavor;
        this.created = created;
        this.sshUser = sshUser;
        this.clientKey = clientKey;
        this.unreachable = unreachable;
        this.state = state;
    }

    void save(Path dir) throws IOException {
        Properties p = new Properties();
        p.setProperty("name", name);
        p.setProperty("state", state.name());
        p.setProperty("flavor", flavor);
        p.setProperty("node-count", Integer.toString(spec.nodeCount()));
        spec.cloudImage().ifPresent(v -> p.setProperty("cloud-image", v));
        spec.containerImage().ifPresent(v -> p.setProperty("container-image", v));
        List<String> ports = new ArrayList<>();
        for (PortSpec ps : spec.ports()) {
            ports.add(ps.port() + "/" + ps.protocol() + "/" + ps.direction().name().toLowerCase(Locale.ROOT));
        }
        p.setProperty("ports", String.join(",", ports));
        spec.tags().forEach((k, v) -> p.setProperty("tag." + k, v));
        p.setProperty("created", created.toString());
        p.setProperty("ssh-user", sshUser);
        p.setProperty("client-key", b64(clientKey.getEncoded()));
        p.setProperty("unreachable", Boolean.toString(unreachable));
        for (NodeRecord n : nodes) {
            p.setProperty("node." + n.index() + ".port", Integer.toString(n.port()));
            p.setProperty("node." + n.index() + ".host-public", b64(n.hostKey().getPublic().getEncoded()));
            p.setProperty("node." + n.index() + ".host-private", b64(n.hostKey().getPrivate().getEncoded()));
        }
        Path tmp = dir.resolve(FILE + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "loopback partition " + name);
        }
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The record in {@code dir}, or empty when there is none (a directory whose first write never finished). */
    static Optional<PartitionRecord> load(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        try {
            Map<String, String> tags = new LinkedHashMap<>();
            for (String k : p.stringPropertyNames()) {
                if (k.startsWith("tag.")) {
                    tags.put(k.substring(4), p.getProperty(k));
                }
            }
            List<PortSpec> ports = new ArrayList<>();
            String rawPorts = p.getProperty("ports", "");
            if (!rawPorts.isEmpty()) {
                for (String s : rawPorts.split(",")) {
                    ports.add(PortSpec.parse(s));
                }
            }
            String name = required(p, "name");
            String flavor = required(p, "flavor");
            PartitionSpec spec = new PartitionSpec(name, Optional.of(flavor),
                    Integer.parseInt(required(p, "node-count")), Optional.ofNullable(p.getProperty("cloud-image")),
                    Optional.ofNullable(p.getProperty("container-image")), ports, tags);
            KeyFactory ec = KeyFactory.getInstance("EC");
            PartitionRecord rec = new PartitionRecord(name, spec, flavor, Instant.parse(required(p, "created")),
                    required(p, "ssh-user"),
                    ec.generatePublic(new X509EncodedKeySpec(unb64(required(p, "client-key")))),
                    Boolean.parseBoolean(p.getProperty("unreachable", "false")),
                    PartitionState.valueOf(required(p, "state")));
            for (int i = 0; i < spec.nodeCount(); i++) {
                String port = p.getProperty("node." + i + ".port");
                if (port == null) {
                    continue;
                }
                KeyPair host = new KeyPair(
                        ec.generatePublic(new X509EncodedKeySpec(unb64(required(p, "node." + i + ".host-public")))),
                        ec.generatePrivate(new PKCS8EncodedKeySpec(unb64(required(p, "node." + i + ".host-private")))));
                rec.nodes.add(new NodeRecord(i, Integer.parseInt(port), host));
            }
            return Optional.of(rec);
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException("unreadable loopback partition state " + f + ": " + e.getMessage(), e);
        }
    }

    Optional<NodeRecord> node(int index) {
        return nodes.stream().filter(n -> n.index() == index).findFirst();
    }

    /** {@code <partition>-main} for the head node, {@code <partition>-node0}, {@code -node1}, ... for the others. */
    String nodeName(int index) {
        return index == 0 ? name + "-main" : name + "-node" + (index - 1);
    }

    private static String required(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null) {
            throw new IllegalStateException("missing " + key);
        }
        return v;
    }

    private static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }

    private static byte[] unb64(String s) {
        return Base64.getDecoder().decode(s);
    }
}
