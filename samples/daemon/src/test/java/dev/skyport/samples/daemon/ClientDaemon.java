package dev.skyport.samples.daemon;

import dev.skyport.api.JobIsolation;
import dev.skyport.client.ClientTls;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The real daemon on a random loopback port with real certificates, set up the way {@code skyport certs init} does
 * for an administrator: the spool at {@code <home>/.swm/spool} and the admin's identity in {@code <home>/.swm}, so
 * clients read it with {@link ClientTls#fromSwmDirectory}. Other users get their own certificates, in memory
 * ({@link #userTls}) or installed in a home of their own ({@link #installUser}) as a person's CLI reads them.
 */
public final class ClientDaemon implements AutoCloseable {
    public static final String ADMIN = "root";

    final Path dir;
    final Path home;
    final ClusterPki pki;
    final Daemon daemon;

    private ClientDaemon(Path dir, Path home, ClusterPki pki, Daemon daemon) {
        this.dir = dir;
        this.home = home;
        this.pki = pki;
        this.daemon = daemon;
    }

    public static ClientDaemon start(Path dir) {
        return start(dir, UnaryOperator.identity());
    }

    /** {@link #start(Path)} with the daemon's settings changed by {@code settings} (e.g. a cloud gate). */
    public static ClientDaemon start(Path dir, UnaryOperator<DaemonConfig> settings) {
        Path home = dir.resolve("home");
        Path spool = home.resolve(".swm").resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        IssuedUser admin = pki.issueUser(ADMIN, false);
        ClusterPki.installClientFiles(admin, home, false);
        // The contract's jobs report their pids to the test and signal their wrapper (kill -9 0, standing for a lost
        // node): they must see this machine as the test does, as in EmbeddedSkyPortTest.
        Daemon daemon = Daemon.start(settings.apply(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1")
                .withSpool(spool).withDataDir(dir.resolve("data")).withAdmins(List.of(ADMIN))
                .withJobIsolation(JobIsolation.NONE)));
        return new ClientDaemon(dir, home, pki, daemon);
    }

    public URI url() {
        return url(daemon.port());
    }

    public static URI url(int port) {
        return URI.create("https://localhost:" + port);
    }

    /** The spool the daemon reads, with the CA bundle a client trusts. */
    public Path spool() {
        return pki.layout().spool();
    }

    /** The administrator's home: its {@code .swm} holds the admin's identity and the spool. */
    public Path adminHome() {
        return home;
    }

    /** The admin's identity, as {@code skyport certs init} installed it. */
    public ClientTls adminTls() {
        return ClientTls.fromSwmDirectory(home);
    }

    /** A new registered user's identity. */
    public ClientTls userTls(String name) {
        IssuedUser user = pki.issueUser(name, false);
        return ClientTls.fromPem(user.cert(), user.key(), pki.layout().caChain());
    }

    /**
     * Issues a certificate to a new registered user and puts it in {@link #homeOf}{@code (name)/.swm} as
     * {@code cert.pem} and {@code key.pem}, without the CA bundle (a client finds that through SKYPORT_SPOOL).
     */
    public IssuedUser installUser(String name) {
        IssuedUser user = pki.issueUser(name, false);
        try {
            Path swm = Files.createDirectories(homeOf(name).resolve(".swm"));
            Files.copy(user.cert(), swm.resolve("cert.pem"));
            Files.copy(user.key(), swm.resolve("key.pem"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return user;
    }

    /** Where {@link #installUser} puts a user's home. */
    public Path homeOf(String name) {
        return dir.resolve("users").resolve(name);
    }

    @Override
    public void close() {
        daemon.close();
    }
}
