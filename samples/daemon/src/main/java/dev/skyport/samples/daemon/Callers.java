package dev.skyport.samples.daemon;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import dev.skyport.samples.daemon.pki.Pem;
import dev.skyport.samples.daemon.pki.PkiException;
import dev.skyport.samples.daemon.pki.SpoolLayout;
import dev.skyport.samples.daemon.pki.UserIdentity;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.security.auth.x500.X500Principal;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Who is calling. As upstream, a client certificate names a user by the UUID it carries (the subject attribute with
 * OID 2.5.29.17, or a {@code urn:uuid:} SAN), and the user must be registered: {@code <spool>/secure/users/<name>/
 * cert.pem} is the registration, and only the certificate stored there is accepted for that user. Re-issuing a user's
 * certificate ({@code skyport certs user NAME --replace}) therefore retires the old one, and deleting the directory
 * retires the user; the daemon notices within seconds. Admins are registered users named in the configuration, by
 * user name or by certificate subject. Thread-safe.
 */
final class Callers {
    private static final Logger LOG = LoggerFactory.getLogger(Callers.class);
    private static final Duration RECHECK = Duration.ofSeconds(5);
    /** The request attribute that holds the request's {@link Caller} once identified. */
    private static final String CALLER = Callers.class.getName() + ".caller";

    /**
     * The caller of one request: the user named {@code user} with the stable id {@code id} (the certificate's UUID)
     * owns what it submits; an admin sees every user's jobs. Jobs are owned by the id, so a user deleted and
     * re-created under the same name (a new certificate, a new UUID) does not see the old user's jobs.
     */
    record Caller(String id, String user, boolean admin) {
    }

    /** Why a certificate names nobody: the identity it carries, as upstream prints it. */
    static final class UnregisteredException extends Exception {
        private static final long serialVersionUID = 1L;

        UnregisteredException(String identity) {
            super("User with ID=\"" + identity + "\" is not registred in the workload manager");
        }
    }

    private final SpoolLayout layout;
    private final List<String> adminNames = new ArrayList<>();
    private final List<X500Principal> adminSubjects = new ArrayList<>();
    /**
     * Who each certificate names, looked up again after {@link #RECHECK} (so that a retired certificate stops working
     * within seconds) rather than per request: every request on a kept-alive connection carries the same certificate,
     * and hashing, parsing and looking it up was a visible part of a submit's CPU. Keyed by the certificate itself
     * (equal when DER-equal), so a certificate cannot borrow another's entry.
     */
    private final LoadingCache<X509Certificate, Identified> identified;

    /**
     * @param admins user names, or certificate subjects (RFC 2253, recognised by their {@code =})
     */
    Callers(SpoolLayout layout, List<String> admins) {
        this.layout = layout;
        for (String admin : admins) {
            if (admin.contains("=")) {
                adminSubjects.add(new X500Principal(admin));
            } else {
                adminNames.add(admin);
            }
        }
        this.identified = Caffeine.newBuilder().maximumSize(10_000).expireAfterWrite(RECHECK).build(this::lookUp);
    }

    /**
     * The caller of a request, by the client certificate of its connection.
     *
     * @throws UnregisteredException when the certificate names no registered user, or there is none (the connector
     *                               requires one, so that only happens when it is misconfigured)
     */
    Caller identify(Request request) throws UnregisteredException {
        // ClientGuard and the API both ask; the answer is kept on the request so the certificate is read once.
        if (request.getAttribute(CALLER) instanceof Caller known) {
            return known;
        }
        Optional<X509Certificate> certificate = certificate(request);
        if (certificate.isEmpty()) {
            throw new UnregisteredException("none");
        }
        Caller caller = identify(certificate.get());
        request.setAttribute(CALLER, caller);
        return caller;
    }

    /** The client certificate of the request's connection. */
    static Optional<X509Certificate> certificate(Request request) {
        if (request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE) instanceof EndPoint.SslSessionData data) {
            X509Certificate[] chain = data.peerCertificates();
            if (chain != null && chain.length > 0) {
                return Optional.of(chain[0]);
            }
        }
        return Optional.empty();
    }

    Caller identify(X509Certificate certificate) throws UnregisteredException {
        Identified known = identified.get(certificate);
        return known.caller.orElseThrow(() -> new UnregisteredException(known.shown));
    }

    /** The caller a certificate names, or none; {@code shown} is its identity as an error names it. */
    private record Identified(Optional<Caller> caller, String shown) {
    }

    private Identified lookUp(X509Certificate certificate) {
        Optional<UserIdentity> identity = UserIdentity.of(certificate);
        String shown = identity.map(i -> i.uuid().toString()).orElse("unknown");
        Optional<String> user = registeredUser(fingerprint(certificate));
        // A registered certificate always carries an identity: registeredUser accepts no other.
        if (user.isEmpty() || identity.isEmpty()) {
            return new Identified(Optional.empty(), shown);
        }
        boolean admin = adminNames.contains(user.get())
                || adminSubjects.contains(certificate.getSubjectX500Principal());
        return new Identified(Optional.of(new Caller(identity.get().uuid().toString(), user.get(), admin)), shown);
    }

    /** The user whose registered certificate is exactly this one; none when no directory, or more than one, has it. */
    private Optional<String> registeredUser(String fingerprint) {
        Path users = layout.usersDir();
        if (!Files.isDirectory(users)) {
            return Optional.empty();
        }
        List<String> matches = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(users, Files::isDirectory)) {
            for (Path dir : dirs) {
                Path cert = dir.resolve("cert.pem");
                if (!Files.isRegularFile(cert)) {
                    continue;
                }
                try {
                    List<X509Certificate> chain = Pem.readCertificates(cert);
                    if (!chain.isEmpty() && UserIdentity.of(chain.get(0)).isPresent()
                            && fingerprint(chain.get(0)).equals(fingerprint)) {
                        matches.add(dir.getFileName().toString());
                    }
                } catch (PkiException e) {
                    LOG.warn("skipping unreadable user certificate {}: {}", cert, e.getMessage());
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot list users in {}: {}", users, e.toString());
        }
        if (matches.size() > 1) {
            LOG.warn("one certificate is registered for several users {}; refusing it", matches);
            return Optional.empty();
        }
        return matches.stream().findFirst();
    }

    private static String fingerprint(X509Certificate certificate) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot fingerprint a certificate", e);
        }
    }
}
