package dev.skyport.samples.daemon.pki;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static dev.skyport.samples.daemon.pki.TestCertificates.mode;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code skyport certs} run in-process, with the environment (spool variable, home, user name, host names) given. */
class CertsCommandTest {
    @TempDir
    Path dir;

    private Path spool() {
        return dir.resolve("spool");
    }

    private Path home() {
        return dir.resolve("home");
    }

    private record Run(int exitCode, String out, String err) {
        /** The user's own mistakes never show them Java internals. */
        Run assertNoStackTrace() {
            assertThat(err).doesNotContain("\tat ").doesNotContain("Exception");
            return this;
        }
    }

    private Run run(String... args) {
        return runWithSpoolVariable(null, args);
    }

    private Run runWithSpoolVariable(String spoolVariable, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine command = new CommandLine(new CertsCommand(spoolVariable, home(), "admin",
                () -> List.of("localhost", "127.0.0.1")));
        command.setOut(new PrintWriter(out, true));
        command.setErr(new PrintWriter(err, true));
        int exitCode = command.execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }

    private Run init(String... more) {
        List<String> args = new ArrayList<>(List.of("init", "--spool", spool().toString(), "--home", home().toString()));
        args.addAll(List.of(more));
        return run(args.toArray(String[]::new));
    }

    @Test
    void initCreatesTheCaServerAndAdminCertificatesAndInstallsTheClientFiles() throws Exception {
        Run run = init("--san", "cluster.example");

        assertThat(run.exitCode()).as(run.err()).isZero();
        SpoolLayout layout = new SpoolLayout(spool());
        assertThat(List.of(layout.gridCert(), layout.gridKey(), layout.clusterCert(), layout.clusterKey(),
                layout.caChain(), layout.serverCert(), layout.serverKey(), layout.userCert("admin"),
                layout.userKey("admin"))).allSatisfy(file -> assertThat(file).isRegularFile());
        Path installedKey = home().resolve(".swm/key.pem");
        assertThat(mode(installedKey)).isEqualTo("rw-------");
        assertThat(installedKey).hasSameBinaryContentAs(layout.userKey("admin"));
        assertThat(home().resolve(".swm/cert.pem")).hasSameBinaryContentAs(layout.userCert("admin"));
        X509Certificate leaf = Pem.readCertificates(layout.serverCert()).get(0);
        assertThat(leaf.getSubjectAlternativeNames())
                .contains(List.of(2, "localhost"), List.of(7, "127.0.0.1"), List.of(2, "cluster.example"));

        UUID uuid = UserIdentity.of(Pem.readCertificates(layout.userCert("admin")).get(0)).orElseThrow().uuid();
        assertThat(run.out()).contains(uuid.toString(), layout.caChain().toString(), installedKey.toString())
                .contains("/opt/swm/spool/secure/cluster/ca-chain-cert.pem")
                .contains("sudo ln -s " + spool() + " /opt/swm/spool")
                .doesNotContain("PRIVATE KEY");
    }

    @Test
    void initTakesTheAdminNameFromTheOption() {
        assertThat(init("--admin", "root-admin").exitCode()).isZero();

        assertThat(new SpoolLayout(spool()).userCert("root-admin")).isRegularFile();
        assertThat(new SpoolLayout(spool()).userCert("admin")).doesNotExist();
    }

