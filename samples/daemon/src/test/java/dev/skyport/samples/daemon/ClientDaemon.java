package dev.skyport.samples.daemon;

import dev.skyport.api.JobIsolation;
import dev.skyport.client.ClientTls;
import dev.skyport.samples.daemon.pki.ClusterPki;
import dev.skyport.samples.daemon.pki.IssuedUser;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;

/**
 * The real daemon on a random loopback port with real certificates, set up the way {@code skyport certs init} does
 * for an administrator: the spool at {@code <home>/.swm/spool} and the admin's identity in {@code <home>/.swm}, so
 * clients read it with {@link ClientTls#fromSwmDirectory}. Other users get their own certificates.
 */
final class ClientDaemon implements AutoCloseable {
    static final String ADMIN = "root";

    final Path home;
    final ClusterPki pki;
    final Daemon daemon;

    private ClientDaemon(Path home, ClusterPki pki, Daemon daemon) {
        this.home = home;
        this.pki = pki;
        this.daemon = daemon;
    }

    static ClientDaemon start(Path dir) {
        Path home = dir.resolve("home");
        Path spool = home.resolve(".swm").resolve("spool");
        ClusterPki pki = ClusterPki.init(spool, List.of("localhost", "127.0.0.1"));
        IssuedUser admin = pki.issueUser(ADMIN, false);
        ClusterPki.installClientFiles(admin, home, false);
        // The contract's jobs report their pids to the test and signal their wrapper (kill -9 0, standing for a lost
        // node): they must see this machine as the test does, as in EmbeddedSkyPortTest.
        Daemon daemon = Daemon.start(DaemonConfig.defaults().withPort(0).withBind("127.0.0.1").withSpool(spool)
                .withDataDir(dir.resolve("data")).withAdmins(List.of(ADMIN)).withJobIsolation(JobIsolation.NONE));
        return new ClientDaemon(home, pki, daemon);
    }

    URI url() {
        return url(daemon.port());
    }

    static URI url(int port) {
        return URI.create("https://localhost:" + port);
    }

    /** The admin's identity, as {@code skyport certs init} installed it. */
    ClientTls adminTls() {
        return ClientTls.fromSwmDirectory(home);
    }

    /** A new registered user's identity. */
    ClientTls userTls(String name) {
        IssuedUser user = pki.issueUser(name, false);
        return ClientTls.fromPem(user.cert(), user.key(), pki.layout().caChain());
    }

    @Override
    public void close() {
        daemon.close();
    }
}
