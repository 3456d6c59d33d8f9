package dev.skyport.core.internal.ssh;

import dev.skyport.gate.GateException;
import net.schmizz.sshj.DefaultConfig;
import net.schmizz.sshj.SSHClient;
import net.schmizz.sshj.common.Buffer;
import net.schmizz.sshj.common.Factory;
import net.schmizz.sshj.common.IOUtils;
import net.schmizz.sshj.common.SSHException;
import net.schmizz.sshj.connection.channel.direct.Session;
import net.schmizz.sshj.sftp.FileAttributes;
import net.schmizz.sshj.sftp.OpenMode;
import net.schmizz.sshj.sftp.RemoteFile;
import net.schmizz.sshj.sftp.SFTPClient;
import net.schmizz.sshj.transport.cipher.Cipher;
import net.schmizz.sshj.transport.verification.HostKeyVerifier;
import net.schmizz.sshj.transport.verification.OpenSSHKnownHosts;
import net.schmizz.sshj.userauth.UserAuthException;
import net.schmizz.sshj.userauth.keyprovider.KeyProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One SSH connection per target, shared by all callers (SSH multiplexes channels), opened on first use and opened
 * again after it failed. Every step has a deadline: connect, key exchange and authentication, and each channel's
 * replies, so a dead peer ends a call with a transient {@link GateException} instead of hanging it.
 */
