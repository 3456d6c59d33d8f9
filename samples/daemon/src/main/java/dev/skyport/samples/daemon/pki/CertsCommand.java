package dev.skyport.samples.daemon.pki;

import dev.skyport.samples.daemon.pki.ClusterPki.ClientFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * {@code skyport certs}: creates the cluster's certificate authority and issues server and user certificates in the
 * upstream spool layout, so the upstream Python clients work unmodified (compatibility spec A.2 to A.4). A
 * {@link PkiException} becomes {@code skyport certs: <message>} on stderr and exit code 1; usage errors exit with 2.
 */
@Command(name = "certs", mixinStandardHelpOptions = true,
        description = "Creates the cluster CA and issues server and user certificates.",
        subcommands = {CertsCommand.Init.class, CertsCommand.User.class, CertsCommand.Server.class})
public final class CertsCommand implements Callable<Integer> {
    /** Where the upstream console always looks for the CA bundle's spool (spec A.2). */
    static final Path UPSTREAM_SPOOL = Path.of("/opt/swm/spool");

    @Spec
    CommandSpec spec;

    private final String spoolVariable;
    private final Path userHome;
    private final String userName;
    private final Supplier<List<String>> defaultServerNames;

    /**
     * Reads the defaults from {@code SKYPORT_SPOOL}, {@code $HOME} (else {@code user.home}), {@code user.name} and
     * this host's names.
     */
    public CertsCommand() {
        this(System.getenv("SKYPORT_SPOOL"), UserHome.current(),
                System.getProperty("user.name"), ClusterPki::defaultServerNames);
    }

    /** With the environment given: {@code spoolVariable} may be null (unset). */
    CertsCommand(String spoolVariable, Path userHome, String userName, Supplier<List<String>> defaultServerNames) {
        this.spoolVariable = spoolVariable;
        this.userHome = userHome;
        this.userName = userName;
        this.defaultServerNames = defaultServerNames;
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand: init, user or server");
    }

    Path defaultSpool() {
        return spoolVariable != null && !spoolVariable.isBlank()
                ? Path.of(spoolVariable) : userHome.resolve(".swm").resolve("spool");
    }

    /** What every subcommand shares: the spool option, and turning a {@link PkiException} into exit code 1. */
    abstract static class Subcommand implements Callable<Integer> {
        @ParentCommand
        CertsCommand certs;

        @Spec
        CommandSpec spec;

        @Option(names = "--spool", paramLabel = "DIR",
                description = "The spool directory (default: $SKYPORT_SPOOL, else ~/.swm/spool).")
        Path spoolOption;

