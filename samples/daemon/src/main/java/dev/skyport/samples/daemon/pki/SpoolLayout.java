package dev.skyport.samples.daemon.pki;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the upstream spool keeps its certificates and keys, under one spool directory (compatibility spec F.7). The
 * upstream clients read {@code ~/.swm/cert.pem}, {@code ~/.swm/key.pem} and the CA bundle
 * {@code /opt/swm/spool/secure/cluster/ca-chain-cert.pem}, so these names are fixed. Paths only: nothing here touches
 * the file system. User names are not checked here; {@link ClusterPki} checks them before it writes anything.
 */
public record SpoolLayout(Path spool) {
    public SpoolLayout {
        Objects.requireNonNull(spool, "spool");
    }

    /** {@code <spool>/secure}: everything the PKI writes lives below it. */
    public Path secure() {
        return spool.resolve("secure");
    }

    /** The grid (root) CA certificate, {@code <spool>/secure/grid/cert.pem}. */
    public Path gridCert() {
        return secure().resolve("grid/cert.pem");
    }

    /** The grid CA key, {@code <spool>/secure/grid/private/key.pem}. */
    public Path gridKey() {
        return secure().resolve("grid/private/key.pem");
    }

    /** The cluster CA certificate, {@code <spool>/secure/cluster/cert.pem}: the daemon's trust anchor for clients. */
    public Path clusterCert() {
        return secure().resolve("cluster/cert.pem");
    }

    /** The cluster CA key, {@code <spool>/secure/cluster/private/key.pem}. */
    public Path clusterKey() {
        return secure().resolve("cluster/private/key.pem");
    }

    /** The clients' CA bundle, {@code <spool>/secure/cluster/ca-chain-cert.pem}: the cluster CA, then the grid CA. */
    public Path caChain() {
        return secure().resolve("cluster/ca-chain-cert.pem");
    }

    /** The chain the daemon serves, {@code <spool>/secure/node/cert.pem}: its leaf, then the cluster CA. */
    public Path serverCert() {
        return secure().resolve("node/cert.pem");
    }

    /** The daemon's TLS key, {@code <spool>/secure/node/key.pem}. */
    public Path serverKey() {
        return secure().resolve("node/key.pem");
    }

    /**
     * {@code <spool>/inputs/{owner}}: where each user's {@code input-files} must be, {@code {owner}} standing for the
     * user's name (the engine's input root). Not under {@code secure/}, which holds the users' keys.
     */
    public Path inputRoot() {
        return spool.toAbsolutePath().normalize().resolve("inputs").resolve("{owner}");
    }

    /** {@code <spool>/secure/users}, one directory per user below it. */
    public Path usersDir() {
        return secure().resolve("users");
    }

    /** A user's certificate, {@code <spool>/secure/users/<name>/cert.pem}. */
    public Path userCert(String name) {
        return usersDir().resolve(name).resolve("cert.pem");
    }

    /** A user's key, {@code <spool>/secure/users/<name>/key.pem}. */
    public Path userKey(String name) {
        return usersDir().resolve(name).resolve("key.pem");
    }
}
