package dev.skyport.samples.daemon.pki;

import java.nio.file.Path;
import java.util.Objects;
import java.util.UUID;

/** A user certificate that {@link ClusterPki#issueUser} wrote: who it names and where its two PEM files are. */
public record IssuedUser(String name, UUID uuid, Path cert, Path key) {
    public IssuedUser {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(uuid, "uuid");
        Objects.requireNonNull(cert, "cert");
        Objects.requireNonNull(key, "key");
    }
}
