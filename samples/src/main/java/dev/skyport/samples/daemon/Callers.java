package dev.skyport.samples.daemon;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import dev.skyport.samples.daemon.pki.Pem;
import dev.skyport.samples.daemon.pki.PkiException;
import dev.skyport.samples.daemon.pki.SpoolLayout;
import dev.skyport.samples.daemon.pki.UserIdentity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.security.auth.x500.X500Principal;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Who is calling: the user a client certificate names. As upstream, the identity is the UUID in the certificate
 * (the subject attribute with OID 2.5.29.17, or a {@code urn:uuid:} SAN), and a user is registered when
 * {@code <spool>/secure/users/<name>/cert.pem} carries that UUID — so re-issuing a user's certificate retires the old
 * one. Certificate subjects listed as admins act on every user's jobs. Thread-safe.
 */
final class Callers {
    private static final Logger LOG = LoggerFactory.getLogger(Callers.class);

    /** The caller of one request: {@code user} owns what it submits; an admin sees every user's jobs. */
    record Caller(String user, boolean admin) {
    }

    /** Why a certificate names nobody: the identity it carries, as upstream prints it. */
    static final class UnregisteredException extends Exception {
        private static final long serialVersionUID = 1L;
        private final String identity;

        UnregisteredException(String identity) {
            super("User with ID=\"" + identity + "\" is not registred in the workload manager");
            this.identity = identity;
        }

        String identity() {
            return identity;
        }
    }

    private final SpoolLayout layout;
    private final Set<X500Principal> admins;
    private final LoadingCache<UUID, Optional<String>> registered;

    Callers(SpoolLayout layout, List<X500Principal> admins) {
        this.layout = layout;
        this.admins = Set.copyOf(admins);
        // A user added or retired with `skyport certs user` is seen within seconds, without a restart.
        this.registered = Caffeine.newBuilder().maximumSize(10_000)
                .expireAfterWrite(Duration.ofSeconds(5)).build(this::lookUp);
    }

    Caller identify(X509Certificate certificate) throws UnregisteredException {
        Optional<UserIdentity> identity = UserIdentity.of(certificate);
        if (admins.contains(certificate.getSubjectX500Principal())) {
            String name = identity.map(UserIdentity::name).orElse(certificate.getSubjectX500Principal().getName());
            return new Caller(name, true);
        }
        if (identity.isEmpty()) {
            throw new UnregisteredException("unknown");
        }
        UUID uuid = identity.get().uuid();
        return registered.get(uuid).map(name -> new Caller(name, false))
                .orElseThrow(() -> new UnregisteredException(uuid.toString()));
    }

    private Optional<String> lookUp(UUID uuid) {
        Path users = layout.usersDir();
        if (!Files.isDirectory(users)) {
            return Optional.empty();
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(users, Files::isDirectory)) {
            for (Path dir : dirs) {
                Path cert = dir.resolve("cert.pem");
                if (!Files.isRegularFile(cert)) {
                    continue;
                }
                try {
                    for (X509Certificate c : Pem.readCertificates(cert)) {
                        if (UserIdentity.of(c).map(UserIdentity::uuid).filter(uuid::equals).isPresent()) {
                            return Optional.of(dir.getFileName().toString());
                        }
                    }
                } catch (PkiException e) {
                    LOG.warn("skipping unreadable user certificate {}: {}", cert, e.getMessage());
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot list users in {}: {}", users, e.toString());
        }
        return Optional.empty();
    }
}