        @Override
        public final Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try {
                run(out);
                return 0;
            } catch (PkiException e) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("skyport certs: " + e.getMessage());
                err.flush();
                return 1;
            } finally {
                out.flush();
            }
        }

        abstract void run(PrintWriter out);

        Path spool() {
            return (spoolOption != null ? spoolOption : certs.defaultSpool()).toAbsolutePath().normalize();
        }

        List<String> serverNames(List<String> extra) {
            List<String> names = new ArrayList<>(certs.defaultServerNames.get());
            names.addAll(extra);
            return names;
        }

        static void printUser(PrintWriter out, IssuedUser user) {
            out.printf("User certificate   %s for %s (UUID %s)%n", user.cert(), user.name(), user.uuid());
            out.printf("User key           %s%n", user.key());
        }

        static void printServer(PrintWriter out, ClusterPki pki, List<String> names) {
            out.printf("Server certificate %s for %s%n", pki.layout().serverCert(), String.join(", ", names));
            out.printf("Server key         %s%n", pki.layout().serverKey());
        }

        static void printInstalled(PrintWriter out, ClientFiles files) {
            out.printf("Client files       %s, %s%n", files.cert(), files.key());
        }
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = "Creates the grid and cluster CAs, the server certificate and the administrator's "
                    + "client certificate, installed in <home>/.swm.")
    static final class Init extends Subcommand {
        @Option(names = "--san", paramLabel = "NAME",
                description = "Another DNS name or IP address for the server certificate (repeatable).")
        List<String> extraNames = new ArrayList<>();

        @Option(names = "--admin", paramLabel = "NAME", description = "The administrator's user name (default: you).")
        String admin;

        @Option(names = "--home", paramLabel = "DIR",
                description = "The administrator's home; client files go to <home>/.swm (default: your home).")
        Path home;

        @Option(names = "--force-home", description = "Overwrite existing client files in <home>/.swm.")
        boolean forceHome;

        @Override
        void run(PrintWriter out) {
            String adminName = SubjectNames.userName(admin != null ? admin : certs.userName);
            ClientFiles clientFiles = ClientFiles.in(home != null ? home : certs.userHome);
            List<String> names = SubjectNames.serverNames(serverNames(extraNames));
            // Everything that can refuse is checked before the CA exists, so a refusal leaves nothing half done.
            ClusterPki.refuseExistingCa(spool());
            if (!forceHome && !clientFiles.existing().isEmpty()) {
                throw new PkiException(clientFiles.existing().get(0)
                        + " already exists (pass --force-home to overwrite it)");
            }
            ClusterPki pki = ClusterPki.init(spool(), names);
            SpoolLayout layout = pki.layout();
            out.printf("Grid CA            %s%n", layout.gridCert());
            out.printf("Cluster CA         %s%n", layout.clusterCert());
            out.printf("CA bundle          %s%n", layout.caChain());
            printServer(out, pki, names);
            // A leftover certificate for this name was signed by a CA that no longer exists: replace it.
            IssuedUser user = pki.issueUser(adminName, true);
            printUser(out, user);
            ClusterPki.installClientFiles(user, clientFiles.dir().getParent(), true);
            printInstalled(out, clientFiles);
            printBundleHint(out, layout);
        }

        private static void printBundleHint(PrintWriter out, SpoolLayout layout) {
            Path upstreamBundle = new SpoolLayout(UPSTREAM_SPOOL).caChain();
            if (sameFile(upstreamBundle, layout.caChain())) {
                out.printf("The upstream console finds the CA bundle at %s.%n", upstreamBundle);
            } else if (Files.exists(UPSTREAM_SPOOL, LinkOption.NOFOLLOW_LINKS)) {
                out.printf("The upstream console reads the CA bundle from %s, but %s is another spool: "
                        + "point it at %s.%n", upstreamBundle, UPSTREAM_SPOOL, layout.spool());
            } else {
                out.printf("The upstream console reads the CA bundle from %s; link the spool there:%n"
                        + "  sudo mkdir -p %s && sudo ln -s %s %s%n",
                        upstreamBundle, UPSTREAM_SPOOL.getParent(), layout.spool(), UPSTREAM_SPOOL);
            }
        }

        private static boolean sameFile(Path a, Path b) {
            try {
                return Files.exists(a) && Files.isSameFile(a, b);
            } catch (IOException e) {
                return false;
            }
        }
    }

    @Command(name = "user", mixinStandardHelpOptions = true,
            description = "Issues a client certificate for a user under <spool>/secure/users/NAME.")
    static final class User extends Subcommand {
        @Parameters(paramLabel = "NAME", description = "The user name: " + SubjectNames.USER_RULE + ".")
        String name;

        @Option(names = "--install-home", paramLabel = "DIR",
                description = "Also copy the certificate and key to DIR/.swm, where the upstream clients read them.")
        Path installHome;

        @Option(names = "--replace",
                description = "Re-issue an existing user's certificate (keeping the UUID) and overwrite installed files.")
        boolean replace;

        @Override
        void run(PrintWriter out) {
            SubjectNames.userName(name);
            ClusterPki pki = ClusterPki.open(spool());
            if (installHome != null && !replace) {
                ClientFiles clientFiles = ClientFiles.in(installHome);
                if (!clientFiles.existing().isEmpty()) {
                    throw new PkiException(clientFiles.existing().get(0)
                            + " already exists (pass --replace to overwrite it)");
                }
            }
            IssuedUser user = pki.issueUser(name, replace);
            printUser(out, user);
            if (installHome != null) {
                ClusterPki.installClientFiles(user, installHome, replace);
                printInstalled(out, ClientFiles.in(installHome));
            }
        }
    }

    @Command(name = "server", mixinStandardHelpOptions = true,
            description = "Re-issues the server certificate for this host's names and any --san names.")
    static final class Server extends Subcommand {
        @Option(names = "--san", paramLabel = "NAME",
                description = "Another DNS name or IP address for the server certificate (repeatable).")
        List<String> extraNames = new ArrayList<>();

        @Override
        void run(PrintWriter out) {
            List<String> names = SubjectNames.serverNames(serverNames(extraNames));
            ClusterPki pki = ClusterPki.open(spool());
            pki.issueServer(names);
            printServer(out, pki, names);
            out.println("Restart the daemon to serve the new certificate.");
        }
    }
}
