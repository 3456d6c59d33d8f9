package dev.skyport.samples.daemon.pki;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static dev.skyport.samples.daemon.pki.TestCertificates.mode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/** What {@link ClusterPki} writes to the spool, with which modes, and what it refuses to overwrite. */
class PkiSpoolTest {
    @TempDir
    Path dir;

    private Path spool() {
        return dir.resolve("spool");
    }

    @Test
    void initWritesEveryFileOfTheLayoutWithKeysAndTheirDirectoriesPrivate() throws Exception {
        SpoolLayout layout = ClusterPki.init(spool(), List.of("localhost")).layout();

        assertThat(layout.spool()).isEqualTo(spool().toAbsolutePath());
        for (Path key : List.of(layout.gridKey(), layout.clusterKey(), layout.serverKey())) {
            assertThat(mode(key)).as(key.toString()).isEqualTo("rw-------");
            assertThat(mode(key.getParent())).as(key.getParent().toString()).isEqualTo("rwx------");
            assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----");
        }
        for (Path cert : List.of(layout.gridCert(), layout.clusterCert(), layout.caChain(), layout.serverCert())) {
            assertThat(mode(cert)).as(cert.toString()).isEqualTo("rw-r--r--");
        }
        try (Stream<Path> files = Files.walk(spool())) {
            assertThat(files.filter(Files::isRegularFile).map(spool()::relativize).map(Path::toString)).containsOnly(
                    "secure/grid/cert.pem", "secure/grid/private/key.pem",
                    "secure/cluster/cert.pem", "secure/cluster/private/key.pem", "secure/cluster/ca-chain-cert.pem",
                    "secure/node/cert.pem", "secure/node/key.pem");
        }
    }

    @Test
    void theCaBundleHoldsTheClusterCaThenTheGridCa() {
        SpoolLayout layout = ClusterPki.init(spool(), List.of("localhost")).layout();

        X509Certificate cluster = Pem.readCertificates(layout.clusterCert()).get(0);
        X509Certificate grid = Pem.readCertificates(layout.gridCert()).get(0);
        assertThat(Pem.readCertificates(layout.caChain())).containsExactly(cluster, grid);
        assertThat(cluster.getIssuerX500Principal()).isEqualTo(grid.getSubjectX500Principal());
    }

    @Test
    void theServerFileHoldsTheLeafThenTheClusterCa() {
        ClusterPki pki = ClusterPki.init(spool(), List.of("localhost"));

        List<X509Certificate> served = Pem.readCertificates(pki.layout().serverCert());
        assertThat(served).hasSize(2);
        assertThat(served.get(0).getBasicConstraints()).isEqualTo(-1);
        assertThat(served.get(1)).isEqualTo(pki.clusterCertificate());
    }

    @Test
    void initRefusesAnExistingCaAndChangesNothing() throws Exception {
        ClusterPki.init(spool(), List.of("localhost"));
        Map<String, String> before = contents(spool());

        assertThatThrownBy(() -> ClusterPki.init(spool(), List.of("localhost", "other.example")))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining("a CA already exists in " + spool().toAbsolutePath().resolve("secure"));
        assertThat(contents(spool())).isEqualTo(before);
    }

    @Test
    void initWithAnInvalidServerNameWritesNothing() {
        assertThatThrownBy(() -> ClusterPki.init(spool(), List.of("localhost", "no spaces allowed")))
                .isInstanceOf(PkiException.class)
                .hasMessage("invalid server name \"no spaces allowed\": use a DNS name or an IP address");
        assertThat(spool()).doesNotExist();
    }

    @Test
    void openWithoutACaSaysToRunInit() {
        assertThatThrownBy(() -> ClusterPki.open(spool()))
                .isInstanceOf(PkiException.class)
                .hasMessage("no cluster CA in " + spool().toAbsolutePath().resolve("secure/cluster")
                        + " (run `skyport certs init` first)");
    }

    @Test
    void openLoadsTheClusterCaThatInitCreated() {
        ClusterPki created = ClusterPki.init(spool(), List.of("localhost"));

        assertThat(ClusterPki.open(spool()).clusterCertificate()).isEqualTo(created.clusterCertificate());
    }

