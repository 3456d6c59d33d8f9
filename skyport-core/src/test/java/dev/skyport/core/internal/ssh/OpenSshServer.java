package dev.skyport.core.internal.ssh;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * OpenSSH's {@code sshd} from the distribution, on a random loopback port, as the current user: its own generated
 * host key, one authorised client key (both ed25519, made by {@code ssh-keygen}), key logins only, TCP forwarding on,
 * SFTP through {@code internal-sftp}. Everything it needs lives in one directory.
 */
final class OpenSshServer implements AutoCloseable {
    private static final Duration START_DEADLINE = Duration.ofSeconds(20);

    final Path dir;
    final Path clientKey;
    final Path knownHosts;
    private final int port;
    private final Process process;

    private OpenSshServer(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
        this.clientKey = dir.resolve("id_ed25519");
        this.knownHosts = dir.resolve("known_hosts");
    }

    /** Starts sshd with its keys and configuration in {@code dir}, and waits until it accepts connections. */
    static OpenSshServer start(Path dir) throws IOException, InterruptedException {
        keygen(dir.resolve("host_ed25519"));
        keygen(dir.resolve("id_ed25519"));
        Files.copy(dir.resolve("id_ed25519.pub"), dir.resolve("authorized_keys"));
        // sshd -D still insists on its privilege-separation directory, which a fresh container lacks.
        Path privsep = Path.of("/run/sshd");
        if (!Files.isDirectory(privsep)) {
            try {
                Files.createDirectories(privsep);
            } catch (IOException e) {
                // not root: sshd says so itself below if it needs the directory
            }
        }
        IOException last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            int port = freePort();
            Path config = dir.resolve("sshd_config");
            Files.writeString(config, String.join("\n",
                    "Port " + port,
                    "ListenAddress 127.0.0.1",
                    "HostKey " + dir.resolve("host_ed25519"),
                    "PidFile " + dir.resolve("sshd.pid"),
                    "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
                    "StrictModes no",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "PermitRootLogin prohibit-password",
                    "AllowTcpForwarding yes",
                    "Subsystem sftp internal-sftp",
                    "LogLevel ERROR", ""));
            Process p = new ProcessBuilder("/usr/sbin/sshd", "-D", "-e", "-f", config.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("sshd.log").toFile()))
                    .start();
            if (awaitListening(p, port)) {
                Files.writeString(dir.resolve("known_hosts"), "[127.0.0.1]:" + port + " "
                        + Files.readString(dir.resolve("host_ed25519.pub")).strip() + "\n");
                return new OpenSshServer(dir, port, p);
            }
            p.destroyForcibly();
            last = new IOException("sshd did not start on port " + port + ": "
                    + Files.readString(dir.resolve("sshd.log")));
        }
        throw last;
    }

    private static void keygen(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "skyport-test",
                "-f", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("ssh-keygen failed: " + out);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean awaitListening(Process p, int port) throws InterruptedException {
        long end = System.nanoTime() + START_DEADLINE.toNanos();
        while (System.nanoTime() < end && p.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
                return true;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        return false;
    }

    int port() {
        return port;
    }

    SshTarget target() {
        return SshTarget.withKnownHosts("127.0.0.1", port, System.getProperty("user.name"), clientKey, knownHosts);
    }

    @Override
    public void close() throws InterruptedException {
        process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }
}