    @Test
    void initTwiceFailsWithOneLineOnStderr() {
        assertThat(init().exitCode()).isZero();

        Run again = init().assertNoStackTrace();

        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.err()).startsWith("skyport certs: a CA already exists in " + spool().resolve("secure"))
                .hasLineCount(1);
    }

    @Test
    void initRefusesToOverwriteClientFilesBeforeCreatingAnything() throws Exception {
        Files.createDirectories(home().resolve(".swm"));
        Files.writeString(home().resolve(".swm/cert.pem"), "old identity");

        Run refused = init().assertNoStackTrace();

        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains("already exists (pass --force-home to overwrite it)");
        assertThat(spool()).doesNotExist();
        assertThat(home().resolve(".swm/cert.pem")).hasContent("old identity");

        assertThat(init("--force-home").exitCode()).isZero();
        assertThat(home().resolve(".swm/cert.pem")).hasSameBinaryContentAs(new SpoolLayout(spool()).userCert("admin"));
    }

    @Test
    void initRefusesABadAdminNameBeforeCreatingAnything() {
        Run refused = init("--admin", "../etc").assertNoStackTrace();

        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).startsWith("skyport certs: invalid user name \"../etc\"");
        assertThat(spool()).doesNotExist();
    }

    @Test
    void userIssuesOnceAndRefusesTheSameUserAgainUnlessReplacing() {
        assertThat(init().exitCode()).isZero();

        Run first = run("user", "bob", "--spool", spool().toString());
        Run second = run("user", "bob", "--spool", spool().toString()).assertNoStackTrace();
        Run replaced = run("user", "bob", "--spool", spool().toString(), "--replace");

        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(first.out()).contains(new SpoolLayout(spool()).userCert("bob").toString());
        assertThat(second.exitCode()).isEqualTo(1);
        assertThat(second.err()).startsWith("skyport certs: user bob already has a certificate").contains("--replace");
        assertThat(replaced.exitCode()).as(replaced.err()).isZero();
        String uuid = first.out().replaceAll("(?s).*UUID ([0-9a-f-]{36}).*", "$1");
        assertThat(replaced.out()).contains("UUID " + uuid);
    }

    @Test
    void userWithInstallHomeInstallsTheClientFiles() throws Exception {
        assertThat(init().exitCode()).isZero();
        Path bobHome = dir.resolve("bob");

        Run run = run("user", "bob", "--spool", spool().toString(), "--install-home", bobHome.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(bobHome.resolve(".swm/key.pem")).hasSameBinaryContentAs(new SpoolLayout(spool()).userKey("bob"));
        assertThat(mode(bobHome.resolve(".swm/key.pem"))).isEqualTo("rw-------");
    }

    @Test
    void userRefusesABadNameWithExitCode1() {
        assertThat(init().exitCode()).isZero();

        Run run = run("user", "../evil", "--spool", spool().toString()).assertNoStackTrace();

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).startsWith("skyport certs: invalid user name").contains(SubjectNames.USER_RULE);
        assertThat(dir.resolve("spool/secure/evil")).doesNotExist();
    }

    @Test
    void userBeforeInitSaysToRunInit() {
        Run run = run("user", "bob", "--spool", spool().toString()).assertNoStackTrace();

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("skyport certs: no cluster CA in " + spool().resolve("secure/cluster")
                + " (run `skyport certs init` first)" + System.lineSeparator());
    }

    @Test
    void serverReissuesTheCertificateWithTheExtraNames() {
        assertThat(init().exitCode()).isZero();

        Run run = run("server", "--spool", spool().toString(), "--san", "new.example", "--san", "10.0.0.7");

        assertThat(run.exitCode()).as(run.err()).isZero();
        X509Certificate leaf = Pem.readCertificates(new SpoolLayout(spool()).serverCert()).get(0);
        assertThat(run.out()).contains("localhost, 127.0.0.1, new.example, 10.0.0.7");
        assertThat(leaf).satisfies(cert -> assertThat(cert.getSubjectAlternativeNames())
                .contains(List.of(2, "new.example"), List.of(7, "10.0.0.7"), List.of(2, "localhost")));
    }

    @Test
    void theSpoolDefaultsToTheSpoolVariableThenToDotSwmInTheHome() {
        Path fromVariable = dir.resolve("from-variable");

        assertThat(runWithSpoolVariable(fromVariable.toString(), "init", "--home", home().toString()).exitCode())
                .isZero();
        assertThat(new SpoolLayout(fromVariable).clusterCert()).isRegularFile();

        assertThat(run("init", "--home", dir.resolve("other-home").toString(), "--force-home").exitCode()).isZero();
        assertThat(new SpoolLayout(home().resolve(".swm/spool")).clusterCert()).isRegularFile();
    }

    @Test
    void usageErrorsExitWith2() {
        Run unknownOption = run("init", "--bogus");
        Run noSubcommand = run();
        Run missingName = run("user");

        assertThat(unknownOption.exitCode()).isEqualTo(2);
        assertThat(unknownOption.err()).contains("Unknown option: '--bogus'");
        assertThat(noSubcommand.exitCode()).isEqualTo(2);
        assertThat(missingName.exitCode()).isEqualTo(2);
        assertThat(spool()).doesNotExist();
    }
}