    @Test
    void openRefusesAClusterKeyThatDoesNotBelongToTheCertificate() throws Exception {
        SpoolLayout layout = ClusterPki.init(spool(), List.of("localhost")).layout();
        Files.copy(layout.gridKey(), layout.clusterKey(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        assertThatThrownBy(() -> ClusterPki.open(spool()))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining("does not belong to its certificate");
    }

    @Test
    void issueServerReplacesTheKeyAndCertificate() throws Exception {
        ClusterPki pki = ClusterPki.init(spool(), List.of("localhost"));
        String oldKey = Files.readString(pki.layout().serverKey());

        pki.issueServer(List.of("new.example", "10.1.2.3"));

        assertThat(Files.readString(pki.layout().serverKey())).isNotEqualTo(oldKey);
        X509Certificate leaf = Pem.readCertificates(pki.layout().serverCert()).get(0);
        assertThat(leaf.getSubjectAlternativeNames())
                .containsExactlyInAnyOrder(List.of(2, "new.example"), List.of(7, "10.1.2.3"));
    }

    @Test
    void issueUserWritesThePairPrivatelyWithTheIdentityInside() throws Exception {
        ClusterPki pki = ClusterPki.init(spool(), List.of("localhost"));

        IssuedUser alice = pki.issueUser("alice", false);

        assertThat(alice.cert()).isEqualTo(pki.layout().userCert("alice"));
        assertThat(alice.key()).isEqualTo(pki.layout().userKey("alice"));
        assertThat(mode(alice.key())).isEqualTo("rw-------");
        assertThat(mode(alice.key().getParent())).isEqualTo("rwx------");
        assertThat(mode(alice.cert())).isEqualTo("rw-r--r--");
        X509Certificate cert = Pem.readCertificates(alice.cert()).get(0);
        assertThat(UserIdentity.of(cert)).contains(new UserIdentity("alice", alice.uuid()));
        assertThat(pki.issueUser("bob", false).uuid()).isNotEqualTo(alice.uuid());
    }

    @Test
    void issueUserRefusesAnExistingUserUnlessReplacingAndAReplacementKeepsTheUuid() throws Exception {
        ClusterPki pki = ClusterPki.init(spool(), List.of("localhost"));
        IssuedUser first = pki.issueUser("alice", false);
        String firstKey = Files.readString(first.key());

        assertThatThrownBy(() -> pki.issueUser("alice", false))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining("user alice already has a certificate");
        assertThat(Files.readString(first.key())).isEqualTo(firstKey);

        IssuedUser second = pki.issueUser("alice", true);
        assertThat(second.uuid()).isEqualTo(first.uuid());
        assertThat(Files.readString(second.key())).isNotEqualTo(firstKey);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".hidden", "..", "../escape", "a/b", "with space", "tab\there", "ünïcode",
            "x12345678901234567890123456789012345678901234567890123456789012345"})
    void issueUserRefusesNamesThatAreNotSafeDirectoryNames(String name) {
        ClusterPki pki = ClusterPki.init(spool(), List.of("localhost"));

        assertThatThrownBy(() -> pki.issueUser(name, false))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining("invalid user name")
                .hasMessageContaining(SubjectNames.USER_RULE);
        assertThat(pki.layout().usersDir()).doesNotExist();
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "bob", "first.last", "_svc-1", "-dash", "x1234567890123456789012345678901234567890123456789012345678901a"})
    void issueUserAcceptsPlainNamesUpTo64Characters(String name) {
        ClusterPki pki = ClusterPki.init(spool(), List.of("localhost"));

        assertThat(pki.issueUser(name, false).cert()).isRegularFile();
    }

    @Test
    void installClientFilesCopiesTheUserPairIntoDotSwmPrivately() throws Exception {
        IssuedUser alice = ClusterPki.init(spool(), List.of("localhost")).issueUser("alice", false);
        Path home = dir.resolve("home");

        ClusterPki.installClientFiles(alice, home, false);

        Path swm = home.resolve(".swm");
        assertThat(mode(swm)).isEqualTo("rwx------");
        assertThat(mode(swm.resolve("key.pem"))).isEqualTo("rw-------");
        assertThat(swm.resolve("key.pem")).hasSameBinaryContentAs(alice.key());
        assertThat(swm.resolve("cert.pem")).hasSameBinaryContentAs(alice.cert());
    }

    @Test
    void installClientFilesRefusesToOverwriteUnlessReplacing() throws Exception {
        IssuedUser alice = ClusterPki.init(spool(), List.of("localhost")).issueUser("alice", false);
        Path home = dir.resolve("home");
        Files.createDirectories(home.resolve(".swm"));
        Files.writeString(home.resolve(".swm/key.pem"), "someone else's key");

        assertThatThrownBy(() -> ClusterPki.installClientFiles(alice, home, false))
                .isInstanceOf(PkiException.class)
                .hasMessageContaining(home.resolve(".swm/key.pem") + " already exists");
        assertThat(home.resolve(".swm/key.pem")).hasContent("someone else's key");
        assertThat(home.resolve(".swm/cert.pem")).doesNotExist();

        ClusterPki.installClientFiles(alice, home, true);
        assertThat(home.resolve(".swm/key.pem")).hasSameBinaryContentAs(alice.key());
    }

    @Test
    void installClientFilesGivesTheFilesToTheOwnerOfTheHome() throws Exception {
        assumeThat(System.getProperty("user.name")).as("only root can give files away").isEqualTo("root");
        IssuedUser alice = ClusterPki.init(spool(), List.of("localhost")).issueUser("alice", false);
        Path home = Files.createDirectories(dir.resolve("home"));
        UserPrincipal nobody = home.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        Files.setOwner(home, nobody);

        ClusterPki.installClientFiles(alice, home, false);

        assertThat(Files.getOwner(home.resolve(".swm"))).isEqualTo(nobody);
        assertThat(Files.getOwner(home.resolve(".swm/key.pem"))).isEqualTo(nobody);
        assertThat(Files.getOwner(home.resolve(".swm/cert.pem"))).isEqualTo(nobody);
    }

    @Test
    void defaultServerNamesAreValidDistinctAndIncludeTheLoopbackNames() {
        List<String> names = ClusterPki.defaultServerNames();

        assertThat(names).contains("localhost", "127.0.0.1", "::1");
        assertThat(names.stream().map(name -> name.toLowerCase(Locale.ROOT))).doesNotHaveDuplicates();
        assertThat(names).allMatch(SubjectNames::isServerName);
    }

    private static Map<String, String> contents(Path root) throws Exception {
        Map<String, String> contents = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                contents.put(root.relativize(file).toString(),
                        mode(file) + " " + Base64.getEncoder().encodeToString(Files.readAllBytes(file)));
            }
        }
        return contents;
    }
}
