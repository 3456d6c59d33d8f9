package dev.skyport.gate.azure;

import dev.skyport.gate.GateException;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.generators.Ed25519KeyPairGenerator;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.Ed25519KeyGenerationParameters;
import org.bouncycastle.crypto.util.OpenSSHPrivateKeyUtil;
import org.bouncycastle.crypto.util.OpenSSHPublicKeyUtil;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.bouncycastle.crypto.util.PublicKeyFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The key material of one partition, kept under {@code <workDir>/partitions/<name>/}, owner-only: the partition's SSH
 * key pair (RSA 3072, what Azure's {@code ssh.publicKeys} takes; every VM accepts it) and per VM an ed25519 host key
 * pair that cloud-init installs, so the engine pins host keys it generated itself instead of trusting the first key a
 * VM shows. Host keys are ed25519 only: the engine's SSHJ and the head's OpenSSH both take it, and an RSA 3072 host key
 * per VM cost 0.5-1.4 s of key generation each on the 2-core test machine (the partition lifecycle's largest part). Keys are made once and read back afterwards: a second create of a half-made partition, or one
 * after a gate restart, must inject the same host keys as the VMs that may already run with them.
 */
final class PartitionKeys {
    static final String PRIVATE_KEY = "id_rsa";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int RSA_BITS = 3072;
    private static final ConcurrentHashMap<String, Object> LOCKS = new ConcurrentHashMap<>();

    /** One VM's host key: the private key as cloud-init wants it (PEM text), the public one as an OpenSSH line. */
    record HostKeys(String ed25519Private, String ed25519Public) {
        /** {@code SHA256:} fingerprint of the public key, as {@code ssh-keygen -l} prints it. */
        Set<String> fingerprints() {
            Set<String> out = new LinkedHashSet<>();
            out.add(fingerprint(ed25519Public));
            return out;
        }

        @Override
        public String toString() {
            return "HostKeys[" + ed25519Public + "]";
        }
    }

    private final Path dir;
    private final Instant created;

    private PartitionKeys(Path dir, Instant created) {
        this.dir = dir;
        this.created = created;
    }

    static Path directory(Path workDir, String partition) {
        return workDir.resolve("partitions").resolve(partition);
    }

    /**
     * The keys of {@code partition}, made now for whatever is missing (the partition key, the host keys of each of
     * {@code vms}); {@code now} is recorded as the partition's creation time the first time.
     */
    static PartitionKeys loadOrCreate(Path workDir, String partition, List<String> vms, Instant now) {
        return loadOrCreate(workDir, partition, vms, now, PartitionKeys::rsa);
    }

    /** As above, the partition's RSA key pair taken from {@code rsa} (a pool of pre-generated ones) when made. */
    static PartitionKeys loadOrCreate(Path workDir, String partition, List<String> vms, Instant now,
                                      Supplier<KeyPair> rsa) {
        Path dir = directory(workDir, partition);
        // two creates of one partition at once must not each make keys and leave VMs with the loser's
        synchronized (LOCKS.computeIfAbsent(dir.toAbsolutePath().normalize().toString(), k -> new Object())) {
            return loadOrCreateLocked(dir, partition, vms, now, rsa);
        }
    }

    private static PartitionKeys loadOrCreateLocked(Path dir, String partition, List<String> vms, Instant now,
                                                    Supplier<KeyPair> rsaKeys) {
        try {
            Files.createDirectories(dir.getParent());
            if (!Files.isDirectory(dir)) {
                try {
                    Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                } catch (FileAlreadyExistsException raced) {
                    // another create of the same partition made it; its files are written atomically
                }
            }
            Path createdFile = dir.resolve("created");
            if (!Files.exists(createdFile)) {
                writeAtomically(createdFile, now.toString());
            }
            if (!Files.exists(dir.resolve(PRIVATE_KEY))) {
                KeyPair rsa = rsaKeys.get();
                writeAtomically(dir.resolve(PRIVATE_KEY + ".pub"), publicLine(rsa.getPublic().getEncoded(), partition));
                writeAtomically(dir.resolve(PRIVATE_KEY), rsaPrivatePem(rsa));
            }
            for (String vm : vms) {
                if (!Files.exists(dir.resolve("host-" + vm + "-ed25519"))) {
                    Ed25519KeyPairGenerator g = new Ed25519KeyPairGenerator();
                    g.init(new Ed25519KeyGenerationParameters(RANDOM));
                    AsymmetricCipherKeyPair ed = g.generateKeyPair();
                    writeAtomically(dir.resolve("host-" + vm + "-ed25519.pub"), publicLine(ed.getPublic(), vm));
                    writeAtomically(dir.resolve("host-" + vm + "-ed25519"),
                            pem("OPENSSH PRIVATE KEY", OpenSSHPrivateKeyUtil.encodePrivateKey(ed.getPrivate()), 70));
                }
            }
            return new PartitionKeys(dir, Instant.parse(Files.readString(createdFile).trim()));
        } catch (IOException | RuntimeException e) {
            throw GateException.permanent("cannot keep the keys of partition " + partition + " under " + dir + ": "
                    + e.getMessage());
        }
    }

    /** The keys of a partition this gate made, if its directory holds them. */
    static Optional<PartitionKeys> load(Path workDir, String partition) {
        Path dir = directory(workDir, partition);
        try {
            if (!Files.exists(dir.resolve(PRIVATE_KEY)) || !Files.exists(dir.resolve("created"))) {
                return Optional.empty();
            }
            return Optional.of(new PartitionKeys(dir, Instant.parse(Files.readString(dir.resolve("created")).trim())));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Removes the partition's key directory; nothing there is not an error. */
    static void delete(Path workDir, String partition) {
        Path dir = directory(workDir, partition);
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the keys of partition " + partition, e);
        }
    }

    Path privateKey() {
        return dir.resolve(PRIVATE_KEY);
    }

    /** The partition's public key as an OpenSSH line ({@code ssh-rsa AAAA... <name>}). */
    String publicKey() {
        return read(PRIVATE_KEY + ".pub");
    }

    Instant created() {
        return created;
    }

    /** The host keys of {@code vm}, if this partition made them. */
    Optional<HostKeys> host(String vm) {
        if (!Files.exists(dir.resolve("host-" + vm + "-ed25519.pub"))) {
            return Optional.empty();
        }
        return Optional.of(new HostKeys(read("host-" + vm + "-ed25519"), read("host-" + vm + "-ed25519.pub")));
    }

    /** {@code SHA256:} and the unpadded base64 of the SHA-256 of the key's SSH wire encoding. */
    static String fingerprint(String publicLine) {
        String[] parts = publicLine.trim().split("\\s+");
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Base64.getDecoder().decode(parts[1]));
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private String read(String file) {
        try {
            return Files.readString(dir.resolve(file), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            throw GateException.permanent("cannot read " + dir.resolve(file) + ": " + e.getMessage());
        }
    }

    static KeyPair rsa() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(RSA_BITS, RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RSA is missing from this JVM", e);
        }
    }

    /** PKCS#1 PEM ({@code BEGIN RSA PRIVATE KEY}): what OpenSSH's sshd, cloud-init and SSHJ all read. */
    private static String rsaPrivatePem(KeyPair rsa) throws IOException {
        AsymmetricKeyParameter key = PrivateKeyFactory.createKey(rsa.getPrivate().getEncoded());
        return pem("RSA PRIVATE KEY", OpenSSHPrivateKeyUtil.encodePrivateKey(key), 64);
    }

    private static String publicLine(byte[] x509, String comment) throws IOException {
        return publicLine(PublicKeyFactory.createKey(x509), comment);
    }

    private static String publicLine(AsymmetricKeyParameter key, String comment) throws IOException {
        byte[] blob = OpenSSHPublicKeyUtil.encodePublicKey(key);
        // the wire encoding starts with the key type as an SSH string: 4 bytes of length, then the name
        int len = ((blob[0] & 0xff) << 24) | ((blob[1] & 0xff) << 16) | ((blob[2] & 0xff) << 8) | (blob[3] & 0xff);
        String type = new String(blob, 4, len, StandardCharsets.US_ASCII);
        return type + " " + Base64.getEncoder().encodeToString(blob) + " " + comment;
    }

    private static String pem(String label, byte[] der, int width) {
        String b64 = Base64.getEncoder().encodeToString(der);
        StringBuilder out = new StringBuilder("-----BEGIN ").append(label).append("-----\n");
        for (int i = 0; i < b64.length(); i += width) {
            out.append(b64, i, Math.min(b64.length(), i + width)).append('\n');
        }
        return out.append("-----END ").append(label).append("-----\n").toString();
    }

    // every file is owner-only, public halves too: the directory is the partition's and nobody else needs to read it
    private static void writeAtomically(Path target, String content) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.writeString(tmp, content.endsWith("\n") ? content : content + "\n", StandardCharsets.US_ASCII);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
