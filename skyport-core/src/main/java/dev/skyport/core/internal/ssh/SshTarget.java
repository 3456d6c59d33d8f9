package dev.skyport.core.internal.ssh;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Where and how to log in to a node over SSH: by private key only (a file or the key's text in memory), and with the
 * host key checked against a {@code known_hosts} file or against pinned SHA-256 fingerprints ({@code SHA256:...}, as
 * {@code ssh-keygen -l} prints them). Exactly one of each pair is given.
 */
public record SshTarget(String host, int port, String user, Optional<Path> keyFile, Optional<String> key,
                        Optional<Path> knownHosts, Set<String> pinnedFingerprints) {
    public SshTarget {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(keyFile, "keyFile");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(knownHosts, "knownHosts");
        pinnedFingerprints = Set.copyOf(pinnedFingerprints);
        if (host.isBlank() || user.isBlank()) {
            throw new IllegalArgumentException("host and user must not be blank");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be in 1..65535: " + port);
        }
        if (keyFile.isPresent() == key.isPresent()) {
            throw new IllegalArgumentException("exactly one of keyFile and key for " + host);
        }
        if (knownHosts.isPresent() == !pinnedFingerprints.isEmpty()) {
            throw new IllegalArgumentException("exactly one of knownHosts and pinnedFingerprints for " + host);
        }
        for (String f : pinnedFingerprints) {
            if (!f.startsWith("SHA256:")) {
                throw new IllegalArgumentException("a pinned fingerprint starts with SHA256: " + f);
            }
        }
    }

    public static SshTarget withKnownHosts(String host, int port, String user, Path keyFile, Path knownHosts) {
        return new SshTarget(host, port, user, Optional.of(keyFile), Optional.empty(), Optional.of(knownHosts),
                Set.of());
    }

    public static SshTarget pinned(String host, int port, String user, String key, Set<String> fingerprints) {
        return new SshTarget(host, port, user, Optional.empty(), Optional.of(key), Optional.empty(), fingerprints);
    }

    /** How the target is named in errors and logs; no key material. */
    public String address() {
        return user + "@" + host + ":" + port;
    }

    @Override
    public String toString() {
        return "SshTarget[" + address() + "]";
    }
}
