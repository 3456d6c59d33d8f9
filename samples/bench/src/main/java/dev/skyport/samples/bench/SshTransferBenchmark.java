package dev.skyport.samples.bench;

import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.core.internal.ssh.SshNodeAccess;
import dev.skyport.core.internal.ssh.SshTarget;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;

/**
 * SFTP through Sky Port's SSH transport against OpenSSH's {@code scp}, the same file to the same {@code sshd} on
 * loopback (started here from the distribution's binary). The SFTP figure is {@code SshNodeAccess.upload} as the
 * engine stages a file: the temporary name, the SHA-256 on both sides and the rename are in it. {@code scp} runs with
 * the cipher SSHJ negotiates (aes128-gcm@openssh.com), so the two differ in protocol and implementation, not in
 * cryptography; {@code scp_default_cipher_mib_per_s} is scp as a user runs it (OpenSSH 9 picks ChaCha20-Poly1305).
 * Since OpenSSH 9.0 {@code scp} itself speaks SFTP to the server's sftp subsystem.
 *
 * <p>Arguments: {@code --mib N} (file size, default 256), {@code --rounds N} (default 3; the median is printed).
 * The file, its copies and the server's keys live in a temporary directory that is deleted at the end.
 */
public final class SshTransferBenchmark {
    private static final String GCM = "aes128-gcm@openssh.com";

    private SshTransferBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int mib = 256;
        int rounds = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mib" -> mib = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (known: --mib N, --rounds N)");
            }
        }
        Path dir = Files.createTempDirectory("skyport-ssh-bench");
        try (LoopbackSshd sshd = LoopbackSshd.start(dir)) {
            Path file = bigFile(dir.resolve("source.bin"), mib);
            Path remote = dir.resolve("remote.bin");
            Path back = dir.resolve("back.bin");
            SshTarget target = SshTarget.withKnownHosts("127.0.0.1", sshd.port, System.getProperty("user.name"),
                    sshd.clientKey(), sshd.knownHosts());
            List<Double> sftp = new ArrayList<>();
            List<Double> sftpDown = new ArrayList<>();
            List<Double> scp = new ArrayList<>();
            List<Double> scpDefault = new ArrayList<>();
            List<Double> scpDown = new ArrayList<>();
            try (SshConnections connections = new SshConnections(Duration.ofSeconds(30));
                 SshNodeAccess node = new SshNodeAccess("bench", target, connections)) {
                // one untimed round of each: the JIT and the page cache
                node.upload(file, remote.toString());
                node.download(remote.toString(), back);
                Files.delete(back);
                Files.delete(remote);
                scp(sshd, ScpCipher.SAME_AS_SFTP, file, remote);
                Files.delete(remote);
                for (int r = 0; r < rounds; r++) {
                    long t = System.nanoTime();
                    node.upload(file, remote.toString());
                    sftp.add(mib / seconds(t));
                    t = System.nanoTime();
                    node.download(remote.toString(), back);
                    sftpDown.add(mib / seconds(t));
                    Files.delete(remote);
                    Files.delete(back);
                    t = System.nanoTime();
                    scp(sshd, ScpCipher.SAME_AS_SFTP, file, remote);
                    scp.add(mib / seconds(t));
                    t = System.nanoTime();
                    scpFrom(sshd, remote, back);
                    scpDown.add(mib / seconds(t));
                    Files.delete(back);
                    Files.delete(remote);
                    t = System.nanoTime();
                    scp(sshd, ScpCipher.DEFAULT, file, remote);
                    scpDefault.add(mib / seconds(t));
                    Files.delete(remote);
                    progress("round %d: sftp %.0f, sftp down %.0f, scp %.0f, scp down %.0f, scp default cipher %.0f MiB/s",
                            r + 1, sftp.get(r), sftpDown.get(r), scp.get(r), scpDown.get(r), scpDefault.get(r));
                }
            }
            figure("sftp_mib_per_s", median(sftp));
            figure("scp_mib_per_s", median(scp));
            figure("sftp_to_scp_ratio", median(sftp) / median(scp));
            figure("sftp_download_mib_per_s", median(sftpDown));
            figure("scp_download_mib_per_s", median(scpDown));
            figure("scp_default_cipher_mib_per_s", median(scpDefault));
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Collections.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private enum ScpCipher { SAME_AS_SFTP, DEFAULT }

    private static void scp(LoopbackSshd sshd, ScpCipher cipher, Path from, Path to) throws Exception {
        run(scpCommand(sshd, cipher, from.toString(), remote(to)));
    }

    private static void scpFrom(LoopbackSshd sshd, Path from, Path to) throws Exception {
        run(scpCommand(sshd, ScpCipher.SAME_AS_SFTP, remote(from), to.toString()));
    }

    private static String remote(Path p) {
        return System.getProperty("user.name") + "@127.0.0.1:" + p;
    }

    private static List<String> scpCommand(LoopbackSshd sshd, ScpCipher cipher, String from, String to) {
        List<String> cmd = new ArrayList<>(List.of("scp", "-q", "-B", "-i", sshd.clientKey().toString(),
                "-o", "UserKnownHostsFile=" + sshd.knownHosts(), "-o", "StrictHostKeyChecking=yes",
                "-P", Integer.toString(sshd.port)));
        if (cipher == ScpCipher.SAME_AS_SFTP) {
            cmd.addAll(List.of("-c", GCM));
        }
        cmd.add(from);
        cmd.add(to);
        return cmd;
    }

    private static void run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("scp failed: " + out);
        }
    }

    /** One random MiB repeated, each copy with its own first bytes: written at disk speed, no run compresses. */
    private static Path bigFile(Path p, int mib) throws IOException {
        byte[] block = new byte[1 << 20];
        new Random(42).nextBytes(block);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(block);
            for (int i = 0; i < mib; i++) {
                b.clear();
                b.putInt(0, i);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
        }
        return p;
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static void figure(String name, double value) {
        System.out.printf(Locale.ROOT, "figure %s %.2f%n", name, value);
        System.out.flush();
    }

    private static void progress(String format, Object... args) {
        System.err.println(String.format(Locale.ROOT, format, args));
    }
}