public final class SshConnections implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SshConnections.class);

    private final Duration timeout;
    private final Map<SshTarget, SSHClient> clients = new ConcurrentHashMap<>();

    public SshConnections(Duration timeout) {
        this.timeout = timeout;
    }

    public Duration timeout() {
        return timeout;
    }

    /** The connected, authenticated client for {@code target}, connecting when there is none or it died. */
    public SSHClient client(SshTarget target) {
        synchronized (lock(target)) {
            SSHClient c = clients.get(target);
            if (c != null && c.isConnected() && c.isAuthenticated()) {
                return c;
            }
            if (c != null) {
                clients.remove(target);
                IOUtils.closeQuietly(c);
            }
            c = connect(target);
            clients.put(target, c);
            return c;
        }
    }

    private final Map<SshTarget, Object> locks = new ConcurrentHashMap<>();

    private Object lock(SshTarget target) {
        return locks.computeIfAbsent(target, t -> new Object());
    }

    /** Drops the connection to {@code target} after a failure; the next call opens a new one. */
    public void invalidate(SshTarget target, SSHClient failed) {
        if (clients.remove(target, failed)) {
            IOUtils.closeQuietly(failed);
        }
    }

    /**
     * Closes and forgets the connection to {@code target}, if any: for a target that is gone for good (the node of a
     * deleted partition), whose client would otherwise be kept until the engine stops. Called before the node goes, so
     * that its deletion does not end in the SSH client's "broken transport".
     */
    public void close(SshTarget target) {
        synchronized (lock(target)) {
            SSHClient c = clients.remove(target);
            if (c != null) {
                IOUtils.closeQuietly(c);
            }
        }
        locks.remove(target);
    }

    /** How many targets have a client now, for tests. */
    public int size() {
        return clients.size();
    }

    private SSHClient connect(SshTarget target) {
        SSHClient c = new SSHClient(config());
        int millis = (int) timeout.toMillis();
        c.setConnectTimeout(millis);
        c.setTimeout(millis);
        c.getTransport().setTimeoutMs(millis);
        c.getConnection().setTimeoutMs(millis);
        AtomicReference<HostKeyException> rejected = new AtomicReference<>();
        c.addHostKeyVerifier(verifier(target, rejected));
        try {
            c.connect(target.host(), target.port());
            c.getConnection().getKeepAlive().setKeepAliveInterval(Math.max(1, millis / 2000));
            c.authPublickey(target.user(), keys(c, target));
            return c;
        } catch (UserAuthException e) {
            IOUtils.closeQuietly(c);
            throw GateException.permanent("key authentication refused for " + target.address(), e);
        } catch (IOException | RuntimeException e) {
            IOUtils.closeQuietly(c);
            if (rejected.get() != null) {
                throw GateException.permanent(rejected.get().getMessage(), rejected.get());
            }
            throw GateException.transientFailure("cannot connect to " + target.address() + ": " + e.getMessage(),
                    e, Optional.empty());
        }
    }

    /**
     * SSHJ's defaults with AES-GCM first, computed by the JDK (see {@link JdkAesGcm}). OpenSSH offers it, and through
     * it SFTP on loopback moved data about three times as fast as through SSHJ's first choice, ChaCha20-Poly1305 in
     * plain Java.
     */
    static DefaultConfig config() {
        DefaultConfig config = new DefaultConfig();
        List<Factory.Named<Cipher>> ciphers = new ArrayList<>(config.getCipherFactories());
        ciphers.removeIf(f -> f.getName().equals(JdkAesGcm.NAME));
        ciphers.add(0, JdkAesGcm.factory());
        config.setCipherFactories(ciphers);
        return config;
    }

    private static KeyProvider keys(SSHClient c, SshTarget target) throws IOException {
        if (target.keyFile().isPresent()) {
            return c.loadKeys(target.keyFile().get().toString());
        }
        return c.loadKeys(target.key().get(), null, null);
    }

    private static HostKeyVerifier verifier(SshTarget target, AtomicReference<HostKeyException> rejected) {
        if (target.knownHosts().isPresent()) {
            try {
                // The hooks below refuse what the file does not vouch for; the file is never written.
                return new OpenSSHKnownHosts(target.knownHosts().get().toFile()) {
                    @Override
                    protected boolean hostKeyUnverifiableAction(String host, PublicKey key) {
                        rejected.set(new HostKeyException(host(target), fingerprint(key), false));
                        return false;
                    }

                    @Override
                    protected boolean hostKeyChangedAction(String host, PublicKey key) {
                        rejected.set(new HostKeyException(host(target), fingerprint(key), true));
                        return false;
                    }
                };
            } catch (IOException e) {
                throw GateException.permanent("cannot read known_hosts " + target.knownHosts().get() + ": "
                        + e.getMessage(), e);
            }
        }
        return new HostKeyVerifier() {
            @Override
            public boolean verify(String host, int port, PublicKey key) {
                String f = fingerprint(key);
                if (target.pinnedFingerprints().contains(f)) {
                    return true;
                }
                rejected.set(new HostKeyException(host(target), f, true));
                return false;
            }

            @Override
            public List<String> findExistingAlgorithms(String host, int port) {
                return List.of();
            }
        };
    }

    private static String host(SshTarget target) {
        return target.host() + ":" + target.port();
    }

    /** The key's fingerprint as OpenSSH prints it: {@code SHA256:} and the unpadded base64 of its blob's hash. */
    public static String fingerprint(PublicKey key) {
        byte[] blob = new Buffer.PlainBuffer().putPublicKey(key).getCompactData();
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(blob);
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** How the message of a command that failed on an open connection begins. */
    static final String COMMAND_FAILED = "command failed on ";

    /** What a remote command printed and how it exited. */
    public record Result(int status, String stdout, String stderr) {
    }

    /**
     * Runs {@code command} (a shell command line, quoted with {@link #quote}) on {@code target}, failing with a
     * transient error when it does not end within the timeout.
     */
    public Result exec(SshTarget target, String command) {
        return exec(target, command, timeout);
    }

    /**
     * Runs {@code command} as {@link #exec(SshTarget, String)} does, failing with a transient error when it has not
     * ended within {@code deadline}. SSHJ's channel streams wait without end for a peer that keeps the connection up
     * but never answers on the channel (seen against OpenSSH when the processes serving a session were killed), so
     * a watchdog fails the channel's streams at the deadline.
     */
    public Result exec(SshTarget target, String command, Duration deadline) {
        return exec(target, command, new byte[0], deadline);
    }

    /**
     * Runs {@code command} as {@link #exec(SshTarget, String, Duration)} does, with {@code stdin} as its standard input
     * (closed after it): for content that must not be on a command line, such as a batch script handed to
     * {@code sbatch}. Meant for small inputs that fit the channel's window (about 2 MiB): measured against MINA SSHD,
     * 4 MiB to a command that exits without reading them block the write until the deadline.
     */
    public Result exec(SshTarget target, String command, byte[] stdin, Duration deadline) {
        SSHClient c = client(target);
        try (Session session = c.startSession()) {
            ScheduledFuture<?> watchdog = WATCHDOG.schedule(() -> session.notifyError(
                    new SSHException("no answer within " + deadline)), deadline.toMillis(), TimeUnit.MILLISECONDS);
            try {
                Session.Command cmd = session.exec(command);
                try (var in = cmd.getOutputStream()) {
                    if (stdin.length > 0) {
                        in.write(stdin);
                    }
                } catch (IOException endedBeforeReadingIt) {
                    // A command may end without reading its input (sbatch refusing an option): its exit status and
                    // stderr say why, and a connection that broke fails the reads below.
                    LOG.debug("{}: the command did not take its whole input: {}", target.address(),
                            endedBeforeReadingIt.getMessage());
                }
                // Both streams are read whole before the exit status: a small command's output is small.
                byte[] out = readAll(cmd.getInputStream());
                byte[] err = readAll(cmd.getErrorStream());
                cmd.join(timeout.toMillis(), TimeUnit.MILLISECONDS);
                Integer status = cmd.getExitStatus();
                if (status == null) {
                    throw new IOException("no exit status within " + timeout);
                }
                return new Result(status, new String(out, StandardCharsets.UTF_8),
                        new String(err, StandardCharsets.UTF_8));
            } finally {
                watchdog.cancel(false);
            }
        } catch (IOException e) {
            invalidate(target, c);
            throw GateException.transientFailure(COMMAND_FAILED + target.address() + ": " + e.getMessage(), e,
                    Optional.empty());
        }
    }

    /**
     * Writes {@code content} to {@code ~/.ssh/<name>} on {@code target} over SFTP, created owner-only (0600, in a
     * {@code .ssh} made 0700 when missing) so that it is never readable by others, not even for a moment, and never
     * on a command line (where other users of the node could see it in the process list).
     */
    public void writeSshFile(SshTarget target, String name, byte[] content) {
        SSHClient c = client(target);
        try (SFTPClient sftp = c.newSFTPClient()) {
            if (sftp.statExistence(".ssh") == null) {
                sftp.getSFTPEngine().makeDir(".ssh", new FileAttributes.Builder().withPermissions(0700).build());
            }
            String path = ".ssh/" + name;
            FileAttributes owner = new FileAttributes.Builder().withPermissions(0600).build();
            if (sftp.statExistence(path) != null) {
                sftp.setattr(path, owner); // before its content is replaced: it may have been readable
            }
            try (RemoteFile f = sftp.open(path, EnumSet.of(OpenMode.WRITE, OpenMode.CREAT, OpenMode.TRUNC), owner)) {
                f.write(0, content, 0, content.length);
            }
            sftp.setattr(path, owner); // a umask or a server that ignores open's attributes
        } catch (IOException e) {
            invalidate(target, c);
            throw GateException.transientFailure("cannot write ~/.ssh/" + name + " on " + target.address() + ": "
                    + e.getMessage(), e, Optional.empty());
        }
    }

    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "skyport-ssh-watchdog");
        t.setDaemon(true);
        return t;
    });

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        in.transferTo(b);
        return b.toByteArray();
    }

    /** {@code s} as one word for a POSIX shell. */
    public static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** The words as one shell command line. */
    public static String commandLine(List<String> words) {
        StringBuilder b = new StringBuilder();
        for (String w : words) {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(quote(w));
        }
        return b.toString();
    }

    @Override
    public void close() {
        for (SSHClient c : clients.values()) {
            IOUtils.closeQuietly(c);
        }
        clients.clear();
        LOG.debug("ssh connections closed");
    }
}
