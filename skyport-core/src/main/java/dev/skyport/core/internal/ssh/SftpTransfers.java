package dev.skyport.core.internal.ssh;

import dev.skyport.gate.GateException;
import net.schmizz.sshj.SSHClient;
import net.schmizz.sshj.sftp.FileAttributes;
import net.schmizz.sshj.sftp.FileMode;
import net.schmizz.sshj.sftp.OpenMode;
import net.schmizz.sshj.sftp.RemoteFile;
import net.schmizz.sshj.sftp.RemoteResourceInfo;
import net.schmizz.sshj.sftp.Response;
import net.schmizz.sshj.sftp.SFTPClient;
import net.schmizz.sshj.sftp.SFTPException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Files and directory trees to and from one node over SFTP. Every file goes to a temporary name next to its
 * destination ({@code <dest>.skyport-part}), is checked for size and SHA-256 against its source, and only then renamed
 * into place, so a destination is whole or absent. A transient failure (a dropped connection, a mismatch) is retried
 * up to {@value #ATTEMPTS} times, resuming the temporary file where it stopped; a tree's budget starts again whenever a
 * file of it completes. Symbolic links in a tree are refused before anything moves.
 *
 * <p>No transfer follows a link on the node below its trusted root ({@link #trustBelow}, the gate's job root): a job
 * can plant links in its own directory (a step's {@code ln -s ~/.ssh/id_ed25519 /out/k}), and SFTP resolves them as
 * the node's account. Every component of a path below that root is read with {@code lstat} and must be a directory
 * (a file at the end), a link is refused with a permanent failure naming the path, and an opened file is compared with
 * what {@code lstat} saw. SFTP has no O_NOFOLLOW: what is left is the race a process of the same account could win
 * between the {@code lstat} and the open (docs/ssh-gate.md).
 */
final class SftpTransfers {
    private static final Logger LOG = LoggerFactory.getLogger(SftpTransfers.class);

    static final String PART_SUFFIX = ".skyport-part";
    static final int ATTEMPTS = 4;
    private static final Duration RETRY_PAUSE = Duration.ofMillis(250);
    private static final int LOCAL_CHUNK = 256 * 1024;

    /*
     * SSHJ keeps one SFTP request in flight unless asked for more, which on loopback ran writes at a third of scp's
     * speed. Measured against OpenSSH 9.2 on loopback (256 MiB, aes128-gcm, a busy 2-core machine): 32 KiB x 16 in
     * flight about 140 MiB/s, 64 KiB x 32 150-350, 128 KiB x 32 280-390; 64 in flight gained nothing steady. OpenSSH's
     * sftp-server and MINA take writes of up to 256 KiB.
     */
    static final int WRITE_REQUEST = 128 * 1024;
    static final int WRITES_IN_FLIGHT = 32;
    static final int READS_IN_FLIGHT = 64;

    /** The status of the scripts on the node when a path is a link: permanent, as the checks over SFTP. */
    private static final int LINK_REFUSED = 4;

    /** The largest command line a batch (hashing, renaming) sends at once, well inside any server's packet limit. */
    private static final int BATCH_CHARS = 16 * 1024;

    /**
     * Prints which tool hashes, then each argument's SHA-256 as that tool prints it. OpenSSL's digest uses the CPU's
     * SHA instructions: on the test machine it hashed 256 MiB in 0.3 s where coreutils' sha256sum took 1.2 s, which
     * was most of a loopback upload's time.
     */
    private static final String HASHES = String.join("\n",
            "for f; do if [ -L \"$f\" ]; then echo \"$f is a symbolic link, never followed\" >&2; exit "
                    + LINK_REFUSED + "; fi; done",
            "if command -v openssl >/dev/null 2>&1; then echo openssl; exec openssl dgst -sha256 -r -- \"$@\"; fi",
            "echo coreutils; exec sha256sum -- \"$@\"", "");

    /** $1 part, $2 destination, $3 expected SHA-256: renames a part that matches and prints ok, else removes it. */
    private static final String VERIFY_AND_RENAME = String.join("\n",
            "for f in \"$1\" \"$2\"; do if [ -L \"$f\" ] || [ -d \"$f\" ]; then"
                    + " echo \"$f is a symbolic link or a directory\" >&2; exit " + LINK_REFUSED + "; fi; done",
            "if command -v openssl >/dev/null 2>&1; then o=$(openssl dgst -sha256 -r -- \"$1\") || exit 3",
            "else o=$(sha256sum -- \"$1\") || exit 3; fi",
            // coreutils escapes an odd name and marks the line with a backslash; the hash is the first word
            "o=${o#\\\\}; o=${o%% *}",
            "if [ \"$o\" = \"$3\" ]; then mv -f -- \"$1\" \"$2\" || exit 3; echo ok; else rm -f -- \"$1\"; echo bad; fi",
            "");

    private final String node;
    private final SshTarget target;
    private final SshConnections connections;
    /** The node directory whose components are trusted; empty: none is, every component is checked. */
    private volatile Supplier<String> trustedRoot = () -> "";

    SftpTransfers(String node, SshTarget target, SshConnections connections) {
        this.node = node;
        this.target = target;
        this.connections = connections;
    }

    /**
     * Trusts the components of {@code root} (a supplier: the root may need the node's home directory, learnt later):
     * below it, no link is followed.
     */
    void trustBelow(Supplier<String> root) {
        this.trustedRoot = root;
    }

    void upload(Path local, String remotePath) {
        if (!Files.isRegularFile(local)) {
            throw GateException.permanent("no such file: " + local);
        }
        retrying("upload " + local + " to " + node + ":" + remotePath, () -> 0, sftp -> {
            String parent = parentOf(remotePath);
            if (!parent.isEmpty()) {
                directories(sftp, parent, true);
            }
            Sent sent = send(sftp, local, remotePath);
            verifyAndRename(sent);
        });
    }

    void download(String remotePath, Path local) {
        retrying("download " + node + ":" + remotePath + " to " + local, () -> 0, sftp -> {
            String parent = parentOf(remotePath);
            if (!parent.isEmpty()) {
                directories(sftp, parent, false);
            }
            receive(sftp, remotePath, local, Optional.empty());
        });
    }

    void uploadTree(Path local, String remotePath) {
        if (!Files.isDirectory(local, LinkOption.NOFOLLOW_LINKS)) {
            throw GateException.permanent("not a directory: " + local);
        }
        List<String> dirs = new ArrayList<>();
        Map<String, Path> files = new LinkedHashMap<>();
        try (Stream<Path> all = Files.walk(local)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                String rel = relative(local, p);
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isSymbolicLink()) {
                    throw GateException.permanent("cannot upload " + local + ": symbolic link " + p + " refused");
                } else if (a.isDirectory()) {
                    dirs.add(rel);
                } else if (a.isRegularFile()) {
                    files.put(rel, p);
                } else {
                    throw GateException.permanent("cannot upload " + local + ": " + p + " is not a regular file");
                }
            }
        } catch (IOException e) {
            throw GateException.permanent("cannot read " + local + ": " + e.getMessage(), e);
        }
        Set<String> done = new HashSet<>();
        retrying("upload " + local + " to " + node + ":" + remotePath, done::size, sftp -> {
            // dirs holds the tree's root first, then each directory after its parent
            directories(sftp, remotePath, true);
            for (String d : dirs) {
                String remote = join(remotePath, d);
                FileAttributes a = lstatExistence(sftp, remote);
                if (a == null) {
                    sftp.mkdir(remote);
                } else if (a.getType() != FileMode.Type.DIRECTORY) {
                    throw GateException.permanent("cannot upload " + local + ": " + node + ":" + remote + " is "
                            + (a.getType() == FileMode.Type.SYMLINK ? "a symbolic link, never followed"
                            : "not a directory"));
                }
            }
            List<Sent> sent = new ArrayList<>();
            for (Map.Entry<String, Path> f : files.entrySet()) {
                if (!done.contains(f.getKey())) {
                    sent.add(send(sftp, f.getValue(), join(remotePath, f.getKey())));
                }
            }
            verify(sftp, sent);
            rename(sent);
            sent.forEach(s -> done.add(relative(local, s.local)));
        });
    }

    void downloadTree(String remotePath, Path local) {
        String what = "download " + node + ":" + remotePath + " to " + local;
        if (Files.exists(local, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(local, LinkOption.NOFOLLOW_LINKS)) {
            throw GateException.permanent("cannot " + what + ": " + local + " is not a directory");
        }
        List<String> dirs = new ArrayList<>();
        List<String> files = new ArrayList<>();
        long[] bytes = new long[1];
        retrying(what, () -> 0, sftp -> {
            dirs.clear();
            files.clear();
            bytes[0] = 0;
            directories(sftp, remotePath, false);
            scan(sftp, remotePath, "", dirs, files, bytes, what);
        });
        List<String> remoteFiles = files.stream().map(f -> join(remotePath, f)).toList();
        Map<String, String> hashes = new HashMap<>();
        Set<String> done = new HashSet<>();
        retrying(what, done::size, sftp -> {
            if (hashes.isEmpty() && !remoteFiles.isEmpty()) {
                List<String> h = remoteHashes(remoteFiles, bytes[0]);
                for (int i = 0; i < h.size(); i++) {
                    hashes.put(remoteFiles.get(i), h.get(i));
                }
            }
            for (String d : dirs) {
                Files.createDirectories(local.resolve(d));
            }
            Files.createDirectories(local);
            for (String f : files) {
                if (!done.contains(f)) {
                    String remote = join(remotePath, f);
                    receive(sftp, remote, local.resolve(f), Optional.of(hashes.get(remote)));
                    done.add(f);
                }
            }
        });
    }

    private void scan(SFTPClient sftp, String root, String rel, List<String> dirs, List<String> files, long[] bytes,
                      String what) throws IOException {
        for (RemoteResourceInfo e : sftp.ls(rel.isEmpty() ? root : join(root, rel))) {
            String name = e.getName();
            if (name.equals(".") || name.equals("..")) {
                continue;
            }
            String child = rel.isEmpty() ? name : rel + "/" + name;
            FileMode.Type type = e.getAttributes().getType();
            if (type == FileMode.Type.DIRECTORY) {
                dirs.add(child);
                scan(sftp, root, child, dirs, files, bytes, what);
            } else if (type == FileMode.Type.REGULAR) {
                files.add(child);
                bytes[0] += e.getAttributes().getSize();
            } else if (type == FileMode.Type.SYMLINK) {
                throw GateException.permanent("cannot " + what + ": symbolic link " + join(root, child) + " refused");
            } else {
                throw GateException.permanent("cannot " + what + ": " + join(root, child) + " is not a regular file");
            }
        }
    }

    /** Writes {@code content} to {@code path} on the node, readable by its owner only; for small files (scripts). */
    void writeSmallFile(String path, byte[] content) {
        retrying("write " + node + ":" + path, () -> 0, sftp -> {
            // A job's script left in its directory may have become a link (to ~/.bashrc): replaced, never written
            // through.
            FileAttributes there = lstatExistence(sftp, path);
            if (there != null && there.getType() != FileMode.Type.REGULAR) {
                if (there.getType() == FileMode.Type.DIRECTORY) {
                    throw GateException.permanent("cannot write " + node + ":" + path + ": it is a directory");
                }
                sftp.rm(path);
            }
            FileAttributes attrs = new FileAttributes.Builder().withPermissions(0600).build();
            try (RemoteFile f = sftp.open(path, EnumSet.of(OpenMode.WRITE, OpenMode.CREAT, OpenMode.TRUNC), attrs)) {
                f.write(0, content, 0, content.length);
            }
        });
    }

    /** A file sent to its temporary name on the node, with the size and SHA-256 it must have there. */
    private record Sent(Path local, String part, String destination, long size, String sha256) {
    }

    /**
     * Sends {@code local} to the destination's temporary name, resuming what an earlier attempt left there, and hashes
     * the local file in the same pass.
     */
    private Sent send(SFTPClient sftp, Path local, String remotePath) throws IOException {
        String part = remotePath + PART_SUFFIX;
        long size = Files.size(local);
        // Opening the part would write through a link, and mv would move it into a directory a link names.
        FileAttributes target = lstatExistence(sftp, remotePath);
        if (target != null && target.getType() != FileMode.Type.REGULAR) {
            throw notRegular(remotePath, target, "upload " + local);
        }
        FileAttributes existing = lstatExistence(sftp, part);
        if (existing != null && existing.getType() != FileMode.Type.REGULAR) {
            throw notRegular(part, existing, "upload " + local);
        }
        long offset = existing != null && existing.getSize() <= size ? existing.getSize() : 0;
        EnumSet<OpenMode> modes = offset == 0 ? EnumSet.of(OpenMode.WRITE, OpenMode.CREAT, OpenMode.TRUNC)
                : EnumSet.of(OpenMode.WRITE, OpenMode.CREAT);
        MessageDigest sha = sha256();
        // No try-with-resources: after a dropped connection SSHJ's close rethrows the very exception the copy
        // failed with, and adding it to itself as suppressed would replace it with an IllegalArgumentException.
        RemoteFile f = sftp.open(part, modes);
        try (InputStream in = Files.newInputStream(local)) {
            byte[] buf = new byte[WRITE_REQUEST];
            for (long skipped = 0; skipped < offset; ) {
                int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, offset - skipped));
                if (n <= 0) {
                    throw new IOException(local + " shrank while it was sent");
                }
                sha.update(buf, 0, n);
                skipped += n;
            }
            OutputStream out = f.new RemoteFileOutputStream(offset, WRITES_IN_FLIGHT);
            for (int n; (n = in.readNBytes(buf, 0, buf.length)) > 0; ) {
                sha.update(buf, 0, n);
                out.write(buf, 0, n);
            }
            out.close();
        } finally {
            closeQuietly(f);
        }
        return new Sent(local, part, remotePath, size, HexFormat.of().formatHex(sha.digest()));
    }

    /**
     * Checks the sent file's SHA-256 on the node and renames it into place there, in one command: a round trip less
     * per file than hashing and renaming apart. A part that does not match is removed.
     */
    private void verifyAndRename(Sent sent) throws IOException {
        List<String> words = new ArrayList<>(List.of("/bin/sh", "-c", VERIFY_AND_RENAME, "skyport-verify", sent.part,
                sent.destination, sent.sha256));
        SshConnections.Result r = connections.exec(target, SshConnections.commandLine(words),
                hashDeadline(sent.size));
        check(r, "verify " + sent.destination);
        if (!r.stdout().strip().equals("ok")) {
            throw new ChecksumMismatch("upload of " + sent.local + " arrived with another size or SHA-256");
        }
    }

    /** Checks every sent file's size and SHA-256 on the node; a part that does not match is removed. */
    private void verify(SFTPClient sftp, List<Sent> sent) throws IOException {
        if (sent.isEmpty()) {
            return;
        }
        List<String> hashes = remoteHashes(sent.stream().map(Sent::part).toList(),
                sent.stream().mapToLong(Sent::size).sum());
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < sent.size(); i++) {
            Sent s = sent.get(i);
            long written = sftp.lstat(s.part).getSize();
            if (written != s.size || !hashes.get(i).equals(s.sha256)) {
                sftp.rm(s.part);
                wrong.add(s.local + " (" + written + " of " + s.size + " bytes)");
            }
        }
        if (!wrong.isEmpty()) {
            throw new ChecksumMismatch("upload arrived with another size or SHA-256: " + String.join(", ", wrong));
        }
    }

    private void rename(List<Sent> sent) {
        List<List<String>> moves = sent.stream().map(s -> List.of("mv", "-f", "--", s.part, s.destination)).toList();
        StringBuilder line = new StringBuilder();
        for (List<String> mv : moves) {
            String one = SshConnections.commandLine(mv);
            if (line.length() > 0 && line.length() + one.length() > BATCH_CHARS) {
                check(connections.exec(target, line.toString()), "rename uploaded files");
                line.setLength(0);
            }
            line.append(line.length() > 0 ? " && " : "").append(one);
        }
        if (line.length() > 0) {
            check(connections.exec(target, line.toString()), "rename uploaded files");
        }
    }

    /**
     * Receives {@code remotePath} into a temporary file beside {@code local}, resuming one an earlier attempt left,
     * checks its size and SHA-256 against the node's, and moves it into place in one step. The node hashes its file
     * while the bytes travel, unless the hash is already known.
     */
    private void receive(SFTPClient sftp, String remotePath, Path local, Optional<String> knownHash)
            throws IOException {
        FileAttributes seen = sftp.lstat(remotePath);
        if (seen.getType() != FileMode.Type.REGULAR) {
            throw notRegular(remotePath, seen, "download it");
        }
        long size = seen.getSize();
        CompletableFuture<String> remoteHash = knownHash.map(CompletableFuture::completedFuture).orElseGet(() ->
                CompletableFuture.supplyAsync(() -> remoteHashes(List.of(remotePath), size).get(0),
                        SftpTransfers::daemon));
        Path dest = local.toAbsolutePath();
        Files.createDirectories(dest.getParent());
        Path part = dest.resolveSibling(dest.getFileName() + PART_SUFFIX);
        long offset = Files.isRegularFile(part, LinkOption.NOFOLLOW_LINKS) && Files.size(part) <= size
                ? Files.size(part) : 0;
        MessageDigest sha = sha256();
        if (offset > 0) {
            digestInto(sha, part);
        }
        RemoteFile f = sftp.open(remotePath, EnumSet.of(OpenMode.READ));
        try {
            FileAttributes opened = f.fetchAttributes();
            if (opened.getType() != FileMode.Type.REGULAR || opened.getSize() != size
                    || opened.getMtime() != seen.getMtime()) {
                throw GateException.permanent("cannot download " + node + ":" + remotePath
                        + ": it was replaced while it was opened");
            }
        } catch (IOException | RuntimeException e) {
            closeQuietly(f);
            throw e;
        }
        try (OutputStream out = offset == 0
                ? Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)
                : Files.newOutputStream(part, StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS)) {
            InputStream in = f.new ReadAheadRemoteFileInputStream(READS_IN_FLIGHT, offset);
            LocalSink sink = new LocalSink(out, sha);
            boolean received = false;
            try {
                for (byte[] buf = sink.buffer(); ; buf = sink.buffer()) {
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    sink.put(buf, n);
                }
                received = true;
            } finally {
                sink.finish(received);
            }
        } finally {
            closeQuietly(f);
        }
        String expected;
        try {
            expected = remoteHash.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
        if (Files.size(part) != size || !HexFormat.of().formatHex(sha.digest()).equals(expected)) {
            Files.deleteIfExists(part);
            throw new ChecksumMismatch("download of " + remotePath + " does not match its size or SHA-256");
        }
        Files.move(part, dest, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Hashes and writes received bytes on a thread of its own. SSHJ's read-ahead asks for more only when its stream is
     * read, so a reader that also wrote the file let the requests in flight run dry: on loopback, reading alone took
     * 0.6-0.9 s for 256 MiB and reading, hashing and writing in one thread 1.6-2.0 s.
     */
    private static final class LocalSink {
        private static final int BUFFERS = 8;
        private final java.util.concurrent.BlockingQueue<byte[]> free =
                new java.util.concurrent.ArrayBlockingQueue<>(BUFFERS);
        private final java.util.concurrent.BlockingQueue<Chunk> full =
                new java.util.concurrent.ArrayBlockingQueue<>(BUFFERS + 1);
        private final Thread writer;
        private volatile IOException failed;

        private record Chunk(byte[] bytes, int length) {
        }

        LocalSink(OutputStream out, MessageDigest sha) {
            for (int i = 0; i < BUFFERS; i++) {
                free.add(new byte[LOCAL_CHUNK]);
            }
            writer = new Thread(() -> {
                try {
                    for (Chunk c = full.take(); c.length >= 0; c = full.take()) {
                        if (failed == null) {
                            try {
                                sha.update(c.bytes, 0, c.length);
                                out.write(c.bytes, 0, c.length);
                            } catch (IOException e) {
                                failed = e;
                            }
                        }
                        free.add(c.bytes);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "skyport-sftp-sink");
            writer.setDaemon(true);
            writer.start();
        }

        byte[] buffer() throws IOException {
            if (failed != null) {
                throw failed;
            }
            try {
                return free.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted");
            }
        }

        void put(byte[] bytes, int length) {
            full.add(new Chunk(bytes, length));
        }

        /** Waits until everything put is written; the writer's failure is thrown only if {@code rethrow}. */
        void finish(boolean rethrow) throws IOException {
            full.add(new Chunk(new byte[0], -1));
            try {
                writer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted");
            }
            if (rethrow && failed != null) {
                throw failed;
            }
        }
    }

    private static void daemon(Runnable r) {
        Thread t = new Thread(r, "skyport-ssh-hash");
        t.setDaemon(true);
        t.start();
    }

    /**
     * How long hashing {@code bytes} on the node may take: the connection's timeout, and a second for every 16 MiB,
     * a tenth of what the slowest tool measured (coreutils, 210 MiB/s) needs, so only a node that stopped answering
     * reaches it.
     */
    private Duration hashDeadline(long bytes) {
        return connections.timeout().plusSeconds(bytes / (16L << 20));
    }

    /** The files' SHA-256 in hex, computed on the node, in the order given; {@code bytes}: their total size. */
    List<String> remoteHashes(List<String> paths, long bytes) {
        List<String> hashes = new ArrayList<>();
        List<String> batch = new ArrayList<>();
        int chars = 0;
        for (String p : paths) {
            if (!batch.isEmpty() && chars + p.length() > BATCH_CHARS) {
                hashes.addAll(hashBatch(batch, bytes));
                batch.clear();
                chars = 0;
            }
            batch.add(p);
            chars += p.length() + 3;
        }
        if (!batch.isEmpty()) {
            hashes.addAll(hashBatch(batch, bytes));
        }
        return hashes;
    }

    private List<String> hashBatch(List<String> paths, long bytes) {
        List<String> words = new ArrayList<>(List.of("/bin/sh", "-c", HASHES, "skyport-hash"));
        words.addAll(paths);
        SshConnections.Result r = connections.exec(target, SshConnections.commandLine(words), hashDeadline(bytes));
        if (r.status() == LINK_REFUSED) {
            throw GateException.permanent("cannot hash files on " + node + ": " + r.stderr().strip());
        }
        if (r.status() != 0) {
            throw GateException.transientFailure("cannot hash files on " + node + ": " + r.stderr().strip(), null,
                    Optional.empty());
        }
        return parseHashes(r.stdout(), paths);
    }

    /**
     * Reads the HASHES script's output: OpenSSL prints {@code <hash> *<name>} with the name verbatim (so a name may
     * hold a line break); coreutils prints {@code <hash>  <name>} with line breaks escaped and then a leading
     * backslash on the line.
     */
    static List<String> parseHashes(String out, List<String> names) {
        int nl = out.indexOf('\n');
        if (nl < 0) {
            throw GateException.transientFailure("unreadable hashes: " + out, null, Optional.empty());
        }
        boolean openssl = out.substring(0, nl).equals("openssl");
        int i = nl + 1;
        List<String> hashes = new ArrayList<>();
        for (String name : names) {
            if (i < out.length() && out.charAt(i) == '\\') {
                i++;
            }
            if (i + 64 > out.length() || !out.substring(i, i + 64).matches("[0-9a-f]{64}")) {
                throw GateException.transientFailure("unreadable hash of " + name, null, Optional.empty());
            }
            hashes.add(out.substring(i, i + 64));
            i += 64;
            if (openssl && out.startsWith(" *" + name + "\n", i)) {
                i += name.length() + 3;
            } else {
                int end = out.indexOf('\n', i);
                i = end < 0 ? out.length() : end + 1;
            }
        }
        return hashes;
    }

    /**
     * Checks with {@code lstat} that every component of {@code dir} below the trusted root is a directory and no link;
     * a missing one is made when {@code make}, else is a missing file.
     */
    private void directories(SFTPClient sftp, String dir, boolean make) throws IOException {
        String root = trustedRoot.get();
        String rest;
        String at;
        if (!root.isEmpty() && (dir.equals(root) || dir.startsWith(root.endsWith("/") ? root : root + "/"))) {
            at = root;
            rest = dir.substring(root.length());
            if (make && sftp.statExistence(root) == null) {
                sftp.mkdirs(root); // the operator's directory, made on first use
            }
        } else {
            // Outside the root every component counts: from "/" for an absolute path, else from the login's home.
            at = dir.startsWith("/") ? "" : null;
            rest = dir;
        }
        for (String name : rest.split("/")) {
            if (name.isEmpty() || name.equals(".")) {
                continue;
            }
            if (name.equals("..")) {
                throw GateException.permanent("cannot use " + node + ":" + dir + ": it has a '..' component");
            }
            at = at == null ? name : at + "/" + name;
            FileAttributes a = lstatExistence(sftp, at);
            if (a == null) {
                if (!make) {
                    throw new NoSuchFileException(at);
                }
                try {
                    sftp.mkdir(at);
                } catch (SFTPException raced) {
                    if (lstatExistence(sftp, at) == null) {
                        throw raced;
                    }
                }
                a = sftp.lstat(at);
            }
            if (a.getType() != FileMode.Type.DIRECTORY) {
                throw GateException.permanent("cannot use " + node + ":" + dir + ": " + at + " is "
                        + (a.getType() == FileMode.Type.SYMLINK ? "a symbolic link, never followed"
                        : "not a directory"));
            }
        }
    }

    /** What {@code lstat} says of {@code path}, null when there is nothing. */
    private static FileAttributes lstatExistence(SFTPClient sftp, String path) throws IOException {
        try {
            return sftp.lstat(path);
        } catch (SFTPException e) {
            if (e.getStatusCode() == Response.StatusCode.NO_SUCH_FILE) {
                return null;
            }
            throw e;
        }
    }

    private GateException notRegular(String path, FileAttributes a, String what) {
        return GateException.permanent("cannot " + what + ": " + node + ":" + path + " is "
                + (a.getType() == FileMode.Type.SYMLINK ? "a symbolic link, never followed" : "not a regular file"));
    }

    private interface Transfer {
        void run(SFTPClient sftp) throws IOException;
    }

    /**
     * Runs {@code transfer} until it completes, at most {@value #ATTEMPTS} times in a row without {@code progress}
     * rising. Missing files and refusals are permanent at once; everything else is retried over a new SFTP channel, and
     * a new connection after an I/O error.
     */
    private void retrying(String what, IntSupplier progress, Transfer transfer) {
        IOException last = null;
        int seen = progress.getAsInt();
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            SSHClient c;
            try {
                c = connections.client(target);
            } catch (GateException e) {
                if (!e.isTransient() || attempt == ATTEMPTS) {
                    throw e;
                }
                pause(attempt);
                continue;
            }
            SFTPClient sftp = null;
            try {
                sftp = c.newSFTPClient();
                transfer.run(sftp);
                return;
            } catch (NoSuchFileException e) {
                throw GateException.permanent("cannot " + what + ": no such file " + e.getMessage());
            } catch (ChecksumMismatch e) {
                last = e;
            } catch (GateException e) {
                // a command of the transfer (hashing, renaming) failed over the same connection
                if (!e.isTransient()) {
                    throw e;
                }
                last = new IOException(e.getMessage(), e);
            } catch (IOException e) {
                if (isNoSuchFile(e)) {
                    throw GateException.permanent("cannot " + what + ": no such file", e);
                }
                last = e;
                connections.invalidate(target, c);
            } finally {
                closeQuietly(sftp);
            }
            LOG.debug("{} failed (attempt {}): {}", what, attempt, last.getMessage());
            if (progress.getAsInt() != seen) {
                seen = progress.getAsInt();
                attempt = 0;
            }
            if (attempt < ATTEMPTS) {
                pause(Math.max(1, attempt));
            }
        }
        throw GateException.transientFailure("cannot " + what + ": " + last.getMessage(), last, Optional.empty());
    }

    private static boolean isNoSuchFile(IOException e) {
        return e instanceof SFTPException s && s.getStatusCode() == Response.StatusCode.NO_SUCH_FILE;
    }

    private static void pause(int attempt) {
        try {
            Thread.sleep(RETRY_PAUSE.toMillis() * attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw GateException.transientFailure("interrupted", e, Optional.empty());
        }
    }

    private void check(SshConnections.Result r, String what) {
        if (r.status() == LINK_REFUSED) {
            throw GateException.permanent("cannot " + what + " on " + node + ": " + r.stderr().strip());
        }
        if (r.status() != 0) {
            throw GateException.transientFailure("cannot " + what + " on " + node + " (status " + r.status() + "): "
                    + r.stderr().strip(), null, Optional.empty());
        }
    }

    private static void digestInto(MessageDigest sha, Path file) throws IOException {
        byte[] buf = new byte[LOCAL_CHUNK];
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // the transfer's own outcome is what counts; a failed close adds nothing to it
        }
    }

    private static String relative(Path root, Path p) {
        StringBuilder b = new StringBuilder();
        for (Path part : root.relativize(p)) {
            if (!part.toString().isEmpty()) {
                b.append(b.length() > 0 ? "/" : "").append(part);
            }
        }
        return b.toString();
    }

    private static String join(String dir, String rel) {
        if (rel.isEmpty()) {
            return dir;
        }
        return dir.endsWith("/") ? dir + rel : dir + "/" + rel;
    }

    private static String parentOf(String path) {
        int i = path.lastIndexOf('/');
        return i <= 0 ? (i == 0 ? "/" : "") : path.substring(0, i);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class ChecksumMismatch extends IOException {
        ChecksumMismatch(String message) {
            super(message);
        }
    }
}
